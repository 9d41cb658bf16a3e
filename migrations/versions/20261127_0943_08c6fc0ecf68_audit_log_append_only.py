"""Audit trail append-only in the database too: refuse UPDATE (and, on PostgreSQL, DELETE) of audit_log.

PostgreSQL: a row trigger raises on UPDATE and on DELETE, except a DELETE in a transaction
that set `interact.audit_purge` to 'on' (only `interact audit purge` does). SQLite: a trigger
refuses UPDATE; DELETE stays possible there, because SQLite has no per-transaction setting a
trigger could read and the test suite empties its tables with DELETE.

Revision ID: 08c6fc0ecf68
Revises: c0e49ea64d48
Create Date: 2026-11-27 15:20:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '08c6fc0ecf68'
down_revision = 'c0e49ea64d48'
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('interact.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
