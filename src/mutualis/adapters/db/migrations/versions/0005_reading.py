"""Reading: the territory's reading worklist (tasks), structured reports with their addenda,
screening double-reading cases, each territory's reading settings, and each exam's report
template.

A signed report is never changed: the database itself refuses an UPDATE or DELETE of a signed
report, and addenda are append-only (both databases, by trigger).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("territories") as batch:
        batch.add_column(sa.Column("reading", sa.JSON, nullable=True))
    with op.batch_alter_table("exams") as batch:
        batch.add_column(sa.Column("report_template", sa.JSON, nullable=True))
    op.create_table(
        "reading_tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("territory_id", sa.String(64), sa.ForeignKey("territories.id", ondelete="CASCADE"), nullable=False),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("accession", sa.String(16), nullable=False),
        sa.Column("exam", sa.String(32), nullable=False),
        sa.Column("modality", sa.String(4), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(11), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("escalated", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("excluded", sa.JSON, nullable=False),
        sa.Column("done_by", sa.String(11), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("order_id", "kind", name="uq_reading_tasks_order_kind"),
    )
    op.create_index("ix_reading_tasks_open", "reading_tasks", ["territory_id", "status"])
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False, unique=True),
        sa.Column("accession", sa.String(16), nullable=False),
        sa.Column("exam", sa.String(32), nullable=False),
        sa.Column("modality", sa.String(4), nullable=False),
        sa.Column("author", sa.String(11), nullable=False),
        sa.Column("indication", sa.Text, nullable=False),
        sa.Column("technique", sa.Text, nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("conclusion", sa.Text, nullable=False),
        sa.Column("dose", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("signed_by", sa.String(11), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "report_addenda",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(11), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_report_addenda_report_id", "report_addenda", ["report_id"])
    op.create_table(
        "screening_cases",
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("accession", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("l1", sa.JSON, nullable=True),
        sa.Column("workup_negative", sa.Boolean, nullable=True),
        sa.Column("workup_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("l2", sa.JSON, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION reports_signed_are_final() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF OLD.status = 'signed' THEN RAISE EXCEPTION 'a signed report is never changed: add an addendum'; "
            "END IF; IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$"
        )
        op.execute("CREATE TRIGGER reports_signed_are_final BEFORE UPDATE OR DELETE ON reports "
                   "FOR EACH ROW EXECUTE FUNCTION reports_signed_are_final()")
        op.execute(
            "CREATE FUNCTION report_addenda_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'report_addenda is append-only'; END $$"
        )
        op.execute("CREATE TRIGGER report_addenda_append_only BEFORE UPDATE OR DELETE ON report_addenda "
                   "FOR EACH ROW EXECUTE FUNCTION report_addenda_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER reports_signed_no_{verb.lower()} BEFORE {verb} ON reports "
                       "WHEN OLD.status = 'signed' "
                       "BEGIN SELECT RAISE(ABORT, 'a signed report is never changed: add an addendum'); END")
            op.execute(f"CREATE TRIGGER report_addenda_no_{verb.lower()} BEFORE {verb} ON report_addenda "
                       "BEGIN SELECT RAISE(ABORT, 'report_addenda is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS report_addenda_append_only ON report_addenda")
        op.execute("DROP FUNCTION IF EXISTS report_addenda_append_only()")
        op.execute("DROP TRIGGER IF EXISTS reports_signed_are_final ON reports")
        op.execute("DROP FUNCTION IF EXISTS reports_signed_are_final()")
    for table in ("screening_cases", "report_addenda", "reports", "reading_tasks"):
        op.drop_table(table)
    with op.batch_alter_table("exams") as batch:
        batch.drop_column("report_template")
    with op.batch_alter_table("territories") as batch:
        batch.drop_column("reading")
