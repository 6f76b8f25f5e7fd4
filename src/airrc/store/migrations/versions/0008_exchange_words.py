"""exchange_words

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 16:30:08.422674
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_words",
        sa.Column("report_key", sa.BigInteger(), nullable=False),
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("report_key", "word"),
    )
    with op.batch_alter_table("exchange_words", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_words_word", ["word", "report_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchange_words", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_words_word")

    op.drop_table("exchange_words")
