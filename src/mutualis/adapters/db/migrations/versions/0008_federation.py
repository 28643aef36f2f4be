"""The inter-hospital federation: surgical cases and theatre bookings, referrals with their
history, tumour boards (RCP) with their cases and decisions, and the protocol library with
versions and acknowledgements.

Protocol versions and acknowledgements are append-only (an approved version is never changed;
a new version is added), as referral events are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _territory() -> sa.Column[str]:
    return sa.Column("territory_id", sa.String(64), sa.ForeignKey("territories.id", ondelete="CASCADE"), nullable=False)


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory(),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("from_site", sa.String(64), nullable=False),
        sa.Column("to_site", sa.String(64), nullable=False),
        sa.Column("referring_rpps", sa.String(11), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("documents", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _at("due_at"),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_index("ix_referrals_territory_status", "referrals", ["territory_id", "status"])
    op.create_table(
        "referral_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("referral_id", sa.Integer, sa.ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        _at("at"),
    )
    op.create_index("ix_referral_events_referral_id", "referral_events", ["referral_id"])
    op.create_table(
        "surgical_cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory(),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("referral_id", sa.Integer, sa.ForeignKey("referrals.id"), nullable=True),
        sa.Column("procedure", sa.String(64), nullable=False),
        sa.Column("surgeon_rpps", sa.String(11), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("cancer", sa.Boolean, nullable=False),
        sa.Column("anaesthesia", sa.String(16), nullable=False),
        sa.Column("equipment", sa.JSON, nullable=False),
        sa.Column("expected_min", sa.Integer, nullable=False),
        sa.Column("ready_on", sa.Date, nullable=False),
        sa.Column("due_by", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_index("ix_surgical_cases_territory_status", "surgical_cases", ["territory_id", "status"])
    op.create_table(
        "theatre_bookings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("surgical_cases.id"), nullable=False),
        sa.Column("equipment_id", sa.Integer, sa.ForeignKey("equipment.id"), nullable=False),
        _at("start_at"),
        _at("end_at"),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("end_at > start_at", name="ck_theatre_bookings_positive"),
    )
    op.create_index("ix_theatre_bookings_equipment_start", "theatre_bookings", ["equipment_id", "start_at"])
    op.create_index("ix_theatre_bookings_case", "theatre_bookings", ["case_id"])
    op.create_table(
        "tumour_boards",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("specialties", sa.JSON, nullable=False),
        _at("created_at"),
    )
    op.create_index("ix_tumour_boards_territory_day", "tumour_boards", ["territory_id", "day"])
    op.create_table(
        "board_cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("board_id", sa.Integer, sa.ForeignKey("tumour_boards.id", ondelete="CASCADE"), nullable=False),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("referral_id", sa.Integer, sa.ForeignKey("referrals.id"), nullable=True),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("standard", sa.Boolean, nullable=False),
        sa.Column("attendees", sa.JSON, nullable=False),
        sa.Column("decision", sa.Text, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        _at("decided_at", True),
        _at("sent_at", True),
        _at("created_at"),
    )
    op.create_index("ix_board_cases_patient", "board_cases", ["patient_id"])
    op.create_table(
        "protocols",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("activities", sa.JSON, nullable=False),
        sa.Column("establishments", sa.JSON, nullable=False),
        _at("created_at"),
        sa.UniqueConstraint("territory_id", "code", name="uq_protocols_territory_id"),
    )
    op.create_table(
        "protocol_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("protocol_id", sa.Integer, sa.ForeignKey("protocols.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=False),
        _at("approved_at"),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.UniqueConstraint("protocol_id", "version", name="uq_protocol_versions_protocol_id"),
    )
    op.create_table(
        "protocol_acks",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("protocol_versions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("rpps", sa.String(11), nullable=False),
        _at("at"),
        sa.PrimaryKeyConstraint("version_id", "rpps"),
    )


def downgrade() -> None:
    for table in ("protocol_acks", "protocol_versions", "protocols", "board_cases", "tumour_boards",
                  "theatre_bookings", "surgical_cases", "referral_events", "referrals"):
        op.drop_table(table)
