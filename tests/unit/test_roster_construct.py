"""The first roster of a large instance: built day by day per member of staff, lawful, fast."""

from __future__ import annotations

import random
import time

import numpy as np

from mutualis.engines.roster.construct import _gain, construct, greedy_row
from mutualis.engines.roster.facts import facts
from mutualis.engines.roster.generator import generate
from mutualis.engines.roster.solve import solve
from mutualis.engines.roster.validate import objective, roster_problems


def test_greedy_rows_are_lawful_on_the_largest_size() -> None:
    inst, _planted = generate(52, 150, 32, seed=1)
    f = facts(inst)
    t0 = time.monotonic()
    R = construct(f, time.monotonic() + 60.0)
    assert R is not None
    assert roster_problems(inst, R.tolist()) == []
    assert time.monotonic() - t0 < 30.0


def test_a_greedy_row_reports_its_miss() -> None:
    inst, _planted = generate(4, 6, 3, seed=4)
    f = facts(inst)
    gain = _gain(f, 0, np.zeros((f.D, f.S), dtype=np.int64))
    row, miss = greedy_row(f, 0, gain, random.Random(0), 0.5, 0.0)
    assert len(row) == f.D and miss >= 0


def test_a_mid_size_instance_gets_a_valid_roster_within_a_minute() -> None:
    inst, _planted = generate(26, 60, 12, seed=1)
    sol = solve(inst, 15.0)
    assert sol.roster is not None and sol.objective is not None
    assert roster_problems(inst, sol.roster) == []
    assert sol.objective == objective(inst, sol.roster)
    assert sol.seconds <= 60.0
    assert sol.stats["first"] == "staff by staff" and float(sol.stats["first_seconds"]) < 10.0
    assert sol.objective <= int(sol.stats["first_objective"])
