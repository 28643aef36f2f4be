"""Push dispatch of readings: each waiting task to the eligible reader who finishes it soonest.

instance (:class:`DispatchInstance`) → :func:`solve` → :class:`Solution`, and
:func:`mutualis.engines.dispatch_validate.assignment_problems`, a validator that needs no solver.

Rules, for a task ``t`` of ``m`` expected minutes given to reader ``r``:
- ``r`` is eligible for ``t`` (precomputed sets, or a callable; eligibility is
  :func:`mutualis.domain.reading.may_read`, decided by the caller);
- it starts at ``max(now, t.ready_at, r.free_at)`` (after ``r``'s earlier assignments) and ends
  ``m`` minutes later, by ``r.until`` when the reader has an end (its next block, end of shift);
- except an urgent task whose latest start is ``DispatchRules.critical`` minutes away or less
  (``pause_urgent``): it may start before ``r.until`` and pause over the reader's ``breaks``
  (the blocks after it), ending ``m`` minutes of reading plus ``resume_minutes`` per break later
  (:func:`stretch`), by ``r.last``, when that ends it sooner;
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

Look-ahead (``DispatchRules.lookahead``, on by default): what a reader free now starts is chosen
by rollout. For each of the first few tasks it may read (in the order above; when the first is
critical, only the critical ones), the rest of the queue is planned greedily after that choice
on every reader known (free now, busy until their reading's expected end, sessions that start
later), and the plan is scored by Σ weight × turnaround⁴ (urgent exams weigh twice): the power
makes the longest waits count most, which is what the 95th percentile measures. The choice with
the lowest score starts; readers whose session ends soonest choose first; a budget bounds the
rollouts per decision (the rest is greedy). In ``mutualis bench reading`` (28 days) it lowers the
pooled 95th percentile below the greedy rules' on urgent exams and on all exams (README).

Per event (a task arrives, a reader becomes free) only what starts now matters: an idle
reader always ends sooner than a busy one (but for a reading paused over a break, which it
therefore never plans), so :func:`dispatch_now` gives the starting part of
:func:`solve`'s plan from the idle readers alone, in O(tasks × idle readers); later
assignments are re-planned at the next event (late binding).

Pre-emption (``DispatchRules.preempt``; only when the instance lists the readings in progress,
``running``): urgent exams are first planned alone, earliest latest start first, each on the
reader who ends it soonest. One whose planned start plus its minutes × ``preempt_safety`` is
after its due time (no eligible reader becomes free in time; the safety covers a reading that
runs over) interrupts a reading in progress and starts now, when that ends it sooner. The
reading interrupted is an interruptible one (never an urgent reading, never one marked
``interruptible=False``: performing an exam with a patient) of an eligible reader who can end
the urgent exam before the reader's ``until`` and has nothing else planned by the urgent exams.
Among those: the soonest end of the urgent exam, then the interrupted reading with the most
slack (due time minus remaining minutes), then the least done, then the reader id. The
interrupted task goes back to the queue with its ``ready_at`` (its place in the oldest-first
order) and, for the person who started it, its remaining minutes plus ``resume_minutes`` of the
instance; anyone else reads it from the start (:func:`resumed_task`). The rest of the plan is
the greedy above, with the interrupted readers free at the end of their urgent exam.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

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
    owner: str = ""  # an interrupted reading: the person who started it, who resumes it in ``minutes``
    fresh_minutes: float = 0.0  # ... and anyone else reads it from the start, in these minutes

    def minutes_for(self, person: str) -> float:
        """Expected minutes for ``person`` (an interrupted reading: its owner resumes it)."""
        return self.fresh_minutes if self.owner and person != self.owner else self.minutes

    @property
    def full_minutes(self) -> float:
        """Expected minutes of a reading from the start."""
        return self.fresh_minutes if self.owner else self.minutes


def dispatch_task(task: ReadingTask, settings: ReadingSettings | None = None) -> DispatchTask:
    """The dispatch view of a stored task (it needs an id), with its expected reading minutes."""
    if task.id is None:
        raise ValueError("a task is dispatched once it has an id")
    s = settings or ReadingSettings()
    minutes = s.minutes_for(task.modality.value, task.exam)
    return DispatchTask(task.id, task.priority, task.ready_at, task.due_at, minutes)


@dataclass(frozen=True)
class Reader:
    id: str  # a reader session (a person on one site for a stretch of time)
    free_at: datetime  # when they can start (the start of the session, or the end of the current reading)
    until: datetime | None = None  # a reading must end by then
    person: str = ""  # RPPS; "" = the id
    minutes_today: float = 0.0
    # the person's blocks after ``until`` (sorted, disjoint), and when their day ends: an urgent
    # task near its due time may be read across them, paused (DispatchRules.pause_urgent)
    breaks: tuple[tuple[datetime, datetime], ...] = ()
    last: datetime | None = None

    @property
    def who(self) -> str:
        return self.person or self.id


def stretch(start: float, minutes: float, breaks: Sequence[tuple[float, float]], resume: float) -> tuple[float, float]:
    """(start, end) of ``minutes`` of reading from ``start`` on, paused over ``breaks`` (sorted,
    disjoint; any unit): it starts after a break it falls in, and each break it spans adds
    ``resume``. Without breaks, (start, start + minutes)."""
    t, left, begun = start, minutes, -math.inf
    for a, b in breaks:
        if b <= t:
            continue
        if a <= t:  # in a break: not before its end
            t = b
            continue
        if t + left <= a:
            break
        if begun == -math.inf:
            begun = t
        left += resume - (a - t)
        t = b
    return (t if begun == -math.inf else begun), t + left


def reading_end(breaks: Sequence[tuple[datetime, datetime]], start: datetime, minutes: float,
                resume: float) -> datetime:
    """When ``minutes`` of reading from ``start`` end, paused over ``breaks`` (:func:`stretch`)."""
    if not breaks:
        return start + timedelta(minutes=minutes)
    return start + timedelta(minutes=stretch(0.0, minutes, [((x - start) / _MINUTE, (y - start) / _MINUTE)
                                                            for x, y in breaks], resume)[1])


@dataclass(frozen=True)
class InProgress:
    """A reading in progress: ``task`` as it is being read (``minutes``: the expected minutes of
    this stretch, from ``started``), by ``reader``, whose ``free_at`` is when it should end."""

    task: DispatchTask
    reader: str
    started: datetime
    interruptible: bool = True  # False: performing an exam with a patient


@dataclass(frozen=True)
class DispatchInstance:
    now: datetime
    tasks: Sequence[DispatchTask]
    readers: Sequence[Reader]
    eligible: Eligibility  # task id → reader ids, or (task id, reader id) → bool
    running: Sequence[InProgress] = ()  # readings in progress, which an urgent exam may interrupt
    resume_minutes: float = 2.0  # minutes lost resuming an interrupted reading (an assumption)


@dataclass(frozen=True)
class Interruption:
    task: int  # the reading interrupted (it goes back to the queue: resumed_task)
    reader: str
    at: datetime
    by: int  # the urgent task that starts at once in its place


def resumed_task(piece: InProgress, at: datetime, person: str, resume_minutes: float) -> DispatchTask:
    """The task ``piece`` leaves when ``person`` stops it at ``at``: same arrival (its place in
    the queue) and due time; ``person`` resumes it in its remaining minutes plus
    ``resume_minutes`` (none when it had not begun), anyone else reads it from the start."""
    done = max(0.0, (at - piece.started) / _MINUTE)
    t = piece.task
    minutes = max(0.0, t.minutes - done) + (resume_minutes if done > 0 else 0.0)
    if done <= 0 and not t.owner:
        return t
    return replace(t, minutes=minutes, owner=person, fresh_minutes=t.full_minutes)


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
    interruptions: tuple[Interruption, ...] = ()  # readings in progress stopped for an urgent exam

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
      readings); then the fewest minutes today, then the id;
    - ``preempt``: an urgent exam that would end after its due time interrupts a routine reading
      in progress (only when the instance gives ``running``); ``preempt_safety``: an urgent exam
      is at risk when its planned start plus its expected minutes × this factor is after its due
      time (1.5: about the 90th percentile of the simulated reading-time spread, σ 0.35; an
      assumption);
    - ``lookahead``: how many tasks a reader free now tries by rollout (0: the greedy rules
      alone); ``lookahead_tasks``: the waiting tasks planned in each rollout (the first, in
      order); ``lookahead_budget``: rollouts per decision at most; ``lookahead_horizon``: the
      minutes a task no reader can take in the rollout is counted as waiting still;
      ``lookahead_plan``: the minutes ahead whose sessions a caller gives (the simulation);
      ``urgent_weight`` and ``tail_power``: the rollout's score, Σ weight × turnaround^power;
    - ``pause_urgent``: an urgent task whose latest start is ``critical`` minutes away or less
      may be read across a reader's break (paused over it, ``resume_minutes`` more after it)
      when that ends it sooner; any other task is read in one stretch between breaks;
    - ``by_priority``: order by priority, then due time, then readiness (:data:`STRICT`),
      instead of ``head_start`` and ``critical``.
    """

    head_start: Mapping[Priority, float] = field(default_factory=lambda: dict(DEFAULT_HEAD_START))
    critical: float = 30.0
    keep_scarce: bool = True
    best_fit: bool = True
    preempt: bool = True
    preempt_safety: float = 1.5
    lookahead: int = 6
    lookahead_tasks: int = 40
    lookahead_budget: int = 48
    lookahead_horizon: float = 480.0
    lookahead_plan: float = 240.0
    urgent_weight: float = 2.0
    tail_power: float = 4.0
    pause_urgent: bool = True
    by_priority: bool = False


DEFAULT_HEAD_START: Mapping[Priority, float] = {p: 0.0 for p in Priority}
STRICT = DispatchRules(head_start={p: 0.0 for p in Priority}, critical=math.inf, keep_scarce=False, best_fit=False,
                       lookahead=0, pause_urgent=False, by_priority=True)


def order_key(task: DispatchTask, now: datetime | None = None,
              rules: DispatchRules | None = None) -> tuple[int, datetime, datetime, int]:
    """Without rules (or ``rules.by_priority``): priority, then due time, then readiness, then id
    (strict urgent first). With rules: critical tasks first by latest start, then the others
    oldest first on their credited age (:class:`DispatchRules`)."""
    if rules is None or now is None or rules.by_priority:
        return (PRIORITY_RANK[task.priority], task.due_at, task.ready_at, task.id)
    latest = task.due_at - timedelta(minutes=task.minutes)
    if (latest - now) / _MINUTE <= rules.critical:
        return (0, latest, task.ready_at, task.id)
    return (1, task.ready_at - timedelta(minutes=rules.head_start.get(task.priority, 0.0)), task.ready_at, task.id)


def allows(eligible: Eligibility, task: int, reader: str) -> bool:
    if callable(eligible):
        return eligible(task, reader)
    return reader in eligible.get(task, ())


def _candidates(eligible: Eligibility, task: int, ids: Sequence[str], index: Mapping[str, int]) -> list[int]:
    if callable(eligible):
        return [i for i, r in enumerate(ids) if eligible(task, r)]
    return sorted(index[r] for r in eligible.get(task, ()) if r in index)


@dataclass
class _Board:
    """The readers as :func:`solve` plans on them, in minutes after now: when each is free, when
    its reading must end, its breaks, the person behind it and their minutes today (copied for a
    rollout)."""

    now: datetime
    ids: list[str]
    index: dict[str, int]
    free: list[float]
    until: list[float]
    breaks: list[tuple[tuple[float, float], ...]]  # after ``until``
    last: list[float]  # a paused reading ends by then
    resume: float
    pause_within: float  # DispatchRules.critical when urgent tasks may pause, else -inf
    person: list[str]
    siblings: dict[str, list[int]]  # a person's sessions
    load: dict[str, float]

    @classmethod
    def of(cls, instance: DispatchInstance, pause_within: float = -math.inf) -> _Board:
        now, readers = instance.now, instance.readers
        load: dict[str, float] = {}
        siblings: dict[str, list[int]] = {}
        for i, x in enumerate(readers):
            load[x.who] = max(load.get(x.who, 0.0), x.minutes_today)
            siblings.setdefault(x.who, []).append(i)
        def minutes(at: datetime | None) -> float:
            return math.inf if at is None else (at - now) / _MINUTE + 1e-9

        until = [minutes(x.until) for x in readers]
        return cls(now, [x.id for x in readers], {x.id: i for i, x in enumerate(readers)},
                   [max(0.0, (x.free_at - now) / _MINUTE) for x in readers], until,
                   [tuple(((a - now) / _MINUTE, (b - now) / _MINUTE) for a, b in x.breaks if b > now) for x in readers],
                   [minutes(x.last) if x.last else until[i] for i, x in enumerate(readers)],
                   instance.resume_minutes, pause_within, [x.who for x in readers], siblings, load)

    def copy(self) -> _Board:
        return replace(self, free=list(self.free), load=dict(self.load))

    def ready(self, task: DispatchTask) -> float:
        return max(0.0, (task.ready_at - self.now) / _MINUTE)

    def pauses(self, task: DispatchTask) -> bool:
        """Whether ``task`` may be read across a break: an urgent task whose latest start (due
        time minus its minutes) is ``pause_within`` minutes away or less."""
        latest = (task.due_at - self.now) / _MINUTE - task.minutes
        return task.priority is Priority.URGENT and latest <= self.pause_within

    def end(self, i: int, start: float, task: DispatchTask) -> float:
        """When ``task`` read by reader ``i`` from ``start`` on ends (paused over the reader's breaks
        when it :meth:`pauses`), or ∞ when it does not fit before the reader's end."""
        m = task.minutes_for(self.person[i])
        if self.breaks[i] and self.pauses(task):
            end = stretch(start, m, self.breaks[i], self.resume)[1]
            return end if start < self.until[i] and end <= self.last[i] else math.inf
        return start + m if start + m <= self.until[i] else math.inf

    def take(self, i: int, end: float, m: float) -> None:
        """Reader ``i`` reads ``m`` minutes, until ``end``; the person's other sessions wait for it."""
        self.free[i] = end
        self.load[self.person[i]] += m
        for j in self.siblings[self.person[i]]:
            self.free[j] = max(self.free[j], end)


# a task placed on a reader: (task, reader index, start, end), in minutes after now
_Placed = tuple[DispatchTask, int, float, float]


def solve(instance: DispatchInstance, rules: DispatchRules | None = None) -> Solution:
    """Every task planned, in :func:`order_key` order (``rules``: the default
    :class:`DispatchRules`; :data:`STRICT`: urgent first, least-loaded reader): first the
    pre-emptions of urgent exams at risk when the instance gives the readings in progress (their
    task ids must be known to ``eligible``), then what each reader free now starts (chosen by
    rollout when ``rules.lookahead``), then the greedy soonest-end assignment of the rest."""
    r = rules or DispatchRules()
    now = instance.now
    board = _Board.of(instance, r.critical if r.pause_urgent else -math.inf)
    assignments: list[Assignment] = []
    tasks = list(instance.tasks)
    interruptions: tuple[Interruption, ...] = ()
    if r.preempt and instance.running:
        interruptions, tasks = _preempt(instance, r, tasks, board, assignments)
    ordered = sorted(tasks, key=lambda t: order_key(t, now, r))
    candidates = {t.id: _candidates(instance.eligible, t.id, board.ids, board.index) for t in ordered}
    placed: list[_Placed] = []
    if r.lookahead > 0:
        ordered = _look_ahead(ordered, candidates, board, r, now, placed)
    unassigned = _greedy(ordered, candidates, board, r, placed)
    assignments += [Assignment(t.id, board.ids[i], now + timedelta(minutes=start), now + timedelta(minutes=end))
                    for t, i, start, end in placed]
    return Solution(tuple(assignments), tuple(unassigned), interruptions)


def _greedy(ordered: Sequence[DispatchTask], candidates: Mapping[int, Sequence[int]], board: _Board,
            r: DispatchRules, placed: list[_Placed]) -> list[int]:
    """Each task in turn on the reader who ends it soonest (ties: :class:`DispatchRules`); the
    placements are appended to ``placed``, the tasks no reader can take are returned."""
    free, until, person, load, ids, breaks = board.free, board.until, board.person, board.load, board.ids, board.breaks
    # how much the waiting tasks need each reader free now (each task spreads one unit)
    need = [0.0] * len(free)
    spread: dict[int, list[int]] = {}
    if r.keep_scarce:
        for t in ordered:
            spread[t.id] = [i for i in candidates[t.id] if free[i] <= 0.0]
            for i in spread[t.id]:
                need[i] += 1.0 / len(spread[t.id])
    unassigned: list[int] = []
    for task in ordered:
        ready = board.ready(task)
        pauses = board.pauses(task)
        best, best_key, best_m, best_start = -1, (math.inf, 0.0, 0.0, 0.0, ""), 0.0, 0.0
        for i in candidates[task.id]:
            f = free[i]
            m = task.minutes_for(person[i]) if task.owner else task.minutes
            start = f if f > ready else ready
            if pauses and breaks[i]:
                end = board.end(i, start, task)
            else:
                end = start + m
                if end > until[i]:
                    continue
            if end == math.inf or end > best_key[0]:
                continue
            key = (end, need[i] if r.keep_scarce else 0.0, until[i] if r.best_fit else 0.0, load[person[i]], ids[i])
            if key < best_key:
                best, best_key, best_m, best_start = i, key, m, start
        for i in spread.get(task.id, ()):  # decided: this task needs nobody any more
            need[i] -= 1.0 / len(spread[task.id])
        if best < 0:
            unassigned.append(task.id)
            continue
        board.take(best, best_key[0], best_m)
        placed.append((task, best, best_start, best_key[0]))
    return unassigned


def _look_ahead(ordered: Sequence[DispatchTask], candidates: Mapping[int, Sequence[int]], board: _Board,
                r: DispatchRules, now: datetime, placed: list[_Placed]) -> list[DispatchTask]:
    """What each reader free now starts, by rollout: for each of the first ``r.lookahead`` tasks
    it may read, the rest (the first ``r.lookahead_tasks`` in order) planned greedily after it,
    scored by :func:`_cost`; the best is fixed (``placed``). Readers in order of their session's
    end (the shortest stretch chooses first), at most ``r.lookahead_budget`` rollouts in all;
    returns the tasks left for the greedy plan."""
    left = list(ordered)
    budget = r.lookahead_budget
    free_now = sorted((i for i, f in enumerate(board.free) if f <= 0.0), key=lambda i: (board.until[i], board.ids[i]))
    for i in free_now:
        if board.free[i] > 0.0 or not left:  # the person started something in another session
            continue
        who = board.person[i]
        if budget < 2:
            break
        options = [t for t in left if i in candidates[t.id] and board.ready(t) <= 0.0
                   and board.end(i, 0.0, t) < math.inf][:min(r.lookahead, budget)]
        if options and order_key(options[0], now, r)[0] == 0:  # a critical task first: only those compete
            options = [t for t in options if order_key(t, now, r)[0] == 0]
        if len(options) < 2:  # nothing to choose: the greedy plan takes it
            continue
        budget -= len(options)
        best = min(options, key=lambda t: (_rollout(t, i, left, candidates, board, r), order_key(t, now, r)))
        m = best.minutes_for(who)
        end = board.end(i, 0.0, best)
        board.take(i, end, m)
        placed.append((best, i, 0.0, end))
        left.remove(best)
    return left


def _rollout(first: DispatchTask, i: int, left: Sequence[DispatchTask], candidates: Mapping[int, Sequence[int]],
             board: _Board, r: DispatchRules) -> float:
    """The cost of reader ``i`` starting ``first`` now, the rest planned greedily after it."""
    trial = board.copy()
    m = first.minutes_for(trial.person[i])
    end = trial.end(i, 0.0, first)
    trial.take(i, end, m)
    placed: list[_Placed] = [(first, i, 0.0, end)]
    rest = [t for t in left[:r.lookahead_tasks + 1] if t.id != first.id][:r.lookahead_tasks]
    unassigned = set(_greedy(rest, candidates, trial, r, placed))
    late = [(t, math.inf) for t in rest if t.id in unassigned]
    return _cost([(t, end) for t, _, _, end in placed] + late, board.now, r)


def _cost(ends: Sequence[tuple[DispatchTask, float]], now: datetime, r: DispatchRules) -> float:
    """Σ weight × turnaround^power over (task, end in minutes after now); a task with no end
    counts as read ``r.lookahead_horizon`` minutes from now. The power makes the longest waits
    dominate (the 95th percentile is what the territory watches); urgent exams weigh more."""
    total = 0.0
    for t, end in ends:
        waited = (now - t.ready_at) / _MINUTE
        turnaround = waited + (r.lookahead_horizon if math.isinf(end) else end)
        total += (r.urgent_weight if t.priority is Priority.URGENT else 1.0) * max(0.0, turnaround) ** r.tail_power
    return total


def _soonest(task: DispatchTask, cands: Sequence[int], plan: Sequence[float], board: _Board) -> tuple[float, int]:
    """The soonest end of ``task`` on ``cands`` (minutes after now) and the reader (-1: none)."""
    ready = board.ready(task)
    best, best_end = -1, math.inf
    for i in cands:
        end = board.end(i, max(plan[i], ready), task)
        if end < best_end:
            best, best_end = i, end
    return best_end, best


def _preempt(instance: DispatchInstance, r: DispatchRules, tasks: list[DispatchTask], board: _Board,
             assignments: list[Assignment]) -> tuple[tuple[Interruption, ...], list[DispatchTask]]:
    """The urgent exams at risk that interrupt a reading now (fixed in ``assignments``, readers'
    ``free`` moved); returns the interruptions and the tasks left to plan (with the interrupted)."""
    now, ids, person, free = instance.now, board.ids, board.person, board.free
    running = {board.index[x.reader]: x for x in instance.running if x.reader in board.index}
    urgent = sorted((t for t in tasks if t.priority is Priority.URGENT),
                    key=lambda t: (t.due_at - timedelta(minutes=t.minutes), t.ready_at, t.id))
    if not urgent or not running:
        return (), tasks
    plan = list(free)  # the urgent exams planned alone, earliest latest start first
    interruptions: list[Interruption] = []
    fixed: set[int] = set()
    resumed: list[DispatchTask] = []
    for u in urgent:
        cands = _candidates(instance.eligible, u.id, ids, board.index)
        end, best = _soonest(u, cands, plan, board)
        due = (u.due_at - now) / _MINUTE
        if u.ready_at <= now and (best < 0 or end - u.minutes_for(person[best]) * (1 - r.preempt_safety) > due):
            choice, choice_key = -1, (math.inf, 0.0, 0.0, "")
            for i in cands:
                piece = running.get(i)
                if (piece is None or not piece.interruptible or piece.task.priority is Priority.URGENT
                        or plan[i] != free[i]):
                    continue
                ends = board.end(i, 0.0, u)
                done = max(0.0, (now - piece.started) / _MINUTE)
                slack = (piece.task.due_at - now) / _MINUTE - max(0.0, piece.task.minutes - done)
                key = (ends, -slack, done, ids[i])
                if ends < end and key < choice_key:
                    choice, choice_key = i, key
            if choice >= 0:
                piece = running.pop(choice)
                ends = choice_key[0]
                interruptions.append(Interruption(piece.task.id, ids[choice], now, u.id))
                resumed.append(resumed_task(piece, now, person[choice], instance.resume_minutes))
                free[choice] = 0.0
                board.take(choice, ends, u.minutes_for(person[choice]))
                assignments.append(Assignment(u.id, ids[choice], now, now + timedelta(minutes=ends)))
                plan[choice] = ends
                for j in board.siblings[person[choice]]:
                    plan[j] = max(plan[j], ends)
                fixed.add(u.id)
                continue
        if best >= 0:  # planned, for the exams after it
            plan[best] = end
            for j in board.siblings[person[best]]:
                plan[j] = max(plan[j], end)
    return tuple(interruptions), [t for t in tasks if t.id not in fixed] + resumed


def dispatch_now(now: datetime, waiting: Sequence[DispatchTask], idle: Sequence[Reader], eligible: Eligibility,
                 rules: DispatchRules | None = None) -> tuple[Assignment, ...]:
    """The readings to start at ``now``: the starting part of :func:`solve` on the idle readers
    (free by ``now``); each idle person takes at most one. Never an urgent reading across a break
    (``pause_urgent``): it may end after a busy colleague would, whom this plan does not see."""
    pool = [r for r in idle if r.free_at <= now]
    if not pool or not waiting:
        return ()
    r = replace(rules or DispatchRules(), pause_urgent=False)
    return solve(DispatchInstance(now, waiting, pool, eligible), r).starting(now)
