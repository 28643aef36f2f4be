"""Foundation: territories and their parts, users, the append-only audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _territory_fk() -> sa.Column[str]:
    return sa.Column(
        "territory_id", sa.String(64), sa.ForeignKey("territories.id", name=None, ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "territories",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("detour_factor", sa.Float, nullable=False),
        sa.Column("road_speed_kmh", sa.Float, nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "establishments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("finess", sa.String(9), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.UniqueConstraint("territory_id", "finess"),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("establishment_id", sa.Integer, sa.ForeignKey("establishments.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("insee", sa.String(5), nullable=False),
        sa.UniqueConstraint("territory_id", "code"),
    )
    op.create_table(
        "equipment",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("modality", sa.String(2), nullable=True),
        sa.Column("ae_title", sa.String(16), nullable=True, unique=True),
        sa.Column("station_name", sa.String(16), nullable=True),
        sa.Column("opening_hours", sa.JSON, nullable=False),
        sa.Column("closures", sa.JSON, nullable=False),
        sa.Column("exams", sa.JSON, nullable=False),
        sa.UniqueConstraint("territory_id", "code"),
    )
    op.create_table(
        "practitioners",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("rpps", sa.String(11), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("profession", sa.String(32), nullable=False),
        sa.Column("establishment_id", sa.Integer, sa.ForeignKey("establishments.id"), nullable=False),
        sa.Column("qualifications", sa.JSON, nullable=False),
        sa.Column("subspecialties", sa.JSON, nullable=False),
        sa.UniqueConstraint("territory_id", "rpps"),
    )
    op.create_table(
        "conventions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False),
        sa.Column("coordinator_rpps", sa.String(11), nullable=True),
        sa.Column("remote_reading", sa.JSON, nullable=False),
        sa.UniqueConstraint("territory_id", "code"),
    )
    op.create_table(
        "convention_members",
        sa.Column("convention_id", sa.Integer, sa.ForeignKey("conventions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("establishment_id", sa.Integer, sa.ForeignKey("establishments.id"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("contribution_key", sa.Float, nullable=True),
    )
    op.create_table(
        "privileges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("convention_id", sa.Integer, sa.ForeignKey("conventions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("practitioner_id", sa.Integer, sa.ForeignKey("practitioners.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("platforms", sa.JSON, nullable=False),
        sa.Column("start", sa.Date, nullable=True),
        sa.Column("end", sa.Date, nullable=True),
    )
    op.create_table(
        "privilege_sites",
        sa.Column("privilege_id", sa.Integer, sa.ForeignKey("privileges.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "exams",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _territory_fk(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("modality", sa.String(2), nullable=True),
        sa.Column("duration_min", sa.Integer, nullable=False),
        sa.Column("ccam", sa.String(7), nullable=True),
        sa.Column("radiologist_on_site", sa.Boolean, nullable=False),
        sa.Column("preparation", sa.Text, nullable=False),
        sa.UniqueConstraint("territory_id", "code"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("territory_id", sa.String(64), sa.ForeignKey("territories.id"), nullable=True),
        sa.Column("establishments", sa.JSON, nullable=False),
        sa.Column("sites", sa.JSON, nullable=False),
        sa.Column("rpps", sa.String(11), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor", sa.String(128), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("resource", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(128), nullable=True),
        sa.Column("territory_id", sa.String(64), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    # The audit trail is append-only: the database itself refuses to change or remove a line.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    for table in (
        "audit_events",
        "users",
        "exams",
        "privilege_sites",
        "privileges",
        "convention_members",
        "conventions",
        "practitioners",
        "equipment",
        "sites",
        "establishments",
        "territories",
    ):
        op.drop_table(table)
