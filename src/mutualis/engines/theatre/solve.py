"""Filling a week's sessions: ``solve(instance, time_limit_s) -> TheatreSolution``.

The whole model (:mod:`.model`) is solved by CP-SAT, hinted with the better of the
first-come first-served plan (:mod:`.baseline`, or an assignment the caller passes) and the
priority list (:func:`.baseline.priority_assignment`). The first-come first-served plan is the
incumbent, so the answer is never worse: if CP-SAT finds nothing better in the time limit than
its start, the start is returned (status ``REFERENCE`` or ``PRIORITY_LIST``).

With several weeks, a third start is tried: week by week, CP-SAT fills each week's sessions
(``ROLLING_SHARE`` of the time limit in all) from the cases the weeks before left; the whole
model then starts from the best of the three.

Cases are then ordered in each session by the rule of :func:`.rule_capacity.sequence`. The
gap is (objective − bound) ÷ objective, the bound being CP-SAT's on the whole model.
CP-SAT runs with ``workers`` threads. Default: 8 up to ``SMALL_OPTIONS`` case-session options
(a week of the Vienne FMIH has about 800) — the portfolio's lower-bound workers only run from 8
on, and on a week they close most of the gap even on two cores; above, as many as there are
cores (2 to 8) — on four weeks (about 11,000 options) and two cores, eight interleaved workers
find far worse plans in a minute than two.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from mutualis.engines.theatre.baseline import fcfs_assignment, plan_of, priority_assignment
from mutualis.engines.theatre.instance import Booking, TheatreInstance
from mutualis.engines.theatre.model import TheatreModel
from mutualis.engines.theatre.validate import evaluate

Progress = Callable[[str, float], None]
SMALL_OPTIONS = 3_000
ROLLING_SHARE = 0.4
ROLLING_WORKERS = 2
LNS_SURGEONS = 3


@dataclass(frozen=True)
class TheatreSolution:
    status: str  # OPTIMAL, FEASIBLE; REFERENCE or PRIORITY_LIST: CP-SAT found nothing better than that start
    assignment: Mapping[str, str]  # case id → session id; absent: left waiting
    plan: tuple[Booking, ...]
    objective: int
    bound: int
    gap: float
    seconds: float
    reference_objective: int
    stats: dict[str, float | int | str] = field(default_factory=dict)


def _gap(objective: int, bound: int) -> float:
    return 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)


def solve(inst: TheatreInstance, time_limit_s: float = 30.0, progress: Progress | None = None, *,
          reference: Mapping[str, str] | None = None, workers: int | None = None,
          seed: int = 0) -> TheatreSolution:  # fmt: skip
    """The planner's plan for ``inst`` within ``time_limit_s`` seconds; ``reference``: the
    incumbent assignment (case id → session id; default: first-come first-served)."""
    t0 = time.monotonic()
    ref = dict(reference) if reference is not None else fcfs_assignment(inst)
    ref_objective = evaluate(inst, plan_of(inst, ref)).objective
    if progress is not None:
        progress("model", 0.0)
    tm = TheatreModel.build(inst)
    stats: dict[str, float | int | str] = {"cases": len(inst.cases), "sessions": len(inst.sessions),
                                           "options": len(tm.x)}  # fmt: skip
    k_of = {c.id: k for k, c in enumerate(inst.cases)}
    i_of = {s.id: i for i, s in enumerate(inst.sessions)}
    greedy = priority_assignment(inst)
    greedy_objective = evaluate(inst, plan_of(inst, greedy)).objective
    start, start_objective = (greedy, greedy_objective) if greedy_objective < ref_objective else (ref, ref_objective)
    weeks = sorted({(s.day - inst.start).days // 7 for s in inst.sessions})
    if len(weeks) > 1:  # a rolling start: week by week, each week from what the weeks before left
        if progress is not None:
            progress("week by week", 0.0)
        rolled = _week_by_week(inst, weeks, ROLLING_SHARE * time_limit_s / len(weeks), seed)
        rolled_objective = evaluate(inst, plan_of(inst, rolled)).objective
        stats["week_by_week_objective"] = rolled_objective
        if rolled_objective < start_objective:
            start, start_objective = rolled, rolled_objective
    tm.hint({k_of[c]: i_of[s] for c, s in start.items() if c in k_of and s in i_of})
    stats.update(fcfs_objective=ref_objective, priority_list_objective=greedy_objective,
                 start_s=round(time.monotonic() - t0, 2))
    budget = max(0.1, time_limit_s - (time.monotonic() - t0))
    if workers is None:
        workers = 8 if len(tm.x) <= SMALL_OPTIONS else max(2, min(8, os.cpu_count() or 2))
    stats["workers"] = workers

    def found(wall: float, objective: float) -> None:
        if progress is not None:
            progress(f"searching (objective {objective:,.0f})", min(0.99, wall / budget))

    out = tm.solve(budget, workers, seed, found if progress is not None else None)
    stats["cp_sat_status"] = out.status
    stats["cp_sat_s"] = round(out.wall_s, 2)
    assignment = {inst.cases[k].id: inst.sessions[i].id for k, i in out.assignment.items()}
    status = out.status
    bound = math.ceil(out.bound - 1e-6) if status in ("OPTIMAL", "FEASIBLE") else 0
    plan = plan_of(inst, assignment)
    objective = evaluate(inst, plan).objective if status in ("OPTIMAL", "FEASIBLE") else math.inf
    if status in ("OPTIMAL", "FEASIBLE"):
        stats["cp_sat_objective"] = round(out.objective)
    if objective > start_objective:
        status = "REFERENCE" if start is ref else "PRIORITY_LIST"
        assignment, plan, objective = start, plan_of(inst, start), start_objective
    obj = int(objective)
    if progress is not None:
        progress("done", 1.0)
    return TheatreSolution(status, assignment, plan, obj, min(bound, obj), _gap(obj, bound), time.monotonic() - t0,
                           ref_objective, stats)  # fmt: skip


def _week_by_week(inst: TheatreInstance, weeks: list[int], seconds: float, seed: int) -> dict[str, str]:
    """Each week's sessions filled by CP-SAT from the cases the weeks before left (same costs:
    a case left for later costs as if it waited the whole horizon, so the pressing go first)."""
    out: dict[str, str] = {}
    for w in weeks:
        part = replace(inst, sessions=tuple(s for s in inst.sessions if (s.day - inst.start).days // 7 == w),
                       cases=tuple(c for c in inst.cases if c.id not in out))  # fmt: skip
        tm = TheatreModel.build(part)
        hint = priority_assignment(part)
        k_of = {c.id: k for k, c in enumerate(part.cases)}
        i_of = {s.id: i for i, s in enumerate(part.sessions)}
        tm.hint({k_of[c]: i_of[s] for c, s in hint.items()})
        found = tm.solve(seconds, ROLLING_WORKERS, seed).assignment
        if found:
            out.update({part.cases[k].id: part.sessions[i].id for k, i in found.items()})
        else:
            out.update(hint)
    return out


def assignment_of(plan: Sequence[Booking]) -> dict[str, str]:
    return {b.case: b.session for b in plan}
