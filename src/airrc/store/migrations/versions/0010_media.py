"""media: known PDQ hashes and their matches

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "media_hashes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signal_id", sa.String(length=36), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("report", sa.String(length=36), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("added_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_media_hashes_signal", "media_hashes", ["signal_id"])
    op.create_table(
        "media_matches",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("new_hash", ID, nullable=False),
        sa.Column("known_hash", ID, nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("matched_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["known_hash"], ["media_hashes.id"]),
        sa.ForeignKeyConstraint(["new_hash"], ["media_hashes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("media_matches")
    op.drop_index("ix_media_hashes_signal", table_name="media_hashes")
    op.drop_table("media_hashes")
