"""Commitments: registry, linked pages, key figures and their history, evidence, status log.

Revision ID: 0002_commitments
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_commitments"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _commitment_fk() -> sa.Column:
    return sa.Column(
        "commitment_id",
        sa.String(120),
        sa.ForeignKey("commitment.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "commitment",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("pledge", sa.Text, nullable=False),
        sa.Column("source_title", sa.String(500), nullable=False),
        sa.Column("source_url", sa.String(2000), nullable=False),
        sa.Column("source_date", sa.Date),
        sa.Column("bodies", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "commitment_page",
        _commitment_fk(),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("commitment_id", "url"),
    )
    op.create_index("ix_commitment_page_url", "commitment_page", ["url"])
    op.create_table(
        "commitment_figure",
        sa.Column("id", sa.Integer, primary_key=True),
        _commitment_fk(),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("amount_gbp", sa.Float),
        sa.Column("per_year", sa.Boolean, nullable=False),
        sa.Column("start_date", sa.Date),
        sa.Column("end_date", sa.Date),
        sa.Column("value", sa.Float),
        sa.Column("unit", sa.String(60)),
        sa.Column("source_url", sa.String(2000)),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("commitment_id", "key", name="uq_commitment_figure_key"),
    )
    op.create_table(
        "commitment_figure_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "figure_id",
            sa.Integer,
            sa.ForeignKey("commitment_figure.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("change_id", sa.Integer, sa.ForeignKey("change.id", ondelete="SET NULL")),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshot.id", ondelete="SET NULL")),
        sa.Column("before", sa.JSON, nullable=False),
        sa.Column("after", sa.JSON, nullable=False),
        sa.Column("quote", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_commitment_figure_history_figure", "commitment_figure_history", ["figure_id", "id"]
    )
    op.create_table(
        "commitment_evidence",
        sa.Column("id", sa.Integer, primary_key=True),
        _commitment_fk(),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("change_id", sa.Integer, sa.ForeignKey("change.id", ondelete="SET NULL")),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshot.id", ondelete="SET NULL")),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("event.id", ondelete="SET NULL")),
        sa.Column("url", sa.String(2000)),
        sa.Column("quote", sa.Text, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("suggested_status", sa.String(20)),
    )
    op.create_index(
        "ix_commitment_evidence_commitment", "commitment_evidence", ["commitment_id", "id"]
    )
    op.create_table(
        "commitment_status_change",
        sa.Column("id", sa.Integer, primary_key=True),
        _commitment_fk(),
        sa.Column("at", TZ, nullable=False),
        sa.Column("from_status", sa.String(20), nullable=False),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column(
            "evidence_id",
            sa.Integer,
            sa.ForeignKey("commitment_evidence.id", ondelete="SET NULL"),
        ),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("event.id", ondelete="SET NULL")),
        sa.Column("confirmed_by", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("commitment_status_change")
    op.drop_index("ix_commitment_evidence_commitment", "commitment_evidence")
    op.drop_table("commitment_evidence")
    op.drop_index("ix_commitment_figure_history_figure", "commitment_figure_history")
    op.drop_table("commitment_figure_history")
    op.drop_table("commitment_figure")
    op.drop_index("ix_commitment_page_url", "commitment_page")
    op.drop_table("commitment_page")
    op.drop_table("commitment")
