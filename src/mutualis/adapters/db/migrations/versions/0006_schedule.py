"""The week optimiser: which appointments were announced to the patient (those never move),
and the optimiser's proposals with their changes.

Appointments booked before this migration count as announced (they were booked with the
patient, or nobody knows); from now on a booking agent's booking is announced at once, and a
batch placement (generated demand, an applied proposal) stays movable until announced.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE appointments SET announced_at = created_at")
    op.create_table(
        "schedule_proposals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("territory_id", sa.String(64), sa.ForeignKey("territories.id", ondelete="CASCADE"), nullable=False),
        sa.Column("start_day", sa.Date, nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("solver_status", sa.String(16), nullable=False),
        sa.Column("objective", sa.BigInteger, nullable=False),
        sa.Column("reference_objective", sa.BigInteger, nullable=False),
        sa.Column("bound", sa.BigInteger, nullable=False),
        sa.Column("gap", sa.Float, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_schedule_proposals_territory", "schedule_proposals", ["territory_id", "created_at"])
    op.create_table(
        "schedule_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("proposal_id", sa.Integer, sa.ForeignKey("schedule_proposals.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("before_equipment", sa.String(64), nullable=True),
        sa.Column("before_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("after_equipment", sa.String(64), nullable=True),
        sa.Column("after_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("after_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
    )
    op.create_index("ix_schedule_changes_proposal", "schedule_changes", ["proposal_id"])


def downgrade() -> None:
    op.drop_table("schedule_changes")
    op.drop_table("schedule_proposals")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("announced_at")
