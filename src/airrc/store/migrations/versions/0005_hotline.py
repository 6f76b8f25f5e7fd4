"""hotline

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 15:31:58.555679
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotline_channels",
        sa.Column("channel_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("participants", sa.String(length=2200), nullable=False),
        sa.Column("report", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("open_statement", sa.String(length=36), nullable=True),
        sa.Column("close_statement", sa.String(length=36), nullable=True),
        sa.Column("opened_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", airrc.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel_id"),
    )
    op.create_table(
        "hotline_messages",
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("channel_id", sa.String(length=36), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("channel_seq", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=64), nullable=False),
        sa.Column("precedence", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("in_reply_to", sa.String(length=36), nullable=True),
        sa.Column("outgoing", sa.Boolean(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("issued_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("statement_id"),
        sa.UniqueConstraint("channel_id", "sender", "channel_seq", name="uq_hotline_channel_sender_seq"),
    )
    with op.batch_alter_table("hotline_messages", schema=None) as batch_op:
        batch_op.create_index("ix_hotline_messages_channel", ["channel_id", "issued_at"], unique=False)

    op.create_table(
        "hotline_waits",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("deadline_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("acked_at", airrc.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ack_statement", sa.String(length=36), nullable=True),
        sa.Column("acked_by", sa.String(length=64), nullable=True),
        sa.Column("answered_by", sa.String(length=36), nullable=True),
        sa.Column("steps_done", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "node_id"),
    )
    with op.batch_alter_table("hotline_waits", schema=None) as batch_op:
        batch_op.create_index("ix_hotline_waits_open", ["acked_at", "deadline_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hotline_waits", schema=None) as batch_op:
        batch_op.drop_index("ix_hotline_waits_open")

    op.drop_table("hotline_waits")
    with op.batch_alter_table("hotline_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_hotline_messages_channel")

    op.drop_table("hotline_messages")
    op.drop_table("hotline_channels")
