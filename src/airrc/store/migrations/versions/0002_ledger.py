"""ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:37:28.730721
"""

import sqlalchemy as sa
from alembic import op

import airrc.store.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "ledger_cosignatures",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness_id", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness_id"),
    )
    op.create_table(
        "ledger_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tile", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "tile"),
    )
    op.create_table(
        "witness_evidence",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("old_size", sa.BigInteger(), nullable=False),
        sa.Column("old_note", sa.Text(), nullable=False),
        sa.Column("new_note", sa.Text(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("detected_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("witness_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_witness_evidence_peer_id"), ["peer_id"], unique=False)

    op.create_table(
        "witness_state",
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosignature", sa.Text(), nullable=False),
        sa.Column("updated_at", airrc.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("peer_id"),
        sa.UniqueConstraint("origin"),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_index", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint("uq_statements_log_index", ["log_index"])


def downgrade() -> None:
    with op.batch_alter_table("statements", schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint("uq_statements_log_index", type_="unique")
        batch_op.drop_column("log_index")

    op.drop_table("witness_state")
    with op.batch_alter_table("witness_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_witness_evidence_peer_id"))

    op.drop_table("witness_evidence")
    op.drop_table("ledger_tiles")
    op.drop_table("ledger_state")
    op.drop_table("ledger_cosignatures")
    op.drop_table("ledger_checkpoints")
