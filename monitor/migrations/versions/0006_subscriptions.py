"""Follow-this-policy: subscribers, subscriptions, sign-up attempts and digests sent.

Also ``delivery.unconfirmed_at``: when a stale claim is released, the time from which the
channel may already hold the message (checked before resending where the channel can tell).

Revision ID: 0006_subscriptions
Revises: 0005_outbox_delivery
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_subscriptions"
down_revision = "0005_outbox_delivery"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _subscriber_fk() -> sa.Column[int]:
    fk = sa.ForeignKey("subscriber.id", ondelete="CASCADE")
    return sa.Column("subscriber_id", sa.Integer, fk, nullable=False, index=True)


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("unconfirmed_at", TZ))
    op.create_table(
        "subscriber",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer, primary_key=True),
        _subscriber_fk(),
        sa.Column("follow_kind", sa.String(20), nullable=False),
        sa.Column("follow_value", sa.String(1000), nullable=False),
        sa.Column("frequency", sa.String(20), nullable=False, server_default="immediate"),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("confirmed_at", TZ),
        sa.Column("unsubscribed_at", TZ),
        sa.UniqueConstraint("subscriber_id", "follow_kind", "follow_value"),
    )
    op.create_table(
        "signup_attempt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, index=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_signup_attempt_at", "signup_attempt", ["created_at"])
    op.create_table(
        "digest_send",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(400), nullable=False, unique=True),
        _subscriber_fk(),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("label", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="sending"),
        sa.Column("items", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_at", TZ, nullable=False),
        sa.Column("sent_at", TZ),
        sa.Column("ref", sa.String(300)),
    )


def downgrade() -> None:
    op.drop_table("digest_send")
    op.drop_index("ix_signup_attempt_at", "signup_attempt")
    op.drop_table("signup_attempt")
    op.drop_table("subscription")
    op.drop_table("subscriber")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("unconfirmed_at")
