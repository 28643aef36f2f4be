"""Building a :class:`ScheduleInstance`: from a territory and what a service reads from the
database (orders to place, appointments booked, presence shifts), and to/from JSON for
benchmark files."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from mutualis.domain.territory import WEEKDAYS, Commune, EquipmentKind, Territory
from mutualis.engines.schedule.instance import (
    FixedAppointment,
    Placement,
    ScheduleInstance,
    ScheduleMachine,
    ScheduleOrder,
    ScheduleWeights,
)
from mutualis.engines.slots import Shift
from mutualis.engines.travel import GreatCircleEstimate


@dataclass(frozen=True)
class OrderRequest:
    """One order as a service sees it. ``current``: its appointment (equipment, start) when it
    has one that is not yet announced to the patient, so that it may still move."""

    id: str
    exam: str  # catalogue code
    priority: str
    requested_at: datetime
    not_before: date
    due_by: date
    origin_insee: str  # the patient's commune (outpatients), the requesting site's (inpatients)
    current: tuple[str, datetime] | None = None


@dataclass(frozen=True)
class Booked:
    """An appointment already announced: fixed."""

    id: str
    equipment: str
    start: datetime
    end: datetime
    needs_radiologist: bool = False


def machines_of(t: Territory) -> tuple[ScheduleMachine, ...]:
    """The territory's imaging machines with a modality."""
    return tuple(
        ScheduleMachine(
            e.id, e.site, e.modality.value,
            tuple(tuple((r.start, r.end) for r in sorted(e.opening_hours.get(day, ()))) for day in WEEKDAYS),
            tuple((c.start, c.end) for c in e.closures), frozenset(e.exams))
        for e in t.equipment if e.kind is EquipmentKind.IMAGING and e.modality is not None)  # fmt: skip


def from_territory(
    t: Territory,
    orders: Sequence[OrderRequest],
    booked: Sequence[Booked],
    shifts: Sequence[Shift],
    communes: Mapping[str, Commune],
    start: date,
    days: int,
    *,
    weights: ScheduleWeights | None = None,
    slot_min: int = 5,
    overtime_min: int = 0,
    earliest: datetime | None = None,
) -> ScheduleInstance:
    """The instance a service passes: ``orders`` to place (or move), ``booked`` appointments
    that stay, presence ``shifts``; travel estimated from the communes (engines/travel.py).
    ``earliest`` (now, for a live plan): nothing starts before it."""
    if days < 1 or slot_min < 1:
        raise ValueError("days and slot_min must be at least 1")
    exams = {x.code: x for x in t.exams}
    machines = machines_of(t)
    codes = {m.id for m in machines}
    midnight = datetime.combine(start, time())
    end = midnight + timedelta(days=days)

    def at(when: datetime) -> tuple[int, int]:
        delta = when - midnight
        return delta.days, delta.seconds // 60

    placed: list[ScheduleOrder] = []
    for o in orders:
        exam = exams[o.exam]
        if exam.modality is None:
            continue
        current = None
        if o.current is not None and o.current[0] in codes and midnight <= o.current[1] < end:
            current = Placement(o.id, o.current[0], *at(o.current[1]))
        placed.append(ScheduleOrder(
            o.id, o.exam, exam.modality.value, -(-exam.duration_min // slot_min), o.priority, o.requested_at,
            max(o.requested_at, datetime.combine(o.not_before, time()), earliest or datetime.min), o.due_by,
            o.origin_insee,
            exam.radiologist_on_site, current))  # fmt: skip
    fixed = tuple(
        FixedAppointment(b.id, b.equipment, *at(b.start), int((b.end - b.start).total_seconds() // 60),
                         b.needs_radiologist)
        for b in booked if b.equipment in codes and b.end > midnight and b.start < end)  # fmt: skip
    estimate = GreatCircleEstimate(t.travel)
    sites = {s.id: s for s in t.sites}
    used = {m.site for m in machines}
    travel = {
        (insee, site): round(estimate.minutes(communes[insee], communes[sites[site].insee]))
        for insee in {o.commune for o in placed} for site in used
    }
    last = start + timedelta(days=days)
    return ScheduleInstance(
        start, days, tuple(placed), machines,
        tuple(s for s in shifts if start <= s.day < last and s.site in used), travel, fixed,
        {s.id: s.name for s in t.sites}, weights or ScheduleWeights(), slot_min, overtime_min, t.id)  # fmt: skip


# ---------------------------------------------------------------- JSON (benchmark files)


def _dt(v: datetime) -> str:
    return v.isoformat()


def to_json(inst: ScheduleInstance) -> dict[str, Any]:
    """A JSON-ready document; :func:`from_json` reads it back to an equal instance."""
    return {
        "name": inst.name, "start": inst.start.isoformat(), "days": inst.days, "slot_min": inst.slot_min,
        "overtime_min": inst.overtime_min, "weights": {**asdict(inst.weights), "wait_per_day": dict(
            inst.weights.wait_per_day)},
        "sites": dict(inst.sites),
        "machines": [{"id": m.id, "site": m.site, "modality": m.modality,
                      "hours": [list(map(list, d)) for d in m.hours],
                      "closures": [[_dt(a), _dt(b)] for a, b in m.closures], "exams": sorted(m.exams)}
                     for m in inst.machines],
        "orders": [{"id": o.id, "exam": o.exam, "modality": o.modality, "duration": o.duration,
                    "priority": o.priority, "requested_at": _dt(o.requested_at), "not_before": _dt(o.not_before),
                    "due": o.due.isoformat(), "commune": o.commune, "needs_radiologist": o.needs_radiologist,
                    "current": None if o.current is None else [o.current.machine, o.current.day, o.current.minute]}
                   for o in inst.orders],
        "fixed": [asdict(f) for f in inst.fixed],
        "shifts": [[s.site, s.day.isoformat(), s.role, s.start_min, s.end_min, s.rpps] for s in inst.shifts],
        "travel": [[c, s, v] for (c, s), v in sorted(inst.travel.items())],
    }  # fmt: skip


def from_json(doc: Mapping[str, Any] | str) -> ScheduleInstance:
    d: Mapping[str, Any] = json.loads(doc) if isinstance(doc, str) else doc
    w = d["weights"]
    return ScheduleInstance(
        start=date.fromisoformat(d["start"]),
        days=int(d["days"]),
        orders=tuple(
            ScheduleOrder(o["id"], o["exam"], o["modality"], int(o["duration"]), o["priority"],
                          datetime.fromisoformat(o["requested_at"]), datetime.fromisoformat(o["not_before"]),
                          date.fromisoformat(o["due"]), o["commune"], bool(o["needs_radiologist"]),
                          None if o["current"] is None else Placement(o["id"], o["current"][0], *o["current"][1:]))
            for o in d["orders"]),
        machines=tuple(
            ScheduleMachine(m["id"], m["site"], m["modality"],
                            tuple(tuple((a, b) for a, b in day) for day in m["hours"]),
                            tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in m["closures"]),
                            frozenset(m["exams"]))
            for m in d["machines"]),
        shifts=tuple(Shift(s, date.fromisoformat(day), role, a, b, rpps) for s, day, role, a, b, rpps in d["shifts"]),
        travel={(c, s): int(v) for c, s, v in d["travel"]},
        fixed=tuple(FixedAppointment(**f) for f in d["fixed"]),
        sites=dict(d["sites"]),
        weights=ScheduleWeights(**{**w, "wait_per_day": dict(w["wait_per_day"])}),
        slot_min=int(d["slot_min"]),
        overtime_min=int(d["overtime_min"]),
        name=d.get("name", ""),
    )  # fmt: skip
