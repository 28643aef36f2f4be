"""JSON shapes of the API; field names are those of the territory file."""

from __future__ import annotations

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
