"""standards

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 18:10:56.591584
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "standards_runs",
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("model", sa.String(length=500), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("seed_size", sa.BigInteger(), nullable=False),
        sa.Column("seed_note", sa.Text(), nullable=False),
        sa.Column("seed_cosignature", sa.Text(), nullable=False),
        sa.Column("log_dir", sa.Text(), nullable=False),
        sa.Column("log_gz", sa.LargeBinary(), nullable=False),
        sa.Column("log_digest", sa.String(length=64), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("inspect_ai_version", sa.String(length=64), nullable=False),
        sa.Column("attestation_id", sa.String(length=36), nullable=True),
        sa.Column("finished_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
        sa.UniqueConstraint("attestation_id"),
    )
    op.create_table(
        "standards_verifications",
        sa.Column("attestation_id", sa.String(length=36), nullable=False),
        sa.Column("attester", sa.String(length=64), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("rerun", sa.Text(), nullable=True),
        sa.Column("rerun_log_digest", sa.String(length=64), nullable=True),
        sa.Column("rerun_ok", sa.Boolean(), nullable=False),
        sa.Column("endorsement_id", sa.String(length=36), nullable=True),
        sa.Column("verified_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("attestation_id"),
    )
    op.create_table(
        "witness_cosignatures",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("witness_cosignatures", schema=None) as batch_op:
        batch_op.create_index("ix_witness_cosignatures_peer_size", ["peer_id", "size"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("witness_cosignatures", schema=None) as batch_op:
        batch_op.drop_index("ix_witness_cosignatures_peer_size")

    op.drop_table("witness_cosignatures")
    op.drop_table("standards_verifications")
    op.drop_table("standards_runs")
