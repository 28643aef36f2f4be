"""Column generation (engines/roster/colgen.py): its lower bound never passes the optimum proven
by the whole CP-SAT model, its roster is lawful and scores what the validator says, and on a
benchmark instance the bound is tight and the dive lands near it; purging the LP keeps its value;
the solver uses it only where the master is exact (no fairness groups)."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
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


def test_purging_the_lp_keeps_its_value_and_unfixing_frees_every_column() -> None:
    f = facts(load(INSTANCES / "Instance7.txt"))
    start = construct(f, time.monotonic() + 5)
    assert start is not None
    master = colgen._Master(f)
    for e in range(f.E):
        master.add(e, tuple(int(s) for s in start[e]))
    pricers = [colgen._Pricer(f, e) for e in range(f.E)]
    stats = colgen.ColgenStats()
    with ThreadPoolExecutor(2) as pool:
        colgen._root(master, pricers, pool, random.Random(0), time.monotonic() + 20, stats, time.monotonic(),
                     lambda _: None)  # fmt: skip
    value, y, _ = master.solve()
    before = sum(len(c) for c in master.columns)
    assert before > f.E * colgen.KEEP  # enough columns for the purge to drop some
    master.purge(y)
    assert sum(len(c) for c in master.columns) < before
    assert master.solve()[0] == pytest.approx(value, abs=1e-6)  # the columns in use are kept
    e, row = 0, max(master.columns[0], key=lambda r: master.columns[0][r][1].solution_value())
    master.fix(e, row)
    assert all(v.ub() == 0 for r, (_, v) in master.columns[e].items() if r != row)
    master.unfix()
    assert not master.fixed and all(v.ub() == 1 for cols in master.columns for _, v in cols.values())
    assert master.solve()[0] == pytest.approx(value, abs=1e-6)
