"""Rosters: contracts, solved and published rosters with their entries, leave and swap requests.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _territory() -> sa.Column[str]:
    return sa.Column("territory_id", sa.String(64), sa.ForeignKey("territories.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "roster_contracts",
        _territory(),
        sa.Column("rpps", sa.String(11), nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("weekends", sa.Boolean, nullable=False),
        sa.Column("on_call", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("territory_id", "rpps"),
    )
    op.create_table(
        "roster_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory(),
        sa.Column("start_day", sa.Date, nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("solver_status", sa.String(16), nullable=False),
        sa.Column("objective", sa.BigInteger, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("shifts", sa.JSON, nullable=False),
        sa.Column("notes", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_roster_runs_territory", "roster_runs", ["territory_id", "start_day"])
    op.create_table(
        "roster_entries",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("roster_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("rpps", sa.String(11), nullable=False),
        sa.Column("shift", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "day", "rpps"),
    )
    op.create_table(
        "roster_leave",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory(),
        sa.Column("rpps", sa.String(11), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("last_day >= first_day", name="ck_roster_leave_order"),
    )
    op.create_index("ix_roster_leave_territory", "roster_leave", ["territory_id", "first_day"])
    op.create_table(
        "roster_swaps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("roster_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("from_rpps", sa.String(11), nullable=False),
        sa.Column("to_rpps", sa.String(11), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for table in ("roster_swaps", "roster_leave", "roster_entries", "roster_runs", "roster_contracts"):
        op.drop_table(table)
