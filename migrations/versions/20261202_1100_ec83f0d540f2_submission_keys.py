"""Submission keys: a one-time form token or API Idempotency-Key (hashed) → the case it created.

The unique index on key_hash lets only one of two re-sends of a request create a case.

Revision ID: ec83f0d540f2
Revises: bcb4e730e4e4
Create Date: 2026-12-02 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'ec83f0d540f2'
down_revision = 'bcb4e730e4e4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submission_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_submission_keys_case_id_cases'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_keys'))
    )
    with op.batch_alter_table('submission_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_keys_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_keys_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_keys_key_hash'), ['key_hash'], unique=True)


def downgrade():
    with op.batch_alter_table('submission_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_keys_key_hash'))
        batch_op.drop_index(batch_op.f('ix_submission_keys_created_at'))
        batch_op.drop_index(batch_op.f('ix_submission_keys_case_id'))
    op.drop_table('submission_keys')
