"""Use cases of the federation's theatres: surgical cases, bookings into theatre sessions under
the convention's privileges (:func:`may_operate`), the two-site week with its cancer cases flagged
when no tumour board has decided, and the planner that fills a week's sessions from the waiting
cases (engines/theatre), booked in one transaction (:func:`book_week`).

Who: federation surgeons, coordinators and administrators, on the sites their scope covers;
planning the week is for coordinators. Every act is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from mutualis.domain.accounts import Role, User, visible_sites
from mutualis.domain.audit import Action
from mutualis.domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.federation import (
    REFERRAL_STEPS,
    CaseStatus,
    ReferralEvent,
    ReferralStatus,
    SurgicalCase,
    TheatreBooking,
    needs_board,
    next_due,
)
from mutualis.domain.territory import WEEKDAYS, EquipmentKind, Platform, Territory
from mutualis.engines.theatre.baseline import fcfs_assignment, plan_of
from mutualis.engines.theatre.block import (
    anaesthesia_by_site,
    default_equipment,
    privileges_from_territory,
    sessions_from_territory,
)
from mutualis.engines.theatre.instance import ANAESTHESIA, TheatreInstance
from mutualis.engines.theatre.instance import Session as EngineSession
from mutualis.engines.theatre.instance import SurgicalCase as EngineCase
from mutualis.engines.theatre.solve import solve as solve_theatres
from mutualis.engines.theatre.validate import evaluate as evaluate_theatres
from mutualis.engines.theatre.validate import plan_problems
from mutualis.services.booking import to_local, to_utc
from mutualis.services.common import audit as _audit
from mutualis.services.common import territory as _territory
from mutualis.services.ports import UnitOfWork

ACTORS = (Role.FEDERATION_SURGEON, Role.COORDINATOR, Role.ADMIN)
PRIORITIES = ("urgent", "cancer", "standard")



def scope(user: User, t: Territory, now: datetime) -> frozenset[str]:
    if user.role not in ACTORS:
        raise PermissionDenied("the federation's pages are for its surgeons and coordinators")
    sites = visible_sites(user, t, now.date())
    if not sites:
        raise NotFound("territory", t.id)
    return sites



# --- privileges ---------------------------------------------------------------------------------


def may_operate(t: Territory, rpps: str, site: str, on: date) -> bool:
    """A practitioner may operate on ``site``'s theatres on ``on``: their home establishment's
    site, or a theatre privilege in force under a convention in force."""
    p = next((x for x in t.practitioners if x.rpps == rpps), None)
    if p is None:
        return False
    if t.establishment_of(site) == p.establishment:
        return True
    return any(pv.rpps == rpps and site in pv.sites and Platform.THEATRE in pv.platforms and pv.in_force(on)
               for c in t.conventions_in_force(on) for pv in c.privileges)  # fmt: skip


# --- surgical cases and theatres ---------------------------------------------------------------


def create_case(uow: UnitOfWork, user: User, c: SurgicalCase, *, address: str | None, now: datetime) -> int:
    with uow:
        t = _territory(uow, c.territory)
        scope(user, t, now)
        problems = []
        exam = next((x for x in t.exams if x.code == c.procedure and x.kind is EquipmentKind.THEATRE), None)
        if exam is None:
            problems.append(Problem("procedure", f"{c.procedure!r} is not a theatre procedure of the catalogue"))
        if not any(p.rpps == c.surgeon for p in t.practitioners):
            problems.append(Problem("surgeon", f"{c.surgeon} is not a practitioner of {t.id}"))
        if c.priority not in PRIORITIES:
            problems.append(Problem("priority", f"one of {', '.join(PRIORITIES)}"))
        if c.anaesthesia not in ANAESTHESIA:
            problems.append(Problem("anaesthesia", f"one of {', '.join(ANAESTHESIA)}"))
        if c.due_by < c.ready_on:
            problems.append(Problem("due_by", "before the day the case is ready"))
        if uow.patients.get(t.id, c.patient_id) is None:
            problems.append(Problem("patient_id", f"no patient {c.patient_id} in {t.id}"))
        if problems:
            raise ValidationError(problems, "case refused")
        assert exam is not None
        cid = uow.federation.add_case(replace(c, expected_min=c.expected_min or exam.duration_min,
                                              status=CaseStatus.WAITING), now)  # fmt: skip
        _audit(uow, user, Action.CREATE, "surgical_case", cid, t.id, address, now, patient=c.patient_id,
               procedure=c.procedure, cancer=c.cancer)  # fmt: skip
        uow.commit()
    return cid


@dataclass(frozen=True)
class Booked:
    booking: TheatreBooking
    board_missing: bool  # a cancer case booked without a tumour-board decision


def book_case(uow: UnitOfWork, user: User, case_id: int, theatre: str, start_local: datetime, *,
              address: str | None, now: datetime) -> Booked:  # fmt: skip
    """Book a waiting case into a theatre: the surgeon's privilege on that site, the theatre's
    hours and procedures, no overlap in the theatre nor for the surgeon, are all checked."""
    with uow:
        c = uow.federation.case(case_id, for_update=True)
        if c is None:
            raise NotFound("surgical case", str(case_id))
        t = _territory(uow, c.territory)
        booked = _book(uow, user, t, scope(user, t, now), c, theatre, start_local, address=address, now=now)
        uow.commit()
    return booked


def _book(uow: UnitOfWork, user: User, t: Territory, sites: frozenset[str], c: SurgicalCase, theatre: str,
          start_local: datetime, *, address: str | None, now: datetime) -> Booked:  # fmt: skip
    """The booking itself, inside the caller's transaction (refused whole with every reason)."""
    case_id = c.id or 0
    room = next((e for e in t.equipment if e.id == theatre and e.kind is EquipmentKind.THEATRE), None)
    if room is None:
        raise ValidationError(Problem("theatre", f"no theatre {theatre!r} in {t.id}"))
    if room.site not in sites:
        raise PermissionDenied(f"{room.site} is outside your scope")
    if c.status is not CaseStatus.WAITING:
        raise Conflict(f"case {case_id} is {c.status.value}, not waiting")
    day = start_local.date()
    problems = []
    if not may_operate(t, c.surgeon, room.site, day):
        problems.append(Problem("theatre", f"the surgeon holds no theatre privilege on {room.site} on {day}"))
    if room.exams and c.procedure not in room.exams:
        problems.append(Problem("theatre", f"{room.name} does not take {c.procedure}"))
    lacking = sorted(set(c.equipment) - default_equipment(t).get(theatre, frozenset()))
    if lacking:
        problems.append(Problem("theatre", f"{room.name} lacks {', '.join(lacking)}"))
    if c.anaesthesia not in anaesthesia_by_site(t, privileges_from_territory(t, day)).get(room.site, frozenset()):
        problems.append(Problem("theatre", f"no {c.anaesthesia} anaesthesia on {room.site}"))
    start_min = start_local.hour * 60 + start_local.minute
    end_min = start_min + c.expected_min
    ranges = room.opening_hours.get(WEEKDAYS[day.weekday()], ())
    closed = any(x.start <= start_local < x.end for x in room.closures)
    if closed or not any(r.start <= start_min and end_min <= r.end for r in ranges):
        problems.append(Problem("start", "outside the theatre's sessions"))
    if day < c.ready_on:
        problems.append(Problem("start", f"the case is ready on {c.ready_on}"))
    start, end = to_utc(start_local, t), to_utc(start_local + timedelta(minutes=c.expected_min), t)
    for b, other in uow.federation.bookings(t.id, start, end):
        if b.theatre == theatre:
            problems.append(Problem("start", f"{room.name} is taken then (case {other.id})"))
        elif other.surgeon == c.surgeon:
            problems.append(Problem("start", f"the surgeon operates elsewhere then (case {other.id})"))
    if problems:
        raise ValidationError([replace(p, location=f"case {case_id} {p.location}") for p in problems],
                              "booking refused")  # fmt: skip
    booking = TheatreBooking(case_id, theatre, start, end)
    bid = uow.federation.add_booking(t.id, booking, user.username, now)
    uow.federation.set_case_status(case_id, CaseStatus.BOOKED, now)
    missing = needs_board(replace(c, status=CaseStatus.BOOKED), uow.federation.decisions(t.id))
    if c.referral_id is not None:
        r = uow.federation.referral(c.referral_id, for_update=True)
        if r is not None and ReferralStatus.SURGERY in REFERRAL_STEPS[r.status]:
            uow.federation.set_referral(r.id or 0, ReferralStatus.SURGERY,
                                        next_due(ReferralStatus.SURGERY, r.urgency, end), now)  # fmt: skip
            uow.federation.add_event(r.id or 0, ReferralEvent(
                ReferralStatus.SURGERY, user.username, now,
                f"intervention programmée le {start_local:%d/%m/%Y à %H:%M} ({room.name})"))  # fmt: skip
    _audit(uow, user, Action.CREATE, "theatre_booking", bid, t.id, address, now, case=case_id,
           theatre=theatre, start=start_local.isoformat(), board_missing=missing)  # fmt: skip
    return Booked(replace(booking, id=bid), missing)



@dataclass(frozen=True)
class TheatreWeek:
    territory: Territory
    start: date
    bookings: tuple[tuple[TheatreBooking, SurgicalCase, bool], ...]  # booking, case, tumour board missing
    waiting: tuple[tuple[SurgicalCase, bool], ...]
    sessions: tuple[EngineSession, ...] = ()  # the block schedule: who each session is given to


def theatre_week(uow: UnitOfWork, user: User, territory_id: str, start: date, *, now: datetime,
                 days: int = 7) -> TheatreWeek:  # fmt: skip
    """The two sites' theatre bookings of a week and the waiting cases, each cancer case
    flagged when it has no tumour-board decision."""
    with uow:
        t = _territory(uow, territory_id)
        scope(user, t, now)
        first = to_utc(datetime.combine(start, time()), t)
        got = uow.federation.bookings(t.id, first, first + timedelta(days=days))
        decisions = uow.federation.decisions(t.id)
        waiting = uow.federation.cases(t.id, [CaseStatus.WAITING.value])
    return TheatreWeek(t, start, tuple((b, c, needs_board(c, decisions)) for b, c in got),
                       tuple((c, needs_board(c, decisions)) for c in waiting),
                       sessions_from_territory(t, start, days))  # fmt: skip


def flagged_cases(uow: UnitOfWork, user: User, territory_id: str, *, now: datetime) -> list[SurgicalCase]:
    """Cancer cases waiting or booked with no tumour-board decision."""
    with uow:
        t = _territory(uow, territory_id)
        scope(user, t, now)
        decisions = uow.federation.decisions(t.id)
        return [c for c in uow.federation.cases(t.id, [CaseStatus.WAITING.value, CaseStatus.BOOKED.value])
                if needs_board(c, decisions)]  # fmt: skip


# --- the week's theatre plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    case: SurgicalCase
    theatre: str
    start: datetime  # local
    end: datetime


@dataclass(frozen=True)
class WeekPlan:
    """The planner's proposal for a week: what it books, what stays waiting, and the same
    figures for first come, first served on the same sessions and cases."""

    territory: Territory
    start: date
    items: tuple[Planned, ...]
    left: tuple[SurgicalCase, ...]
    status: str
    gap: float
    seconds: float
    done: int
    done_fcfs: int
    urgent_cancer: int
    urgent_cancer_fcfs: int
    past_due: int
    past_due_fcfs: int


def _free_sessions(sessions: Sequence[EngineSession], busy: Sequence[tuple[str, date, int, int]],
                   least: int = 30) -> list[EngineSession]:  # fmt: skip
    """Sessions with what is already booked taken out (pieces of at least ``least`` minutes)."""
    out = []
    for s in sessions:
        taken = sorted((a, b) for room, day, a, b in busy if room == s.theatre and day == s.day)
        pieces, at = [], s.start_min
        for a, b in taken:
            if a > at:
                pieces.append((at, min(a, s.end_min)))
            at = max(at, b)
        if at < s.end_min:
            pieces.append((at, s.end_min))
        for k, (a, b) in enumerate(p for p in pieces if p[1] - p[0] >= least):
            out.append(replace(s, id=f"{s.id}#{k}", start_min=a, end_min=b))
    return out


def plan_week(uow: UnitOfWork, user: User, territory_id: str, start: date, *, time_limit_s: float = 20.0,
              now: datetime, days: int = 5) -> WeekPlan:  # fmt: skip
    """Fill the sessions of the week from ``start`` with the waiting cases (engines/theatre),
    around what is booked already; nothing is written (:func:`book_week` books the plan)."""
    with uow:
        t = _territory(uow, territory_id)
        scope(user, t, now)
        if user.role not in (Role.COORDINATOR, Role.ADMIN):
            raise PermissionDenied("coordinators plan the week's theatres")
        first = to_utc(datetime.combine(start, time()), t)
        existing = uow.federation.bookings(t.id, first, first + timedelta(days=days))
        waiting = uow.federation.cases(t.id, [CaseStatus.WAITING.value])
    today = to_local(now, t).date()
    busy = []
    for b, _ in existing:
        a, e = to_local(b.start, t), to_local(b.end, t)
        busy.append((b.theatre, a.date(), a.hour * 60 + a.minute, e.hour * 60 + e.minute))
    sessions = [s for s in _free_sessions(sessions_from_territory(t, start, days), busy) if s.day > today]
    labels = {x.code: x.label for x in t.exams}
    cases = {str(c.id): c for c in waiting}
    inst = TheatreInstance(start, days, tuple(sessions), tuple(
        EngineCase(str(c.id), c.procedure, labels.get(c.procedure, c.procedure), c.expected_min, c.surgeon,
                   c.priority, c.ready_on, c.due_by, c.ready_on, anaesthesia=c.anaesthesia,
                   equipment=frozenset(c.equipment))
        for c in waiting), privileges_from_territory(t, start), overtime_allowance_min=0,
        names={p.rpps: p.display_name for p in t.practitioners}, name=t.id)  # fmt: skip
    solution = solve_theatres(inst, time_limit_s)
    problems = plan_problems(inst, solution.plan)
    if problems:  # the engine keeps its rules; this is the solver-free check
        raise ValidationError(problems, "the planner's plan breaks a rule")
    session = inst.session_by_id
    items = []
    for bk in solution.plan:
        s = session[bk.session]
        begin = datetime.combine(s.day, time()) + timedelta(minutes=bk.start_min)
        c = cases[bk.case]
        items.append(Planned(c, s.theatre, begin, begin + timedelta(minutes=c.expected_min)))
    ours, fcfs = evaluate_theatres(inst, solution.plan), evaluate_theatres(inst, plan_of(inst, fcfs_assignment(inst)))
    placed = {p.case.id for p in items}
    return WeekPlan(t, start, tuple(sorted(items, key=lambda p: (p.start, p.theatre))),
                    tuple(c for c in waiting if c.id not in placed), solution.status, solution.gap, solution.seconds,
                    ours.done, fcfs.done, ours.done_urgent_cancer, fcfs.done_urgent_cancer, ours.past_due,
                    fcfs.past_due)  # fmt: skip


def book_week(uow: UnitOfWork, user: User, territory_id: str, items: Sequence[tuple[int, str, datetime]], *,
              address: str | None, now: datetime) -> int:  # fmt: skip
    """Book a week's plan (case, theatre, local start) in one transaction, each booking checked
    as :func:`book_case` checks it: one refusal refuses the whole plan, nothing is written."""
    with uow:
        t = _territory(uow, territory_id)
        sites = scope(user, t, now)
        if user.role not in (Role.COORDINATOR, Role.ADMIN):
            raise PermissionDenied("coordinators plan the week's theatres")
        for case_id, theatre, start_local in items:
            c = uow.federation.case(case_id, for_update=True)
            if c is None or c.territory != t.id:
                raise NotFound("surgical case", str(case_id))
            _book(uow, user, t, sites, c, theatre, start_local, address=address, now=now)
        uow.commit()
    return len(items)
