"""A first lawful roster, one member of staff at a time (for instances too large to solve whole).

Staff are taken in turn (those with the fewest allowed cells first); each gets the best roster
for itself — its own hard rules, its requests and the cover still needed given the staff placed
before it (those not placed yet count as off) — by a CP-SAT sub-model of that one member of
staff over the whole horizon (:mod:`.model`). Its hard rules concern it alone, so the result is
lawful as soon as every member of staff has a roster; a member of staff for whom CP-SAT proves
there is none makes the instance infeasible.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from mutualis.engines.roster.facts import Facts, IntArray
from mutualis.engines.roster.model import Region, build

Progress = Callable[[str, float], None]


class Infeasible(Exception):
    """No lawful roster exists for one member of staff."""

    def __init__(self, staff: str) -> None:
        self.staff = staff
        super().__init__(f"no lawful roster for staff {staff}")


def construct(f: Facts, deadline: float, *, seed: int = 0, workers: int = 2,
              progress: Progress | None = None) -> IntArray | None:  # fmt: skip
    """A lawful roster, or None when the time ran out first; raises :class:`Infeasible`."""
    R = np.full((f.E, f.D), -1, dtype=np.int64)
    order = sorted(range(f.E), key=lambda e: int(f.allowed[e].sum()))
    for n, e in enumerate(order):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        share = max(0.2, left / (f.E - n) * 0.8)  # leave the last fifth of each share to the search
        model = build(f, R, Region((e,), 0, f.D))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed + n
        solver.parameters.max_time_in_seconds = min(left, share)
        status = solver.solve(model.model)
        if status == cp_model.INFEASIBLE:
            raise Infeasible(f.inst.staff[e].id)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solver.parameters.max_time_in_seconds = max(0.0, deadline - time.monotonic())
            status = solver.solve(model.model)  # one more try with all the time left
            if status == cp_model.INFEASIBLE:
                raise Infeasible(f.inst.staff[e].id)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return None
        model.read(solver, R)
        if progress is not None:
            progress("first roster", (n + 1) / f.E)
    return R
