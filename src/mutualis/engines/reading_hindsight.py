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
  of their sessions (the stretches between their blocks: performing, other work), starting once
  its images are available and within the session, or left unread (counted above the percentile);
- its expected reading time fits before the session ends (the rule FIFO and silo keep, and
  dispatch but for an urgent exam near its due time); the radiologist is then busy for its
  actual reading time;
- a radiologist reads one exam at a time; exams performed by a radiologist keep their report
  time.

It is a relaxation, so a true lower bound for schedules without interruptions (times rounded
down to the tenth of a minute):
- second readings of screening mammograms are left out (they are not first readings, and
  leaving their reading time out can only lower the bound);
- readings are never interrupted, nor paused across a block. Dispatch may interrupt a routine
  reading for an urgent exam, and read an urgent exam near its due time across a block, so on a
  day where it does, dispatch could in principle go below this bound.

CP-SAT model: one optional fixed-size interval per (exam, session where it fits), exactly one
chosen per exam (or none: unread), no overlap per radiologist. For the percentile, a Boolean per
exam allows it above V (at most as many as the nearest-rank 95th percentile leaves above it);
minimise V. A second solve, on a model of its own, counts the urgent exams read after their due
time: the fewest any schedule without interruptions leaves late. Time in tenths of a minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ortools.sat.python import cp_model

from mutualis.domain.orders import Priority
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Territory
from mutualis.engines.reading_day import SimDay, SimExam, SimSettings
from mutualis.engines.reading_sim import nearest_rank, pooled_eligibility

_TENTHS = 10  # model time unit: 1/10 minute


@dataclass(frozen=True)
class Hindsight:
    """``p95_min``: the best schedule found (None: none found in time); ``lower_min``: CP-SAT's
    proven lower bound (equal when ``proven``; both None when more exams are unreadable than the
    percentile leaves above it: its value is then an unread exam); ``exams``: first readings
    counted; ``above``: how many of them the 95th percentile leaves above it; ``unreadable``:
    exams no session can take (unread under every policy: they are among those above).
    ``urgent_late``: the fewest urgent exams read after their due time (or unread) in a schedule
    of its own (the second solve), with its proven lower bound ``urgent_late_lower``."""

    p95_min: float | None
    lower_min: float | None
    proven: bool
    exams: int
    above: int
    unreadable: int
    urgent: int
    urgent_late: int | None
    urgent_late_lower: int
    seconds: float


@dataclass(frozen=True)
class _Read:
    """One first reading in the model: its readiness and due time (model units); performed:
    its known turnaround; otherwise its end and whether it is left unread (None: no session can
    take it)."""

    exam: SimExam
    ready: int
    due: int
    turnaround: int | None = None
    end: cp_model.IntVar | None = None
    unread: cp_model.IntVar | None = None  # set with ``end``

    @property
    def unreadable(self) -> bool:
        return self.turnaround is None and self.end is None


def allowed_above(n: int, q: float = 0.95) -> int:
    """How many of ``n`` values lie above the nearest-rank q-quantile (reading_sim.percentile)."""
    return n - 1 - nearest_rank(n, q)


def _schedule(model: cp_model.CpModel, t: Territory, day: SimDay, s: ReadingSettings, m: SimSettings
              ) -> tuple[list[_Read], int]:
    """The day's first readings on the radiologists' sessions (module docstring); returns them and
    the model's horizon. Times are rounded down, due times up: the model errs towards a bound."""
    eligible = pooled_eligibility(t, day, s, m)

    def at(moment: datetime, up: bool = False) -> int:
        tenths = (moment - day.start) / timedelta(minutes=1) * _TENTHS
        return math.ceil(tenths - 1e-9) if up else math.floor(tenths + 1e-9)

    horizon = at(day.end) + 10_000 * _TENTHS
    busy: dict[str, list[cp_model.IntervalVar]] = {}
    reads: list[_Read] = []
    for x in day.exams:
        if x.task.kind is TaskKind.SCREENING_L2:
            continue
        assert x.task.id is not None
        ready, due = at(x.task.ready_at), at(x.task.due_at, up=True)
        if x.report_at is not None:  # performed and reported by the radiologist: its time is known
            reads.append(_Read(x, ready, due, turnaround=at(x.report_at) - ready))
            continue
        actual = max(1, math.floor(x.minutes * _TENTHS + 1e-9))
        expected = math.floor(s.minutes_for(x.task.modality.value, x.task.exam) * _TENTHS + 1e-9)
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
            reads.append(_Read(x, ready, due))
            continue
        unread = model.new_bool_var(f"unread_{x.task.id}")
        model.add_exactly_one([*chosen, unread])
        reads.append(_Read(x, ready, due, end=end, unread=unread))
    for intervals in busy.values():
        model.add_no_overlap(intervals)
    return reads, horizon


def _solve(model: cp_model.CpModel, time_limit: float, workers: int) -> tuple[cp_model.CpSolver, bool, bool]:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    return solver, status in (cp_model.OPTIMAL, cp_model.FEASIBLE), status == cp_model.OPTIMAL


def hindsight(t: Territory, day: SimDay, settings: ReadingSettings | None = None, sim: SimSettings | None = None,
              time_limit: float = 60.0, workers: int = 2) -> Hindsight:
    """The hindsight bounds of ``day`` (module docstring): the lowest all-exam p95, then (another
    schedule) the fewest urgent exams late; ``time_limit`` for each."""
    s, m = settings or ReadingSettings(), sim or SimSettings()
    model = cp_model.CpModel()
    reads, horizon = _schedule(model, t, day, s, m)
    n, allowed = len(reads), allowed_above(len(reads))
    unreadable = sum(r.unreadable for r in reads)
    v = model.new_int_var(0, horizon, "V")
    above = []
    for r in reads:
        late = model.new_bool_var("")
        above.append(late)
        if r.turnaround is not None:
            model.add(v >= r.turnaround).only_enforce_if(~late)
        elif r.end is None or r.unread is None:  # unreadable
            model.add(late == 1)
        else:
            model.add_implication(r.unread, late)
            model.add(v >= r.end - r.ready).only_enforce_if(~late)
    model.add(sum(above) <= allowed)
    model.minimize(v)
    p95: float | None = None
    lower: float | None = None
    proven, seconds = True, 0.0
    if unreadable <= allowed:  # else the percentile itself is an unread exam, whatever the schedule
        solver, found, proven = _solve(model, time_limit, workers)
        p95 = round(solver.value(v) / _TENTHS, 1) if found else None
        lower, seconds = round(solver.best_objective_bound / _TENTHS, 1), solver.wall_time
    late_count, late_lower, late_seconds, urgent = _fewest_urgent_late(t, day, s, m, time_limit, workers)
    return Hindsight(p95, lower, proven, n, allowed, unreadable, urgent, late_count, late_lower,
                     round(seconds + late_seconds, 1))


def _fewest_urgent_late(t: Territory, day: SimDay, s: ReadingSettings, m: SimSettings, time_limit: float,
                        workers: int) -> tuple[int | None, int, float, int]:
    """The fewest urgent first readings read after their due time or left unread past it (as the
    simulation counts them late), its proven lower bound, the seconds it took and the urgent exams
    counted."""
    model = cp_model.CpModel()
    reads, _ = _schedule(model, t, day, s, m)
    day_end = (day.end - day.start) / timedelta(minutes=1) * _TENTHS
    late: list[cp_model.IntVar | int] = []
    for r in reads:
        if r.exam.task.priority is not Priority.URGENT:
            continue
        carried = r.due > day_end  # unread at the end, not yet due: carried over, not late (summarise)
        if r.turnaround is not None:
            late.append(int(r.ready + r.turnaround > r.due))
        elif r.end is None or r.unread is None:  # unreadable
            late.append(int(not carried))
        else:
            x = model.new_bool_var("")
            if not carried:
                model.add_implication(r.unread, x)
            model.add(r.end <= r.due).only_enforce_if([~x, ~r.unread])
            late.append(x)
    model.minimize(sum(late))
    solver, found, _ = _solve(model, time_limit, workers)
    return (round(solver.objective_value) if found else None, math.ceil(solver.best_objective_bound - 1e-9),
            solver.wall_time, len(late))
