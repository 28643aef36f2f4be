"""SQLAlchemy Core tables. The domain never imports this module: repositories.py maps rows
to domain values. The schema is created by the Alembic migrations (migrations/versions),
which must stay equal to these tables (tests/integration/test_migrations.py checks it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

territories = Table(
    "territories",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("detour_factor", Float, nullable=False),
    Column("road_speed_kmh", Float, nullable=False),
    Column("source", Text, nullable=True),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("booking", JSON, nullable=True),  # BookingSettings; null = defaults
    Column("reading", JSON, nullable=True),  # ReadingSettings (territory_file.reading_document); null = defaults
    Column("presence_version", Integer, nullable=False, server_default="0"),  # bumped on every presence change
)


def _territory_fk() -> Column[str]:
    return Column("territory_id", String(64), ForeignKey("territories.id", ondelete="CASCADE"), nullable=False)


establishments = Table(
    "establishments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("finess", String(9), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    UniqueConstraint("territory_id", "finess"),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("code", String(64), nullable=False),
    Column("establishment_id", Integer, ForeignKey("establishments.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("insee", String(5), nullable=False),
    Column("pacs_url", String(255), nullable=True),  # the site's PACS, DICOMweb base URL
    UniqueConstraint("territory_id", "code"),
)

equipment = Table(
    "equipment",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("code", String(64), nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("modality", String(2), nullable=True),
    Column("ae_title", String(16), nullable=True, unique=True),
    Column("station_name", String(16), nullable=True),
    Column("opening_hours", JSON, nullable=False),
    Column("closures", JSON, nullable=False),
    Column("exams", JSON, nullable=False),
    Column("bookings_version", Integer, nullable=False, server_default="0"),  # bumped on every booking change
    UniqueConstraint("territory_id", "code"),
)

practitioners = Table(
    "practitioners",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("rpps", String(11), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("profession", String(32), nullable=False),
    Column("establishment_id", Integer, ForeignKey("establishments.id"), nullable=False),
    Column("qualifications", JSON, nullable=False),
    Column("subspecialties", JSON, nullable=False),
    UniqueConstraint("territory_id", "rpps"),
)

conventions = Table(
    "conventions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("code", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("name", String(200), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("coordinator_rpps", String(11), nullable=True),
    Column("remote_reading", JSON, nullable=False),
    UniqueConstraint("territory_id", "code"),
)

convention_members = Table(
    "convention_members",
    metadata,
    Column("convention_id", Integer, ForeignKey("conventions.id", ondelete="CASCADE"), primary_key=True),
    Column("establishment_id", Integer, ForeignKey("establishments.id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("contribution_key", Float, nullable=True),
)

privileges = Table(
    "privileges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("convention_id", Integer, ForeignKey("conventions.id", ondelete="CASCADE"), nullable=False),
    Column("practitioner_id", Integer, ForeignKey("practitioners.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("platforms", JSON, nullable=False),
    Column("start", Date, nullable=True),
    Column("end", Date, nullable=True),
)

privilege_sites = Table(
    "privilege_sites",
    metadata,
    Column("privilege_id", Integer, ForeignKey("privileges.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), primary_key=True),
    Column("position", Integer, nullable=False),
)

exams = Table(
    "exams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("code", String(32), nullable=False),
    Column("label", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("modality", String(2), nullable=True),
    Column("duration_min", Integer, nullable=False),
    Column("ccam", String(7), nullable=True),
    Column("radiologist_on_site", Boolean, nullable=False),
    Column("preparation", Text, nullable=False),
    Column("report_template", JSON, nullable=True),  # prefilled report sections (migration 0005)
    UniqueConstraint("territory_id", "code"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("territory_id", String(64), ForeignKey("territories.id"), nullable=True),
    Column("establishments", JSON, nullable=False),
    Column("sites", JSON, nullable=False),
    Column("rpps", String(11), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(128), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("resource", String(64), nullable=False),
    Column("resource_id", String(128), nullable=True),
    Column("territory_id", String(64), nullable=True),
    Column("address", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("detail", JSON, nullable=False),
)


# --- orders and booking (migration 0002) -------------------------------------------------------

patients = Table(
    "patients", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("nir", String(15), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("insee", String(5), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("territory_id", "nir"),
)
Index("ix_patients_names", patients.c.territory_id, patients.c.last_name, patients.c.first_name)

orders = Table(
    "orders", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("exam_code", String(32), nullable=False),
    Column("requester_rpps", String(11), nullable=False),
    Column("requesting_site", String(64), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("clinical_info", Text, nullable=False),
    Column("not_before", Date, nullable=False),
    Column("due_by", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("accession_number", String(16), nullable=True, unique=True),
    Column("waiting_since", DateTime(timezone=True), nullable=True),
    Column("images_available_at", DateTime(timezone=True), nullable=True),  # seen in the PACS (QIDO-RS)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_orders_status", orders.c.territory_id, orders.c.status)

appointments = Table(
    "appointments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("equipment_id", Integer, ForeignKey("equipment.id"), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    Column("announced_at", DateTime(timezone=True), nullable=True),  # told to the patient: never moved (0006)
    CheckConstraint("end_at > start_at", name="ck_appointments_positive"),
)
Index("ix_appointments_equipment_start", appointments.c.equipment_id, appointments.c.start_at)
Index("ix_appointments_order", appointments.c.order_id)
# one live appointment per order (partial unique index, SQLite and PostgreSQL alike)
Index("uq_appointments_active_order", appointments.c.order_id, unique=True,
      sqlite_where=text("active"), postgresql_where=text("active"))

presence = Table(
    "presence", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("day", Date, nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("rpps", String(11), nullable=False),
    Column("role", String(16), nullable=False),  # radiologist | radiographer
    Column("start_min", Integer, nullable=False),
    Column("end_min", Integer, nullable=False),
)
Index("ix_presence_day_site", presence.c.territory_id, presence.c.day, presence.c.site_id)

offers = Table(
    "offers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("equipment_id", Integer, ForeignKey("equipment.id"), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # offered | accepted | declined | expired
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# --- DICOM (migration 0004) --------------------------------------------------------------------

mpps = Table(
    "mpps", metadata,
    Column("sop_instance_uid", String(64), primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("station_ae", String(16), nullable=False),
    Column("series", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# --- reading and reports (migration 0005) ------------------------------------------------------

reading_tasks = Table(
    "reading_tasks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("accession", String(16), nullable=False),
    Column("exam", String(32), nullable=False),
    Column("modality", String(4), nullable=False),
    Column("site", String(64), nullable=False),  # code of the acquiring site
    Column("priority", String(16), nullable=False),
    Column("kind", String(16), nullable=False),  # single | screening_l1 | screening_l2
    Column("ready_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # waiting | claimed | done | cancelled
    Column("claimed_by", String(11), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("assigned", Boolean, nullable=False, server_default=text("false")),  # pushed by dispatch
    Column("escalated", Boolean, nullable=False, server_default=text("false")),
    Column("excluded", JSON, nullable=False),  # RPPS who may not read it (L2: the L1 reader)
    Column("done_by", String(11), nullable=True),
    Column("done_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("order_id", "kind", name="uq_reading_tasks_order_kind"),
)
Index("ix_reading_tasks_open", reading_tasks.c.territory_id, reading_tasks.c.status)

reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, unique=True),
    Column("accession", String(16), nullable=False),
    Column("exam", String(32), nullable=False),
    Column("modality", String(4), nullable=False),
    Column("author", String(11), nullable=False),
    Column("indication", Text, nullable=False),
    Column("technique", Text, nullable=False),
    Column("findings", Text, nullable=False),
    Column("conclusion", Text, nullable=False),
    Column("dose", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # draft | signed
    Column("signed_by", String(11), nullable=True),
    Column("signed_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

report_addenda = Table(
    "report_addenda", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", Integer, ForeignKey("reports.id"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("author", String(11), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

screening_cases = Table(
    "screening_cases", metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("accession", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("l1", JSON, nullable=True),  # MammogramReading
    Column("workup_negative", Boolean, nullable=True),
    Column("workup_at", DateTime(timezone=True), nullable=True),
    Column("l2", JSON, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# --- the week optimiser (migration 0006) -------------------------------------------------------

schedule_proposals = Table(
    "schedule_proposals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("start_day", Date, nullable=False),
    Column("days", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # proposed | applied | rejected
    Column("solver_status", String(16), nullable=False),
    Column("objective", BigInteger, nullable=False),
    Column("reference_objective", BigInteger, nullable=False),
    Column("bound", BigInteger, nullable=False),
    Column("gap", Float, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("metrics", JSON, nullable=False),  # {"before": {...}, "after": {...}}
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
)
Index("ix_schedule_proposals_territory", schedule_proposals.c.territory_id, schedule_proposals.c.created_at)

schedule_changes = Table(
    "schedule_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("proposal_id", Integer, ForeignKey("schedule_proposals.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("before_equipment", String(64), nullable=True),
    Column("before_start", DateTime(timezone=True), nullable=True),
    Column("after_equipment", String(64), nullable=True),
    Column("after_start", DateTime(timezone=True), nullable=True),
    Column("after_end", DateTime(timezone=True), nullable=True),
    Column("code", String(32), nullable=False),  # engines/schedule/explain.py
    Column("params", JSON, nullable=False),
)
Index("ix_schedule_changes_proposal", schedule_changes.c.proposal_id)


# --- rosters (migration 0007) ------------------------------------------------------------------

roster_contracts = Table(
    "roster_contracts", metadata,
    _territory_fk(),
    Column("rpps", String(11), nullable=False),
    Column("share", Float, nullable=False),
    Column("weekends", Boolean, nullable=False),
    Column("on_call", Boolean, nullable=False),
    PrimaryKeyConstraint("territory_id", "rpps"),
)

roster_runs = Table(
    "roster_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("start_day", Date, nullable=False),
    Column("days", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # draft | published | replaced
    Column("solver_status", String(16), nullable=False),
    Column("objective", BigInteger, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("shifts", JSON, nullable=False),  # the shift definitions it was solved with
    Column("notes", JSON, nullable=False),  # cover left short, fairness spread
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
)
Index("ix_roster_runs_territory", roster_runs.c.territory_id, roster_runs.c.start_day)

roster_entries = Table(
    "roster_entries", metadata,
    Column("run_id", Integer, ForeignKey("roster_runs.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("rpps", String(11), nullable=False),
    Column("shift", String(32), nullable=False),
    PrimaryKeyConstraint("run_id", "day", "rpps"),
)

roster_leave = Table(
    "roster_leave", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("rpps", String(11), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # requested | approved | refused
    Column("requested_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("last_day >= first_day", name="ck_roster_leave_order"),
)
Index("ix_roster_leave_territory", roster_leave.c.territory_id, roster_leave.c.first_day)

roster_swaps = Table(
    "roster_swaps", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("roster_runs.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("from_rpps", String(11), nullable=False),
    Column("to_rpps", String(11), nullable=False),
    Column("status", String(16), nullable=False),  # requested | approved | refused
    Column("requested_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
)


# --- the federation (migration 0008) -----------------------------------------------------------

referrals = Table(
    "referrals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False),
    Column("from_site", String(64), nullable=False),
    Column("to_site", String(64), nullable=False),
    Column("referring_rpps", String(11), nullable=False),
    Column("reason", String(32), nullable=False),  # heavy_surgery | digestive_oncology | other
    Column("urgency", String(16), nullable=False),  # urgent | soon | routine
    Column("summary", Text, nullable=False),
    Column("documents", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),  # the current step's due time
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_referrals_territory_status", referrals.c.territory_id, referrals.c.status)

referral_events = Table(
    "referral_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", Integer, ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
Index("ix_referral_events_referral_id", referral_events.c.referral_id)

surgical_cases = Table(
    "surgical_cases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False),
    Column("referral_id", Integer, ForeignKey("referrals.id"), nullable=True),
    Column("procedure", String(64), nullable=False),  # the catalogue's theatre exam code
    Column("surgeon_rpps", String(11), nullable=False),
    Column("priority", String(16), nullable=False),  # urgent | cancer | standard
    Column("cancer", Boolean, nullable=False),  # a digestive cancer: needs a tumour-board decision first
    Column("anaesthesia", String(16), nullable=False),  # general | regional | local
    Column("equipment", JSON, nullable=False),  # what the room must have (e.g. intra-operative ultrasound)
    Column("expected_min", Integer, nullable=False),
    Column("ready_on", Date, nullable=False),
    Column("due_by", Date, nullable=False),
    Column("status", String(16), nullable=False),  # waiting | booked | done | cancelled
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_surgical_cases_territory_status", surgical_cases.c.territory_id, surgical_cases.c.status)

theatre_bookings = Table(
    "theatre_bookings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("surgical_cases.id"), nullable=False),
    Column("equipment_id", Integer, ForeignKey("equipment.id"), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("end_at > start_at", name="ck_theatre_bookings_positive"),
)
Index("ix_theatre_bookings_equipment_start", theatre_bookings.c.equipment_id, theatre_bookings.c.start_at)
Index("ix_theatre_bookings_case", theatre_bookings.c.case_id)

tumour_boards = Table(
    "tumour_boards", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("title", String(200), nullable=False),
    Column("site", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("specialties", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_tumour_boards_territory_day", tumour_boards.c.territory_id, tumour_boards.c.day)

board_cases = Table(
    "board_cases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("board_id", Integer, ForeignKey("tumour_boards.id", ondelete="CASCADE"), nullable=False),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False),
    Column("referral_id", Integer, ForeignKey("referrals.id"), nullable=True),
    Column("question", Text, nullable=False),
    Column("standard", Boolean, nullable=False),  # short registration: the case follows a standard
    Column("attendees", JSON, nullable=False),  # [{"rpps", "specialty"}]
    Column("decision", Text, nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),  # sent to the referring physician
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_board_cases_patient", board_cases.c.patient_id)

protocols = Table(
    "protocols", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _territory_fk(),
    Column("code", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # care | imaging
    Column("activities", JSON, nullable=False),
    Column("establishments", JSON, nullable=False),  # FINESS
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("territory_id", "code", name="uq_protocols_territory_id"),
)

protocol_versions = Table(
    "protocol_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("protocol_id", Integer, ForeignKey("protocols.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("approved_by", String(64), nullable=False),
    Column("approved_at", DateTime(timezone=True), nullable=False),
    Column("effective_from", Date, nullable=False),
    UniqueConstraint("protocol_id", "version", name="uq_protocol_versions_protocol_id"),
)

protocol_acks = Table(
    "protocol_acks", metadata,
    Column("version_id", Integer, ForeignKey("protocol_versions.id", ondelete="CASCADE"), nullable=False),
    Column("rpps", String(11), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("version_id", "rpps"),
)
