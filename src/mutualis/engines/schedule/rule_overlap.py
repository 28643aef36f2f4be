"""No overlap on a machine: one exam at a time (fixed appointments are already out of the
start domains, see :mod:`.rule_hours`).

Timed model: one no-overlap constraint per machine-day over its optional intervals, with the
day's capacity as a redundant knapsack (it gives the LP relaxation what no-overlap hides).
Day model: the minutes placed on a machine-day ≤ its capacity (free minutes with a
radiographer present) less what orders outside the model already take there; and for each
exam length L, the minutes of the exams at least that long ≤ the free stretches at least that
long (fixed appointments leave gaps too short for some exams: a valid cut).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

if TYPE_CHECKING:
    from mutualis.engines.schedule.model import DayModel, TimedModel


def add_day(dm: DayModel) -> None:
    cal = dm.cal
    load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    for k, opts in dm.options.items():
        for op in opts:
            load[op.machine, op.day].append((op.x, cal.minutes(k)))
    for (i, day), items in load.items():
        full = cal.capacity(i, day)
        taken = dm.taken_machine.get((i, day), 0)
        dm.capacity([(x, m) for x, m in items], max(0, full - taken))
        for length in sorted({m for _, m in items}):
            room = cal.capacity(i, day, length)
            if room < full:
                dm.capacity([(x, m) for x, m in items if m >= length], max(0, room - taken))


def add_timed(tm: TimedModel) -> None:
    cal = tm.cal
    runs: dict[tuple[int, int], list[tuple[cp_model.IntervalVar, cp_model.IntVar, int]]] = defaultdict(list)
    for k, opts in tm.options.items():
        for op in opts:
            runs[op.machine, op.day].append((op.interval, op.presence, cal.minutes(k)))
    for (i, day), items in runs.items():
        if len(items) > 1:
            tm.model.add_no_overlap([iv for iv, _, _ in items])
            tm.model.add(cp_model.LinearExpr.weighted_sum([p for _, p, _ in items], [m for _, _, m in items])
                         <= cal.capacity(i, day))
