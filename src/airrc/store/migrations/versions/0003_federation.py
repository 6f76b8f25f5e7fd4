"""federation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:57:36.243500
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_equivocations",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("stored_digest", sa.String(length=64), nullable=False),
        sa.Column("offered_digest", sa.String(length=64), nullable=False),
        sa.Column("offered", sa.LargeBinary(), nullable=False),
        sa.Column("detected_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("federation_equivocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_equivocations_issuer"), ["issuer"], unique=False)

    op.create_table(
        "federation_links",
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("last_ok_at", airrc.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", airrc.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("last_latency_ms", sa.Float(), nullable=True),
        sa.Column("sync_cursor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("peer_id"),
    )
    op.create_table(
        "federation_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("seen_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("federation_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_nonces_seen_at"), ["seen_at"], unique=False)

    op.create_table(
        "federation_outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("statement_row", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", airrc.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("receipt_id", sa.String(length=36), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["statement_row"],
            ["statements.row_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("federation_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_peer_state_id", ["peer_id", "state", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("federation_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_peer_state_id")

    op.drop_table("federation_outbox")
    with op.batch_alter_table("federation_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_nonces_seen_at"))

    op.drop_table("federation_nonces")
    op.drop_table("federation_links")
    with op.batch_alter_table("federation_equivocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_equivocations_issuer"))

    op.drop_table("federation_equivocations")
