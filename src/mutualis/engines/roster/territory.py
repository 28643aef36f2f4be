"""A territory's roster as an instance of the engine: radiologists and radiographers, the
shifts of each site, remote reading and the territory's on-call, demand from the machines'
opening hours and the bookings, leave, contracts and the legal limits.

Default shifts (:func:`default_shifts`, documented assumptions — a territory may list its own):

- radiologists: ``J-<site>`` a day on site 08:00–18:30 at every site with imaging;
  ``TELE`` remote reading 08:00–18:30 (CT-qualified where there is a CT); ``TELE-IRM`` the
  same, MR-qualified, where there is an MRI; ``L2`` a day of
  screening second reading (remote, needs the territory's L2 qualification); ``GN`` the
  territory's night on call 18:30–08:30; ``GJ`` the weekend day on call 08:30–18:30 (both
  CT-qualified where there is a CT: the urgent exams of the night are mostly CTs);
- radiographers: ``M-<site>`` the site's day, from the first opening to the last closing of its
  machines (split into ``M-<site>`` 7-hour morning and ``S-<site>`` evening when longer than
  10 h 30); ``IRM-<site>`` (and ``IRMS-<site>`` in the evening, likewise) the MRI's hours, for MR-trained
  radiographers only.

Demand (:func:`default_demand`) per day: one radiologist per open site (two where the booked
exams needing a radiologist on site exceed a day); on weekdays, remote readers for the reading
and performing the day's bookings need beyond what the radiologists on site give, at
:data:`READING_DAY_MIN` each (at least one; a remote reader reads CT when the territory has a
CT: remote reading is mostly the CT's, and ultrasound is read on site only), one of them an
MRI reader (``TELE-IRM``) on the days the MRI is open: its readings are the longest, and the
MR readers on site are taken by their ultrasound lists; an L2
reader on the days the mammograph is open, one radiologist on call every night and on weekend
days; one radiographer per open machine (the MRI's MR-trained).

What the law fixes is hard: nobody works right after a night on call (``GN`` may be followed
by nothing: 11 hours of rest), 48 hours a week at most over the roster, days of leave off.
Contracts: a full-time radiologist works at least 4 days of 10 hours a week on average (× their
share), at most one weekend in two unless they do no weekends; on-call is for those whose
contract says so. On-call cover is near-mandatory (under-cover weight 100,000); the rest is
weighed (day on site 1,000, remote reading 100); a shift on a day it is not needed (a site's
shift when it is closed, a weekend on-call on a weekday) costs 5,000, extra remote reading
nothing.

Day 0 of the instance is the Monday on or before the roster's first day (the engine's weekends
are days 5 and 6 of each week); days before the first are everybody's days off.

The roster before this one (``worked``): a shift worked the day before the first day that
leaves less than the legal rest before one of tomorrow's shifts forbids it (a night on call on
30 November: no work on 1 December); the minutes worked in the weeks before (up to 17 weeks
in all with this roster) lower each person's ceiling so the
48-hour average holds over the rolling four months, not just within this roster.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from mutualis.domain.rosters import (
    AVERAGE_WEEKS,
    DAILY_REST_MIN,
    DAY,
    REST_AFTER_NIGHT_MIN,
    WEEKLY_AVERAGE_MAX_MIN,
    Contract,
    Leave,
    LeaveStatus,
    RosterEntry,
    ShiftDefinition,
    ShiftKind,
    Worked,
)
from mutualis.domain.territory import WEEKDAYS, EquipmentKind, Modality, Profession, Territory
from mutualis.engines.roster.instance import (
    OFF,
    Balance,
    Cover,
    DayOff,
    RosterInstance,
    ShiftRequest,
    ShiftType,
    Staff,
)
from mutualis.engines.slots import Shift

RADIOLOGIST, RADIOGRAPHER = Profession.RADIOLOGIST.value, Profession.RADIOGRAPHER.value
HARD_UNDER = 100_000
DAY_UNDER, REMOTE_UNDER, OVER, UNWANTED, FAIRNESS = 1_000, 100, 10, 5_000, 5_000
DAY_MIN = 10 * 60  # a radiologist's working day, for the contract's lower bound
READING_DAY_MIN = 7 * 60  # reading and performing in a radiologist's day (10 h 30, 30 % other work: an assumption)


@dataclass(frozen=True)
class Person:
    rpps: str
    name: str
    profession: str
    qualifications: frozenset[str]
    sites: frozenset[str]  # where they may work on site (home and privileges)
    establishment: str
    contract: Contract


@dataclass(frozen=True)
class TerritoryRoster:
    """The problem: ``days`` days from ``start``."""

    territory: str
    start: date
    days: int
    shifts: tuple[ShiftDefinition, ...]
    people: tuple[Person, ...]
    demand: Mapping[tuple[date, str], int]
    leave: tuple[Leave, ...] = ()
    hard: frozenset[str] = frozenset({"GN", "GJ"})
    sites: Mapping[str, str] = field(default_factory=dict)  # site id → name
    worked: Worked = field(default_factory=Worked)  # before ``start``, as published

    @property
    def first_monday(self) -> date:
        return self.start - timedelta(days=self.start.weekday())

    @property
    def offset(self) -> int:
        return (self.start - self.first_monday).days


def _site_hours(t: Territory, site: str, weekday: int, modality: Modality | None = None) -> tuple[int, int] | None:
    ranges = [r for e in t.equipment if e.site == site and e.kind is EquipmentKind.IMAGING
              and (modality is None or e.modality is modality) for r in e.opening_hours.get(WEEKDAYS[weekday], ())]
    return (min(r.start for r in ranges), max(r.end for r in ranges)) if ranges else None  # fmt: skip


def _imaging_sites(t: Territory) -> list[str]:
    return [s.id for s in t.sites if any(e.site == s.id and e.kind is EquipmentKind.IMAGING for e in t.equipment)]


def _open(t: Territory, modality: Modality, weekday: int) -> bool:
    """Whether a machine of ``modality`` opens on ``weekday`` (0: Monday)."""
    return any(e.modality is modality and e.opening_hours.get(WEEKDAYS[weekday]) for e in t.equipment)


def default_shifts(t: Territory) -> tuple[ShiftDefinition, ...]:
    names = {s.id: s.name for s in t.sites}
    ct = any(e.modality is Modality.CT for e in t.equipment)
    reads_ct = t.reading.modality_qualifications.get(Modality.CT.value) if ct else None
    mri = any(e.modality is Modality.MR for e in t.equipment)
    out = [ShiftDefinition(f"J-{s}", f"Jour {names[s]}", RADIOLOGIST, s, 8 * 60, 18 * 60 + 30)
           for s in _imaging_sites(t)]  # fmt: skip
    out += [
        ShiftDefinition("TELE", "Télélecture", RADIOLOGIST, None, 8 * 60, 18 * 60 + 30, ShiftKind.REMOTE, reads_ct),
        *([ShiftDefinition("TELE-IRM", "Télélecture IRM", RADIOLOGIST, None, 8 * 60, 18 * 60 + 30, ShiftKind.REMOTE,
                           t.reading.modality_qualifications.get(Modality.MR.value))] if mri else []),
        ShiftDefinition("L2", "Deuxième lecture (dépistage)", RADIOLOGIST, None, 8 * 60, 18 * 60 + 30,
                        ShiftKind.REMOTE, t.reading.l2_qualification),
        ShiftDefinition("GN", "Garde de nuit du territoire", RADIOLOGIST, None, 18 * 60 + 30, 32 * 60 + 30,
                        ShiftKind.NIGHT_ON_CALL, reads_ct),
        ShiftDefinition("GJ", "Garde de jour (week-end)", RADIOLOGIST, None, 8 * 60 + 30, 18 * 60 + 30,
                        ShiftKind.WEEKEND_ON_CALL, reads_ct),
    ]  # fmt: skip
    for s in _imaging_sites(t):
        spans = [h for w in range(7) if (h := _site_hours(t, s, w))]
        a, b = min(x for x, _ in spans), max(y for _, y in spans)
        if b - a > 10 * 60 + 30:
            out += [ShiftDefinition(f"M-{s}", f"Matin {names[s]}", RADIOGRAPHER, s, a, a + 7 * 60),
                    ShiftDefinition(f"S-{s}", f"Soir {names[s]}", RADIOGRAPHER, s, b - 7 * 60, b)]  # fmt: skip
        else:
            out.append(ShiftDefinition(f"M-{s}", f"Journée {names[s]}", RADIOGRAPHER, s, a, b))
        mr = [h for w in range(7) if (h := _site_hours(t, s, w, Modality.MR))]
        if mr:
            a, b = min(x for x, _ in mr), max(y for _, y in mr)
            if b - a > 10 * 60 + 30:
                out += [ShiftDefinition(f"IRM-{s}", f"IRM matin {names[s]}", RADIOGRAPHER, s, a, a + 7 * 60,
                                        qualification="MR"),
                        ShiftDefinition(f"IRMS-{s}", f"IRM soir {names[s]}", RADIOGRAPHER, s, b - 7 * 60, b,
                                        qualification="MR")]  # fmt: skip
            else:
                out.append(ShiftDefinition(f"IRM-{s}", f"IRM {names[s]}", RADIOGRAPHER, s, a, b, qualification="MR"))
    return tuple(out)


def people_of(t: Territory, contracts: Mapping[str, Contract], on: date) -> tuple[Person, ...]:
    imaging = set(_imaging_sites(t))
    granted: dict[str, set[str]] = {}
    for c in t.conventions_in_force(on):
        for pv in c.privileges:
            if pv.in_force(on):
                granted.setdefault(pv.rpps, set()).update(s for s in pv.sites if s in imaging)
    out = []
    for p in sorted(t.practitioners, key=lambda x: x.rpps):
        if p.profession not in (Profession.RADIOLOGIST, Profession.RADIOGRAPHER):
            continue
        home = {s.id for s in t.sites if s.establishment == p.establishment and s.id in imaging}
        out.append(Person(p.rpps, p.display_name, p.profession.value, frozenset(p.qualifications),
                          frozenset(home | granted.get(p.rpps, set())), p.establishment,
                          contracts.get(p.rpps, Contract(p.rpps))))  # fmt: skip
    return tuple(out)


def default_demand(t: Territory, shifts: Sequence[ShiftDefinition], start: date, days: int,
                   radiologist_minutes: Mapping[tuple[str, date], int] | None = None,
                   reading_minutes: Mapping[date, float] | None = None) -> dict[tuple[date, str], int]:
    """Requirement per day and shift code (see the module docstring). ``radiologist_minutes``:
    booked minutes of exams a radiologist performs, per site and day; ``reading_minutes``:
    expected minutes of reading the day's other booked exams (``ReadingSettings.minutes_for``)."""
    codes = {s.code for s in shifts}
    booked = radiologist_minutes or {}
    to_read = reading_minutes or {}
    demand: dict[tuple[date, str], int] = {}
    for n in range(days):
        day = start + timedelta(days=n)
        w = day.weekday()
        for s in _imaging_sites(t):
            machines = [e for e in t.equipment if e.site == s and e.kind is EquipmentKind.IMAGING
                        and e.opening_hours.get(WEEKDAYS[w])]  # fmt: skip
            if not machines:
                continue
            if w < 5 and f"J-{s}" in codes:
                demand[day, f"J-{s}"] = 2 if booked.get((s, day), 0) > DAY_MIN else 1
            mr = sum(e.modality is Modality.MR for e in machines)
            others = len(machines) - mr if f"IRM-{s}" in codes else len(machines)
            for code in (f"M-{s}", f"S-{s}"):
                if code in codes and others:
                    demand[day, code] = others
            for code in (f"IRM-{s}", f"IRMS-{s}"):
                if mr and code in codes:
                    demand[day, code] = mr
        if w < 5:
            on_site = sum(v for (d, code), v in demand.items() if d == day and code.startswith("J-"))
            work = to_read.get(day, 0.0) + sum(v for (_, d), v in booked.items() if d == day)
            remote = max(1, math.ceil(work / READING_DAY_MIN) - on_site)
            if _open(t, Modality.MR, w) and "TELE-IRM" in codes:  # one remote reader reads MRI, one CT at least
                demand[day, "TELE-IRM"] = 1
                remote = max(1, remote - 1)
            demand[day, "TELE"] = remote
        if _open(t, Modality.MG, w):
            demand[day, "L2"] = 1
        demand[day, "GN"] = 1
        if w >= 5:
            demand[day, "GJ"] = 1
    return {k: v for k, v in demand.items() if k[1] in codes}


def territory_problem(t: Territory, start: date, days: int, *, contracts: Mapping[str, Contract] | None = None,
                      performed: Mapping[tuple[str, date], int] | None = None,
                      reading: Mapping[date, float] | None = None, leave: Sequence[Leave] = (),
                      worked: Worked | None = None) -> TerritoryRoster:
    """The territory's roster problem with its default shifts and demand: ``contracts`` by RPPS
    (default contracts for the others), the bookings' ``performed`` and ``reading`` minutes
    (:func:`default_demand`), ``leave``, and what was ``worked`` before ``start``."""
    shifts = default_shifts(t)
    return TerritoryRoster(t.id, start, days, shifts, people_of(t, contracts or {}, start),
                           default_demand(t, shifts, start, days, performed, reading), tuple(leave),
                           sites={s.id: s.name for s in t.sites}, worked=worked or Worked())


def may_work(p: Person, s: ShiftDefinition) -> bool:
    if s.profession != p.profession:
        return False
    if s.qualification and s.qualification not in p.qualifications:
        return False
    if s.kind in (ShiftKind.NIGHT_ON_CALL, ShiftKind.WEEKEND_ON_CALL) and not p.contract.on_call:
        return False
    return s.site is None or s.site in p.sites


def to_instance(problem: TerritoryRoster) -> RosterInstance:
    """The engine's instance (day 0: the Monday on or before ``start``)."""
    off0, total = problem.offset, problem.offset + problem.days
    weeks = problem.days / 7
    shift_types = tuple(ShiftType(s.code, s.minutes, tuple(t.code for t in problem.shifts) if s.kind
                                  is ShiftKind.NIGHT_ON_CALL else ()) for s in problem.shifts)  # fmt: skip
    staff, days_off, requests = [], [], []
    for p in problem.people:
        share = p.contract.share
        allowed = [s for s in problem.shifts if may_work(p, s)]
        lower = int(share * 4 * DAY_MIN * weeks * 0.9) if p.profession == RADIOLOGIST else int(
            share * 35 * 60 * weeks * 0.9)
        upper = int(min(48 * 60, share * 48 * 60) * weeks)
        if problem.worked.weeks:
            span = min(AVERAGE_WEEKS, math.ceil(problem.days / 7) + problem.worked.weeks)
            upper = min(upper, max(0, WEEKLY_AVERAGE_MAX_MIN * span - problem.worked.minutes.get(p.rpps, 0)))
        weekends = math.ceil(problem.days / 14) if p.contract.weekends else 0
        staff.append(Staff(p.rpps, tuple((s.code, problem.days if s in allowed else 0) for s in problem.shifts),
                           upper, min(lower, upper), 6, 1, 1, weekends))  # fmt: skip
        for d in range(off0):
            days_off.append(DayOff(p.rpps, d))
        for entry, previous in problem.worked.before:
            clash = [s for s in allowed if entry.rpps == p.rpps and entry.day == problem.start - timedelta(days=1)
                     and too_close(previous, s)]  # fmt: skip
            if clash and len(clash) == len(allowed):
                days_off.append(DayOff(p.rpps, off0))
            else:
                requests += [ShiftRequest(p.rpps, off0, s.code, HARD_UNDER, False) for s in clash]
        for leave in problem.leave:
            if leave.rpps == p.rpps and leave.status is LeaveStatus.APPROVED:
                days_off += [DayOff(p.rpps, off0 + n) for n in range(problem.days)
                             if leave.covers(problem.start + timedelta(days=n))]  # fmt: skip
    cover = []
    for n in range(problem.days):
        day = problem.start + timedelta(days=n)
        for s in problem.shifts:
            need = problem.demand.get((day, s.code), 0)
            if need > 0:
                under = HARD_UNDER if s.code in problem.hard else REMOTE_UNDER if s.kind is ShiftKind.REMOTE \
                    else DAY_UNDER
                cover.append(Cover(off0 + n, s.code, need, under, OVER if s.kind is ShiftKind.DAY else 1))
            elif s.code != "TELE":  # a shift nobody asked for that day (a weekend on-call on a Tuesday)
                cover.append(Cover(off0 + n, s.code, 0, 0, UNWANTED))
    off = tuple(sorted(set(days_off), key=lambda x: (x.staff, x.day)))
    return RosterInstance(total, shift_types, tuple(staff), off, tuple(requests), tuple(cover), problem.territory,
                          fairness(problem))


def too_close(previous: ShiftDefinition, following: ShiftDefinition) -> bool:
    """Whether ``following`` the next day leaves less than the legal rest after ``previous``."""
    gap = DAY + following.start_min - previous.end_min
    return gap < (REST_AFTER_NIGHT_MIN if previous.kind is ShiftKind.NIGHT_ON_CALL else DAILY_REST_MIN)


def fairness(problem: TerritoryRoster) -> tuple[Balance, ...]:
    """Nights on call, and weekend days on call, spread within one among the people of the same
    profession and contract who may take them (on-call contract and qualification; weight 5,000 a
    shift of spread beyond one: more than a missing day on site, less than a missing on-call)."""
    groups: dict[tuple[str, float, bool], list[Person]] = {}
    for p in problem.people:
        if p.contract.on_call:
            groups.setdefault((p.profession, p.contract.share, p.contract.weekends), []).append(p)
    out = []
    for (profession, _, _), people in sorted(groups.items(), key=lambda g: g[0]):
        for kind in (ShiftKind.NIGHT_ON_CALL, ShiftKind.WEEKEND_ON_CALL):
            shifts = [s for s in problem.shifts if s.kind is kind and s.profession == profession]
            members = tuple(p.rpps for p in people if any(may_work(p, s) for s in shifts))
            if shifts and len(members) > 1:
                out.append(Balance(members, tuple(s.code for s in shifts), 1, FAIRNESS))
    return tuple(out)


def entries(problem: TerritoryRoster, roster: Sequence[Sequence[int]]) -> list[RosterEntry]:
    """The engine's roster (staff × day → shift index) as dated entries of the asked period."""
    out = []
    for p, row in zip(problem.people, roster, strict=True):
        for d in range(problem.offset, problem.offset + problem.days):
            if row[d] != OFF:
                out.append(RosterEntry(problem.start + timedelta(days=d - problem.offset), p.rpps,
                                       problem.shifts[row[d]].code))  # fmt: skip
    return out


AWAY_ROLE = {ShiftKind.REMOTE: "remote", ShiftKind.NIGHT_ON_CALL: "on_call", ShiftKind.WEEKEND_ON_CALL: "on_call"}


def presence_of(t: Territory, got: Sequence[RosterEntry], shifts: Mapping[str, ShiftDefinition],
                people: Sequence[Person]) -> list[Shift]:  # fmt: skip
    """The presence rows a roster means: on-site shifts as the person's profession at the site;
    remote reading and on-call as ``remote`` / ``on_call`` (on duty, away), attached to a site
    of theirs; shifts past midnight split at midnight."""
    where = {p.rpps: (sorted(p.sites) or [t.sites[0].id])[0] for p in people}
    profession = {p.rpps: p.profession for p in people}
    rows = []
    for e in got:
        s = shifts[e.shift]
        role = profession.get(e.rpps, s.profession) if s.kind is ShiftKind.DAY else AWAY_ROLE[s.kind]
        site = s.site or where.get(e.rpps, t.sites[0].id)
        rows.append(Shift(site, e.day, role, s.start_min, min(s.end_min, DAY), e.rpps))
        if s.end_min > DAY:
            rows.append(Shift(site, e.day + timedelta(days=1), role, 0, s.end_min - DAY, e.rpps))
    return rows
