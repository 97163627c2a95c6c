"""Sources: discovery poll state (feeds, Search API queries, sitemaps, listings).

Revision ID: 0003_sources
Revises: 0002_commitments
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_sources"
down_revision = "0002_commitments"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "poll_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("etag", sa.String(500)),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("high_water", TZ),
        sa.Column("seen", sa.JSON, nullable=False),
        sa.Column("polled_at", TZ),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("poll_state")
