"""Fairness groups (engines/roster/rule_balance.py): the solver spreads a group's nights within
its tolerance, and the validator prices any roster's spread the same way."""

from __future__ import annotations

from mutualis.engines.roster.instance import OFF, Balance, Cover, RosterInstance, ShiftType, Staff
from mutualis.engines.roster.solve import solve
from mutualis.engines.roster.validate import balance_cost, objective, roster_problems


def _instance(balance: tuple[Balance, ...]) -> RosterInstance:
    night = ShiftType("N", 600, ("N",))
    day = ShiftType("D", 480)
    staff = tuple(Staff(p, (("N", 14), ("D", 14)), 14 * 600, 0, 6, 1, 1, 2) for p in ("a", "b", "c", "d"))
    cover = tuple(Cover(d, "N", 1, 100, 100) for d in range(14))
    # "a" wishes to do every night (shift-on requests): only fairness stops it
    from mutualis.engines.roster.instance import ShiftRequest

    wishes = tuple(ShiftRequest("a", d, "N", 10, True) for d in range(0, 14, 2))
    return RosterInstance(14, (night, day), staff, (), wishes, cover, "balance", balance)


def test_the_group_spreads_its_nights_within_one() -> None:
    group = Balance(("a", "b", "c", "d"), ("N",), 1, 1_000)
    inst = _instance((group,))
    sol = solve(inst, 10.0)
    assert sol.roster is not None and roster_problems(inst, sol.roster) == []
    nights = [sum(1 for v in row if v == 0) for row in sol.roster]
    assert sum(nights) == 14 and max(nights) - min(nights) <= 1, nights
    assert balance_cost(inst, sol.roster) == 0


def test_the_validator_prices_the_spread() -> None:
    group = Balance(("a", "b", "c", "d"), ("N",), 1, 1_000)
    inst = _instance((group,))
    lopsided = [[0 if d % 2 == 0 else OFF for d in range(14)], [OFF if d % 2 == 0 else 0 for d in range(14)],
                [OFF] * 14, [OFF] * 14]  # a: 7, b: 7, c: 0, d: 0 → spread 7, 6 beyond tolerance
    assert balance_cost(inst, lopsided) == 6_000
    assert objective(inst, lopsided) == 6_000 + objective(_instance(()), lopsided)
