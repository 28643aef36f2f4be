"""First-come first-served booking of a stream of orders on an in-memory calendar: what a
booking desk does, one order at a time, each taking the best slot it is allowed at that moment.

The same policy runs under two access rules (``Access``):
- ``pooled``: every machine of the territory that can perform the exam (the PIMM);
- ``silo``: only the requesting hospital's own machines; for an exam it has no machine for,
  the patient is referred to the nearest hospital that has one, and only to it (what happens
  without a pooled platform).
The result of each order records its wait, travel and whether it met its due date.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from mutualis.domain.territory import Commune, EquipmentKind, Exam, Territory
from mutualis.engines.demand import GeneratedOrder
from mutualis.engines.slots import Busy, Machine, Shift, SlotInstance, SlotQuery, search
from mutualis.engines.travel import GreatCircleEstimate, great_circle_km


class Access(StrEnum):
    POOLED = "pooled"
    SILO = "silo"


@dataclass(frozen=True)
class Outcome:
    order: GeneratedOrder
    modality: str
    equipment: str | None  # None: nothing within the horizon
    start: datetime | None
    wait_days: float | None
    travel_minutes: float | None
    on_time: bool


@dataclass
class Calendar:
    """Bookings per machine, sorted by start, kept in memory while the stream is served."""

    busy: dict[str, list[Busy]] = field(default_factory=dict)

    def add(self, code: str, b: Busy) -> None:
        bisect.insort(self.busy.setdefault(code, []), b, key=lambda x: x.start)

    def window(self, codes: Iterable[str], start: datetime, end: datetime) -> dict[str, list[Busy]]:
        """The bookings of these machines that start in [start, end)."""
        out = {}
        for code in codes:
            items = self.busy.get(code, [])
            lo = bisect.bisect_left(items, start, key=lambda x: x.start)
            hi = bisect.bisect_left(items, end, key=lambda x: x.start)
            out[code] = items[lo:hi]
        return out


def capable(t: Territory, exam: Exam) -> list[str]:
    return [e.id for e in t.equipment if e.kind is EquipmentKind.IMAGING and e.modality == exam.modality
            and (not e.exams or exam.code in e.exams)]


def allowed_machines(t: Territory, exam: Exam, requesting_site: str, access: Access,
                     communes: Mapping[str, Commune]) -> list[str]:
    machines = capable(t, exam)
    if access is Access.POOLED:
        return machines
    home = t.site(requesting_site).establishment
    own = [m for m in machines if t.establishment_of(next(e.site for e in t.equipment if e.id == m)) == home]
    if own:
        return own
    origin = communes[t.site(requesting_site).insee]
    sites = {e.site for e in t.equipment if e.id in machines}
    if not sites:
        return []
    nearest = min(sites, key=lambda s: great_circle_km(origin, communes[t.site(s).insee]))
    return [m for m in machines if next(e.site for e in t.equipment if e.id == m) == nearest]


def serve(t: Territory, orders: Sequence[GeneratedOrder], shifts: Sequence[Shift], communes: Mapping[str, Commune],
          access: Access, calendar: Calendar | None = None) -> list[Outcome]:
    """Book ``orders`` one by one in request order; the calendar is filled as they go."""
    cal = calendar or Calendar()
    exams = {x.code: x for x in t.exams}
    equipment = {e.id: e for e in t.equipment}
    travel = GreatCircleEstimate(t.travel)
    shifts_by_site: dict[str, list[Shift]] = {}
    for s in shifts:
        shifts_by_site.setdefault(s.site, []).append(s)
    outcomes = []
    for o in sorted(orders, key=lambda o: o.requested_at):
        exam = exams[o.exam]
        allowed = set(allowed_machines(t, exam, o.requesting_site, access, communes))
        sites = {equipment[m].site for m in allowed}
        origin = communes[o.patient.insee if o.priority.value in ("outpatient", "screening")
                          else t.site(o.requesting_site).insee]
        machines = tuple(
            Machine(e.id, e.site, e.opening_hours, e.closures, e.id in allowed,
                    travel.minutes(origin, communes[t.site(e.site).insee]))
            for e in t.equipment if e.site in sites and e.kind is EquipmentKind.IMAGING)
        earliest = max(o.requested_at, datetime.combine(o.not_before, datetime.min.time()))
        query = SlotQuery(exam.duration_min, o.priority.value, earliest, o.due_by, exam.radiologist_on_site, count=1,
                          horizon_days=t.booking.horizon_days)
        site_shifts = [s for site in sites for s in shifts_by_site.get(site, ())]
        busy = cal.window([m.code for m in machines], earliest - timedelta(days=1),
                          earliest + timedelta(days=query.horizon_days + 2))
        best = search(SlotInstance(query, machines, busy, site_shifts, t.booking))
        modality = exam.modality.value if exam.modality else exam.kind.value
        if not best:
            outcomes.append(Outcome(o, modality, None, None, None, None, False))
            continue
        p = best[0]
        cal.add(p.equipment, Busy(p.start, p.end, exam.radiologist_on_site))
        outcomes.append(Outcome(o, modality, p.equipment, p.start,
                                (p.start - o.requested_at) / timedelta(days=1), p.travel_minutes,
                                p.start.date() <= o.due_by))
    return outcomes
