"""The labelling pricer (engines/roster/labelling.py) finds the same optimum as CP-SAT on one
member of staff's hard rules, its rows are lawful by the validator, and it counts a type's
maximum only when needed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from mutualis.engines.roster import colgen, labelling
from mutualis.engines.roster.curtois import load
from mutualis.engines.roster.facts import Facts, facts
from mutualis.engines.roster.generator import generate
from mutualis.engines.roster.validate import staff_problems

INSTANCES = Path(str(resources.files("mutualis").joinpath("data/curtois")))


def _cpsat_best(f: Facts, e: int, cost: np.ndarray, y: np.ndarray) -> float:
    pricer = colgen._Pricer(f, e)
    pricer.labeller.shape = None  # the labeller declines: CP-SAT prices
    rows, low = pricer.price(y, 10.0, 0)
    assert low is not None  # proven
    return min(sum(float(cost[d, s]) for d, s in enumerate(row) if s >= 0) for row in rows)


@pytest.mark.parametrize("name", ["Instance3", "Instance8", "Instance10"])
def test_the_walk_finds_cpsats_optimum_and_its_rows_are_lawful(name: str) -> None:
    inst = load(INSTANCES / f"{name}.txt")
    f = facts(inst)
    rng = np.random.default_rng(7)
    for e in range(0, f.E, 3):
        y = np.round(rng.uniform(0, 60, size=(f.D, f.S)) * f.has_cover, 3)
        cost = (f.off_w[e] - f.on_w[e]) - y
        found = labelling.Labeller(f, e).price(cost)
        assert found is not None
        rows, best = found
        assert rows
        for row in rows:
            assert not staff_problems(inst, e, list(row)), (e, row)
        assert sum(float(cost[d, s]) for d, s in enumerate(rows[0]) if s >= 0) == pytest.approx(best)
        assert best == pytest.approx(_cpsat_best(f, e, cost, y), abs=1e-6), e


def test_generated_rules_match_too() -> None:
    """Shift lengths that differ, maxima per type, weekends: a generated instance."""
    inst, _ = generate(4, 12, 4, seed=5)
    f = facts(inst)
    rng = np.random.default_rng(1)
    for e in range(f.E):
        y = rng.uniform(0, 80, size=(f.D, f.S)) * f.has_cover
        cost = (f.off_w[e] - f.on_w[e]) - y
        found = labelling.Labeller(f, e).price(cost)
        assert found is not None and found[0]
        assert not staff_problems(inst, e, list(found[0][0]))
        assert found[1] == pytest.approx(_cpsat_best(f, e, cost, y), abs=1e-6), e


def test_a_maximum_is_counted_once_a_best_row_breaks_it() -> None:
    inst = load(INSTANCES / "Instance8.txt")
    f = facts(inst)
    e = next(e for e in range(f.E) if len(labelling.binding(f, e)) >= 2)
    capped = labelling.binding(f, e)[0]
    lab = labelling.Labeller(f, e)
    assert lab.track == frozenset()
    cost = np.zeros((f.D, f.S))
    cost[:, capped] = -100.0  # the capped type pays most: the relaxed best row works it too often
    found = lab.price(cost)
    assert found is not None
    rows, _ = found
    assert capped in lab.track
    assert sum(1 for s in rows[0] if s == capped) == f.max_count[e, capped]
    assert not staff_problems(inst, e, list(rows[0]))


def test_colgen_prices_with_the_walk() -> None:
    f = facts(load(INSTANCES / "Instance12.txt"))
    assert all(colgen._Pricer(f, e).labeller.shape is not None for e in range(f.E))
