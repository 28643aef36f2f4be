"""Solving an instance: ``solve(instance, time_limit_s) -> RosterSolution``.

1. **First roster.** Built one member of staff at a time, day by day (:mod:`.construct`): lawful
   by construction, in about a second even at 52 weeks × 150 staff × 32 shift types.
2. **Whole model.** An instance of up to :data:`WHOLE_CELLS` allowed (staff, day, shift) cells
   (the benchmark's small ones) is then given to CP-SAT whole (every rule module, :mod:`.model`),
   hinted with the first roster, for a share of the time; its best bound is the reported bound,
   and its answer is final when proven optimal.
3. **Column generation** (:mod:`.colgen`), for instances of up to :data:`.colgen.COLGEN_CELLS`
   allowed cells without fairness groups, for :data:`COLGEN_SHARE` of the time: the LP
   relaxation of a set partitioning of lawful rows, a dive to a roster near the LP value, and a
   proven lower bound (the reported bound when better).
4. **Large-neighbourhood search** (:mod:`.lns`) until the time limit: regions of the roster
   re-optimised by CP-SAT, two at a time.
5. The roster is checked by the solver-free validator (:mod:`.validate`), whose objective is
   the one reported.

The time limit covers everything from the call on (index tables, model building included).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from mutualis.engines import cpsat
from mutualis.engines.roster.colgen import COLGEN_CELLS, ColgenStats, generate
from mutualis.engines.roster.construct import Infeasible, construct
from mutualis.engines.roster.facts import Facts, IntArray, facts
from mutualis.engines.roster.instance import Roster, RosterInstance, as_roster
from mutualis.engines.roster.lns import LnsStats, improve
from mutualis.engines.roster.model import Region, build
from mutualis.engines.roster.validate import objective_array, roster_problems

Progress = Callable[[str, float], None]
WHOLE_CELLS = 600  # allowed cells up to which the whole model is solved after the first roster
WHOLE_SHARE = 0.15  # share of the time limit the whole model gets
COLGEN_SHARE = 0.75  # share of the time limit column generation may take (from the call on)


@dataclass(frozen=True)
class RosterSolution:
    status: str  # OPTIMAL (proven), FEASIBLE, INFEASIBLE (proven), UNKNOWN (no roster in time)
    roster: Roster | None
    objective: int | None
    bound: int  # a lower bound of the objective (0 when nothing better is known)
    seconds: float
    stats: dict[str, float | int | str] = field(default_factory=dict)


def _whole(f: Facts, limit: float, workers: int, seed: int, first: IntArray | None
           ) -> tuple[str, IntArray | None, int]:  # fmt: skip
    """The whole model, hinted with the ``first`` roster when there is one."""
    empty = np.full((f.E, f.D), -1, dtype=np.int64) if first is None else first.copy()
    m = build(f, empty, Region.whole(f))
    solver = cpsat.solver(limit, workers, seed)
    status = solver.solve(m.model)
    bound = max(0, int(np.ceil(solver.best_objective_bound - 1e-6)) + f.on_constant())
    if status == cp_model.INFEASIBLE:
        return "INFEASIBLE", None, 0
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "UNKNOWN", None, bound
    m.read(solver, empty)
    return ("OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE"), empty, bound


def solve(instance: RosterInstance, time_limit_s: float = 60.0, progress: Progress | None = None, *,
          seed: int = 0, workers: int = 2) -> RosterSolution:  # fmt: skip
    t0 = time.monotonic()
    deadline = t0 + time_limit_s
    f = facts(instance)
    cells = int(f.allowed.sum())
    stats: dict[str, float | int | str] = {"staff": f.E, "days": f.D, "shifts": f.S, "cells": cells}

    def done(status: str, R: IntArray | None, bound: int) -> RosterSolution:
        seconds = round(time.monotonic() - t0, 2)
        if R is None:
            return RosterSolution(status, None, None, bound, seconds, stats)
        value = objective_array(f, R)
        if value <= bound:
            status = "OPTIMAL"
        return RosterSolution(status, as_roster(R.tolist()), value, min(bound, value), seconds, stats)

    bound = 0
    stats["first"] = "staff by staff"
    try:
        R = construct(f, t0 + time_limit_s * (WHOLE_SHARE if cells <= WHOLE_CELLS else 1.0), seed=seed,
                      workers=workers, progress=progress)  # fmt: skip
    except Infeasible as e:
        stats["infeasible_staff"] = e.staff
        return done("INFEASIBLE", None, 0)
    if R is not None:
        stats["first_objective"] = objective_array(f, R)
        stats["first_seconds"] = round(time.monotonic() - t0, 2)
    if cells <= WHOLE_CELLS:
        if progress is not None:
            progress("whole model", 0.0)
        left = t0 + time_limit_s * WHOLE_SHARE - time.monotonic()
        status, whole, bound = _whole(f, left, workers, seed, R)
        if status == "INFEASIBLE" or (status == "OPTIMAL" and whole is not None):
            stats["first"] = "whole model"
            return done(status, whole, bound)
        if whole is not None and (R is None or objective_array(f, whole) <= objective_array(f, R)):
            R = whole
            stats["first"] = "whole model"
    if R is None:
        try:
            R = construct(f, deadline, seed=seed, workers=workers, progress=progress)  # the rest of the time
        except Infeasible as e:
            stats["infeasible_staff"] = e.staff
            return done("INFEASIBLE", None, 0)
    status = "FEASIBLE" if R is not None else "UNKNOWN"
    if R is None:
        return done(status, None, bound)
    if cells <= COLGEN_CELLS and not instance.balance and deadline - time.monotonic() > 1.0:
        cg = ColgenStats()
        start = time.monotonic()
        dived = generate(f, R, max(start, t0 + COLGEN_SHARE * time_limit_s), seed=seed, workers=workers,
                         progress=progress, stats=cg)
        if objective_array(f, dived) <= objective_array(f, R):
            R = dived
        bound = max(bound, cg.bound)
        stats.update({"colgen_iterations": cg.iterations, "colgen_columns": cg.columns, "colgen_bound": cg.bound,
                      "colgen_root_lp": round(cg.root_lp, 1) if cg.root_lp is not None else "not reached",
                      "colgen_fixed": cg.fixed, "colgen_dives": cg.dives,
                      "colgen_dive_objective": cg.dive_objective or 0,
                      "colgen_root_seconds": cg.root_seconds or 0, "colgen_lp_failed": cg.lp_failed,
                      "colgen_seconds": round(time.monotonic() - start, 2)})
        if objective_array(f, R) <= bound:
            return done("OPTIMAL", R, bound)
    stats["lns_start_objective"] = objective_array(f, R)
    lns = LnsStats()
    R = improve(f, R, deadline, seed=seed, workers=workers, progress=progress, stats=lns)
    stats["lns_iterations"] = lns.iterations
    stats["lns_improvements"] = lns.improvements
    stats["lns_kicks"] = lns.kicks
    problems = roster_problems(instance, R.tolist())
    if problems:  # never expected: every step keeps the rules
        raise AssertionError("roster engine produced an unlawful roster: " + "; ".join(problems[:5]))
    return done("FEASIBLE", R, bound)
