"""control

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 14:30:03.133107
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("requester_id", sa.String(length=36), nullable=False),
        sa.Column("request_statement", sa.String(length=36), nullable=False),
        sa.Column("action_commitment", sa.String(length=64), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("created_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome_statement", sa.String(length=36), nullable=True),
        sa.Column("authorization_id", sa.String(length=36), nullable=True),
        sa.Column("authorization_used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("authorization_id"),
    )
    with op.batch_alter_table("control_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_control_decisions_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_control_decisions_state"), ["state"], unique=False)

    op.create_table(
        "control_refusals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("principal", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("control_refusals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_control_refusals_decision_id"), ["decision_id"], unique=False)

    op.create_table(
        "control_votes",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("voter_id", sa.String(length=36), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", "voter_id"),
    )


def downgrade() -> None:
    op.drop_table("control_votes")
    with op.batch_alter_table("control_refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_control_refusals_decision_id"))

    op.drop_table("control_refusals")
    with op.batch_alter_table("control_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_control_decisions_state"))
        batch_op.drop_index(batch_op.f("ix_control_decisions_expires_at"))

    op.drop_table("control_decisions")
