"""JSON shapes of the API; field names are those of the territory file."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    username: str
    full_name: str
    role: str
    territory: str | None
    establishments: list[str]
    sites: list[str]
    rpps: str | None


class SiteOut(BaseModel):
    territory: str
    id: str
    establishment: str
    establishment_name: str
    name: str
    insee: str
    commune: str | None
    lat: float | None
    lon: float | None


class Closure(BaseModel):
    start: str
    end: str
    reason: str


class EquipmentOut(BaseModel):
    territory: str
    id: str
    site: str
    name: str
    kind: str
    modality: str | None
    ae_title: str | None
    station_name: str | None
    opening_hours: dict[str, list[str]]
    closures: list[Closure]
    exams: list[str]


class PractitionerOut(BaseModel):
    territory: str
    rpps: str
    last_name: str
    first_name: str
    profession: str
    establishment: str
    qualifications: list[str]
    subspecialties: list[str]


class ExamOut(BaseModel):
    territory: str
    code: str
    label: str
    kind: str
    modality: str | None
    duration_min: int
    ccam: str | None
    radiologist_on_site: bool
    preparation: str


class TerritorySummary(BaseModel):
    id: str
    name: str
    sites: int
    equipment: int
    practitioners: int
    conventions: list[str]


class UserIn(BaseModel):
    username: str
    full_name: str
    password: str
    role: str
    territory: str | None = None
    establishments: list[str] = []
    sites: list[str] = []
    rpps: str | None = None


class AuditOut(BaseModel):
    id: int | None
    at: str
    actor: str
    action: str
    resource: str
    resource_id: str | None
    territory: str | None
    address: str | None
    outcome: str
    detail: dict[str, object]


class LoadOut(BaseModel):
    territory: str
    created: bool
    counts: dict[str, int]


class PatientIn(BaseModel):
    territory: str
    nir: str
    last_name: str
    first_name: str
    birth_date: date
    sex: str
    insee: str
    phone: str = ""


class PatientOut(BaseModel):
    id: int
    nir: str
    last_name: str
    first_name: str
    birth_date: date
    sex: str
    insee: str
    commune: str | None
    phone: str


class OrderIn(BaseModel):
    territory: str
    patient_id: int
    exam: str
    requester: str
    requesting_site: str
    priority: str
    not_before: date
    due_by: date
    clinical_info: str = ""


class AppointmentOut(BaseModel):
    id: int | None
    order_id: int
    equipment: str
    start: datetime
    end: datetime


class OrderOut(BaseModel):
    id: int
    territory: str
    accession_number: str | None
    patient_id: int
    patient_name: str | None = None
    exam: str
    exam_label: str | None = None
    requester: str
    requesting_site: str
    priority: str
    not_before: date
    due_by: date
    clinical_info: str
    status: str
    appointment: AppointmentOut | None = None


class SlotOut(BaseModel):
    equipment: str
    equipment_name: str
    site: str
    site_name: str
    start: datetime
    end: datetime
    wait_days: float
    travel_minutes: float
    late_days: int
    score: float
    breakdown: dict[str, float]


class BookIn(BaseModel):
    order_id: int
    equipment: str
    start: datetime  # territory-local when it carries no offset


class MoveIn(BaseModel):
    equipment: str
    start: datetime


class ReasonIn(BaseModel):
    reason: str = ""


class CalendarEntry(BaseModel):
    appointment_id: int
    order_id: int
    accession_number: str | None
    exam: str
    priority: str
    status: str
    patient_id: int
    patient_name: str
    start: datetime
    end: datetime


class PatientDetail(BaseModel):
    patient: PatientOut
    orders: list[OrderOut]
