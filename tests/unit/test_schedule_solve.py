"""The appointment optimiser: a tiny instance solved to its optimum computed by hand, fixed
appointments untouched, urgent exams on time, explanations for every change, never worse than
first-available on a seeded instance (whole model and decomposition)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pytest

from mutualis.domain.territory import Commune, Territory
from mutualis.engines.demand import generate_demand
from mutualis.engines.presence import default_presence
from mutualis.engines.schedule import solve as solve_module
from mutualis.engines.schedule.baseline import first_available
from mutualis.engines.schedule.build import OrderRequest, from_territory
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import (
    FixedAppointment,
    Placement,
    ScheduleInstance,
    ScheduleMachine,
    ScheduleOrder,
)
from mutualis.engines.schedule.solve import solve
from mutualis.engines.schedule.validate import evaluate, plan_problems
from mutualis.engines.slots import RADIOGRAPHER, Shift

MON = date(2026, 11, 23)  # a Monday
TWO_SLOTS = ((480, 520),)  # 08:00-08:40: two 20-minute exams a day


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(MON + timedelta(days=day), datetime.min.time()) + timedelta(hours=hour, minutes=minute)


def _order(oid: str, priority: str, due: int, requested_hour: int, current: Placement | None = None) -> ScheduleOrder:
    return ScheduleOrder(oid, "tdm", "CT", 4, priority, _at(-1, requested_hour), _at(0, 0), MON + timedelta(days=due),
                         "c1", current=current)  # fmt: skip


def tiny(fixed: tuple[FixedAppointment, ...] = (), current: Placement | None = None) -> ScheduleInstance:
    """One scanner with two 20-minute slots a day on Monday and Tuesday. Requested on Sunday, in
    this order: C (outpatient, due Friday), B (outpatient, due Monday), A (urgent, due Monday)."""
    shifts = tuple(Shift("a", MON + timedelta(days=d), RADIOGRAPHER, 420, 1140) for d in range(2))
    orders = (_order("C", "outpatient", 4, 9, current), _order("B", "outpatient", 0, 10), _order("A", "urgent", 0, 11))
    machine = ScheduleMachine("ct", "a", "CT", (TWO_SLOTS,) * 5 + ((), ()))
    return ScheduleInstance(MON, 2, orders, (machine,), shifts, {("c1", "a"): 15}, fixed, {"a": "Site A"})


def test_tiny_instance_reaches_its_optimum_computed_by_hand() -> None:
    inst = tiny()
    w = inst.weights
    reference = first_available(Calendar(inst))
    # first available, in request order: C and B take Monday, A waits to Tuesday (late one day)
    assert {p.order: p.day for p in reference} == {"C": 0, "B": 0, "A": 1}
    assert evaluate(inst, reference).objective == w.urgent_late_per_day + w.wait("urgent")
    sol = solve(inst, 5.0)
    # optimum: A and B on Monday (both due then), C waits one day within its due date: 20
    assert {p.order: p.day for p in sol.plan} == {"A": 0, "B": 0, "C": 1}
    assert sol.objective == w.wait("outpatient") == 20
    assert (sol.status, sol.bound, sol.gap) == ("OPTIMAL", 20, 0.0)
    assert plan_problems(inst, sol.plan) == []


def test_every_change_is_explained() -> None:
    sol = solve(tiny(), 5.0)
    codes = {c.order: c.explanation.code for c in sol.changes}
    assert codes["A"] == "meets_due_date" and codes["C"] == "later_within_due"
    assert codes.get("B", "same_day") == "same_day"  # B stays on Monday, maybe at the other time
    texts = {c.order: c.explanation.text for c in sol.changes}
    assert texts["A"] == "moved earlier by 1 day to meet its due date (2026-11-23)"
    assert "still by its due date" in texts["C"]


def test_fixed_appointments_stay_and_urgent_exams_go_first() -> None:
    inst = tiny(fixed=(FixedAppointment("F", "ct", 0, 480, 20),))
    sol = solve(inst, 5.0)
    assert all(p.order != "F" for p in sol.plan)
    assert plan_problems(inst, sol.plan) == []  # includes: nothing overlaps the fixed appointment
    at = {p.order: p for p in sol.plan}
    assert (at["A"].day, at["A"].minute) == (0, 500)  # the one slot left on Monday goes to the urgent exam
    w = inst.weights
    assert sol.objective == w.late_per_day + 2 * w.wait("outpatient")  # B one day late, B and C wait a day


def test_a_movable_appointment_moves_with_its_reason() -> None:
    current = Placement("C", "ct", 1, 480)  # not yet announced, booked on Tuesday
    sol = solve(tiny(current=current), 5.0)
    assert {p.order: p.day for p in sol.plan} == {"A": 0, "B": 0, "C": 1}  # C keeps Tuesday
    assert all(c.order != "C" for c in sol.changes)


def _seeded(t: Territory, communes: dict[str, Commune]) -> ScheduleInstance:
    start = date(2026, 11, 23)
    generated = generate_demand(t, communes, start, 2, 5)
    orders = [OrderRequest(f"o{n}", o.exam, o.priority.value, o.requested_at, o.not_before, o.due_by,
                           o.patient.insee) for n, o in enumerate(generated)]  # fmt: skip
    return from_territory(t, orders, [], default_presence(t, start, 6), communes, start, 6)


@pytest.mark.parametrize("exact", [True, False], ids=["whole-model", "decomposed"])
def test_never_worse_than_first_available(mini: Territory, communes: dict[str, Commune], exact: bool,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    inst = _seeded(mini, communes)
    assert len(inst.orders) > 20
    if not exact:
        monkeypatch.setattr(solve_module, "EXACT_OPTIONS", 0)
    cal = Calendar(inst)
    reference = first_available(cal)
    sol = solve(inst, 3.0, reference=reference)
    assert plan_problems(cal, sol.plan) == []
    assert sol.objective == evaluate(cal, sol.plan).objective <= evaluate(cal, reference).objective
    assert 0 <= sol.bound <= sol.objective and 0.0 <= sol.gap <= 1.0
    assert len(sol.plan) >= len(reference)  # mini has orders no machine can take (no radiologist at Espalion)
    assert all(c.explanation.text for c in sol.changes)
    urgent = {o.id: o.due for o in inst.orders if o.priority == "urgent"}

    def on_time(plan: tuple[Placement, ...]) -> int:
        return sum(inst.date_of(p.day) <= urgent[p.order] for p in plan if p.order in urgent)

    assert on_time(sol.plan) >= on_time(reference)


def test_stabilise_puts_back_what_moved_for_nothing() -> None:
    """Two scanners at one site with ample staff. The plan moves A to Monday where it is due (it
    buys something), into C's place, and C to the other scanner the same day (for nothing)."""
    from mutualis.engines.schedule.stabilise import stabilise

    inst = tiny()
    shifts = tuple(Shift("a", MON + timedelta(days=d), RADIOGRAPHER, 420, 1140) for d in range(2) for _ in range(2))
    second = ScheduleMachine("ct2", "a", "CT", (TWO_SLOTS,) * 5 + ((), ()))
    inst = ScheduleInstance(inst.start, inst.days, inst.orders, (*inst.machines, second), shifts, inst.travel,
                            (), inst.sites)  # fmt: skip
    cal = Calendar(inst)
    reference = (Placement("A", "ct", 1, 480), Placement("B", "ct", 0, 500), Placement("C", "ct", 0, 480))
    moved = (Placement("A", "ct", 0, 480), Placement("B", "ct", 0, 500), Placement("C", "ct2", 0, 480))
    steady = stabilise(cal, reference, moved)
    assert plan_problems(inst, steady) == []
    # C swaps back with A (same day, same site: no cost for A); A stays on Monday, where it is due
    assert set(steady) == {Placement("A", "ct2", 0, 480), Placement("B", "ct", 0, 500), Placement("C", "ct", 0, 480)}
    assert evaluate(inst, steady).objective == evaluate(inst, moved).objective


def test_retime_puts_back_the_times_a_chain_of_swaps_cannot(communes: dict[str, Commune]) -> None:
    """A solver's arbitrary choice among equal-cost timings: the Aveyron PIMM's busy machine-days
    with their orders in the reverse order. One-by-one reverting leaves many away from their
    time; re-timing each site-day whole puts them all back: same machines and days, same cost,
    a lawful plan."""
    from mutualis.adapters.territory_file import read_territory_file
    from mutualis.engines.schedule.stabilise import retime, stabilise
    from tests.conftest import ROOT

    inst = _seeded(read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes), communes)
    cal = Calendar(inst)
    reference = first_available(cal)
    by_day: dict[tuple[str, int], list[Placement]] = {}
    for p in sorted(reference, key=lambda p: p.minute):
        by_day.setdefault((p.machine, p.day), []).append(p)
    plan = list(reference)
    for ps in by_day.values():
        at, trial = ps[0].minute, [q for q in plan if q not in ps]
        for p in reversed(ps):
            trial.append(Placement(p.order, p.machine, p.day, at))
            at += cal.minutes(cal.o[p.order])
        if plan_problems(cal, trial) == []:  # where every order may start that early
            plan = trial
    ref = {p.order: p for p in reference}

    def away(ps: Sequence[Placement]) -> int:
        return sum(1 for p in ps if (p.machine, p.day, p.minute) != (ref[p.order].machine, ref[p.order].day,
                                                                     ref[p.order].minute))  # fmt: skip

    steady = stabilise(cal, reference, plan)
    again = retime(cal, reference, steady, seconds=20)
    assert away(plan) > away(steady) > 0
    assert plan_problems(cal, again) == []
    assert {(p.order, p.machine, p.day) for p in again} == {(p.order, p.machine, p.day) for p in steady}
    assert evaluate(cal, again).objective == evaluate(cal, steady).objective
    assert away(again) == 0
