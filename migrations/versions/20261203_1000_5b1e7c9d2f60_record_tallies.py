"""Record tallies: published records per department, kind and local reply month, for the totals.

The records pages and the API showed an exact count of every published record on each request,
a scan of hundreds of thousands of index entries at a city's scale. The publication service
keeps these rows in step instead; this migration fills them from the cases already published.

Revision ID: 5b1e7c9d2f60
Revises: 7d2e5b8c4a31
Create Date: 2026-12-03 10:00:00.000000

"""
import os
from collections import Counter
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b1e7c9d2f60'
down_revision = '7d2e5b8c4a31'
branch_labels = None
depends_on = None


def upgrade():
    tallies = op.create_table(
        'record_tallies',
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('published', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('department_id', 'kind', 'month', name=op.f('pk_record_tallies')),
    )
    # The months are local months, as the records pages filter them (INTERACT_TIMEZONE).
    tz = ZoneInfo(os.environ.get('INTERACT_TIMEZONE', 'Asia/Shanghai'))
    counts = Counter()
    rows = op.get_bind().execute(sa.text(
        "SELECT department_id, kind, replied_at FROM cases WHERE published = :yes AND replied_at IS NOT NULL"),
        {"yes": True})
    for department_id, kind, replied_at in rows:
        if isinstance(replied_at, str):  # SQLite hands a raw query its ISO text
            replied_at = datetime.fromisoformat(replied_at)
        local = replied_at.replace(tzinfo=timezone.utc).astimezone(tz)
        counts[(department_id or 0, kind, f"{local:%Y-%m}")] += 1
    if counts:
        op.bulk_insert(tallies, [{"department_id": d, "kind": k, "month": m, "published": n}
                                 for (d, k, m), n in counts.items()])


def downgrade():
    op.drop_table('record_tallies')
