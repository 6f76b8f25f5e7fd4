"""taxii_and_search

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 17:10:19.687482
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0007"
down_revision = "0006"
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

    op.create_table(
        "taxii_grants",
        sa.Column("principal_id", sa.String(length=36), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("can_read", sa.Boolean(), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("principal_id", "collection_id"),
    )
    op.create_table(
        "taxii_objects",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("spec_version", sa.String(length=8), nullable=False),
        sa.Column("date_added", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("is_last", sa.Boolean(), nullable=False),
        sa.Column("is_first", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("collection_id", "object_id", "version", name="uq_taxii_object_version"),
    )
    with op.batch_alter_table("taxii_objects", schema=None) as batch_op:
        batch_op.create_index("ix_taxii_collection_first", ["collection_id", "is_first", "seq"], unique=False)
        batch_op.create_index("ix_taxii_collection_last", ["collection_id", "is_last", "seq"], unique=False)
        batch_op.create_index(
            "ix_taxii_collection_object", ["collection_id", "object_id", "seq"], unique=False
        )
        batch_op.create_index("ix_taxii_collection_seq", ["collection_id", "seq"], unique=False)

    op.create_table(
        "taxii_status",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("taxii_status")
    with op.batch_alter_table("taxii_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_taxii_collection_seq")
        batch_op.drop_index("ix_taxii_collection_object")
        batch_op.drop_index("ix_taxii_collection_last")
        batch_op.drop_index("ix_taxii_collection_first")

    op.drop_table("taxii_objects")
    op.drop_table("taxii_grants")
    with op.batch_alter_table("exchange_words", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_words_word")

    op.drop_table("exchange_words")
