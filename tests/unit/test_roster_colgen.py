"""Column generation (engines/roster/colgen.py): its lower bound never passes the optimum proven
by the whole CP-SAT model, its roster is lawful and scores what the validator says, and on a
benchmark instance the bound is tight and the dive lands near it; the solver uses it only where
the master is exact (no fairness groups)."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import pytest

from mutualis.engines.roster import colgen
from mutualis.engines.roster.construct import construct
from mutualis.engines.roster.curtois import load
from mutualis.engines.roster.facts import facts
from mutualis.engines.roster.generator import generate
from mutualis.engines.roster.instance import Balance
from mutualis.engines.roster.solve import _whole, solve
from mutualis.engines.roster.validate import objective_array, roster_problems

INSTANCES = Path(str(resources.files("mutualis").joinpath("data/curtois")))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bound_never_passes_the_proven_optimum(seed: int) -> None:
    inst, _ = generate(2, 5, 3, seed=seed)
    f = facts(inst)
    status, best, _ = _whole(f, 20.0, 2, 0, None)  # the whole model alone: a reference without colgen
    assert status == "OPTIMAL" and best is not None
    optimum = objective_array(f, best)
    stats = colgen.ColgenStats()
    start = construct(f, time.monotonic() + 5)
    assert start is not None
    R = colgen.generate(f, start, time.monotonic() + 10, stats=stats)
    assert 0 < stats.bound <= optimum <= objective_array(f, R)
    if stats.root_lp is not None:  # converged: the LP relaxation is a relaxation
        assert stats.root_lp <= optimum + 1e-6
    assert not roster_problems(inst, R.tolist())


def test_instance4_bound_is_tight_and_the_dive_lands_near_it() -> None:
    inst = load(INSTANCES / "Instance4.txt")  # best known 1716
    f = facts(inst)
    start = construct(f, time.monotonic() + 5)
    assert start is not None
    stats = colgen.ColgenStats()
    R = colgen.generate(f, start, time.monotonic() + 20, stats=stats)
    assert not roster_problems(inst, R.tolist())
    assert 1700 <= stats.bound <= 1716
    assert objective_array(f, R) <= 1.02 * 1716  # the first roster was far: 3981 in the bench
    assert objective_array(f, start) > 1.5 * 1716


def test_solver_reports_the_colgen_bound_and_skips_it_with_fairness_groups() -> None:
    inst = load(INSTANCES / "Instance5.txt")
    sol = solve(inst, 8.0)
    assert sol.stats.get("colgen_bound", 0) == sol.bound > 1000  # the whole model's bound was 0
    assert sol.objective is not None and sol.objective >= sol.bound
    fair = type(inst)(inst.days, inst.shifts, inst.staff, inst.days_off, inst.requests, inst.cover, inst.name,
                      (Balance(tuple(s.id for s in inst.staff[:4]), (inst.shifts[0].id,)),))
    sol = solve(fair, 4.0)
    assert "colgen_bound" not in sol.stats and sol.roster is not None
    assert not roster_problems(fair, [list(r) for r in sol.roster])
