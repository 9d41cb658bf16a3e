"""A case's timeline: one event per step, with what staff and what the citizen may read of it."""
from __future__ import annotations

from datetime import datetime

from ..domain.models import Case, CaseEvent, Department, Status, User


def add_event(case: Case, actor: User | None, action: str, from_status: Status | None, to_status: Status,
              at: datetime, note: str = "", public: bool = True, public_note: str = "",
              department: Department | None = None) -> CaseEvent:
    """Append a timeline event to `case` (in the current transaction)."""
    event = CaseEvent(at=at, actor=actor, action=action,
                      from_status=from_status.value if from_status else None, to_status=to_status.value,
                      note=note or "", public=public, public_note=public_note or "",
                      department_id=department.id if department else case.department_id)
    case.events.append(event)
    return event


def public_events(case: Case) -> list[CaseEvent]:
    """The timeline entries the citizen may read."""
    return [e for e in case.events if e.public]
