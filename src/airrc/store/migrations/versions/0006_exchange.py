"""exchange

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 16:09:24.250358
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_links",
        sa.Column("a", sa.BigInteger(), nullable=False),
        sa.Column("b", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=600), nullable=False),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("a", "b", "reason"),
    )
    with op.batch_alter_table("exchange_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_links_b"), ["b"], unique=False)

    op.create_table(
        "exchange_policies",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("updated_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    op.create_table(
        "exchange_reports",
        sa.Column(
            "key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", airrc.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
        sa.UniqueConstraint("origin", "report_id", name="uq_exchange_origin_report"),
    )
    with op.batch_alter_table("exchange_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_reports_origin"), ["origin"], unique=False)
        batch_op.create_index("ix_exchange_reports_status_tlp", ["status", "tlp"], unique=False)
        batch_op.create_index("ix_exchange_reports_updated", ["updated_at"], unique=False)

    op.create_table(
        "exchange_shares",
        sa.Column("report_key", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("shared_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("report_key", "partner_id", "version"),
    )
    op.create_table(
        "exchange_terms",
        sa.Column("report_key", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.PrimaryKeyConstraint("report_key", "kind", "value"),
    )
    with op.batch_alter_table("exchange_terms", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_terms_lookup", ["kind", "value", "report_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchange_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_terms_lookup")

    op.drop_table("exchange_terms")
    op.drop_table("exchange_shares")
    with op.batch_alter_table("exchange_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_reports_updated")
        batch_op.drop_index("ix_exchange_reports_status_tlp")
        batch_op.drop_index(batch_op.f("ix_exchange_reports_origin"))

    op.drop_table("exchange_reports")
    op.drop_table("exchange_policies")
    with op.batch_alter_table("exchange_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_links_b"))

    op.drop_table("exchange_links")
