"""quote submission lots: which lots each sealed quote version covers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

The officers' and supervisors' view of a sealed bidding shows how many submitted quotes each lot
has (DOMAIN.md L2: counts and file hashes only). The lots a quote covers are not a price and are
written in clear with the submission; everything else about the quote stays sealed.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'quote_submission_lots',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('submission_id', _ID, nullable=False),
        sa.Column('lot_id', _ID, nullable=False),
        sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_quote_submission_lots_lot_id_lots')),
        sa.ForeignKeyConstraint(['submission_id'], ['quote_submissions.id'],
                                name=op.f('fk_quote_submission_lots_submission_id_quote_submissions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_submission_lots')),
        sa.UniqueConstraint('submission_id', 'lot_id', name=op.f('uq_quote_submission_lots_submission_id_lot_id')),
    )
    with op.batch_alter_table('quote_submission_lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_submission_lots_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quote_submission_lots_submission_id'), ['submission_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quote_submission_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_submission_lots_submission_id'))
        batch_op.drop_index(batch_op.f('ix_quote_submission_lots_lot_id'))
    op.drop_table('quote_submission_lots')
