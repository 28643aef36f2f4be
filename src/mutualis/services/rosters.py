"""Use cases of rosters: solve a territory's roster into a draft, publish it (it becomes the
presence table that booking and reading use), see it by person, site and on-call, leave and
swap requests with the coordinator's approval, contracts, and each person's iCalendar.

Who may do what: coordinators and administrators solve, publish, approve and set contracts;
radiologists and radiographers see the rosters of their territory, ask for leave and swaps for
themselves, and download their own calendar. Every change is audited.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mutualis.domain.accounts import Role, User
from mutualis.domain.audit import Action
from mutualis.domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.rosters import (
    AVERAGE_WEEKS,
    ON_CALL,
    Contract,
    Counters,
    Leave,
    LeaveStatus,
    RosterEntry,
    ShiftDefinition,
    ShiftKind,
    Worked,
    counters,
)
from mutualis.domain.territory import EquipmentKind, Territory
from mutualis.engines.roster.explain import explain_infeasible
from mutualis.engines.roster.solve import solve
from mutualis.engines.roster.territory import (
    Person,
    TerritoryRoster,
    default_shifts,
    entries,
    may_work,
    people_of,
    presence_of,
    territory_problem,
    to_instance,
)
from mutualis.services.common import audit as _audit
from mutualis.services.common import territory as _territory
from mutualis.services.ports import UnitOfWork

Progress = Callable[[str, float], None]
PLANNERS = (Role.COORDINATOR, Role.ADMIN)
STAFF = (Role.RADIOLOGIST, Role.RADIOGRAPHER)
MAX_DAYS = 63


class RosterInfeasible(ValidationError):
    """No roster keeps every rule: the conflicting rules, in words (HTTP 422)."""


@dataclass(frozen=True)
class RosterView:
    """What the pages show: a period of the published roster (or of one draft)."""

    territory: Territory
    first: date
    days: int
    run: Mapping[str, object] | None
    shifts: Mapping[str, ShiftDefinition]
    people: tuple[Person, ...]
    entries: tuple[RosterEntry, ...]
    counters: Mapping[str, Counters]
    leave: tuple[Leave, ...]



def _member(user: User, t: Territory) -> None:
    if user.role is Role.ADMIN and user.territory in (None, t.id):
        return
    if user.territory != t.id:
        raise NotFound("territory", t.id)


def _planner(user: User, t: Territory) -> None:
    _member(user, t)
    if user.role not in PLANNERS:
        raise PermissionDenied("only coordinators build, publish and approve rosters")



def _window(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(Problem("days", f"must be between 1 and {MAX_DAYS} (got {days})"))


def booked_work(uow: UnitOfWork, t: Territory, start: date, days: int
                ) -> tuple[dict[tuple[str, date], int], dict[date, float]]:  # fmt: skip
    """What the bookings ask of radiologists: minutes of exams they perform on site, per site and
    day; expected minutes of reading the other exams, per day (``ReadingSettings.minutes_for``)."""
    machines = {e.id: e for e in t.equipment if e.kind is EquipmentKind.IMAGING}
    first = datetime.combine(start, time())
    booked = uow.appointments.booked(t.id, list(machines), first, first + timedelta(days=days), t.timezone)
    performed: dict[tuple[str, date], int] = defaultdict(int)
    reading: dict[date, float] = defaultdict(float)
    for code, busy in booked.items():
        machine = machines[code]
        for b in busy:
            if b.needs_radiologist:
                performed[machine.site, b.start.date()] += int((b.end - b.start).total_seconds() // 60)
            elif machine.modality is not None:
                reading[b.start.date()] += t.reading.minutes_for(machine.modality.value)
    return dict(performed), dict(reading)


def _merged(uow: UnitOfWork, runs: Sequence[Mapping[str, Any]], first: date, last: date
            ) -> tuple[list[RosterEntry], dict[str, ShiftDefinition]]:  # fmt: skip
    """The entries of ``runs`` between two days, the newest run winning where runs overlap
    (``runs`` newest first), and the shift definitions they use."""
    seen: set[tuple[date, str]] = set()
    got: list[RosterEntry] = []
    shifts: dict[str, ShiftDefinition] = {}
    for r in runs:
        shifts = {**_shifts(r["shifts"]), **shifts}
        for e in uow.rosters.entries(int(r["id"])):
            if first <= e.day <= last and (e.day, e.rpps) not in seen:
                seen.add((e.day, e.rpps))
                got.append(e)
    return got, shifts


def worked_before(uow: UnitOfWork, t: Territory, start: date, days: int) -> Worked:
    """What the published rosters say was worked before ``start``: the shifts of the day before,
    the minutes per person over the weeks that complete a rolling 17-week window with this
    roster, and how many of those weeks the published rosters cover (0: none)."""
    weeks_before = max(0, AVERAGE_WEEKS - -(-days // 7))
    if not weeks_before:
        return Worked()
    first, last = start - timedelta(weeks=weeks_before), start - timedelta(days=1)
    runs = [r for r in uow.rosters.published_over(t.id, first, last) if r["territory_id"] == t.id]
    got, shifts = _merged(uow, runs, first, last)
    if not got:
        return Worked()
    covered_from = max(first, min(r["start_day"] for r in runs))
    minutes: dict[str, int] = defaultdict(int)
    for e in got:
        minutes[e.rpps] += shifts[e.shift].minutes
    before = tuple((e, shifts[e.shift]) for e in got if e.day == last)
    return Worked(before, dict(minutes), -(-(start - covered_from).days // 7))


def problem(uow: UnitOfWork, t: Territory, start: date, days: int, *, extra_leave: Sequence[Leave] = ()
            ) -> TerritoryRoster:  # fmt: skip
    """The territory's roster problem as stored: contracts, approved leave, bookings, and the
    published rosters before it (the rest after the day before, the 48-hour average)."""
    _window(days)
    last = start + timedelta(days=days - 1)
    leave = tuple(x for x in uow.rosters.leave(t.id, start, last) if x.status is LeaveStatus.APPROVED)
    performed, reading = booked_work(uow, t, start, days)
    return territory_problem(t, start, days, contracts=uow.rosters.contracts(t.id), performed=performed,
                             reading=reading, leave=leave + tuple(extra_leave),
                             worked=worked_before(uow, t, start, days))


def _notes(p: TerritoryRoster, got: Sequence[RosterEntry]) -> dict[str, object]:
    """What the coordinator should know: cover left short, and the spread of on-call duties."""
    have: dict[tuple[date, str], int] = defaultdict(int)
    for e in got:
        have[e.day, e.shift] += 1
    short = [{"day": d.isoformat(), "shift": code, "missing": need - have[d, code]}
             for (d, code), need in sorted(p.demand.items()) if have[d, code] < need]  # fmt: skip
    shifts = {s.code: s for s in p.shifts}
    c = counters(got, shifts, p.start, p.days)
    spread = {}
    for kind, field in (("nights", "nights"), ("weekend_days", "weekend_days")):
        groups: dict[tuple[str, float], list[int]] = defaultdict(list)
        for person in p.people:
            if person.contract.on_call and person.profession == "radiologist":
                groups[person.profession, person.contract.share].append(
                    getattr(c[person.rpps], field) if person.rpps in c else 0)
        spread[kind] = {f"{prof} {share:g}": [min(v), max(v)] for (prof, share), v in groups.items() if v}
    return {"short": short, "spread": spread}


def solve_roster(uow: UnitOfWork, user: User, territory_id: str, start: date, days: int, *,
                 time_limit_s: float = 30.0, progress: Progress | None = None, extra_leave: Sequence[Leave] = (),
                 address: str | None, now: datetime) -> int:  # fmt: skip
    """Solve the period into a draft roster; its id. Refused in words when no roster exists."""
    with uow:
        t = _territory(uow, territory_id)
        _planner(user, t)
        p = problem(uow, t, start, days, extra_leave=extra_leave)
    t0 = clock.monotonic()
    instance = to_instance(p)
    if progress:
        progress("checking the rules can all hold", 0.02)
    reasons = explain_infeasible(p, instance, time_limit_s=min(20.0, time_limit_s))
    if reasons:
        raise RosterInfeasible([Problem("roster", r) for r in reasons], "no roster keeps every rule")
    solution = solve(instance, max(1.0, time_limit_s - (clock.monotonic() - t0)), progress)
    if solution.roster is None:
        raise RosterInfeasible([Problem("roster", "the solver found no roster within the time limit")],
                               "no roster found")  # fmt: skip
    got = entries(p, solution.roster)
    legal = p.worked.problems(got, {s.code: s for s in p.shifts})
    if legal:  # the engine keeps the law by construction; this is the solver-free check
        raise ValidationError(legal, "the roster breaks working-time rules")
    header = {"start_day": start, "days": days, "status": "draft", "solver_status": solution.status,
              "objective": solution.objective, "seconds": round(clock.monotonic() - t0, 2),
              "shifts": [_shift_doc(s) for s in p.shifts], "notes": _notes(p, got), "created_by": user.username,
              "created_at": now}  # fmt: skip
    with uow:
        rid = uow.rosters.add_run(t.id, header, got)
        _audit(uow, user, Action.CREATE, "roster", rid, t.id, address, now, start=start.isoformat(), days=days,
               entries=len(got), status=solution.status)  # fmt: skip
        uow.commit()
    return rid


def _shift_doc(s: ShiftDefinition) -> dict[str, object]:
    return {"code": s.code, "label": s.label, "profession": s.profession, "site": s.site, "start_min": s.start_min,
            "end_min": s.end_min, "kind": s.kind.value, "qualification": s.qualification}  # fmt: skip


def _shifts(doc: Sequence[Mapping[str, object]]) -> dict[str, ShiftDefinition]:
    return {str(d["code"]): ShiftDefinition(str(d["code"]), str(d["label"]), str(d["profession"]),
                                            None if d["site"] is None else str(d["site"]), int(str(d["start_min"])),
                                            int(str(d["end_min"])), ShiftKind(str(d["kind"])),
                                            None if d["qualification"] is None else str(d["qualification"]))
            for d in doc}  # fmt: skip


def publish(uow: UnitOfWork, user: User, run_id: int, *, address: str | None, now: datetime) -> int:
    """Publish a draft: it replaces the presence table over its period (booking and reading
    follow it at once); the number of presence rows written."""
    with uow:
        run = uow.rosters.run(run_id, for_update=True)
        if run is None:
            raise NotFound("roster", str(run_id))
        t = _territory(uow, str(run["territory_id"]))
        _planner(user, t)
        if run["status"] != "draft":
            raise Conflict(f"roster {run_id} is {run['status']}, not a draft")
        first = run["start_day"]
        last = first + timedelta(days=run["days"] - 1)
        for other in uow.rosters.published_over(t.id, first, last):
            uow.rosters.set_status(int(other["id"]), "replaced")
        got = uow.rosters.entries(run_id)
        rows = presence_of(t, got, _shifts(run["shifts"]), people_of(t, uow.rosters.contracts(t.id), first))
        n = uow.presence.replace(t.id, first, last, [r for r in rows if r.day <= last])
        uow.rosters.set_status(run_id, "published", now)
        _audit(uow, user, Action.UPDATE, "roster", run_id, t.id, address, now, status="published", presence=n)
        uow.commit()
    return n


def view(uow: UnitOfWork, user: User, territory_id: str, first: date, days: int, *, run_id: int | None = None
         ) -> RosterView:  # fmt: skip
    """The published roster over a period (or draft ``run_id``), with counters and leave."""
    _window(days)
    last = first + timedelta(days=days - 1)
    with uow:
        t = _territory(uow, territory_id)
        _member(user, t)
        if user.role not in (*PLANNERS, *STAFF):
            raise PermissionDenied("rosters are for coordinators and the staff on them")
        runs = [uow.rosters.run(run_id)] if run_id is not None else uow.rosters.published_over(t.id, first, last)
        runs = [r for r in runs if r is not None and r["territory_id"] == t.id]
        if run_id is not None and not runs:
            raise NotFound("roster", str(run_id))
        got, shifts = _merged(uow, runs, first, last)
        if not shifts:
            shifts = {s.code: s for s in default_shifts(t)}
        people = people_of(t, uow.rosters.contracts(t.id), first)
        leave = tuple(uow.rosters.leave(t.id, first, last))
    got.sort()
    return RosterView(t, first, days, runs[0] if runs else None, shifts, people, tuple(got),
                      counters(got, shifts, first, days), leave)  # fmt: skip


def runs(uow: UnitOfWork, user: User, territory_id: str) -> list[dict[str, object]]:
    with uow:
        t = _territory(uow, territory_id)
        _planner(user, t)
        return list(uow.rosters.runs(t.id))


def set_contract(uow: UnitOfWork, user: User, territory_id: str, contract: Contract, *, address: str | None,
                 now: datetime) -> None:  # fmt: skip
    if not 0 < contract.share <= 1:
        raise ValidationError(Problem("share", "a share of full time between 0 and 1"))
    with uow:
        t = _territory(uow, territory_id)
        _planner(user, t)
        if not any(p.rpps == contract.rpps for p in t.practitioners):
            raise ValidationError(Problem("rpps", f"{contract.rpps} is not a practitioner of {t.id}"))
        uow.rosters.set_contract(t.id, contract)
        _audit(uow, user, Action.UPDATE, "contract", contract.rpps, t.id, address, now, share=contract.share,
               weekends=contract.weekends, on_call=contract.on_call)  # fmt: skip
        uow.commit()


def _self_or_planner(user: User, t: Territory, rpps: str) -> None:
    _member(user, t)
    if user.role in PLANNERS:
        return
    if user.role not in STAFF or user.rpps != rpps:
        raise PermissionDenied("staff ask for their own leave and swaps; coordinators for anyone")


def request_leave(uow: UnitOfWork, user: User, territory_id: str, leave: Leave, *, address: str | None,
                  now: datetime) -> int:  # fmt: skip
    problems = []
    if leave.last < leave.first:
        problems.append(Problem("last", "the last day comes before the first"))
    if (leave.last - leave.first).days > 90:
        problems.append(Problem("last", "at most 90 days in one request"))
    if not leave.reason.strip():
        problems.append(Problem("reason", "say why (congé annuel, formation, RTT…)"))
    if problems:
        raise ValidationError(problems, "leave refused")
    with uow:
        t = _territory(uow, territory_id)
        _self_or_planner(user, t, leave.rpps)
        if not any(p.rpps == leave.rpps for p in t.practitioners):
            raise ValidationError(Problem("rpps", f"{leave.rpps} is not a practitioner of {t.id}"))
        lid = uow.rosters.add_leave(t.id, replace(leave, status=LeaveStatus.REQUESTED), user.username, now)
        _audit(uow, user, Action.CREATE, "leave", lid, t.id, address, now, rpps=leave.rpps,
               first=leave.first.isoformat(), last=leave.last.isoformat())  # fmt: skip
        uow.commit()
    return lid


def decide_leave(uow: UnitOfWork, user: User, leave_id: int, approve: bool, *, address: str | None,
                 now: datetime) -> None:  # fmt: skip
    with uow:
        territory = uow.rosters.leave_territory(leave_id)
        leave = uow.rosters.get_leave(leave_id)
        if territory is None or leave is None:
            raise NotFound("leave", str(leave_id))
        t = _territory(uow, territory)
        _planner(user, t)
        if leave.status is not LeaveStatus.REQUESTED:
            raise Conflict(f"leave {leave_id} is already {leave.status.value}")
        status = LeaveStatus.APPROVED if approve else LeaveStatus.REFUSED
        uow.rosters.decide_leave(leave_id, status, user.username, now)
        _audit(uow, user, Action.UPDATE, "leave", leave_id, t.id, address, now, status=status.value)
        uow.commit()


def request_swap(uow: UnitOfWork, user: User, run_id: int, day: date, from_rpps: str, to_rpps: str, *,
                 address: str | None, now: datetime) -> int:  # fmt: skip
    """Ask to exchange the shifts of two people on a day of a published roster."""
    with uow:
        run = uow.rosters.run(run_id)
        if run is None:
            raise NotFound("roster", str(run_id))
        t = _territory(uow, str(run["territory_id"]))
        _self_or_planner(user, t, from_rpps)
        if run["status"] != "published":
            raise Conflict("swaps are for a published roster")
        if from_rpps == to_rpps:
            raise ValidationError(Problem("to", "swap with someone else"))
        sid = uow.rosters.add_swap(run_id, day, from_rpps, to_rpps, user.username, now)
        _audit(uow, user, Action.CREATE, "swap", sid, t.id, address, now, day=day.isoformat(), to=to_rpps)
        uow.commit()
    return sid


def decide_swap(uow: UnitOfWork, user: User, swap_id: int, approve: bool, *, address: str | None,
                now: datetime) -> None:  # fmt: skip
    """Approve (the two shifts are exchanged, after the working-time rules and qualifications
    are checked for both people, and the presence follows) or refuse a swap."""
    with uow:
        swap = uow.rosters.swap(swap_id)
        if swap is None:
            raise NotFound("swap", str(swap_id))
        run = uow.rosters.run(int(swap["run_id"]), for_update=True)
        assert run is not None
        t = _territory(uow, str(run["territory_id"]))
        _planner(user, t)
        if swap["status"] != "requested":
            raise Conflict(f"swap {swap_id} is already {swap['status']}")
        if approve:
            _exchange(uow, t, run, swap)
        uow.rosters.decide_swap(swap_id, "approved" if approve else "refused", user.username, now)
        _audit(uow, user, Action.UPDATE, "swap", swap_id, t.id, address, now,
               status="approved" if approve else "refused")  # fmt: skip
        uow.commit()


def _exchange(uow: UnitOfWork, t: Territory, run: Mapping[str, object], swap: Mapping[str, object]) -> None:
    rid, day = int(str(run["id"])), swap["day"]
    assert isinstance(day, date)
    a, b = str(swap["from_rpps"]), str(swap["to_rpps"])
    got = uow.rosters.entries(rid)
    shift_of = {(e.day, e.rpps): e.shift for e in got}
    sa, sb = shift_of.get((day, a)), shift_of.get((day, b))
    shifts = _shifts(run["shifts"])  # type: ignore[arg-type]
    start = run["start_day"]
    assert isinstance(start, date)
    people = {p.rpps: p for p in people_of(t, uow.rosters.contracts(t.id), start)}
    problems = [Problem(f"{who} {day.isoformat()}", f"may not work {code}") for who, code in ((b, sa), (a, sb))
                if code and who in people and not may_work(people[who], shifts[code])]  # fmt: skip
    swapped = [e for e in got if not (e.day == day and e.rpps in (a, b))]
    swapped += [RosterEntry(day, b, sa)] if sa else []
    swapped += [RosterEntry(day, a, sb)] if sb else []
    legal = worked_before(uow, t, start, int(str(run["days"]))).problems(swapped, shifts)
    problems += [p for p in legal if p.location.split()[0] in (a, b)]
    if problems:
        raise ValidationError(problems, "the swap would break a rule")
    uow.rosters.set_entry(rid, day, a, sb)
    uow.rosters.set_entry(rid, day, b, sa)
    days = int(str(run["days"]))
    first, last = start, start + timedelta(days=days - 1)
    if run["status"] == "published":
        rows = presence_of(t, uow.rosters.entries(rid), shifts, list(people.values()))
        uow.presence.replace(t.id, first, last, [r for r in rows if r.day <= last])


def ical(v: RosterView, rpps: str) -> str:
    """One person's shifts of a roster view as an iCalendar (RFC 5545) document."""
    zone = ZoneInfo(v.territory.timezone)
    sites = {s.id: s.name for s in v.territory.sites}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

    def utc(local: datetime) -> str:
        return local.replace(tzinfo=zone).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def text(s: str) -> str:
        return s.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Mutualis//Rosters//FR", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{text('Planning ' + v.territory.name)}"]  # fmt: skip
    for e in v.entries:
        if e.rpps != rpps:
            continue
        s = v.shifts[e.shift]
        a, b = s.span(e.day)
        where = sites.get(s.site or "", "à distance" if s.kind is ShiftKind.REMOTE else "territoire")
        lines += ["BEGIN:VEVENT", f"UID:{e.day:%Y%m%d}-{rpps}-{e.shift}@mutualis", f"DTSTAMP:{stamp}",
                  f"DTSTART:{utc(a)}", f"DTEND:{utc(b)}", f"SUMMARY:{text(s.label)}", f"LOCATION:{text(where)}",
                  f"CATEGORIES:{'GARDE' if s.kind in ON_CALL else 'TRAVAIL'}", "END:VEVENT"]  # fmt: skip
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def swaps(uow: UnitOfWork, user: User, run_id: int) -> list[dict[str, object]]:
    """The swap requests of a roster (staff and coordinators of its territory)."""
    with uow:
        run = uow.rosters.run(run_id)
        if run is None:
            raise NotFound("roster", str(run_id))
        _member(user, _territory(uow, str(run["territory_id"])))
        return list(uow.rosters.swaps(run_id))
