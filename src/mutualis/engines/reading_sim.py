"""A discrete-event simulation of one day of reading (``reading_day.py`` builds the day) under
three policies, on the same exams, reading times and radiologists:

- ``silo``: each hospital reads its own exams: only the radiologists present on the acquiring
  site (and the on-call radiologist, for their own establishment's sites); urgent exams first
  (the radiographer calls the radiologist), then the oldest; the radiologist idle longest takes it.
- ``fifo``: one pooled queue: any eligible radiologist takes the oldest exam; the radiologist
  idle longest takes a new one.
- ``dispatch``: Mutualis push dispatch (engines/dispatch.py): priority and due time first, to
  the eligible reader who ends soonest, the least-loaded on ties.

Every policy respects the same rules: eligibility by :func:`~mutualis.domain.reading.may_read`
(qualification, privilege, remote reading, on duty, L2 ≠ L1), a reading starts only if its
expected length fits before the session ends, a radiologist reads one exam at a time (its
actual length may run over). A negative screening first reading creates its second reading
when it is done. Events: exams ready, sessions starting, readings done; at each event time the
policy decides what starts (its decision time is measured).
"""

from __future__ import annotations

import heapq
import itertools
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mutualis.domain.orders import Priority
from mutualis.domain.reading import ReadingTask, may_read
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Territory
from mutualis.engines.dispatch import Assignment, DispatchRules, DispatchTask, Reader, dispatch_now, dispatch_task
from mutualis.engines.reading_day import SimDay, SimSettings


class Policy(StrEnum):
    SILO = "silo"
    FIFO = "fifo"
    DISPATCH = "dispatch"


@dataclass(frozen=True)
class Reading:
    task: ReadingTask
    reader: str | None  # RPPS; None: unread at the end of the horizon
    start: datetime | None
    end: datetime | None

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


_MIN = timedelta(minutes=1)
Eligible = Callable[[int, str], bool]


class _Eligibility:
    """may_read for (task, session), cached on what it depends on, plus the policy's own limits."""

    def __init__(self, t: Territory, day: SimDay, policy: Policy, settings: ReadingSettings, sim: SimSettings,
                 tasks: Mapping[int, ReadingTask]) -> None:
        self.t, self.settings, self.policy, self.tasks = t, settings, policy, tasks
        self.sessions = {s.id: s for s in day.sessions}
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


def _first_come(now: datetime, waiting: Sequence[DispatchTask], idle: Sequence[Reader], eligible: Eligible,
                key: Callable[[DispatchTask], tuple[object, ...]]) -> tuple[Assignment, ...]:
    """Tasks in ``key`` order, each taken by the eligible reader idle the longest (free_at = idle since)."""
    pool = sorted(idle, key=lambda r: (r.free_at, r.id))
    out = []
    for task in sorted(waiting, key=key):
        if not pool:
            break
        end = now + timedelta(minutes=task.minutes)
        r = next((r for r in pool if (r.until is None or end <= r.until) and eligible(task.id, r.id)), None)
        if r is not None:
            out.append(Assignment(task.id, r.id, now, end))
            pool = [x for x in pool if x.who != r.who]
    return tuple(out)


def _fifo_key(t: DispatchTask) -> tuple[object, ...]:
    return (t.ready_at, t.id)


def _silo_key(t: DispatchTask) -> tuple[object, ...]:
    return (t.priority is not Priority.URGENT, t.ready_at, t.id)


def simulate(t: Territory, day: SimDay, policy: Policy, settings: ReadingSettings | None = None,
             sim: SimSettings | None = None, rules: DispatchRules | None = None) -> PolicyRun:
    """Run the day under ``policy``: exams performed by the radiologist are reported in their
    block; the others wait in the worklist until the policy starts them; the run stops starting
    readings at the end of the horizon, and what is left is unread."""
    s, m = settings or ReadingSettings(), sim or SimSettings()
    tasks: dict[int, ReadingTask] = {}
    actual: dict[int, float] = {}
    done: dict[int, Reading] = {}
    events: list[tuple[datetime, int, int]] = []  # (time, sequence, task id or -1 for a session start)
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
            heapq.heappush(events, (x.task.ready_at, next(seq), x.task.id))
    for session in day.sessions:
        heapq.heappush(events, (session.start, next(seq), -1))
    eligible = _Eligibility(t, day, policy, s, m, tasks)
    exams = {x.task.id: x for x in day.exams}
    busy_until: dict[str, datetime] = {}
    minutes = {x.rpps: 0.0 for x in day.sessions}
    for x in day.exams:
        if x.performer is not None and x.report_at is not None:
            minutes[x.performer] = minutes.get(x.performer, 0.0) + x.minutes
    running: dict[int, tuple[str, datetime, datetime]] = {}
    waiting: dict[int, DispatchTask] = {}
    decisions: list[float] = []
    next_id = len(day.exams)

    while events:
        now = events[0][0]
        while events and events[0][0] == now:
            _, _, tid = heapq.heappop(events)
            if tid < 0:
                continue
            if tid in running:  # a reading ends
                rpps, start, end = running.pop(tid)
                done[tid] = Reading(tasks[tid], rpps, start, end)
                first = exams.get(tid)
                if first is not None and first.l1_outcome == "negative":  # the second reading, L1 excluded
                    l2 = replace(tasks[tid], id=next_id, kind=TaskKind.SCREENING_L2, ready_at=now,
                                 due_at=now + s.screening_second_due, excluded=(rpps,))
                    tasks[next_id], actual[next_id] = l2, first.l2_minutes
                    heapq.heappush(events, (now, next(seq), next_id))
                    next_id += 1
            else:  # a task becomes ready
                waiting[tid] = dispatch_task(tasks[tid], s)
        if now >= day.end or not waiting:
            continue
        idle = [Reader(x.id, max(x.start, busy_until.get(x.rpps, x.start)), x.end, x.rpps, minutes[x.rpps])
                for x in day.sessions if x.start <= now < x.end and busy_until.get(x.rpps, now) <= now]
        if not idle:
            continue
        pending = list(waiting.values())
        clock = time.perf_counter()
        if policy is Policy.DISPATCH:
            chosen = dispatch_now(now, pending, idle, eligible, rules)
        else:
            chosen = _first_come(now, pending, idle, eligible, _fifo_key if policy is Policy.FIFO else _silo_key)
        decisions.append(time.perf_counter() - clock)
        for a in chosen:
            rpps = eligible.sessions[a.reader].rpps
            end = now + timedelta(minutes=actual[a.task])
            running[a.task] = (rpps, now, end)
            busy_until[rpps] = end
            minutes[rpps] += actual[a.task]
            del waiting[a.task]
            heapq.heappush(events, (end, next(seq), a.task))

    readings = [done.get(i) or Reading(tasks[i], None, None, None) for i in sorted(tasks)]
    return PolicyRun(policy, tuple(readings), tuple(decisions), minutes)


# ---------------------------------------------------------------- summaries


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank q-quantile (0–1); NaN when empty; inf counts (unread exams) as the longest."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


ROWS = ("urgent", "inpatient", "outpatient", "screening", "screening_l2", "all")


def _row(task: ReadingTask) -> str:
    return "screening_l2" if task.kind is TaskKind.SCREENING_L2 else task.priority.value


def summarise(run: PolicyRun, day: SimDay) -> dict[str, object]:
    """Per row (priority; second readings apart; ``all`` = the day's exams, first readings):
    count; median and p95 turnaround in minutes (None when not reached: unread); late (read
    late, or unread past due); carried over (unread at the end, not yet due); share within due
    time among the others (the exams whose outcome is known). Then the workload spread (minutes
    read per radiologist on duty) and the decision time per event."""
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

