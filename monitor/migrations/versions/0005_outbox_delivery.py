"""Staged events, one delivery row per (event, channel, recipient), and chat thread refs.

Revision ID: 0005_outbox_delivery
Revises: 0004_delivery_and_removal
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_outbox_delivery"
down_revision = "0004_delivery_and_removal"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staged_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cycle", sa.String(40), nullable=False, index=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("dedup_key", sa.String(300), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("watched_page.id", ondelete="SET NULL")),
        sa.Column("change_id", sa.Integer, sa.ForeignKey("change.id", ondelete="SET NULL")),
        sa.Column("site", sa.String(300), nullable=False, server_default=""),
        sa.Column("changes", sa.JSON, nullable=False),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column(
            "event_id",
            sa.Integer,
            sa.ForeignKey("event.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("why", sa.Text, nullable=False, server_default=""),
        sa.Column("thread_key", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claimed_at", TZ),
        sa.Column("sent_at", TZ),
        sa.Column("ref", sa.String(200)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_delivery_status_due", "delivery", ["status", "next_attempt_at"])
    op.create_table(
        "thread_ref",
        sa.Column("channel", sa.String(100), primary_key=True),
        sa.Column("recipient", sa.String(300), primary_key=True),
        sa.Column("thread_key", sa.String(200), primary_key=True),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    # Events claimed by a run that never finished go back to be routed; per-notifier
    # bookkeeping now lives in delivery rows.
    op.execute("UPDATE event SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("note", sa.Text))
        batch.drop_column("delivered_to")
        batch.drop_column("claimed_at")
        batch.drop_column("attempts")
        batch.drop_column("last_error")


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("last_error", sa.Text))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("claimed_at", TZ))
        batch.add_column(sa.Column("delivered_to", sa.JSON, nullable=False, server_default="[]"))
        batch.drop_column("note")
    op.execute("UPDATE event SET status = 'pending' WHERE status IN ('routed', 'unrouted')")
    op.drop_table("thread_ref")
    op.drop_index("ix_delivery_status_due", "delivery")
    op.drop_table("delivery")
    op.drop_table("staged_event")
