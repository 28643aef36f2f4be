"""Opening hours, closures and earliest start.

Timed model: each option's start (in slots) may only take values whose exam lies in one free
range of the machine that day inside one radiographer shift (and one radiologist shift when
needed), not before the order's earliest start (:meth:`.calendar.Calendar.segments`).

Day model: for the orders requested during a day, only the minutes left after their request
can serve them: for each machine-day and each such request time r, the minutes of the orders
released at r or later ≤ the machine's capacity after r, less those of such orders outside the
model (a valid cut of the relaxation).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from mutualis.engines.schedule.calendar import Calendar, intersect, measure

if TYPE_CHECKING:
    from mutualis.engines.schedule.model import DayModel, TimedModel


def start_domain(cal: Calendar, k: int, i: int, day: int) -> list[tuple[int, int]]:
    """Allowed starts of order ``k`` on machine ``i`` that day, in slots, as closed ranges."""
    g, minutes = cal.g, cal.minutes(k)
    rd, rmin = cal.release[k]
    if day < rd:
        return []
    lower = rmin if day == rd else 0
    out = []
    for a, b in cal.segments(i, day, cal.orders[k].needs_radiologist):
        lo, hi = -(-max(a, lower) // g), (b - minutes) // g
        if lo <= hi:
            out.append((lo, hi))
    return _merge(out)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def add_day(dm: DayModel) -> None:
    cal = dm.cal
    released: dict[tuple[int, int], list[tuple[int, int, cp_model.IntVar]]] = defaultdict(list)
    for k, opts in dm.options.items():
        rd, rmin = cal.release[k]
        if rmin <= 0:
            continue
        for op in opts:
            if op.day == rd:
                released[op.machine, op.day].append((rmin, cal.minutes(k), op.x))
    for (i, day), items in released.items():
        for r in sorted({rmin for rmin, _, _ in items}):
            after = measure([s for seg in cal.segments(i, day, False) for s in intersect([seg], (r, 1440))])
            late = [(x, m) for rmin, m, x in items if rmin >= r]
            taken = sum(m for rmin, m in dm.taken_late.get((i, day), ()) if rmin >= r)
            dm.capacity(late, max(0, after - int(taken + 1e-6)))


def add_timed(tm: TimedModel) -> None:
    """Nothing to add: the hours are in each start's domain (:func:`start_domain`)."""
