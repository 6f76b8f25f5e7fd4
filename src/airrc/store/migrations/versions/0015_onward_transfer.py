"""onward transfer: what a draft was derived from, and consent requests with their answers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_derivations",
        sa.Column("report_key", sa.BigInteger(), primary_key=True),
        sa.Column("source_report_id", sa.String(length=36), primary_key=True),
    )
    op.create_table(
        "exchange_consents",
        sa.Column("request_id", sa.String(length=36), primary_key=True),
        sa.Column("requester", sa.String(length=64), nullable=False),
        sa.Column("originator", sa.String(length=64), nullable=False),
        sa.Column("source_report_id", sa.String(length=36), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("partners", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_id", sa.String(length=36), nullable=True),
    )
    op.create_index("ix_exchange_consents_source", "exchange_consents", ["source_report_id", "report_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_consents_source", "exchange_consents")
    op.drop_table("exchange_consents")
    op.drop_table("exchange_derivations")
