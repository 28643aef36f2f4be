"""The schedule validator on plans broken on purpose, one per rule, and the plan's figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from mutualis.engines.schedule.build import from_json, to_json
from mutualis.engines.schedule.instance import (
    FixedAppointment,
    Placement,
    ScheduleInstance,
    ScheduleMachine,
    ScheduleOrder,
)
from mutualis.engines.schedule.validate import evaluate, plan_problems
from mutualis.engines.slots import RADIOGRAPHER, RADIOLOGIST, Shift

MON = date(2026, 11, 23)  # a Monday
MORNING = ((480, 720),)  # 08:00-12:00
WEEK = (MORNING,) * 5 + ((), ())


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(MON + timedelta(days=day), datetime.min.time()) + timedelta(hours=hour, minutes=minute)


def _order(oid: str, modality: str, slots: int, *, priority: str = "outpatient", day: int = 0, due: int = 2,
           commune: str = "c1", radiologist: bool = False) -> ScheduleOrder:  # fmt: skip
    return ScheduleOrder(oid, f"{modality.lower()}-exam", modality, slots, priority, _at(day - 1, 10), _at(day, 0),
                         MON + timedelta(days=due), commune, radiologist)  # fmt: skip


def instance() -> ScheduleInstance:
    """Site a: an MRI (closed Tuesday 10:00-12:00) and a CT, two radiographers and a radiologist;
    site b: a CT and an ultrasound unit, one radiographer, a radiologist on Monday only."""
    machines = (
        ScheduleMachine("mr", "a", "MR", WEEK, ((_at(1, 10), _at(1, 12)),)),
        ScheduleMachine("ct", "a", "CT", WEEK),
        ScheduleMachine("ct-b", "b", "CT", WEEK),
        ScheduleMachine("us-b", "b", "US", WEEK),
    )
    shifts = []
    for day in range(3):
        d = MON + timedelta(days=day)
        shifts += [Shift("a", d, RADIOGRAPHER, 420, 1140), Shift("a", d, RADIOGRAPHER, 420, 1140),
                   Shift("a", d, RADIOLOGIST, 480, 1080), Shift("b", d, RADIOGRAPHER, 420, 1140)]  # fmt: skip
    shifts.append(Shift("b", MON, RADIOLOGIST, 480, 1080))
    orders = (
        _order("o1", "MR", 6),  # 30 minutes
        _order("o2", "CT", 4),  # 20 minutes
        _order("o3", "US", 4, radiologist=True),
        _order("o4", "MR", 6, day=1),  # not before Tuesday
        _order("o5", "CT", 2, priority="urgent", due=0),
    )
    travel = {("c1", "a"): 10, ("c1", "b"): 40}
    return ScheduleInstance(MON, 3, orders, machines, tuple(shifts), travel,
                            (FixedAppointment("f1", "mr", 0, 540, 30),), {"a": "Site A", "b": "Site B"})  # fmt: skip


GOOD = [
    Placement("o1", "mr", 0, 480),
    Placement("o2", "ct", 0, 480),
    Placement("o3", "us-b", 0, 480),
    Placement("o4", "mr", 1, 480),
    Placement("o5", "ct", 0, 500),
]


def _with(*changes: Placement) -> list[Placement]:
    by = {p.order: p for p in GOOD}
    for p in changes:
        by[p.order] = p
    return list(by.values())


def _reasons(plan: list[Placement]) -> list[str]:
    return [f"{p.location}: {p.reason}" for p in plan_problems(instance(), plan)]


def test_a_lawful_plan_has_no_problem() -> None:
    assert _reasons(GOOD) == []


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        (_with(Placement("o4", "mr", 1, 480), Placement("o1", "mr", 1, 500)), "overlaps order"),
        (_with(Placement("o1", "mr", 0, 550)), "overlaps a fixed appointment"),
        (_with(Placement("o1", "mr", 0, 705)), "outside opening hours"),
        (_with(Placement("o4", "mr", 1, 600)), "during a closure"),
        (_with(Placement("o1", "ct", 0, 600)), "cannot perform"),
        (_with(Placement("o2", "ct-b", 0, 480)), "not enough radiographers present at b"),
        (_with(Placement("o3", "us-b", 1, 480)), "no radiologist free on site at b"),
        (_with(Placement("o4", "mr", 0, 600)), "before the order's earliest start"),
        ([*GOOD, Placement("o1", "mr", 2, 480)], "placed more than once"),
        ([*GOOD, Placement("f1", "mr", 0, 600)], "an announced appointment was moved"),
        ([*GOOD, Placement("o9", "mr", 2, 480)], "unknown order"),
        (_with(Placement("o1", "mr", 3, 480)), "outside the horizon"),
    ],
    ids=["overlap", "fixed", "hours", "closure", "capability", "radiographers", "radiologist", "not-before",
         "twice", "fixed-moved", "unknown", "horizon"],
)
def test_each_rule_catches_its_broken_plan(plan: list[Placement], expected: str) -> None:
    reasons = _reasons(plan)
    assert any(expected in r for r in reasons), reasons


def test_the_fixed_appointment_unmoved_is_accepted() -> None:
    assert _reasons([*GOOD, Placement("f1", "mr", 0, 540)]) == []


def test_metrics_and_objective_by_hand() -> None:
    inst = instance()
    m = evaluate(inst, GOOD)
    assert (m.orders, m.placed, m.past_due) == (5, 5, 0.0)
    # o3 drives 40 min to site b instead of 10 to site a? No: US exists only at b, so no extra travel.
    assert m.terms == {"urgent_late": 0, "late": 0, "travel": 0, "wait": 0, "overtime": 0, "unplaced": 0}
    later = evaluate(inst, _with(Placement("o5", "ct", 1, 480), Placement("o2", "ct-b", 1, 480)))
    w = inst.weights
    # o5 urgent, due Monday, on Tuesday: one day late and one day of wait; o2 on Tuesday at b:
    # one day of wait and 30 more minutes of driving
    assert later.terms["urgent_late"] == w.urgent_late_per_day
    assert later.terms["wait"] == w.wait("urgent") + w.wait("outpatient")
    assert later.terms["travel"] == 30 * w.travel_per_minute
    assert later.objective == sum(later.terms.values())
    assert later.past_due == pytest.approx(1 / 5) and later.past_due_urgent == 1.0
    unplaced = evaluate(inst, GOOD[:-1])
    assert unplaced.placed == 4 and unplaced.terms["unplaced"] > later.objective


def test_json_round_trip_keeps_the_instance() -> None:
    inst = instance()
    assert from_json(to_json(inst)) == inst
