"""Record tallies: published records per department, kind and local reply month, for the totals.

The records pages and the API showed an exact count of every published record on each request,
a scan of hundreds of thousands of index entries at a city's scale. The publication service
keeps these rows in step instead; this migration fills them from the cases already published,
and gives the public pages their first version (the key of the page cache).

Revision ID: 5b1e7c9d2f60
Revises: 7d2e5b8c4a31
Create Date: 2026-12-03 10:00:00.000000

"""
import json
import os
import secrets
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
    # The public pages' first version (interact.services.publication.public_version): random, so
    # that two databases never share one and a page cache can key pages by it from the start.
    settings = sa.table('settings', sa.column('key', sa.String), sa.column('value', sa.Text),
                        sa.column('updated_at', sa.DateTime))
    op.execute(settings.delete().where(settings.c.key == 'public_version'))
    op.bulk_insert(settings, [{"key": "public_version", "value": json.dumps(secrets.token_hex(8)),
                               "updated_at": datetime.now(timezone.utc).replace(tzinfo=None)}])


def downgrade():
    op.execute("DELETE FROM settings WHERE key = 'public_version'")
    op.drop_table('record_tallies')
