"""Orders and booking: patients, orders, appointments (no double booking, enforced by the
database), staff presence, waiting-list offers; booking settings of a territory.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OVERLAP = ("SELECT RAISE(ABORT, 'appointments_no_overlap: the machine is already booked then') "
            "WHERE EXISTS (SELECT 1 FROM appointments a WHERE a.active AND a.equipment_id = NEW.equipment_id "
            "AND a.start_at < NEW.end_at AND NEW.start_at < a.end_at AND a.id IS NOT NEW.id)")


def _territory_fk() -> sa.Column[str]:
    return sa.Column("territory_id", sa.String(64), sa.ForeignKey("territories.id", ondelete="CASCADE"),
                     nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("territories") as batch:
        batch.add_column(sa.Column("booking", sa.JSON, nullable=True))
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("nir", sa.String(15), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("insee", sa.String(5), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("territory_id", "nir"),
    )
    op.create_index("ix_patients_names", "patients", ["territory_id", "last_name", "first_name"])
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("exam_code", sa.String(32), nullable=False),
        sa.Column("requester_rpps", sa.String(11), nullable=False),
        sa.Column("requesting_site", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("clinical_info", sa.Text, nullable=False),
        sa.Column("not_before", sa.Date, nullable=False),
        sa.Column("due_by", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accession_number", sa.String(16), nullable=True, unique=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_orders_patient_id", "orders", ["patient_id"])
    op.create_index("ix_orders_status", "orders", ["territory_id", "status"])
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("equipment_id", sa.Integer, sa.ForeignKey("equipment.id"), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("end_at > start_at", name="ck_appointments_positive"),
    )
    op.create_index("ix_appointments_equipment_start", "appointments", ["equipment_id", "start_at"])
    op.create_index("ix_appointments_order", "appointments", ["order_id"])
    op.create_index("uq_appointments_active_order", "appointments", ["order_id"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))
    # No double booking, ever: the database refuses two live appointments overlapping on a machine.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist "
            "(equipment_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) WHERE (active)"
        )
    else:  # SQLite serialises writers, so a trigger that looks before it writes is race-free
        op.execute(f"CREATE TRIGGER appointments_no_overlap_insert BEFORE INSERT ON appointments "
                   f"WHEN NEW.active BEGIN {_OVERLAP}; END")
        op.execute(f"CREATE TRIGGER appointments_no_overlap_update BEFORE UPDATE ON appointments "
                   f"WHEN NEW.active BEGIN {_OVERLAP}; END")
    op.create_table(
        "presence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rpps", sa.String(11), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("start_min", sa.Integer, nullable=False),
        sa.Column("end_min", sa.Integer, nullable=False),
    )
    op.create_index("ix_presence_day_site", "presence", ["territory_id", "day", "site_id"])
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("equipment_id", sa.Integer, sa.ForeignKey("equipment.id"), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_offers_order_id", "offers", ["order_id"])


def downgrade() -> None:
    for table in ("offers", "presence", "appointments", "orders", "patients"):
        op.drop_table(table)
    with op.batch_alter_table("territories") as batch:
        batch.drop_column("booking")
