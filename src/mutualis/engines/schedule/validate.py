"""Checking a plan without a solver, and measuring it.

:func:`plan_problems` lists every rule a plan breaks (empty: the plan is lawful), each as a
:class:`~mutualis.domain.errors.Problem` whose location is ``order <id>`` (or ``fixed <id>``):
known order placed at most once; a capable machine; inside the horizon, the machine's opening
hours (or the overtime allowance) and no closure; not before the order's earliest start; no
overlap with another placement or a fixed appointment on the machine; fixed appointments
not moved; the staffing rule for every placement (one radiographer per running machine, see
:mod:`.book`).

:func:`evaluate` gives the figures of the benchmark and the objective with the instance's
weights, the same the solver minimises.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from mutualis.domain.errors import Problem
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import Placement, ScheduleInstance
from mutualis.engines.slots import RADIOGRAPHER, RADIOLOGIST


def _cal(inst: ScheduleInstance | Calendar) -> Calendar:
    return inst if isinstance(inst, Calendar) else Calendar(inst)


def plan_problems(instance: ScheduleInstance | Calendar, plan: Sequence[Placement]) -> list[Problem]:
    cal = _cal(instance)
    inst = cal.inst
    problems: list[Problem] = []
    fixed = {f.id: f for f in inst.fixed}
    seen: set[str] = set()
    runs: list[tuple[Placement, int, int, int, bool]] = []  # placement, machine, start, end, radiologist
    for p in plan:
        where = f"order {p.order}"
        if p.order in fixed:
            f = fixed[p.order]
            if (p.machine, p.day, p.minute) != (f.machine, f.day, f.minute):
                problems.append(Problem(f"fixed {p.order}", "an announced appointment was moved"))
            continue
        if p.order not in cal.o:
            problems.append(Problem(where, "unknown order"))
            continue
        if p.order in seen:
            problems.append(Problem(where, "placed more than once"))
            continue
        seen.add(p.order)
        k = cal.o[p.order]
        o = cal.orders[k]
        if p.machine not in cal.m:
            problems.append(Problem(where, f"unknown machine {p.machine}"))
            continue
        i = cal.m[p.machine]
        start, end = p.minute, p.minute + cal.minutes(k)
        if not cal.machines[i].can_do(o):
            problems.append(Problem(where, f"machine {p.machine} cannot perform {o.exam}"))
        if not 0 <= p.day < cal.days:
            problems.append(Problem(where, "outside the horizon"))
            continue
        if (p.day, start) < cal.release[k]:
            problems.append(Problem(where, "starts before the order's earliest start"))
        ranges = cal.ranges(i, p.day)
        if not any(a <= start and end <= b for a, b in ranges):
            problems.append(Problem(where, "outside opening hours"))
        elif not any(a <= start and end <= b for a, b in cal.open[i][p.day]):
            problems.append(Problem(where, "during a closure"))
        if any(a < end and start < b for a, b, _ in cal.fixed[i, p.day]):
            problems.append(Problem(where, "overlaps a fixed appointment"))
        runs.append((p, i, start, end, o.needs_radiologist))
    by_machine: dict[tuple[int, int], list[tuple[int, int, str]]] = defaultdict(list)
    for p, i, s, e, _ in runs:
        by_machine[i, p.day].append((s, e, p.order))
    for items in by_machine.values():
        items.sort()
        for (_, e1, a), (s2, _, b) in pairwise(items):
            if s2 < e1:
                problems.append(Problem(f"order {b}", f"overlaps order {a} on the same machine"))
    problems += _staffing(cal, runs)
    return problems


def _staffing(cal: Calendar, runs: list[tuple[Placement, int, int, int, bool]]) -> list[Problem]:
    site_day: dict[tuple[str, int], list[tuple[int, int, int, bool]]] = defaultdict(list)
    for (i, day), fixed in cal.fixed.items():
        for a, b, rad in fixed:
            site_day[cal.machines[i].site, day].append((i, a, b, rad))
    for p, i, s, e, rad in runs:
        site_day[cal.machines[i].site, p.day].append((i, s, e, rad))
    problems = []
    for p, i, s, e, rad in runs:
        site = cal.machines[i].site
        others = [x for x in site_day[site, p.day] if x[0] != i and x[1] < e and s < x[2]]
        if cal.present(site, p.day, RADIOGRAPHER, s, e) <= len({x[0] for x in others}):
            problems.append(Problem(f"order {p.order}", f"not enough radiographers present at {site}"))
        if rad and cal.present(site, p.day, RADIOLOGIST, s, e) <= len({x[0] for x in others if x[3]}):
            problems.append(Problem(f"order {p.order}", f"no radiologist free on site at {site}"))
    return problems


@dataclass(frozen=True)
class Metrics:
    orders: int
    placed: int
    past_due: float  # share of orders after their due date (unplaced ones included)
    past_due_urgent: float  # the same among urgent orders
    wait_mean_days: float  # request → start, placed orders
    wait_p90_days: float
    travel_mean_min: float
    utilisation: float  # booked minutes ÷ open minutes, over the days orders were requested
    objective: int
    terms: dict[str, int] = field(default_factory=dict)


def _p90(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(0.9 * len(ordered)) - 1))]


def evaluate(instance: ScheduleInstance | Calendar, plan: Sequence[Placement]) -> Metrics:
    cal = _cal(instance)
    inst, w = cal.inst, cal.inst.weights
    at = {p.order: p for p in plan if p.order in cal.o}
    terms = {"urgent_late": 0, "late": 0, "travel": 0, "wait": 0, "overtime": 0, "unplaced": 0}
    waits, travel = [], []
    late = late_urgent = urgent = 0
    for k, o in enumerate(cal.orders):
        urgent += o.priority == "urgent"
        p = at.get(o.id)
        if p is None or p.machine not in cal.m:
            terms["unplaced"] += cal.unplaced_cost(k)
            late += 1
            late_urgent += o.priority == "urgent"
            continue
        i = cal.m[p.machine]
        first = cal.first_day[k]
        overdue = max(0, p.day - max(first, cal.due_day[k]))
        terms["urgent_late" if o.priority == "urgent" else "late"] += w.late(o.priority) * overdue
        terms["wait"] += w.wait(o.priority) * max(0, p.day - first)
        terms["travel"] += cal.travel_cost(k, i)
        terms["overtime"] += w.overtime_per_minute * cal.overtime(i, p.day, p.minute + cal.minutes(k))
        if inst.date_of(p.day) > o.due:
            late += 1
            late_urgent += o.priority == "urgent"
        waits.append((inst.instant(p.day, p.minute) - o.requested_at).total_seconds() / 86400)
        travel.append(inst.travel[o.commune, cal.machines[i].site])
    n = len(cal.orders)
    last = max((cal.release[k][0] for k in range(n)), default=0)
    window = range(0, min(cal.days, last + 1))
    opened = sum(b - a for i in range(len(cal.machines)) for d in window for a, b in cal.open[i][d])
    booked = sum(cal.minutes(cal.o[p.order]) for p in at.values() if p.day in window)
    booked += sum(b - a for (_, d), fixed in cal.fixed.items() if d in window for a, b, _ in fixed)
    return Metrics(
        n, len(waits), late / n if n else 0.0, late_urgent / urgent if urgent else 0.0,
        sum(waits) / len(waits) if waits else float("nan"), _p90(waits),
        sum(travel) / len(travel) if travel else float("nan"), booked / opened if opened else 0.0,
        sum(terms.values()), terms)  # fmt: skip
