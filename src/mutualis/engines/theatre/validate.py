"""Checking a theatre plan without a solver, and measuring it.

:func:`plan_problems` lists every rule a plan breaks (empty: the plan is lawful), each as a
:class:`~mutualis.domain.errors.Problem` whose location is ``case <id>``: a known case booked at
most once, in a known session; every eligibility rule (:func:`.rule_eligibility.reasons`:
block allocation, the surgeon's privilege at the site, the case allowed at the site and in
the theatre, equipment, anaesthesia, horizon and ready date); not before the session's start,
no overlap with the session's other cases (turnover included), no overrun past the session's
end and its overtime allowance; a surgeon not in two places at once (two of their cases
overlapping in time, or at two sites without the travel time between them).

:func:`evaluate` gives the figures of the benchmark and the objective with the instance's
weights, the same the planner minimises (:mod:`.model`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations, pairwise

from mutualis.domain.errors import Problem
from mutualis.engines.theatre import rule_eligibility, rule_surgeon
from mutualis.engines.theatre.instance import PRIORITIES, Booking, Session, SurgicalCase, TheatreInstance

Z90 = 1.2816  # the standard normal's 90th percentile


def plan_problems(inst: TheatreInstance, plan: Sequence[Booking]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    by_session: dict[str, list[tuple[Booking, SurgicalCase]]] = defaultdict(list)
    for b in plan:
        where = f"case {b.case}"
        case = inst.case_by_id.get(b.case)
        if case is None:
            problems.append(Problem(where, "unknown case"))
            continue
        if b.case in seen:
            problems.append(Problem(where, "booked more than once"))
            continue
        seen.add(b.case)
        session = inst.session_by_id.get(b.session)
        if session is None:
            problems.append(Problem(where, f"unknown session {b.session}"))
            continue
        problems += [Problem(where, r) for r in rule_eligibility.reasons(inst, case, session)]
        if b.start_min < session.start_min:
            problems.append(Problem(where, f"starts before session {session.id} opens"))
        by_session[session.id].append((b, case))
    for sid, items in by_session.items():
        session = inst.session_by_id[sid]
        items.sort(key=lambda bc: (bc[0].start_min, bc[0].case))
        for (b1, c1), (b2, _) in pairwise(items):
            if b2.start_min < b1.start_min + c1.expected_min + inst.turnover_min:
                problems.append(Problem(f"case {b2.case}", f"overlaps case {b1.case} in session {sid} "
                                                           f"(turnover {inst.turnover_min} min included)"))  # fmt: skip
        limit = session.end_min + inst.overtime_allowance_min
        for b, c in items:
            if b.start_min + c.expected_min > limit:
                over = b.start_min + c.expected_min - session.end_min
                problems.append(Problem(f"case {b.case}", f"overruns session {sid} by {over} min "
                                                          f"(allowance {inst.overtime_allowance_min} min)"))
    problems += _surgeons(inst, by_session)
    return problems


def _surgeons(inst: TheatreInstance, by_session: dict[str, list[tuple[Booking, SurgicalCase]]]) -> list[Problem]:
    runs: dict[str, list[tuple[Session, Booking, SurgicalCase]]] = defaultdict(list)
    for sid, items in by_session.items():
        for b, c in items:
            runs[c.surgeon].append((inst.session_by_id[sid], b, c))
    problems = []
    for rpps, mine in runs.items():
        for (s1, b1, c1), (s2, b2, c2) in combinations(sorted(mine, key=lambda x: (x[0].day, x[1].start_min)), 2):
            if s1.day != s2.day or s1.id == s2.id:
                continue
            if rule_surgeon.clash(inst.site_travel_min, s1.site, b1.start_min, b1.start_min + c1.expected_min,
                                  s2.site, b2.start_min, b2.start_min + c2.expected_min):  # fmt: skip
                who = inst.names.get(rpps, rpps)
                problems.append(Problem(f"case {b2.case}", f"surgeon {who} double-booked: also case {b1.case} in "
                                                           f"session {s1.id} at that time"))  # fmt: skip
    return problems


@dataclass(frozen=True)
class Metrics:
    cases: int
    done: int
    done_by_priority: dict[str, int]
    waiting: int
    waiting_by_priority: dict[str, int]
    past_due: int  # done after the due date, or left waiting with a due date in the horizon
    past_due_by_priority: dict[str, int]
    overtime_min: int
    idle_min: int
    sessions: int
    sessions_idle: int  # sessions with no case
    session_min: int
    utilisation: float  # case minutes inside session hours ÷ session minutes
    overrun_risk_sessions: int  # sessions whose 90th-percentile end passes end + allowance
    objective: int
    terms: dict[str, int] = field(default_factory=dict)

    @property
    def done_urgent_cancer(self) -> int:
        return self.done_by_priority.get("urgent", 0) + self.done_by_priority.get("cancer", 0)

    @property
    def past_due_urgent_cancer(self) -> int:
        return self.past_due_by_priority.get("urgent", 0) + self.past_due_by_priority.get("cancer", 0)


def _covered(ranges: list[tuple[int, int]], lo: int, hi: int) -> int:
    """Minutes of [lo, hi) covered by the union of ``ranges``."""
    total, reach = 0, lo
    for a, b in sorted(ranges):
        a, b = max(a, reach), min(b, hi)
        if b > a:
            total += b - a
            reach = b
    return total


def evaluate(inst: TheatreInstance, plan: Sequence[Booking]) -> Metrics:
    w = inst.weights
    at = {b.case: b for b in plan if b.case in inst.case_by_id and b.session in inst.session_by_id}
    terms = {"lateness_and_wait": 0, "waiting": 0, "overtime": 0, "idle": 0}
    done = dict.fromkeys(PRIORITIES, 0)
    waiting = dict.fromkeys(PRIORITIES, 0)
    late = dict.fromkeys(PRIORITIES, 0)
    by_session: dict[str, list[tuple[Booking, SurgicalCase]]] = defaultdict(list)
    for case in inst.cases:
        b = at.get(case.id)
        if b is None:
            waiting[case.priority] = waiting.get(case.priority, 0) + 1
            terms["waiting"] += inst.waiting_cost(case)
            late[case.priority] = late.get(case.priority, 0) + inst.past_due_if_waiting(case)
            continue
        session = inst.session_by_id[b.session]
        done[case.priority] = done.get(case.priority, 0) + 1
        terms["lateness_and_wait"] += inst.cost(case, session.day)
        late[case.priority] = late.get(case.priority, 0) + (session.day > case.due)
        by_session[b.session].append((b, case))
    overtime = idle = case_min = risky = 0
    for s in inst.sessions:
        items = sorted(by_session.get(s.id, []), key=lambda bc: bc[0].start_min)
        if not items:
            idle += s.length
            continue
        ends = [b.start_min + c.expected_min for b, c in items]
        overtime += max(0, max(ends) - s.end_min)
        busy = [(b.start_min, b.start_min + c.expected_min + inst.turnover_min) for b, c in items[:-1]]
        busy.append((items[-1][0].start_min, ends[-1]))
        idle += s.length - _covered(busy, s.start_min, s.end_min)
        case_min += _covered([(b.start_min, e) for (b, _), e in zip(items, ends, strict=True)], s.start_min, s.end_min)
        spread = math.sqrt(sum(((c.p90_min or c.expected_min) - c.expected_min) ** 2 for _, c in items)) / Z90
        if max(ends) + Z90 * spread > s.end_min + inst.overtime_allowance_min:
            risky += 1
    terms["overtime"] = w.overtime_per_minute * overtime
    terms["idle"] = w.idle_per_minute * idle
    session_min = sum(s.length for s in inst.sessions)
    return Metrics(
        cases=len(inst.cases), done=len(at), done_by_priority=done, waiting=len(inst.cases) - len(at),
        waiting_by_priority=waiting, past_due=sum(late.values()), past_due_by_priority=late, overtime_min=overtime,
        idle_min=idle, sessions=len(inst.sessions),
        sessions_idle=sum(1 for s in inst.sessions if s.id not in by_session),
        session_min=session_min, utilisation=case_min / session_min if session_min else 0.0,
        overrun_risk_sessions=risky, objective=sum(terms.values()), terms=terms,
    )  # fmt: skip
