"""foundation schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 13:27:42.726285
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.Column("raised_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acked_at", airrc.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_code"), ["code"], unique=False)

    op.create_table(
        "issuer_seq",
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("issuer"),
    )
    op.create_table(
        "pinned_cards",
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_self", sa.Boolean(), nullable=False),
        sa.Column("valid_from", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pinned_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("card_json", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "serial"),
    )
    with op.batch_alter_table("pinned_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pinned_cards_name"), ["name"], unique=False)

    op.create_table(
        "principals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("personal_public_key", sa.String(length=64), nullable=True),
        sa.Column("personal_key_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("key_salt", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "statements",
        sa.Column(
            "row_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("issued_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("audience_public", sa.Boolean(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("row_id"),
        sa.UniqueConstraint("issuer", "seq", name="uq_statements_issuer_seq"),
        sa.UniqueConstraint("statement_id"),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index("ix_statements_issued_at", ["issued_at"], unique=False)
        batch_op.create_index("ix_statements_kind", ["kind"], unique=False)

    op.create_table(
        "statement_audience",
        sa.Column("statement_row", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["statement_row"], ["statements.row_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("statement_row", "node_id"),
    )
    with op.batch_alter_table("statement_audience", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_audience_node_id"), ["node_id"], unique=False)

    op.create_table(
        "tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("principal_id", sa.String(length=36), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["principal_id"], ["principals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_principal_id"), ["principal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_principal_id"))

    op.drop_table("tokens")
    with op.batch_alter_table("statement_audience", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_audience_node_id"))

    op.drop_table("statement_audience")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index("ix_statements_kind")
        batch_op.drop_index("ix_statements_issued_at")

    op.drop_table("statements")
    op.drop_table("principals")
    with op.batch_alter_table("pinned_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pinned_cards_name"))

    op.drop_table("pinned_cards")
    op.drop_table("issuer_seq")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_code"))

    op.drop_table("alerts")
