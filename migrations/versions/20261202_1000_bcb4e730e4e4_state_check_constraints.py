"""State columns accept only their enum's values: a CHECK constraint ck_<table>_<column> on each.

interact.domain.states holds the enums; their values are repeated here, as migrations never
import the app. Existing rows must already hold valid values (they do: only the app writes them).

PostgreSQL adds the constraints with ALTER TABLE, which checks the existing rows. SQLite cannot
add a constraint to a table, so each table is re-created (batch "recreate"): rows are copied
with INSERT … SELECT, the old table dropped and the copy renamed. migrations/env.py turns
foreign keys off for this, or dropping `cases` would cascade-delete its events. Dropping
`audit_log` drops its append-only trigger too, so the trigger is created again exactly as
revision 08c6fc0ecf68 made it.

Revision ID: bcb4e730e4e4
Revises: e44ed7d6f5f6
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'bcb4e730e4e4'
down_revision = 'e44ed7d6f5f6'
branch_labels = None
depends_on = None

ROLES = ("admin", "dispatcher", "handler", "reviewer", "auditor")
STATUSES = ("submitted", "assigned", "handling", "pending_review", "replied", "declined")
KINDS = ("consultation", "suggestion", "complaint", "mailbox", "correction")
DECLINE_REASONS = ("duplicate", "abusive", "out_of_scope", "no_content")
TEXT_FIELDS = ("title", "content", "reply")

# table → column → the values it may hold (NULL stays allowed where the column is nullable).
CHECKS = {
    "users": {"notify_mode": ("immediate", "digest")},
    "user_roles": {"role": ROLES},
    "kind_settings": {"kind": KINDS},
    "cases": {
        "kind": KINDS,
        "status": STATUSES,
        "error_type": ("content", "broken_link", "outdated", "no_response", "service", "other"),
        "draft_kind": ("reply", "decline"),
        "draft_reason": DECLINE_REASONS,
        "decline_reason": DECLINE_REASONS,
        "rating": ("satisfied", "basically_satisfied", "dissatisfied"),
    },
    "case_events": {"from_status": STATUSES, "to_status": STATUSES},
    "attachments": {"purpose": ("attachment", "screenshot")},
    "case_flags": {"kind": ("external_link", "sensitive_word"), "field": TEXT_FIELDS},
    "text_masks": {"field": TEXT_FIELDS, "origin": ("detector", "reviewer")},
    "audit_log": {"outcome": ("success", "failure")},
    "outbox": {"status": ("pending", "sent", "dead")},
    "extension_requests": {"status": ("pending", "approved", "denied")},
    "subscriptions": {"scope": ("all", "department", "kind"), "frequency": ("immediate", "daily")},
}

# As revision 08c6fc0ecf68 created it; dropped with the table when SQLite re-creates audit_log.
SQLITE_AUDIT_TRIGGER = """
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END
"""


def _condition(column: str, values: tuple[str, ...]) -> str:
    """The CHECK condition allowing only `values` in `column`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sqlite() -> bool:
    """Whether this runs on SQLite; there, refuse to re-create tables with foreign keys on."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("re-creating tables with foreign keys on would cascade-delete rows; "
                           "run the migration through migrations/env.py, which turns them off")
    return True


def upgrade():
    sqlite = _sqlite()
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"), _condition(column, values))
    if sqlite:
        op.execute(SQLITE_AUDIT_TRIGGER)


def downgrade():
    sqlite = _sqlite()
    for table, columns in reversed(CHECKS.items()):
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
    if sqlite:
        op.execute(SQLITE_AUDIT_TRIGGER)
