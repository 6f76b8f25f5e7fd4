"""received statements proven included in their sender's log: a cursor per peer

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 17:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_received_inclusion",
        sa.Column("peer_id", sa.String(length=64), primary_key=True),
        sa.Column("checked_seq", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_received_inclusion")
