"""The week optimiser's validator on plans broken on purpose, one rule at a time; the
first-available baseline passes it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from bench.schedule import make_instance

from mutualis.domain.territory import Commune
from mutualis.engines.schedule.baseline import first_available
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import Placement, ScheduleInstance
from mutualis.engines.schedule.validate import evaluate, plan_problems


@pytest.fixture(scope="module")
def week(communes: dict[str, Commune]) -> tuple[ScheduleInstance, tuple[Placement, ...]]:
    inst = make_instance("pimm", 1, communes)
    return inst, first_available(Calendar(inst))


def _about(problems: list[object], order: str) -> bool:
    return any(order in str(p) for p in problems)


def test_first_available_is_valid(week: tuple[ScheduleInstance, tuple[Placement, ...]]) -> None:
    inst, plan = week
    assert plan and plan_problems(inst, plan) == []
    assert 0 <= evaluate(inst, plan).past_due <= 1


def test_each_broken_rule_is_named(week: tuple[ScheduleInstance, tuple[Placement, ...]]) -> None:
    inst, plan = week
    modality = {m.id: m.modality for m in inst.machines}
    a, b = plan[0], next(p for p in plan[1:] if modality[p.machine] == modality[plan[0].machine])
    # two exams at the same time on the same machine
    overlap = [p for p in plan if p.order != b.order] + [replace(b, machine=a.machine, day=a.day, minute=a.minute)]
    assert _about(plan_problems(inst, overlap), b.order)
    # at 02:00, outside opening hours
    night = [p for p in plan if p.order != a.order] + [replace(a, minute=120)]
    assert _about(plan_problems(inst, night), a.order)
    # on a machine of another modality
    other = next(m.id for m in inst.machines if m.modality != modality[a.machine])
    wrong = [p for p in plan if p.order != a.order] + [replace(a, machine=other)]
    assert _about(plan_problems(inst, wrong), a.order)
    # placed twice
    assert _about(plan_problems(inst, [*plan, replace(a, day=a.day + 1)]), a.order)
    # before the horizon (and before its earliest start)
    early = [p for p in plan if p.order != a.order] + [replace(a, day=-1)]
    assert _about(plan_problems(inst, early), a.order)
    # an order that does not exist
    assert _about(plan_problems(inst, [*plan, replace(a, order="nobody")]), "nobody")
