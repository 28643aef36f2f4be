"""Patients, imaging orders and their appointments; the exam lifecycle.

The lifecycle is explicit (:data:`TRANSITIONS`); :func:`transition` refuses anything else::

    requested ──► scheduled ──► arrived ──► in_progress ──► acquired ──► read ──► reported
        ▲  │          │  │         │             │             └────────────────────▲
        │  │          │  └► no_show┘─► requested  └► discontinued
        │  └► cancelled◄┘ (appointment cancelled: scheduled ──► requested)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from mutualis.domain.errors import Problem, ValidationError
from mutualis.domain.identifiers import check_nir, check_rpps


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    OTHER = "O"  # DICOM PatientSex O; HL7 administrative sex "O"
    UNKNOWN = "U"


class Priority(StrEnum):
    URGENT = "urgent"
    INPATIENT = "inpatient"
    OUTPATIENT = "outpatient"
    SCREENING = "screening"


class OrderStatus(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    ACQUIRED = "acquired"
    READ = "read"
    REPORTED = "reported"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    DISCONTINUED = "discontinued"


S = OrderStatus
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    S.REQUESTED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.ARRIVED, S.NO_SHOW, S.CANCELLED, S.REQUESTED}),
    S.ARRIVED: frozenset({S.IN_PROGRESS, S.DISCONTINUED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.ACQUIRED, S.DISCONTINUED}),
    S.ACQUIRED: frozenset({S.READ, S.REPORTED}),
    S.READ: frozenset({S.REPORTED}),
    S.NO_SHOW: frozenset({S.REQUESTED, S.CANCELLED}),
    S.REPORTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.DISCONTINUED: frozenset(),
}
ACTIVE_APPOINTMENT = frozenset({S.SCHEDULED, S.ARRIVED, S.IN_PROGRESS})


class IllegalTransition(ValidationError):
    def __init__(self, current: OrderStatus, wanted: OrderStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: the order is closed"
        super().__init__(Problem("status", f"an order {current.value} cannot become {wanted.value} "
                                           f"(allowed: {allowed})"))


def transition(current: OrderStatus, wanted: OrderStatus) -> OrderStatus:
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)
    return wanted


@dataclass(frozen=True)
class Patient:
    nir: str  # INS: the NIR, 15 characters, key included
    last_name: str
    first_name: str
    birth_date: date
    sex: Sex
    insee: str  # commune of residence
    phone: str = ""
    id: int | None = None

    @property
    def display_name(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}"


def patient_problems(p: Patient, known_communes: Mapping[str, object], today: date) -> list[Problem]:
    problems = []
    nir = p.nir.replace(" ", "")
    if reason := check_nir(nir):
        problems.append(Problem("nir", reason))
    else:
        if nir[0] in "12" and p.sex in (Sex.FEMALE, Sex.MALE) and nir[0] != ("1" if p.sex is Sex.MALE else "2"):
            problems.append(Problem("sex", f"the NIR starts with {nir[0]}, which is not sex {p.sex.value}"))
        if int(nir[1:3]) != p.birth_date.year % 100:
            problems.append(Problem("birth_date", f"the NIR gives birth year ..{nir[1:3]}, not {p.birth_date.year}"))
    if not p.last_name.strip():
        problems.append(Problem("last_name", "required"))
    if not p.first_name.strip():
        problems.append(Problem("first_name", "required"))
    if p.birth_date > today:
        problems.append(Problem("birth_date", "in the future"))
    if p.insee not in known_communes:
        problems.append(Problem("insee", f"unknown INSEE commune code {p.insee!r}"))
    if p.phone and not all(ch.isdigit() or ch in " +.-()" for ch in p.phone):
        problems.append(Problem("phone", "digits, spaces and + . - ( ) only"))
    return problems


@dataclass(frozen=True)
class Order:
    territory: str
    patient_id: int
    exam: str  # catalogue code
    requester: str  # RPPS of the requesting practitioner
    requesting_site: str
    priority: Priority
    not_before: date
    due_by: date
    clinical_info: str = ""
    status: OrderStatus = OrderStatus.REQUESTED
    created_at: datetime | None = None
    accession_number: str | None = None
    id: int | None = None


def order_problems(o: Order) -> list[Problem]:
    problems = []
    if reason := check_rpps(o.requester):
        problems.append(Problem("requester", reason))
    if o.due_by < o.not_before:
        problems.append(Problem("due_by", f"due by {o.due_by} is before not before {o.not_before}"))
    return problems


@dataclass(frozen=True)
class Appointment:
    order_id: int
    equipment: str  # equipment code
    start: datetime  # timezone-aware
    end: datetime
    active: bool = True
    id: int | None = None
    announced_at: datetime | None = None  # told to the patient: the optimiser never moves it
