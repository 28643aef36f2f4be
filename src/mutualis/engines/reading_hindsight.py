"""The hindsight bound of a simulated reading day (``reading_day.py``): the lowest 95th-percentile
turnaround of the day's first readings that any schedule reaches when it knows the whole day in
advance: every exam's arrival and its actual reading time.

No policy of ``reading_sim.py`` knows that much: they see an exam when its images come and plan
with the expected reading time. The bound tells how far a policy is from what the day allows:
a policy at the bound cannot be beaten on that day by any rule that never interrupts a reading;
a gap says how much better information or better rules could gain at most.

The percentile ignores how long the exams above it wait, and the best schedule uses that: it may
leave its few exams above the percentile waiting for hours, which no clinical rule would do. Read
the bound as what the day allows for the 95th percentile, not as a schedule to follow.

The schedule keeps the simulation's rules (pooled worklist):
- each exam is read by one eligible radiologist (:func:`reading_sim.pooled_eligibility`), in one
  of their sessions, starting once its images are available and within the session, or left
  unread (and counted above the percentile);
- its expected reading time fits before the session ends (the rule every policy keeps); the
  radiologist is then busy for its actual reading time;
- a radiologist reads one exam at a time; exams performed by a radiologist keep their report
  time.

It is a relaxation, so a true lower bound for schedules without interruptions (times rounded
down to the tenth of a minute):
- second readings of screening mammograms are left out (they are not first readings, and
  leaving their reading time out can only lower the bound);
- readings are never interrupted. Dispatch may interrupt a routine reading for an urgent exam,
  so on a day where it does, dispatch could in principle go below this bound.

CP-SAT model: one optional fixed-size interval per (exam, session where it fits), exactly one
chosen per exam, no overlap per radiologist; a Boolean per exam allows it above the percentile
V (at most as many as the nearest-rank 95th percentile leaves above it); minimise V. Time in
tenths of a minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ortools.sat.python import cp_model

from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Territory
from mutualis.engines.reading_day import SimDay, SimSettings
from mutualis.engines.reading_sim import pooled_eligibility

_TENTHS = 10  # model time unit: 1/10 minute


@dataclass(frozen=True)
class Hindsight:
    """``p95_min``: the best schedule found (None: none found in time); ``lower_min``: CP-SAT's
    proven lower bound (equal when ``proven``; both None when more exams are unreadable than the
    percentile leaves above it: its value is then an unread exam); ``exams``: first readings counted; ``above``: how
    many of them the 95th percentile leaves above it; ``unreadable``: exams no session can take
    (unread under every policy: they are among those above)."""

    p95_min: float | None
    lower_min: float | None
    proven: bool
    exams: int
    above: int
    unreadable: int
    seconds: float


def allowed_above(n: int, q: float = 0.95) -> int:
    """How many of ``n`` values lie above the nearest-rank q-quantile (reading_sim.percentile)."""
    rank = min(n - 1, max(0, round(q * n + 0.5) - 1))
    return n - 1 - rank


def hindsight(t: Territory, day: SimDay, settings: ReadingSettings | None = None, sim: SimSettings | None = None,
              time_limit: float = 60.0, workers: int = 2) -> Hindsight:
    """The hindsight bound of ``day`` (module docstring)."""
    s, m = settings or ReadingSettings(), sim or SimSettings()
    first = [x for x in day.exams if x.task.kind is not TaskKind.SCREENING_L2]
    eligible = pooled_eligibility(t, day, s, m)
    model = cp_model.CpModel()

    def at(moment: datetime) -> int:  # rounded down: durations and times err towards a lower bound
        return math.floor((moment - day.start) / timedelta(minutes=1) * _TENTHS + 1e-9)

    horizon = at(day.end) + 10_000 * _TENTHS
    v = model.new_int_var(0, horizon, "V")
    above: list[cp_model.IntVar] = []
    busy: dict[str, list[cp_model.IntervalVar]] = {}
    unreadable = 0
    for x in first:
        assert x.task.id is not None
        ready = at(x.task.ready_at)
        late = model.new_bool_var(f"above_{x.task.id}")
        above.append(late)
        if x.report_at is not None:  # performed and reported by the radiologist: its time is known
            model.add(v >= at(x.report_at) - ready).only_enforce_if(~late)
            continue
        actual = max(1, math.floor(x.minutes * _TENTHS + 1e-9))
        expected = math.floor(s.minutes_for(x.task.modality.value) * _TENTHS + 1e-9)
        end = model.new_int_var(ready, horizon, f"end_{x.task.id}")
        chosen = []
        for session in day.sessions:
            lo, hi = max(ready, at(session.start)), at(session.end) - expected
            if lo > hi or not eligible(x.task.id, session.id):
                continue
            here = model.new_bool_var("")
            start = model.new_int_var(lo, hi, "")
            busy.setdefault(session.rpps, []).append(
                model.new_optional_fixed_size_interval_var(start, actual, here, ""))
            model.add(end == start + actual).only_enforce_if(here)
            chosen.append(here)
        if not chosen:  # unread under every policy
            unreadable += 1
            model.add(late == 1)
            continue
        unread = model.new_bool_var("")  # left unread: counted above the percentile
        model.add_exactly_one([*chosen, unread])
        model.add_implication(unread, late)
        model.add(v >= end - ready).only_enforce_if(~late)
    for intervals in busy.values():
        model.add_no_overlap(intervals)
    n = len(first)
    if unreadable > allowed_above(n):  # the percentile itself is an unread exam, whatever the schedule
        return Hindsight(None, None, True, n, allowed_above(n), unreadable, 0.0)
    model.add(sum(above) <= allowed_above(n))
    model.minimize(v)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return Hindsight(round(solver.value(v) / _TENTHS, 1) if found else None,
                     round(solver.best_objective_bound / _TENTHS, 1), status == cp_model.OPTIMAL, n,
                     allowed_above(n), unreadable, round(solver.wall_time, 1))
