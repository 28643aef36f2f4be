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
Order (urgent exams pre-empt): tasks by priority, then due time, then readiness, then id.
Choice: the soonest end; ties to the person with the fewest minutes assigned today (workload
balance), then the reader id. Greedy list scheduling: O(tasks × eligible readers).

Per event (a task arrives, a reader becomes free) only what starts now matters: an idle
reader always ends sooner than a busy one, so :func:`dispatch_now` gives the starting part of
:func:`solve`'s plan from the idle readers alone, in O(tasks × idle readers); later
assignments are re-planned at the next event (late binding).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
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


def order_key(task: DispatchTask) -> tuple[int, datetime, datetime, int]:
    return (PRIORITY_RANK[task.priority], task.due_at, task.ready_at, task.id)


def _allows(eligible: Eligibility, task: int, reader: str) -> bool:
    if callable(eligible):
        return eligible(task, reader)
    return reader in eligible.get(task, ())


def solve(instance: DispatchInstance) -> Solution:
    """Greedy soonest-end assignment of every task, urgent first."""
    now = instance.now
    readers = list(instance.readers)
    index = {r.id: i for i, r in enumerate(readers)}
    # minutes after now, per reader: when free; per person: minutes assigned today
    free = [max(0.0, (r.free_at - now) / _MINUTE) for r in readers]
    until = [math.inf if r.until is None else (r.until - now) / _MINUTE + 1e-9 for r in readers]
    ids = [r.id for r in readers]
    person = [r.who for r in readers]
    load: dict[str, float] = {}
    siblings: dict[str, list[int]] = {}
    for i, r in enumerate(readers):
        load[r.who] = max(load.get(r.who, 0.0), r.minutes_today)
        siblings.setdefault(r.who, []).append(i)
    eligible = instance.eligible
    assignments: list[Assignment] = []
    unassigned: list[int] = []
    for task in sorted(instance.tasks, key=order_key):
        ready = max(0.0, (task.ready_at - now) / _MINUTE)
        if callable(eligible):
            candidates = [i for i, r in enumerate(ids) if eligible(task.id, r)]
        else:
            candidates = [index[r] for r in eligible.get(task.id, ()) if r in index]
        m = task.minutes
        best, best_end, best_load, best_id = -1, math.inf, math.inf, ""
        for i in candidates:
            f = free[i]
            end = (f if f > ready else ready) + m
            if end > until[i] or end > best_end:
                continue
            ld = load[person[i]]
            if end < best_end or (ld, ids[i]) < (best_load, best_id):
                best, best_end, best_load, best_id = i, end, ld, ids[i]
        if best < 0:
            unassigned.append(task.id)
            continue
        end = best_end
        start = end - m
        free[best] = end
        load[person[best]] += m
        for j in siblings[person[best]]:  # a person's other sessions wait for this reading
            free[j] = max(free[j], end)
        assignments.append(Assignment(task.id, readers[best].id, now + timedelta(minutes=start),
                                      now + timedelta(minutes=end)))
    return Solution(tuple(assignments), tuple(unassigned))


def _accepts(eligible: Eligibility, task: int) -> Callable[[str], bool]:
    if callable(eligible):
        return partial(eligible, task)
    return frozenset(eligible.get(task, ())).__contains__


def dispatch_now(now: datetime, waiting: Sequence[DispatchTask], idle: Sequence[Reader],
                 eligible: Eligibility) -> tuple[Assignment, ...]:
    """The readings to start at ``now``: tasks in :func:`order_key` order, each to the eligible
    idle reader (free by ``now``, able to end by ``until``) whose person has read the fewest
    minutes today, then by reader id; each idle person takes at most one."""
    pool = sorted((r for r in idle if r.free_at <= now), key=lambda r: (r.minutes_today, r.id))
    shared = len({r.who for r in pool}) < len(pool)  # a person with several idle sessions
    out: list[Assignment] = []
    for task in sorted(waiting, key=order_key):
        if not pool:
            break
        if task.ready_at > now:
            continue
        end = now + timedelta(minutes=task.minutes)
        accepts = _accepts(eligible, task.id)
        for k, r in enumerate(pool):
            if accepts(r.id) and (r.until is None or end <= r.until):
                out.append(Assignment(task.id, r.id, now, end))
                del pool[k]
                if shared:
                    pool = [x for x in pool if x.who != r.who]
                break
    return tuple(out)


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
