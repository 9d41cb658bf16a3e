"""Time helpers: the platform stores UTC and shows the configured local time zone."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def local_tz() -> ZoneInfo:
    """The platform's display time zone (INTERACT_TIMEZONE, default Asia/Shanghai)."""
    name = current_app.config["INTERACT_TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def to_local(moment: datetime | None) -> datetime | None:
    """Convert an aware datetime to the local time zone."""
    if moment is None:
        return None
    return moment.astimezone(local_tz())


def format_local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an aware datetime in local time, or '' for None."""
    local = to_local(moment)
    return local.strftime(fmt) if local else ""
