"""console: browser sessions (idle timeout) and each person's console language

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 21:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column(
            "token_id",
            sa.String(length=32),
            sa.ForeignKey("tokens.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "console_preferences",
        sa.Column(
            "principal_id",
            sa.String(length=36),
            sa.ForeignKey("principals.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("language", sa.String(length=8), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_preferences")
    op.drop_table("console_sessions")
