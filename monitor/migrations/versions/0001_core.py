"""Core tables: source, watched_page, blob, snapshot, change, event.

Revision ID: 0001_core
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "source",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("base_url", sa.String(2000)),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "watched_page",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("source.id", ondelete="SET NULL")),
        sa.Column("url", sa.String(2000), nullable=False, unique=True),
        sa.Column("title", sa.String(500)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("etag", sa.String(500)),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("final_url", sa.String(2000)),
        sa.Column("last_checked_at", TZ),
        sa.Column("last_status", sa.Integer),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("removed_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "page_id",
            sa.Integer,
            sa.ForeignKey("watched_page.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fetched_at", TZ, nullable=False),
        sa.Column("http_status", sa.Integer, nullable=False),
        sa.Column("etag", sa.String(500)),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("content_type", sa.String(200)),
        sa.Column("content_hash", sa.String(64), sa.ForeignKey("blob.sha256"), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("final_url", sa.String(2000)),
    )
    op.create_index("ix_snapshot_page_id_id", "snapshot", ["page_id", "id"])
    op.create_table(
        "change",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "page_id",
            sa.Integer,
            sa.ForeignKey("watched_page.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_snapshot_id", sa.Integer, sa.ForeignKey("snapshot.id")),
        sa.Column("to_snapshot_id", sa.Integer, sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("detected_at", TZ, nullable=False),
        sa.Column("meaningful", sa.Boolean, nullable=False),
        sa.Column("significance", sa.Float, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("ignored", sa.JSON, nullable=False),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("dedup_key", sa.String(300), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("watched_page.id", ondelete="SET NULL")),
        sa.Column("change_id", sa.Integer, sa.ForeignKey("change.id", ondelete="SET NULL")),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", TZ),
    )
    op.create_index("ix_event_status_id", "event", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_event_status_id", "event")
    op.drop_table("event")
    op.drop_table("change")
    op.drop_index("ix_snapshot_page_id_id", "snapshot")
    op.drop_table("snapshot")
    op.drop_table("blob")
    op.drop_table("watched_page")
    op.drop_table("source")
