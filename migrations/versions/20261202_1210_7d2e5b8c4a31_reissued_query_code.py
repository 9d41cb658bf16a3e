"""Cases: the query code mailed by the lost-code form, valid beside the old one until first used.

Revision ID: 7d2e5b8c4a31
Revises: 3a9c1f2e7b44
Create Date: 2026-12-02 12:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7d2e5b8c4a31'
down_revision = '3a9c1f2e7b44'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reissued_code_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('reissued_code_hash')
