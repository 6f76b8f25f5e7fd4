"""received reports remember the statement of their current version

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_reports") as batch:
        batch.add_column(sa.Column("statement_id", sa.String(length=36), nullable=True))
        batch.create_index("ix_exchange_reports_statement", ["statement_id"])


def downgrade() -> None:
    with op.batch_alter_table("exchange_reports") as batch:
        batch.drop_index("ix_exchange_reports_statement")
        batch.drop_column("statement_id")
