"""Team view: team users, failed sign-ins, the triage state of events, routing rules.

Revision ID: 0007_team
Revises: 0006_subscriptions
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_team"
down_revision = "0006_subscriptions"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "team_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_login_at", TZ),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, index=True),
        sa.Column("client", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_login_attempt_at", "login_attempt", ["created_at"])
    op.create_table(
        "triage",
        sa.Column(
            "event_id",
            sa.Integer,
            sa.ForeignKey("event.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(20), nullable=False, server_default="open"),
        sa.Column("decided_by", sa.String(320)),
        sa.Column("decided_at", TZ),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("assigned_to", sa.String(320)),
        sa.Column("snoozed_until", TZ),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "route_rule",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("commitments", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("min_significance", sa.Float, nullable=False, server_default="0"),
        sa.Column("notify", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.String(320), nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("route_rule")
    op.drop_table("triage")
    op.drop_index("ix_login_attempt_at", "login_attempt")
    op.drop_table("login_attempt")
    op.drop_table("team_user")
