"""The inter-hospital federation: referrals to the reference centre, surgical cases and their
theatre bookings, tumour boards (RCP) and their decisions.

**Referral lifecycle** (:data:`REFERRAL_STEPS`)::

    sent ──► accepted ──► consultation ──► surgery ──► returned
      └────► redirected (to another team or centre: closed here)

Each step has a due time from the referral's urgency (:data:`STEP_DELAYS`, documented
assumptions): a step not reached by its due time is overdue and shows as a reminder.

**Tumour boards**: every new digestive cancer is put to a board before its first treatment;
a decision needs a quorum of at least three different specialties, unless the case is a short
registration (it follows a standard: recorded, no discussion). A cancer case booked for surgery
without a decision is flagged (:func:`needs_board`).

Pure data and rules: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from mutualis.domain.errors import Problem, ValidationError


class ReferralReason(StrEnum):
    HEAVY_SURGERY = "heavy_surgery"
    DIGESTIVE_ONCOLOGY = "digestive_oncology"
    OTHER = "other"


class Urgency(StrEnum):
    URGENT = "urgent"
    SOON = "soon"
    ROUTINE = "routine"


class ReferralStatus(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    REDIRECTED = "redirected"
    CONSULTATION = "consultation"
    SURGERY = "surgery"
    RETURNED = "returned"


S = ReferralStatus
REFERRAL_STEPS: Mapping[ReferralStatus, frozenset[ReferralStatus]] = {
    S.SENT: frozenset({S.ACCEPTED, S.REDIRECTED}),
    S.ACCEPTED: frozenset({S.CONSULTATION, S.REDIRECTED}),
    S.CONSULTATION: frozenset({S.SURGERY, S.RETURNED}),
    S.SURGERY: frozenset({S.RETURNED}),
    S.REDIRECTED: frozenset(),
    S.RETURNED: frozenset(),
}
CLOSED = frozenset({S.REDIRECTED, S.RETURNED})

# how long the step that follows each status may take, by urgency (assumptions, per federation):
# an answer to the referral, the consultation, the operation, the return letter to the referrer
STEP_DELAYS: Mapping[ReferralStatus, Mapping[Urgency, timedelta]] = {
    S.SENT: {Urgency.URGENT: timedelta(hours=24), Urgency.SOON: timedelta(days=3), Urgency.ROUTINE: timedelta(days=7)},
    S.ACCEPTED: {Urgency.URGENT: timedelta(days=3), Urgency.SOON: timedelta(days=14),
                 Urgency.ROUTINE: timedelta(days=30)},
    S.CONSULTATION: {Urgency.URGENT: timedelta(days=7), Urgency.SOON: timedelta(days=28),
                     Urgency.ROUTINE: timedelta(days=60)},
    S.SURGERY: {Urgency.URGENT: timedelta(days=14), Urgency.SOON: timedelta(days=14),
                Urgency.ROUTINE: timedelta(days=14)},
}  # fmt: skip


def next_due(status: ReferralStatus, urgency: Urgency, at: datetime) -> datetime:
    """When the step after ``status`` (reached at ``at``) is due; closed referrals: ``at``."""
    delays = STEP_DELAYS.get(status)
    return at + delays[urgency] if delays else at


def step(current: ReferralStatus, wanted: ReferralStatus) -> ReferralStatus:
    if wanted not in REFERRAL_STEPS[current]:
        allowed = ", ".join(sorted(REFERRAL_STEPS[current])) or "none: the referral is closed"
        raise ValidationError(Problem("status", f"a referral {current.value} cannot become {wanted.value} "
                                                f"(allowed: {allowed})"))  # fmt: skip
    return wanted


@dataclass(frozen=True)
class ReferralEvent:
    status: ReferralStatus
    actor: str
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class Referral:
    territory: str
    patient_id: int
    from_site: str
    to_site: str
    referring_rpps: str
    reason: ReferralReason
    urgency: Urgency
    summary: str
    documents: tuple[str, ...] = ()
    status: ReferralStatus = ReferralStatus.SENT
    due_at: datetime | None = None
    created_at: datetime | None = None
    id: int | None = None
    events: tuple[ReferralEvent, ...] = ()

    def overdue(self, now: datetime) -> bool:
        return self.status not in CLOSED and self.due_at is not None and now > self.due_at


def referral_problems(r: Referral, sites: Sequence[str]) -> list[Problem]:
    problems = []
    if r.from_site not in sites:
        problems.append(Problem("from_site", f"unknown site {r.from_site!r}"))
    if r.to_site not in sites:
        problems.append(Problem("to_site", f"unknown site {r.to_site!r}"))
    if r.from_site == r.to_site:
        problems.append(Problem("to_site", "a referral goes to another site"))
    if len(r.summary.strip()) < 10:
        problems.append(Problem("summary", "say why the patient is referred (10 characters at least)"))
    return problems


class CaseStatus(StrEnum):
    WAITING = "waiting"
    BOOKED = "booked"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class SurgicalCase:
    territory: str
    patient_id: int
    procedure: str  # catalogue code (a theatre exam)
    surgeon: str  # RPPS
    priority: str  # urgent | cancer | standard
    cancer: bool
    expected_min: int
    ready_on: date
    due_by: date
    anaesthesia: str = "general"
    referral_id: int | None = None
    status: CaseStatus = CaseStatus.WAITING
    id: int | None = None
    equipment: tuple[str, ...] = ()  # what the room must have


@dataclass(frozen=True)
class TheatreBooking:
    case_id: int
    theatre: str  # equipment id
    start: datetime  # aware
    end: datetime
    id: int | None = None


QUORUM = 3


@dataclass(frozen=True)
class Attendee:
    rpps: str
    specialty: str


@dataclass(frozen=True)
class BoardCase:
    board_id: int
    patient_id: int
    question: str
    standard: bool = False  # short registration: the case follows a standard
    referral_id: int | None = None
    attendees: tuple[Attendee, ...] = ()
    decision: str | None = None
    decided_at: datetime | None = None
    sent_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class TumourBoard:
    territory: str
    title: str
    site: str
    day: date
    specialties: tuple[str, ...] = ()
    id: int | None = None
    cases: tuple[BoardCase, ...] = field(default_factory=tuple)


def decision_problems(case: BoardCase, attendees: Sequence[Attendee], decision: str) -> list[Problem]:
    """Why a board decision cannot be recorded: the quorum (three different specialties) unless
    the case is a short registration, and a decision in words."""
    problems = []
    specialties = {a.specialty.strip().lower() for a in attendees if a.specialty.strip()}
    if not case.standard and len(specialties) < QUORUM:
        problems.append(Problem("attendees", f"a quorum of {QUORUM} different specialties is needed "
                                             f"({len(specialties)} present)"))  # fmt: skip
    if len(decision.strip()) < 5:
        problems.append(Problem("decision", "write the board's decision"))
    return problems


def needs_board(case: SurgicalCase, decisions: Sequence[BoardCase]) -> bool:
    """A cancer case headed for (or past) surgery with no board decision for its patient."""
    if not case.cancer or case.status is CaseStatus.CANCELLED:
        return False
    return not any(d.patient_id == case.patient_id and d.decided_at is not None for d in decisions)
