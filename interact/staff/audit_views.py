"""The auditor's pages: the audit trail with filters, newest first, and its CSV export.

Only the auditor reads the trail. The administrator does not: the trail records the
administrator's own operations, and separating the two duties is the point of it (MLPS
three-role separation; "the auditor sees only the audit trail"). Exports are audited too.
The blueprint is "staff_audit".
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..domain.errors import ValidationFailed
from ..domain.models import AuditEntry, Role
from ..domain.states import AuditOutcome
from ..services import audit
from ..services.tx import unit_of_work
from ..domain.timeutil import local_tz, to_local, utcnow
from ..web.paging import positive_int
from . import auth

PER_PAGE = 50
# Chinese names of the actions recorded so far; an unknown action shows its code only.
ACTION_LABELS = {
    "auth.login": _l("登录"),
    "auth.login_failed": _l("登录失败"),
    "auth.lockout": _l("账号锁定"),
    "auth.logout": _l("退出登录"),
    "auth.session_expired": _l("会话过期"),
    "auth.password_change": _l("修改密码"),
    "auth.totp_enable": _l("启用两步验证"),
    "auth.totp_disable": _l("停用两步验证"),
    "auth.totp_change": _l("更换两步验证设备"),
    "auth.recovery_code_used": _l("使用恢复码"),
    "auth.recovery_codes_regenerate": _l("重新生成恢复码"),
    "case.dispatch": _l("分办"),
    "case.accept": _l("受理"),
    "case.transfer": _l("退回分办"),
    "case.reply": _l("拟写答复"),
    "case.decline": _l("拟不予受理"),
    "case.review": _l("审核"),
    "case.approve": _l("审核通过"),
    "case.return": _l("审核退回"),
    "case.mask_add": _l("添加遮盖"),
    "case.mask_lift": _l("撤销或恢复遮盖"),
    "user.create": _l("添加用户"),
    "user.roles": _l("修改角色"),
    "user.active": _l("启用或停用账号"),
    "user.password_reset": _l("重置密码"),
    "user.totp_reset": _l("解除两步验证"),
    "department.create": _l("添加部门"),
    "department.update": _l("修改部门"),
    "site.create": _l("添加网站"),
    "token.create": _l("创建令牌"),
    "token.revoke": _l("吊销令牌"),
    "calendar.override": _l("调整工作日"),
    "calendar.clear": _l("取消工作日调整"),
    "calendar.confirm": _l("确认节假日安排"),
    "deadline.set": _l("修改办理期限"),
    "settings.change": _l("修改设置"),
    "attachment.download": _l("下载附件"),
    "audit.export": _l("导出审计日志"),
    "audit.purge": _l("清除审计日志"),
}
OUTCOME_LABELS = AuditOutcome.titles()
# A spreadsheet runs a cell starting with one of these as a formula; the user agent, a typed
# username and the details come from outside, so such cells are quoted (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def make_blueprint() -> Blueprint:
    """Build the blueprint of the audit pages ("staff_audit")."""
    bp = auth.staff_blueprint("staff_audit", __name__)

    @bp.get("/audit")
    @auth.role_required(Role.auditor)
    def audit_log():
        """The trail, newest first, filtered by time, user, action, object and outcome."""
        errors: dict[str, str] = {}
        try:
            query = audit.parse_filter(request.args)
        except ValidationFailed as exc:
            query, errors = audit.AuditFilter(), exc.fields
        page = None
        if not errors:
            page = audit.search(query, before=positive_int("before", None), after=positive_int("after", None), per_page=PER_PAGE)
        return render_template(
            "staff/audit/index.html", page=page, query=query, args=request.args, errors=errors,
            action_labels=ACTION_LABELS, outcome_labels=OUTCOME_LABELS, details_text=_details_text,
        ), (400 if errors else 200)

    @bp.get("/audit/export.csv")
    @auth.role_required(Role.auditor)
    def audit_export():
        """The matching entries as CSV (UTF-8 with BOM, so that Excel reads the Chinese); audited."""
        try:
            query = audit.parse_filter(request.args)
        except ValidationFailed as exc:
            return render_template(
                "staff/audit/index.html", page=None, query=audit.AuditFilter(), args=request.args,
                errors=exc.fields, action_labels=ACTION_LABELS, outcome_labels=OUTCOME_LABELS,
                details_text=_details_text,
            ), 400
        with unit_of_work():
            audit.record_export(query, current_user._get_current_object())
        filename = f"audit-{to_local(utcnow()):%Y%m%d-%H%M%S}.csv"
        return Response(
            _csv(query), mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return bp


def _details_text(entry: AuditEntry) -> str:
    """An entry's details as compact "key: value" text."""
    try:
        details = json.loads(entry.details or "{}")
    except ValueError:
        return entry.details or ""
    if not isinstance(details, dict):
        return entry.details or ""
    return "; ".join(f"{k}: {json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}"
                     for k, v in details.items())


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(query: audit.AuditFilter) -> Iterator[str]:
    """The export, oldest entry first, written a batch of rows at a time.

    Everything that needs the app (labels, time zone, the query) is taken before the first
    row, so the rows stream after the request context has gone.
    """
    header = [_("时间"), _("用户"), _("角色"), _("操作"), _("对象类型"), _("对象编号"), _("结果"),
              _("IP 地址"), _("用户代理"), _("详情")]
    tz, rows = local_tz(), audit.matching(query)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(header)
        for n, entry in enumerate(rows, start=1):
            writer.writerow([_cell(v) for v in (
                entry.at.astimezone(tz).isoformat(timespec="seconds"), entry.username, entry.roles, entry.action,
                entry.object_type, entry.object_id, entry.outcome, entry.ip, entry.user_agent, entry.details,
            )])
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return lines()
