"""Departments' published contacts: phone numbers and e-mail addresses never masked in replies.

Revision ID: 3a9c1f2e7b44
Revises: ec83f0d540f2
Create Date: 2026-12-02 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3a9c1f2e7b44'
down_revision = 'ec83f0d540f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_contacts', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('public_contacts')
