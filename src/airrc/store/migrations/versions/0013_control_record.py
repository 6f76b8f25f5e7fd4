"""the control record's head: control statements are linked, so an audit bundle cannot leave one out

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_record_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
    )
    op.execute("INSERT INTO control_record_head (id, n, digest) VALUES (1, 0, NULL)")


def downgrade() -> None:
    op.drop_table("control_record_head")
