"""A discrete-event simulation of one day of reading (``reading_day.py`` builds the day) under
three policies, on the same exams, reading times and radiologists:

- ``silo``: each hospital reads its own exams: only the radiologists present on the acquiring
  site (and the on-call radiologist, for their own establishment's sites); urgent exams first
  (the radiographer calls the radiologist), then the oldest; the radiologist idle longest takes it.
- ``fifo``: one pooled queue: any eligible radiologist takes the oldest exam; the radiologist
  idle longest takes a new one.
- ``dispatch``: Mutualis push dispatch (engines/dispatch.py): the oldest first unless an exam's
  latest start is near, to the eligible reader who ends soonest; an urgent exam that no eligible
  reader would end in time interrupts a routine reading in progress (``DispatchRules.preempt``).

Pre-emption (dispatch; FIFO too with ``preempt=True``, an extra comparison): at every event and
at each urgent exam's deadline to start (due time minus its expected minutes × the safety),
the urgent exams still waiting are planned on every session of the coming hour (a busy reader
is expected free when their reading should end, at least a minute from now; one whose session
has not begun, at its start). One at risk interrupts a reading chosen by :func:`dispatch.solve`
and starts at once; the interrupted exam goes back to the worklist with its arrival time, and
``SimSettings.resume_minutes`` more for the radiologist who resumes it (a colleague reads it from
the start). Only readings are interrupted: the performing blocks (a patient on the table) and
the other-work blocks are not reading sessions. Silo and pull FIFO never interrupt: a
radiologist reading in pull mode finishes what they claimed.

Every policy respects the same rules: eligibility by :func:`~mutualis.domain.reading.may_read`
(qualification, privilege, remote reading, on duty, L2 ≠ L1), a reading starts only if its
expected length fits before the session ends (a session is a stretch between the radiologist's
blocks: performing, other work), a radiologist reads one exam at a time (its actual length may
run over). One exception, dispatch's (``DispatchRules.pause_urgent``): an urgent exam near its
due time may be read across a block, when that ends it sooner; the radiologist pauses over the
block and needs ``SimSettings.resume_minutes`` more after it (the reading's ``pieces``).

A negative screening first reading creates its second reading when it is done. Events: exams
ready, sessions starting or radiologists back from a block, readings done; at each event time
the policy decides what starts (its decision time is measured).
"""

from __future__ import annotations

import heapq
import itertools
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mutualis.domain.orders import Priority
from mutualis.domain.reading import ReadingTask, may_read
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Territory
from mutualis.engines.dispatch import (
    Assignment,
    DispatchInstance,
    DispatchRules,
    DispatchTask,
    InProgress,
    Reader,
    dispatch_now,
    dispatch_task,
    reading_end,
    resumed_task,
    solve,
)
from mutualis.engines.reading_day import SimDay, SimSettings


class Policy(StrEnum):
    SILO = "silo"
    FIFO = "fifo"
    DISPATCH = "dispatch"


@dataclass(frozen=True)
class Reading:
    task: ReadingTask
    reader: str | None  # RPPS (of who finished it); None: unread at the end of the horizon
    start: datetime | None
    end: datetime | None
    # interrupted, or paused across a block: (RPPS, start, end) of each stretch
    pieces: tuple[tuple[str, datetime, datetime], ...] = ()

    @property
    def spans(self) -> tuple[tuple[str, datetime, datetime], ...]:
        """The stretches of reading (one when not interrupted)."""
        if self.pieces:
            return self.pieces
        return ((self.reader, self.start, self.end),) if self.reader and self.start and self.end else ()

    @property
    def turnaround_min(self) -> float:
        return (self.end - self.task.ready_at) / _MIN if self.end else float("inf")

    @property
    def on_time(self) -> bool:
        return self.end is not None and self.end <= self.task.due_at


@dataclass(frozen=True)
class PolicyRun:
    policy: Policy
    readings: tuple[Reading, ...]  # every task: the day's exams, then the second readings created
    decision_s: tuple[float, ...]  # one per event time with a decision to make
    minutes_by_reader: Mapping[str, float]  # RPPS of every radiologist on duty → minutes read
    interruptions: int = 0  # readings interrupted for an urgent exam
    other_work_stopped: int = 0  # urgent readings started in other work (SimSettings.urgent_stops_other_work)
    other_work_lost_min: float = 0.0


_MIN = timedelta(minutes=1)
Eligible = Callable[[int, str], bool]


class _Eligibility:
    """may_read for (task, session), cached on what it depends on, plus the policy's own limits."""

    def __init__(self, t: Territory, day: SimDay, policy: Policy, settings: ReadingSettings, sim: SimSettings,
                 tasks: Mapping[int, ReadingTask]) -> None:
        self.t, self.settings, self.policy, self.tasks = t, settings, policy, tasks
        self.sessions = {s.id: s for s in (*day.sessions, *day.urgent_sessions)}
        self.people = {p.rpps: p for p in t.practitioners}
        self.on_duty = frozenset(s.rpps for s in day.sessions)
        self.on_call_priorities = frozenset(sim.on_call_priorities)
        self.home = {p.rpps: p.establishment for p in t.practitioners}
        self.cache: dict[tuple[str, str | None, str, str, TaskKind, bool, bool], bool] = {}

    def __call__(self, task_id: int, session_id: str) -> bool:
        task, s = self.tasks[task_id], self.sessions[session_id]
        if s.on_call and task.priority not in self.on_call_priorities:
            return False
        if self.policy is Policy.SILO and s.site != task.site and not (
                s.on_call and self.t.establishment_of(task.site) == self.home[s.rpps]):
            return False
        key = (s.rpps, s.site, task.site, task.exam, task.kind, s.rpps in task.excluded, s.on_call)
        ok = self.cache.get(key)
        if ok is None:
            ok = may_read(self.people[s.rpps], task, self.t, self.on_duty, s.site, self.settings) is None
            self.cache[key] = ok
        return ok


def pooled_eligibility(t: Territory, day: SimDay, settings: ReadingSettings, sim: SimSettings) -> Eligible:
    """Who may read what on the pooled worklist (FIFO and dispatch), as (task id, session id) → bool."""
    return _Eligibility(t, day, Policy.FIFO, settings, sim,
                        {x.task.id: x.task for x in day.exams if x.task.id is not None})


def _first_come(now: datetime, waiting: Sequence[DispatchTask], idle: Sequence[Reader], eligible: Eligible,
                key: Callable[[DispatchTask], tuple[object, ...]]) -> tuple[Assignment, ...]:
    """Tasks in ``key`` order, each taken by the eligible reader idle the longest (free_at = idle since)."""
    pool = sorted(idle, key=lambda r: (r.free_at, r.id))
    out = []
    for task in sorted(waiting, key=key):
        if not pool:
            break
        for r in pool:
            end = now + timedelta(minutes=task.minutes_for(r.who))
            if (r.until is None or end <= r.until) and eligible(task.id, r.id):
                out.append(Assignment(task.id, r.id, now, end))
                pool = [x for x in pool if x.who != r.who]
                break
    return tuple(out)


def _fifo_key(t: DispatchTask) -> tuple[object, ...]:
    return (t.ready_at, t.id)


def _silo_key(t: DispatchTask) -> tuple[object, ...]:
    return (t.priority is not Priority.URGENT, t.ready_at, t.id)


Breaks = tuple[tuple[datetime, datetime], ...]


def _worked(start: datetime, end: datetime, breaks: Breaks) -> float:
    """Minutes from ``start`` to ``end`` outside ``breaks``."""
    paused = sum(((min(b, end) - max(a, start)) / _MIN for a, b in breaks if a < end and start < b), 0.0)
    return (end - start) / _MIN - paused


def _stretches(rpps: str, start: datetime, end: datetime, breaks: Breaks) -> list[tuple[str, datetime, datetime]]:
    """The stretches of a reading from ``start`` to ``end`` between ``breaks``."""
    out, cursor = [], start
    for a, b in breaks:
        if b <= cursor or a >= end:
            continue
        if a > cursor:
            out.append((rpps, cursor, a))
        cursor = b
    if cursor < end:
        out.append((rpps, cursor, end))
    return out


@dataclass
class _Piece:
    """A stretch of reading in progress."""

    rpps: str
    session: str
    start: datetime
    end: datetime  # actual (paused over ``breaks``)
    task: DispatchTask  # as this radiologist reads it (expected minutes of the stretch)
    queued: DispatchTask  # as it waited
    seq: int  # its end event
    breaks: Breaks = ()  # the session's breaks it pauses over (planned to span them)


@dataclass
class _State:
    now: datetime
    waiting: dict[int, DispatchTask] = field(default_factory=dict)
    running: dict[int, _Piece] = field(default_factory=dict)
    busy_until: dict[str, datetime] = field(default_factory=dict)
    left: dict[int, float] = field(default_factory=dict)  # interrupted: actual minutes left for its owner
    owner: dict[int, str] = field(default_factory=dict)
    pieces: dict[int, list[tuple[str, datetime, datetime]]] = field(default_factory=dict)
    interruptions: int = 0
    other_work_stopped: int = 0  # urgent readings started in a radiologist's other work
    other_work_lost_min: float = 0.0


_WAKE, _READY, _END = 0, 1, 2


def simulate(t: Territory, day: SimDay, policy: Policy, settings: ReadingSettings | None = None,
             sim: SimSettings | None = None, rules: DispatchRules | None = None,
             preempt: bool | None = None) -> PolicyRun:
    """Run the day under ``policy``: exams performed by the radiologist are reported in their
    block; the others wait in the worklist until the policy starts them; the run stops starting
    readings at the end of the horizon, and what is left is unread. ``preempt``: urgent exams at
    risk interrupt a routine reading (default: under dispatch when ``rules.preempt``, never
    under silo and FIFO)."""
    s, m = settings or ReadingSettings(), sim or SimSettings()
    r = rules or DispatchRules()
    preempting = (policy is Policy.DISPATCH and r.preempt) if preempt is None else preempt
    tasks: dict[int, ReadingTask] = {}
    actual: dict[int, float] = {}
    done: dict[int, Reading] = {}
    events: list[tuple[datetime, int, int, int]] = []  # (time, sequence, kind, task id)
    seq = itertools.count()

    for x in day.exams:
        assert x.task.id is not None
        tasks[x.task.id] = x.task
        if x.report_at is not None:  # performed and reported by the radiologist on site
            done[x.task.id] = Reading(x.task, x.performer, x.report_at - timedelta(minutes=x.minutes), x.report_at)
            if x.task.kind is TaskKind.SCREENING_L1:
                raise ValueError("a screening mammogram is not performed by the radiologist")
        else:
            actual[x.task.id] = x.minutes
            heapq.heappush(events, (x.task.ready_at, next(seq), _READY, x.task.id))
    for session in day.sessions:
        heapq.heappush(events, (session.start, next(seq), _WAKE, -1))
    eligible = _Eligibility(t, day, policy, s, m, tasks)
    exams = {x.task.id: x for x in day.exams}
    minutes = {x.rpps: 0.0 for x in day.sessions}
    for x in day.exams:
        if x.performer is not None and x.report_at is not None:
            minutes[x.performer] = minutes.get(x.performer, 0.0) + x.minutes
    st = _State(day.start)
    decisions: list[float] = []
    next_id = len(day.exams)

    def begin(a: Assignment) -> None:
        now, w = st.now, st.waiting.pop(a.task)
        rpps = eligible.sessions[a.reader].rpps
        resumes = st.owner.get(a.task) == rpps
        length = st.left[a.task] + m.resume_minutes if resumes else actual[a.task]
        as_read = w if not w.owner or w.owner == rpps else replace(w, minutes=w.fresh_minutes, owner="",
                                                                    fresh_minutes=0.0)
        sq = next(seq)
        session = eligible.sessions[a.reader]
        spans = tuple((x, y) for x, y in session.breaks if now < x < a.end)  # a reading runs over, as planned
        end = reading_end(spans, now, length, m.resume_minutes)
        st.running[a.task] = _Piece(rpps, a.reader, now, end, as_read, w, sq, spans)
        st.busy_until[rpps] = end
        minutes[rpps] += _worked(now, end, spans)
        heapq.heappush(events, (end, sq, _END, a.task))

    def readers_until(horizon: datetime) -> list[Reader]:
        """Every session until ``horizon``, free when its radiologist should end their reading."""
        now = st.now
        reading = {p.rpps: p for p in st.running.values()}
        out = []
        for x in day.sessions:
            if x.end <= now or x.start >= horizon:
                continue
            p = reading.get(x.rpps)
            expected = None if p is None else reading_end(p.breaks, p.start, p.task.minutes, m.resume_minutes)
            free = x.start if expected is None else max(x.start, expected, now + _MIN)
            out.append(Reader(x.id, max(free, now), x.end, x.rpps, minutes[x.rpps], x.breaks, x.last))
        return out

    def interrupt() -> None:
        """Urgent exams at risk interrupt a reading in progress (engines/dispatch.py); then, with
        ``urgent_stops_other_work``, those still at risk take a radiologist out of other work."""
        now = st.now
        urgent = [w for w in st.waiting.values() if w.priority is Priority.URGENT]
        if not urgent:
            return
        readers = readers_until(max(w.due_at for w in urgent))
        ids = {x.id for x in readers}
        # only routine readings are interrupted, and a routine reading is never paused over a block
        running = [InProgress(p.task, p.session, p.start) for p in st.running.values() if p.session in ids]
        plan = solve(DispatchInstance(now, urgent, readers, eligible, running, m.resume_minutes), r)
        starts = {a.task: a for a in plan.assignments}
        for cut in plan.interruptions:
            p = st.running.pop(cut.task)
            minutes[p.rpps] -= (p.end - now) / _MIN
            st.busy_until[p.rpps] = now
            if p.start < now:
                st.pieces.setdefault(cut.task, []).append((p.rpps, p.start, now))
                st.left[cut.task], st.owner[cut.task] = (p.end - now) / _MIN, p.rpps
                st.waiting[cut.task] = resumed_task(InProgress(p.task, p.session, p.start), now, p.rpps,
                                                    m.resume_minutes)
            else:  # had not begun: back as it was
                st.waiting[cut.task] = p.queued
            st.interruptions += 1
            begin(starts[cut.by])
        if not m.urgent_stops_other_work:
            return
        still = [w for w in st.waiting.values() if w.priority is Priority.URGENT]
        if not still:
            return
        plan = solve(DispatchInstance(now, still, readers_until(max(w.due_at for w in still)), eligible), r)
        planned = {a.task: a for a in plan.assignments}
        risky = [w for w in still if (a := planned.get(w.id)) is None
                 or a.start + timedelta(minutes=w.minutes * r.preempt_safety) > w.due_at]
        idle = [Reader(x.id, now, x.end, x.rpps, minutes[x.rpps], x.breaks, x.last) for x in day.urgent_sessions
                if x.start <= now < x.end and st.busy_until.get(x.rpps, now) <= now]
        for a in dispatch_now(now, risky, idle, eligible, r) if risky and idle else ():
            rpps = eligible.sessions[a.reader].rpps
            begin(a)
            end = st.running[a.task].end
            st.other_work_stopped += 1
            st.other_work_lost_min += sum(max(0.0, (min(b, end) - max(x, now)) / _MIN)
                                          for x, b in day.blocked.get(rpps, ()))

    while events:
        now = st.now = events[0][0]
        while events and events[0][0] == now:
            _, sq, kind, tid = heapq.heappop(events)
            if kind == _END:
                piece = st.running.get(tid)
                if piece is None or piece.seq != sq:  # interrupted meanwhile
                    continue
                del st.running[tid]
                spans = [*st.pieces.pop(tid, []),
                         *_stretches(piece.rpps, piece.start, now, piece.breaks)]
                done[tid] = Reading(tasks[tid], piece.rpps, spans[0][1], now, tuple(spans) if len(spans) > 1 else ())
                first = exams.get(tid)
                if first is not None and first.l1_outcome == "negative":  # the second reading, L1 excluded
                    l1 = tuple(dict.fromkeys(x[0] for x in spans))
                    l2 = replace(tasks[tid], id=next_id, kind=TaskKind.SCREENING_L2, ready_at=now,
                                 due_at=now + s.screening_second_due, excluded=l1)
                    tasks[next_id], actual[next_id] = l2, first.l2_minutes
                    heapq.heappush(events, (now, next(seq), _READY, next_id))
                    next_id += 1
            elif kind == _READY:
                task = st.waiting[tid] = dispatch_task(tasks[tid], s)
                deadline = task.due_at - timedelta(minutes=task.minutes * r.preempt_safety)
                if preempting and task.priority is Priority.URGENT and deadline > now:
                    heapq.heappush(events, (deadline, next(seq), _WAKE, -1))
        if now >= day.end or not st.waiting:
            continue
        idle = [Reader(x.id, max(x.start, st.busy_until.get(x.rpps, x.start)), x.end, x.rpps, minutes[x.rpps],
                       x.breaks, x.last)
                for x in day.sessions if x.start <= now < x.end and st.busy_until.get(x.rpps, now) <= now]
        if not idle and not (preempting and st.running):
            continue
        pending = list(st.waiting.values())
        clock = time.perf_counter()
        chosen: tuple[Assignment, ...] = ()
        if idle and policy is Policy.DISPATCH and r.lookahead:  # the busy readers too, for the look-ahead
            horizon = now + timedelta(minutes=r.lookahead_plan)
            chosen = solve(DispatchInstance(now, pending, readers_until(horizon), eligible, (), m.resume_minutes),
                           r).starting(now)
        elif idle and policy is Policy.DISPATCH:
            chosen = dispatch_now(now, pending, idle, eligible, r)
        elif idle:
            chosen = _first_come(now, pending, idle, eligible, _fifo_key if policy is Policy.FIFO else _silo_key)
        for a in chosen:
            begin(a)
        if preempting and st.waiting:
            interrupt()
        decisions.append(time.perf_counter() - clock)

    readings = [done.get(i) or Reading(tasks[i], None, None, None) for i in sorted(tasks)]
    return PolicyRun(policy, tuple(readings), tuple(decisions), minutes, st.interruptions, st.other_work_stopped,
                     round(st.other_work_lost_min, 1))


# ---------------------------------------------------------------- summaries


def nearest_rank(n: int, q: float) -> int:
    """The index, in ``n`` sorted values, of their nearest-rank q-quantile (0–1)."""
    return min(n - 1, max(0, round(q * n + 0.5) - 1))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank q-quantile (0–1); NaN when empty; inf counts (unread exams) as the longest."""
    if not values:
        return float("nan")
    return sorted(values)[nearest_rank(len(values), q)]


ROWS = ("urgent", "inpatient", "outpatient", "screening", "screening_l2", "all")


def _row(task: ReadingTask) -> str:
    return "screening_l2" if task.kind is TaskKind.SCREENING_L2 else task.priority.value


def summarise(run: PolicyRun, day: SimDay) -> dict[str, object]:
    """Per row (priority; second readings apart; ``all`` = the day's exams, first readings):
    count; median and p95 turnaround in minutes (None when not reached: unread); late (read
    late, or unread past due); carried over (unread at the end, not yet due); share within due
    time among the others (the exams whose outcome is known). Then the workload spread (minutes
    read per radiologist on duty), the readings interrupted (and other work stopped) for an
    urgent exam, and the decision time per event."""
    rows: dict[str, object] = {}
    for name in ROWS:
        rs = [r for r in run.readings
              if _row(r.task) == name or (name == "all" and r.task.kind is not TaskKind.SCREENING_L2)]
        turn = [r.turnaround_min for r in rs]
        carried = sum(1 for r in rs if r.end is None and r.task.due_at > day.end)
        known = len(rs) - carried
        rows[name] = {"exams": len(rs), "median_min": _finite(percentile(turn, 0.5)),
                      "p95_min": _finite(percentile(turn, 0.95)),
                      "within_due": round(sum(r.on_time for r in rs) / known, 4) if known else None,
                      "late": known - sum(r.on_time for r in rs), "carried_over": carried}
    load = sorted(run.minutes_by_reader.values())
    mean = statistics.fmean(load) if load else 0.0
    ms = [d * 1000 for d in run.decision_s]
    return {
        "policy": run.policy.value, "rows": rows,
        "interrupted": run.interruptions, "other_work_stopped": run.other_work_stopped,
        "other_work_lost_min": run.other_work_lost_min,
        "workload": {"radiologists": len(load), "min_min": round(load[0], 1) if load else None,
                     "max_min": round(load[-1], 1) if load else None, "mean_min": round(mean, 1),
                     "cv": round(statistics.pstdev(load) / mean, 3) if mean else None},
        "decision": {"events": len(ms), "median_ms": round(percentile(ms, 0.5), 4) if ms else None,
                     "p95_ms": round(percentile(ms, 0.95), 4) if ms else None,
                     "max_ms": round(max(ms), 4) if ms else None},
    }


def _finite(v: float) -> float | None:
    return None if v != v or v == float("inf") else round(v, 1)


def run_all(t: Territory, day: SimDay, settings: ReadingSettings | None = None,
            sim: SimSettings | None = None) -> dict[Policy, PolicyRun]:
    return {p: simulate(t, day, p, settings, sim) for p in Policy}

