"""Slot search across a territory's pooled machines.

instance (:class:`SlotInstance`) → rules (opening hours, closures, bookings, staffing) →
:func:`search` → ranked :class:`Proposal` s, each with its score explained; and
:func:`proposal_problems`, a validator that re-checks one proposal against every rule.

All times are territory-local, naive datetimes; the service converts at the edges.

Rules, for a start ``s`` and end ``e = s + duration`` on machine ``m`` at site ``S``:
- [s, e) lies inside one of ``m``'s opening ranges of that weekday, and in no closure;
- no booking of ``m`` overlaps [s, e);
- staffing: the radiographers present at ``S`` for all of [s, e) outnumber the other machines of
  ``S`` busy during [s, e) (one radiographer per running machine); if the exam needs a
  radiologist on site, the radiologists present at ``S`` for all of [s, e) outnumber the other
  bookings at ``S`` that need one then.
Ranking (lower is better; :class:`~mutualis.domain.territory.BookingSettings`):
  score = wait_per_day[priority] × days waited + travel_per_minute × travel minutes
          + late_per_day × days after the due date.
At most one proposal per machine and day (its earliest start): a booking agent wants choices
across days and sites, and any later time of that day stays open in the machine's calendar.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from mutualis.domain.territory import WEEKDAYS, BookingSettings, Closure, TimeRange

RADIOLOGIST, RADIOGRAPHER = "radiologist", "radiographer"


class Busy(NamedTuple):  # a tuple: thousands are built per search
    start: datetime
    end: datetime
    needs_radiologist: bool = False


@dataclass(frozen=True)
class Machine:
    code: str
    site: str
    opening_hours: Mapping[str, tuple[TimeRange, ...]]
    closures: tuple[Closure, ...] = ()
    eligible: bool = True  # False: only here because it shares the site's staff
    travel_minutes: float = 0.0


@dataclass(frozen=True)
class Shift:
    """One person present at a site on a day, minutes since local midnight."""

    site: str
    day: date
    role: str
    start_min: int
    end_min: int
    rpps: str = ""


@dataclass(frozen=True)
class SlotQuery:
    duration_min: int
    priority: str
    earliest: datetime  # nothing before this instant (now, or the not-before date)
    due_by: date
    needs_radiologist: bool = False
    count: int = 10
    horizon_days: int = 60


@dataclass(frozen=True)
class SlotInstance:
    query: SlotQuery
    machines: tuple[Machine, ...]
    busy: Mapping[str, Sequence[Busy]]  # machine code → bookings, sorted by start
    shifts: Sequence[Shift]
    settings: BookingSettings = field(default_factory=BookingSettings)


@dataclass(frozen=True)
class Proposal:
    equipment: str
    site: str
    start: datetime
    end: datetime
    wait_days: float
    travel_minutes: float
    late_days: int
    score: float
    breakdown: Mapping[str, float]


def _minute(dt: datetime) -> int:
    return dt.hour * 60 + dt.minute


def _start(b: Busy) -> datetime:
    return b.start


class _Bookings:
    """One machine's bookings (sorted by start, as :class:`SlotInstance` requires), by day in O(log n)."""

    def __init__(self, busy: Sequence[Busy]) -> None:
        self.items = busy
        self.days: dict[date, Sequence[Busy]] = {}

    def on(self, day: date) -> Sequence[Busy]:
        """Bookings that may touch ``day`` (starting from the day before, for overnight ones)."""
        found = self.days.get(day)
        if found is None:
            midnight = datetime.combine(day, time())
            lo = bisect.bisect_left(self.items, midnight - timedelta(days=1), key=_start)
            hi = bisect.bisect_left(self.items, midnight + timedelta(days=1), key=_start)
            found = self.days[day] = self.items[lo:hi]
        return found


class _Staff:
    """Who is present where, and what else runs at each site, for fast staffing checks."""

    def __init__(self, instance: SlotInstance, bookings: Mapping[str, _Bookings]) -> None:
        self.shifts: dict[tuple[str, date, str], list[tuple[int, int]]] = {}
        for s in instance.shifts:
            self.shifts.setdefault((s.site, s.day, s.role), []).append((s.start_min, s.end_min))
        self.mates: dict[str, list[str]] = {}
        for m in instance.machines:
            self.mates.setdefault(m.site, []).append(m.code)
        self.bookings = bookings

    def present(self, site: str, day: date, role: str, start_min: int, end_min: int) -> int:
        return sum(1 for a, b in self.shifts.get((site, day, role), ()) if a <= start_min and end_min <= b)

    def ok(self, machine: Machine, start: datetime, end: datetime, needs_radiologist: bool) -> bool:
        s_min, e_min = _minute(start), _minute(end) or 1440
        day = start.date()
        radiographers = self.present(machine.site, day, RADIOGRAPHER, s_min, e_min)
        if radiographers == 0:
            return False
        # other machines of the site busy at some time during [start, end): machines, not bookings
        # (three 10-minute X-rays in a row on one room keep one radiographer busy, not three)
        running: set[str] = set()
        with_radiologist: set[str] = set()
        for code in self.mates[machine.site]:
            if code == machine.code or code not in self.bookings:
                continue
            for b in self.bookings[code].on(day):
                if b.start < end and start < b.end:
                    running.add(code)
                    if b.needs_radiologist:
                        with_radiologist.add(code)
        if radiographers <= len(running):
            return False
        return not needs_radiologist or self.present(machine.site, day, RADIOLOGIST, s_min, e_min) > len(
            with_radiologist)


def _bookings(instance: SlotInstance) -> dict[str, _Bookings]:
    return {m.code: _Bookings(instance.busy.get(m.code, ())) for m in instance.machines}


def _free_ranges(machine: Machine, day: date, busy: Sequence[Busy]) -> list[tuple[datetime, datetime]]:
    """Opening ranges of ``day`` minus closures and bookings, in order."""
    midnight = datetime.combine(day, time())
    ranges = [
        (midnight + timedelta(minutes=r.start), midnight + timedelta(minutes=r.end))
        for r in sorted(machine.opening_hours.get(WEEKDAYS[day.weekday()], ()))
    ]
    blocks = sorted([(c.start, c.end) for c in machine.closures] + [(b.start, b.end) for b in busy])
    free: list[tuple[datetime, datetime]] = []
    for start, end in ranges:
        cursor = start
        for b_start, b_end in blocks:
            if b_end <= cursor or b_start >= end:
                continue
            if b_start > cursor:
                free.append((cursor, b_start))
            cursor = max(cursor, b_end)
            if cursor >= end:
                break
        if cursor < end:
            free.append((cursor, end))
    return free


def _ceil(dt: datetime, step: int) -> datetime:
    minutes = dt.hour * 60 + dt.minute + (1 if dt.second or dt.microsecond else 0)
    rounded = -(-minutes // step) * step
    return datetime.combine(dt.date(), time()) + timedelta(minutes=rounded)


def _score(q: SlotQuery, settings: BookingSettings, machine: Machine, start: datetime) -> Proposal:
    wait = max(0.0, (start - q.earliest).total_seconds() / 86400)
    late = max(0, (start.date() - q.due_by).days)
    parts = {
        "wait": settings.wait_per_day.get(q.priority, 10.0) * wait,
        "travel": settings.travel_per_minute * machine.travel_minutes,
        "late": settings.late_per_day * late,
    }
    return Proposal(
        machine.code,
        machine.site,
        start,
        start + timedelta(minutes=q.duration_min),
        round(wait, 3),
        round(machine.travel_minutes, 1),
        late,
        round(sum(parts.values()), 3),
        {k: round(v, 3) for k, v in parts.items()},
    )


def search(instance: SlotInstance) -> list[Proposal]:
    """The best ``query.count`` proposals, best first (ties: earlier, then machine code)."""
    q, settings = instance.query, instance.settings
    bookings = _bookings(instance)
    staff = _Staff(instance, bookings)
    step = settings.slot_step_min
    duration = timedelta(minutes=q.duration_min)
    first_day = q.earliest.date()
    candidates: list[tuple[float, datetime, str, Proposal]] = []
    for machine in instance.machines:
        if not machine.eligible:
            continue
        found = 0
        for offset in range(q.horizon_days + 1):
            day = first_day + timedelta(days=offset)
            start = _first_fit(machine, day, bookings[machine.code].on(day), q, staff, step, duration)
            if start is None:
                continue
            p = _score(q, settings, machine, start)
            candidates.append((p.score, p.start, p.equipment, p))
            found += 1
            if found >= q.count:
                break
    return [c[3] for c in heapq.nsmallest(q.count, candidates, key=lambda c: c[:3])]


def _first_fit(
    machine: Machine, day: date, busy: Sequence[Busy], q: SlotQuery, staff: _Staff, step: int, duration: timedelta
) -> datetime | None:
    for gap_start, gap_end in _free_ranges(machine, day, busy):
        t = _ceil(max(gap_start, q.earliest), step)
        while t + duration <= gap_end:
            if staff.ok(machine, t, t + duration, q.needs_radiologist):
                return t
            t += timedelta(minutes=step)
    return None


def proposal_problems(instance: SlotInstance, p: Proposal) -> list[str]:
    """Every rule ``p`` breaks (empty when it is a lawful slot); needs no search."""
    q = instance.query
    machine = next((m for m in instance.machines if m.code == p.equipment), None)
    if machine is None or not machine.eligible:
        return [f"machine {p.equipment} cannot perform this exam"]
    problems = []
    if p.end - p.start != timedelta(minutes=q.duration_min):
        problems.append("duration differs from the exam's")
    if p.start < q.earliest:
        problems.append("starts before the earliest allowed time")
    midnight = datetime.combine(p.start.date(), time())
    inside = any(
        midnight + timedelta(minutes=r.start) <= p.start and p.end <= midnight + timedelta(minutes=r.end)
        for r in machine.opening_hours.get(WEEKDAYS[p.start.weekday()], ())
    )
    if not inside:
        problems.append("outside opening hours")
    if any(c.start < p.end and p.start < c.end for c in machine.closures):
        problems.append("during a closure")
    if any(b.start < p.end and p.start < b.end for b in instance.busy.get(machine.code, ())):
        problems.append("overlaps a booking")
    if not _Staff(instance, _bookings(instance)).ok(machine, p.start, p.end, q.needs_radiologist):
        problems.append("not enough staff present")
    return problems
