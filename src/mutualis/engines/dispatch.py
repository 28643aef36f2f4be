"""Push dispatch of readings: each waiting task to the eligible reader who finishes it soonest.

instance (:class:`DispatchInstance`) → :func:`solve` → :class:`Solution`, and
:func:`assignment_problems`, a validator that needs no solver.

Rules, for a task ``t`` of ``m`` expected minutes given to reader ``r``:
- ``r`` is eligible for ``t`` (precomputed sets, or a callable; eligibility is
  :func:`mutualis.domain.reading.may_read`, decided by the caller);
- it starts at ``max(now, t.ready_at, r.free_at)`` (after ``r``'s earlier assignments) and ends
  ``m`` minutes later, by ``r.until`` when the reader has an end (end of shift);
- a person never reads two tasks at once (several readers may be one person's successive
  sessions: they must not overlap, and each but the last has an ``until``).
Order (:class:`DispatchRules`, :func:`order_key`): by default oldest first, except that a task
whose latest start (due time minus its minutes) is 30 minutes away or less goes before all the
others (an urgent exam 30 minutes after its images; in the ``mutualis bench reading`` day this keeps
the 95th-percentile turnaround at FIFO's or below, where urgent-first let routine tails grow);
:data:`STRICT`: by priority, then due time, then readiness (urgent exams pre-empt).
Choice: the soonest end; ties to the reader the other waiting tasks need least (eligibility-aware:
a scarce qualification is kept for the exams only it can read), then the one whose session ends
soonest (best fit: long stretches for long readings), then the person with the fewest minutes
assigned today (workload balance), then the reader id. Greedy list scheduling: O(tasks × readers).

Per event (a task arrives, a reader becomes free) only what starts now matters: an idle
reader always ends sooner than a busy one, so :func:`dispatch_now` gives the starting part of
:func:`solve`'s plan from the idle readers alone, in O(tasks × idle readers); later
assignments are re-planned at the next event (late binding).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from mutualis.domain.errors import Problem
from mutualis.domain.orders import Priority
from mutualis.domain.reading import PRIORITY_RANK, ReadingTask
from mutualis.domain.reading_settings import ReadingSettings

_MINUTE = timedelta(minutes=1)
Eligibility = Mapping[int, Collection[str]] | Callable[[int, str], bool]


@dataclass(frozen=True)
class DispatchTask:
    id: int
    priority: Priority
    ready_at: datetime
    due_at: datetime
    minutes: float  # expected reading minutes (ReadingSettings.minutes_for)


def dispatch_task(task: ReadingTask, settings: ReadingSettings | None = None) -> DispatchTask:
    """The dispatch view of a stored task (it needs an id), with its expected reading minutes."""
    if task.id is None:
        raise ValueError("a task is dispatched once it has an id")
    s = settings or ReadingSettings()
    return DispatchTask(task.id, task.priority, task.ready_at, task.due_at, s.minutes_for(task.modality.value))


@dataclass(frozen=True)
class Reader:
    id: str  # a reader session (a person on one site for a stretch of time)
    free_at: datetime  # when they can start (the start of the session, or the end of the current reading)
    until: datetime | None = None  # a reading must end by then
    person: str = ""  # RPPS; "" = the id
    minutes_today: float = 0.0

    @property
    def who(self) -> str:
        return self.person or self.id


@dataclass(frozen=True)
class DispatchInstance:
    now: datetime
    tasks: Sequence[DispatchTask]
    readers: Sequence[Reader]
    eligible: Eligibility  # task id → reader ids, or (task id, reader id) → bool


@dataclass(frozen=True)
class Assignment:
    task: int
    reader: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Solution:
    assignments: tuple[Assignment, ...]
    unassigned: tuple[int, ...]  # no eligible reader can read them (in time)

    def starting(self, at: datetime) -> tuple[Assignment, ...]:
        """The assignments to start now (the rest is a plan, redone at the next event)."""
        return tuple(a for a in self.assignments if a.start <= at)


@dataclass(frozen=True)
class DispatchRules:
    """How waiting tasks are ordered and readers chosen.

    - ``head_start``: minutes of age a task of that priority is credited with: tasks are served
      oldest first on ``ready_at − head_start`` (with 0 everywhere, a plain FIFO);
    - ``critical``: a task whose latest start (``due_at − minutes``) is that close (or passed)
      goes before every other, earliest latest start first;
    - ``keep_scarce``: among the readers who would end a task equally soon, the one the other
      waiting tasks need least (each waiting task spreads one unit over its eligible readers);
    - ``best_fit``: then the one whose session ends soonest (long stretches are kept for long
      readings); then the fewest minutes today, then the id.
    """

    head_start: Mapping[Priority, float] = field(default_factory=lambda: dict(DEFAULT_HEAD_START))
    critical: float = 30.0
    keep_scarce: bool = True
    best_fit: bool = True


DEFAULT_HEAD_START: Mapping[Priority, float] = {p: 0.0 for p in Priority}
STRICT = DispatchRules(head_start={p: 0.0 for p in Priority}, critical=math.inf, keep_scarce=False, best_fit=False)


def order_key(task: DispatchTask, now: datetime | None = None,
              rules: DispatchRules | None = None) -> tuple[int, datetime, datetime, int]:
    """Without rules: priority, then due time, then readiness, then id (strict urgent first).
    With rules: critical tasks first by latest start, then the others oldest first on their
    credited age (:class:`DispatchRules`)."""
    if rules is None or now is None or rules is STRICT:
        return (PRIORITY_RANK[task.priority], task.due_at, task.ready_at, task.id)
    latest = task.due_at - timedelta(minutes=task.minutes)
    if (latest - now) / _MINUTE <= rules.critical:
        return (0, latest, task.ready_at, task.id)
    return (1, task.ready_at - timedelta(minutes=rules.head_start.get(task.priority, 0.0)), task.ready_at, task.id)


def _allows(eligible: Eligibility, task: int, reader: str) -> bool:
    if callable(eligible):
        return eligible(task, reader)
    return reader in eligible.get(task, ())


def _candidates(eligible: Eligibility, task: int, ids: Sequence[str], index: Mapping[str, int]) -> list[int]:
    if callable(eligible):
        return [i for i, r in enumerate(ids) if eligible(task, r)]
    return sorted(index[r] for r in eligible.get(task, ()) if r in index)


def solve(instance: DispatchInstance, rules: DispatchRules | None = None) -> Solution:
    """Greedy soonest-end assignment of every task, in :func:`order_key` order (``rules``: the
    default :class:`DispatchRules`; :data:`STRICT`: urgent first, least-loaded reader)."""
    r = rules or DispatchRules()
    now = instance.now
    readers = list(instance.readers)
    index = {x.id: i for i, x in enumerate(readers)}
    # minutes after now, per reader: when free; per person: minutes assigned today
    free = [max(0.0, (x.free_at - now) / _MINUTE) for x in readers]
    until = [math.inf if x.until is None else (x.until - now) / _MINUTE + 1e-9 for x in readers]
    ids = [x.id for x in readers]
    person = [x.who for x in readers]
    load: dict[str, float] = {}
    siblings: dict[str, list[int]] = {}
    for i, x in enumerate(readers):
        load[x.who] = max(load.get(x.who, 0.0), x.minutes_today)
        siblings.setdefault(x.who, []).append(i)
    ordered = sorted(instance.tasks, key=lambda t: order_key(t, now, r))
    candidates = {t.id: _candidates(instance.eligible, t.id, ids, index) for t in ordered}
    # how much the waiting tasks need each reader free now (each task spreads one unit)
    need = [0.0] * len(readers)
    spread: dict[int, list[int]] = {}
    if r.keep_scarce:
        for t in ordered:
            spread[t.id] = [i for i in candidates[t.id] if free[i] <= 0.0]
            for i in spread[t.id]:
                need[i] += 1.0 / len(spread[t.id])
    assignments: list[Assignment] = []
    unassigned: list[int] = []
    for task in ordered:
        ready = max(0.0, (task.ready_at - now) / _MINUTE)
        m = task.minutes
        best, best_key = -1, (math.inf, 0.0, 0.0, 0.0, "")
        for i in candidates[task.id]:
            f = free[i]
            end = (f if f > ready else ready) + m
            if end > until[i] or end > best_key[0]:
                continue
            key = (end, need[i] if r.keep_scarce else 0.0, until[i] if r.best_fit else 0.0, load[person[i]], ids[i])
            if key < best_key:
                best, best_key = i, key
        for i in spread.get(task.id, ()):  # decided: this task needs nobody any more
            need[i] -= 1.0 / len(spread[task.id])
        if best < 0:
            unassigned.append(task.id)
            continue
        end = best_key[0]
        start = end - m
        free[best] = end
        load[person[best]] += m
        for j in siblings[person[best]]:  # a person's other sessions wait for this reading
            free[j] = max(free[j], end)
        assignments.append(Assignment(task.id, readers[best].id, now + timedelta(minutes=start),
                                      now + timedelta(minutes=end)))
    return Solution(tuple(assignments), tuple(unassigned))


def dispatch_now(now: datetime, waiting: Sequence[DispatchTask], idle: Sequence[Reader], eligible: Eligibility,
                 rules: DispatchRules | None = None) -> tuple[Assignment, ...]:
    """The readings to start at ``now``: the starting part of :func:`solve` on the idle readers
    (free by ``now``); each idle person takes at most one."""
    pool = [r for r in idle if r.free_at <= now]
    if not pool or not waiting:
        return ()
    return solve(DispatchInstance(now, waiting, pool, eligible), rules).starting(now)


def assignment_problems(instance: DispatchInstance, solution: Solution) -> list[Problem]:
    """Every rule a solution breaks: unknown or ineligible pairs, a task given twice or dropped,
    a start before the task is ready or the reader is free, a wrong length, an end after the
    reader's ``until``, a person reading two tasks at once."""
    tasks = {t.id: t for t in instance.tasks}
    readers = {r.id: r for r in instance.readers}
    problems: list[Problem] = []
    seen: set[int] = set()
    by_person: dict[str, list[tuple[datetime, datetime, int]]] = {}
    for k, a in enumerate(solution.assignments):
        where = f"assignments[{k}]"
        task, reader = tasks.get(a.task), readers.get(a.reader)
        if task is None or reader is None:
            problems.append(Problem(where, f"unknown task {a.task} or reader {a.reader!r}"))
            continue
        if a.task in seen:
            problems.append(Problem(where, f"task {a.task} assigned twice"))
        seen.add(a.task)
        if not _allows(instance.eligible, a.task, a.reader):
            problems.append(Problem(where, f"reader {a.reader} is not eligible for task {a.task}"))
        if a.start < max(instance.now, task.ready_at, reader.free_at):
            problems.append(Problem(where, f"task {a.task} starts before it is ready or {a.reader} is free"))
        if abs((a.end - a.start) / _MINUTE - task.minutes) > 1e-6:
            problems.append(Problem(where, f"task {a.task} lasts {(a.end - a.start) / _MINUTE:g} min, "
                                           f"not {task.minutes:g}"))
        if reader.until is not None and a.end > reader.until:
            problems.append(Problem(where, f"task {a.task} ends after {a.reader}'s end {reader.until:%H:%M}"))
        by_person.setdefault(reader.who, []).append((a.start, a.end, a.task))
    for who, items in by_person.items():
        items.sort()
        for (_, end, first), (start, _, second) in pairwise(items):
            if start < end:
                problems.append(Problem(f"reader {who}", f"tasks {first} and {second} overlap"))
    missing = set(tasks) - seen - set(solution.unassigned)
    problems += [Problem(f"task {t}", "neither assigned nor reported unassigned") for t in sorted(missing)]
    return problems
