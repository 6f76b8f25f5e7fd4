"""personal keys are hybrid (an ML-DSA-65 public key beside the Ed25519 one); tokens never wrap a key

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("principals") as batch:
        batch.add_column(sa.Column("personal_pq_public_key", sa.Text(), nullable=True))
    # A token that could sign in a person's name is no longer honoured: its wrapped key is dropped with it.
    op.execute("UPDATE tokens SET revoked = true WHERE wrapped_key IS NOT NULL")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("wrapped_key")


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("principals") as batch:
        batch.drop_column("personal_pq_public_key")
