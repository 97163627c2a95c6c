"""Removal counts only consecutive 404/410; events are claimed, and remember their notifiers.

Revision ID: 0004_delivery_and_removal
Revises: 0003_sources
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_delivery_and_removal"
down_revision = "0003_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watched_page") as batch:
        batch.add_column(
            sa.Column("consecutive_gone", sa.Integer, nullable=False, server_default="0")
        )
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("delivered_to", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("commitment_evidence") as batch:
        batch.add_column(sa.Column("change_index", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("commitment_evidence") as batch:
        batch.drop_column("change_index")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("delivered_to")
    with op.batch_alter_table("watched_page") as batch:
        batch.drop_column("consecutive_gone")
