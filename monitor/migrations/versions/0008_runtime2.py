"""Discovery remembers each listed URL's entry time, not only the newest one.

Revision ID: 0008_runtime2
Revises: 0007_team
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_runtime2"
down_revision = "0007_team"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("poll_state") as batch:
        batch.add_column(sa.Column("stamps", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("poll_state") as batch:
        batch.drop_column("stamps")
