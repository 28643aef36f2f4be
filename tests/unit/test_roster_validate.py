"""The roster validator: each hard rule broken on purpose on a small handmade instance is refused;
the benchmark objective of a roster checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mutualis.engines.roster.facts import facts
from mutualis.engines.roster.instance import OFF, Cover, DayOff, RosterInstance, ShiftRequest, ShiftType, Staff
from mutualis.engines.roster.validate import objective, objective_array, objective_parts, roster_problems

E, L = 0, 1  # shift indices: early, late (an early may not follow a late)


def _instance(**staff_overrides: int) -> RosterInstance:
    """One week, two shifts, two members of staff; days are Monday (0) to Sunday (6)."""
    contract = {"max_minutes": 5 * 480, "min_minutes": 2 * 480, "max_consecutive": 4, "min_consecutive": 2,
                "min_days_off": 2, "max_weekends": 1} | staff_overrides  # fmt: skip
    shifts = (ShiftType("E", 480), ShiftType("L", 480, ("E",)))
    people = tuple(Staff(sid, (("E", 7), ("L", 3)), **contract) for sid in ("A", "B"))
    requests = (ShiftRequest("A", 0, "E", 2, True), ShiftRequest("B", 3, "L", 3, False))
    cover = (*(Cover(d, "E", 1, 100, 1) for d in range(7)), Cover(2, "L", 1, 50, 5))
    return RosterInstance(7, shifts, people, (DayOff("B", 6),), requests, cover, "tiny")


# A:  E E . . E E .      B:  . E E E . . .   (lawful)
GOOD = ((E, E, OFF, OFF, E, E, OFF), (OFF, E, E, E, OFF, OFF, OFF))


def _with(row_a: tuple[int, ...] | None = None, row_b: tuple[int, ...] | None = None) -> tuple[tuple[int, ...], ...]:
    return (row_a or GOOD[0], row_b or GOOD[1])


def test_a_lawful_roster_passes() -> None:
    assert roster_problems(_instance(), GOOD) == []


def test_objective_by_hand() -> None:
    inst = _instance()
    # requests: A's early on Monday is met (0); B's late-off on Thursday is granted (0).
    # early cover, one a day: Mon 1, Tue 2 (+1 over), Wed 1, Thu 1, Fri 1, Sat 1, Sun 0 (1 under: 100) -> 101
    # late cover on Wednesday: nobody (1 under: 50) -> 50
    assert objective(inst, GOOD) == 151
    assert objective_array(facts(inst), np.array(GOOD)) == 151
    assert objective_parts(facts(inst), np.array(GOOD)) == {"requests": 0, "under": 150, "over": 1, "balance": 0}
    # A off on Monday (its request unmet: 2) and B late on Thursday (its off request granted: 3);
    # early cover: Mon 0 (under 100), Tue 2 (over 1), Wed 2 (over 1), Thu 0 (under 100), Fri 1, Sat 1,
    # Sun 0 (under 100); late cover on Wednesday: nobody (under 50)
    other = _with((OFF, E, E, OFF, E, E, OFF), (OFF, E, E, L, OFF, OFF, OFF))
    assert objective(inst, other) == 2 + 3 + 100 + 1 + 1 + 100 + 100 + 50
    assert objective(inst, other) == objective_array(facts(inst), np.array(other))


@pytest.mark.parametrize(("roster", "words"), [
    (_with(row_b=(OFF, E, E, E, OFF, E, E)), "fixed day off"),  # B works on Sunday, a fixed day off
    (_with(row_b=(OFF, E, L, E, OFF, OFF, OFF)), "may not follow"),  # early after late
    (_with(row_b=(OFF, L, L, L, L, OFF, OFF)), "at most 3"),  # four lates, at most 3
    (_with((E, E, E, E, OFF, E, E)), "minutes worked"),  # 6 shifts > 5 × 480 minutes
    (_with((E, OFF, OFF, OFF, OFF, OFF, OFF)), "minutes worked"),  # 1 shift < 2 × 480 minutes
    (_with((E, E, E, E, E, OFF, OFF)), "in a row from day 0, at most 4"),  # 5 in a row
    (_with((E, E, OFF, OFF, E, OFF, OFF)), "shift(s) in a row from day 4, at least 2"),  # lone shift inside
    (_with((E, E, OFF, E, E, OFF, OFF)), "day(s) off in a row from day 2, at least 2"),  # lone day off inside
], ids=["day-off", "succession", "max-per-type", "max-minutes", "min-minutes", "max-consecutive",
        "min-consecutive", "min-days-off"])  # fmt: skip
def test_each_hard_rule_broken_is_refused(roster: tuple[tuple[int, ...], ...], words: str) -> None:
    problems = roster_problems(_instance(), roster)
    assert problems, roster
    assert any(words in p for p in problems), problems


def test_weekends() -> None:
    two_weeks = _instance()
    inst = RosterInstance(14, two_weeks.shifts, two_weeks.staff, (), (), (), "two weeks")
    # A works both weekends (days 5-6 and 12-13), at most 1
    a = (OFF, OFF, OFF, OFF, OFF, E, E, OFF, OFF, OFF, OFF, OFF, E, E)
    b = (E, E, OFF, OFF, OFF, OFF, OFF, OFF, OFF, OFF, OFF, OFF, OFF, OFF)
    assert any("2 weekends worked, at most 1" in p for p in roster_problems(inst, (a, b)))
    one_weekend = a[:7] + (OFF,) * 7
    assert roster_problems(inst, (one_weekend, b)) == []


def test_stretches_at_the_ends_of_the_horizon_are_exempt_from_minimums() -> None:
    # a lone shift on the first day and a lone day off on the last day touch the ends: lawful
    a = (E, OFF, OFF, E, E, E, OFF)
    assert roster_problems(_instance(), _with(a)) == []
    b = (OFF, E, E, E, OFF, OFF, OFF)
    assert roster_problems(_instance(), _with(None, b)) == []
    # the same lone shift one day later is inside the horizon: refused
    assert roster_problems(_instance(), _with((OFF, E, OFF, OFF, E, E, OFF)))


def test_shape_is_checked() -> None:
    assert roster_problems(_instance(), GOOD[:1]) != []
    assert roster_problems(_instance(), _with((E, E, OFF))) != []
    assert roster_problems(_instance(), _with((E, E, OFF, OFF, 7, E, OFF))) != []
