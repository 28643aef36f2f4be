"""The theatre planner (engines/theatre/): the validator on plans broken on purpose, one per rule;
privileges on the CHU's theatres from the real Vienne FMIH territory; the block schedule; a tiny
instance solved to its optimum computed by hand; the planner never worse than first-come
first-served on a seeded week."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from mutualis.adapters.communes import load_communes
from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.territory import Territory
from mutualis.engines.theatre.baseline import fcfs, fcfs_assignment, plan_of
from mutualis.engines.theatre.block import privileges_from_territory, sessions_from_territory
from mutualis.engines.theatre.instance import Booking, Session, SurgicalCase, TheatreInstance
from mutualis.engines.theatre.solve import solve
from mutualis.engines.theatre.synthetic import instance_from_territory, week
from mutualis.engines.theatre.validate import evaluate, plan_problems

ROOT = Path(__file__).resolve().parents[2]
MON = date(2026, 11, 23)  # a Monday
TUE = MON + timedelta(days=1)
RIVIERE = "17981895562"  # Caroline Rivière, Montmorillon surgeon, privileged at Montmorillon only


def _case(cid: str, surgeon: str, minutes: int = 60, *, priority: str = "standard", referral: date = MON,
          due: date = MON + timedelta(days=30), ready: date | None = None, sites: frozenset[str] = frozenset(),
          anaesthesia: str = "general", equipment: frozenset[str] = frozenset(),
          procedure: str = "cholecystectomie-coelio") -> SurgicalCase:  # fmt: skip
    return SurgicalCase(cid, procedure, procedure, minutes, surgeon, priority, referral, due, ready, None, sites,
                        anaesthesia, equipment)  # fmt: skip


def small() -> TheatreInstance:
    """Two CHU theatres and one at Montmorillon on Monday 08:00-10:00, one at Montmorillon on
    Tuesday given to surgeon B; surgeon A is privileged at both sites, B at Montmorillon only."""
    icu = frozenset({"coelioscopie", "reanimation"})
    sessions = (
        Session("chu-1", "chu-bloc-1", "chu", MON, 480, 600, equipment=icu),
        Session("chu-2", "chu-bloc-2", "chu", MON, 480, 600, equipment=icu),
        Session("mtm-1", "mtm-bloc-1", "mtm", MON, 480, 600, equipment=frozenset({"coelioscopie"}),
                anaesthesia=frozenset({"general", "local"})),
        Session("mtm-2", "mtm-bloc-1", "mtm", TUE, 480, 600, surgeons=frozenset({"B"}), team="Dr B"),
    )  # fmt: skip
    cases = (
        _case("c1", "A"), _case("c2", "A"), _case("c3", "B"),
        _case("c4", "A", equipment=frozenset({"reanimation"})),
        _case("c5", "A", ready=TUE),
        _case("c6", "A", anaesthesia="regional"),
        _case("c7", "A", 50, sites=frozenset({"chu"})),
    )
    privileges = {"A": frozenset({"chu", "mtm"}), "B": frozenset({"mtm"})}
    return TheatreInstance(MON, 2, sessions, cases, privileges, turnover_min=20, overtime_allowance_min=10)


def _reasons(inst: TheatreInstance, plan: list[Booking]) -> list[str]:
    return [f"{p.location}: {p.reason}" for p in plan_problems(inst, plan)]


def test_a_lawful_plan_has_no_problem() -> None:
    inst = small()
    plan = [Booking("c1", "chu-1", 480), Booking("c7", "chu-1", 560), Booking("c3", "mtm-1", 480)]
    assert plan_problems(inst, plan) == []  # c7 ends at 610: within the 10-minute allowance


@pytest.mark.parametrize(("plan", "expected"), [
    ([Booking("c1", "chu-1", 480), Booking("c2", "chu-1", 560), Booking("c4", "chu-1", 640)],
     "case c4: overruns session chu-1 by 100 min"),
    ([Booking("c1", "chu-1", 480), Booking("c2", "chu-1", 530)], "case c2: overlaps case c1"),
    ([Booking("c3", "chu-1", 480)], "case c3: surgeon B holds no privilege at site chu"),
    ([Booking("c1", "chu-1", 480), Booking("c2", "chu-2", 500)], "case c2: surgeon A double-booked"),
    ([Booking("c1", "chu-1", 480), Booking("c2", "mtm-1", 540)], "case c2: surgeon A double-booked"),
    ([Booking("c4", "mtm-1", 480)], "case c4: theatre mtm-bloc-1 lacks reanimation"),
    ([Booking("c7", "mtm-1", 480)], "case c7: case not allowed at site mtm"),
    ([Booking("c5", "chu-1", 480)], "case c5: session on 2026-11-23 before the case's ready date 2026-11-24"),
    ([Booking("c6", "mtm-1", 480)], "case c6: no regional anaesthesia"),
    ([Booking("c1", "mtm-2", 480)], "case c1: session allocated to Dr B in the block schedule"),
    ([Booking("c1", "chu-1", 470)], "case c1: starts before session chu-1 opens"),
    ([Booking("c1", "chu-1", 480), Booking("c1", "chu-2", 480)], "case c1: booked more than once"),
    ([Booking("zz", "chu-1", 480)], "case zz: unknown case"),
    ([Booking("c1", "nowhere", 480)], "case c1: unknown session nowhere"),
])  # fmt: skip
def test_the_validator_refuses_each_broken_rule(plan: list[Booking], expected: str) -> None:
    assert any(r.startswith(expected) for r in _reasons(small(), plan)), _reasons(small(), plan)


def test_evaluate_measures_overtime_idle_and_waiting() -> None:
    inst = small()
    plan = [Booking("c1", "chu-1", 480), Booking("c2", "chu-1", 560)]  # ends 620: 20 min overtime
    m = evaluate(inst, plan)
    assert (m.done, m.waiting, m.overtime_min, m.sessions_idle) == (2, 5, 20, 3)
    assert m.idle_min == 3 * 120  # chu-1 is busy from 480 to 620: no idle minute
    assert m.objective == sum(m.terms.values())


# ---------------------------------------------------------------- the real territory


@pytest.fixture(scope="module")
def vienne() -> Territory:
    return read_territory_file(ROOT / "territories" / "vienne-fmih.toml", load_communes())


def _with_chu_privilege(t: Territory, rpps: str) -> Territory:
    conventions = tuple(
        replace(c, privileges=tuple(replace(p, sites=(*p.sites, "chu-poitiers")) if p.rpps == rpps else p
                                    for p in c.privileges))
        for c in t.conventions
    )  # fmt: skip
    return replace(t, conventions=conventions)


def _oncology_and_hernia(t: Territory) -> tuple[SurgicalCase, ...]:
    chu = frozenset({"chu-poitiers"})
    return (
        _case("onco", RIVIERE, 180, priority="cancer", due=MON + timedelta(days=10), sites=chu,
              procedure="colectomie-droite-coelio", equipment=frozenset({"coelioscopie"})),
        _case("hernia", RIVIERE, 60, procedure="hernie-inguinale-prothese"),
    )  # fmt: skip


def test_a_surgeon_without_a_chu_privilege_cannot_be_booked_there_and_with_it_can(vienne: Territory) -> None:
    assert privileges_from_territory(vienne, MON)[RIVIERE] == frozenset({"montmorillon"})
    inst = instance_from_territory(vienne, MON, 7, _oncology_and_hernia(vienne))
    chu_sessions = [s for s in inst.sessions if s.site == "chu-poitiers"]
    assert chu_sessions and all(RIVIERE not in s.surgeons for s in chu_sessions)
    for plan in (fcfs(inst), solve(inst, 5.0).plan):
        where = {b.case: inst.session_by_id[b.session].site for b in plan}
        assert where == {"hernia": "montmorillon"}  # the cancer case waits: it may only be done at the CHU
    open_chu = next(s for s in chu_sessions if s.is_open)
    assert any("holds no privilege at site chu-poitiers" in p.reason
               for p in plan_problems(inst, [Booking("onco", open_chu.id, open_chu.start_min)]))  # fmt: skip

    granted = _with_chu_privilege(vienne, RIVIERE)
    assert privileges_from_territory(granted, MON)[RIVIERE] == frozenset({"montmorillon", "chu-poitiers"})
    inst = instance_from_territory(granted, MON, 7, _oncology_and_hernia(granted))
    for plan in (fcfs(inst), solve(inst, 5.0).plan):
        assert plan_problems(inst, plan) == []
        where = {b.case: inst.session_by_id[b.session].site for b in plan}
        assert where["onco"] == "chu-poitiers" and "hernia" in where


def test_the_block_schedule_cuts_closures_and_respects_privileges(vienne: Territory) -> None:
    normal = sessions_from_territory(vienne, MON, 7)
    assert len(normal) == 30  # 4 CHU rooms and 2 Montmorillon rooms, Monday to Friday
    christmas = sessions_from_territory(vienne, date(2026, 12, 21), 7)  # closed 24-26 December but one room
    assert {s.day for s in christmas if s.theatre != "montmorillon-bloc-2"} == {date(2026, 12, 21 + d)
                                                                              for d in range(3)}  # fmt: skip
    assert len(christmas) == 3 * 6 + 2
    privileges = privileges_from_territory(vienne, MON)
    for s in normal:
        assert all(s.site in privileges[r] for r in s.surgeons)
        assert s.is_open == (s.theatre == "chu-bloc-visceral-4")
        if s.site == "montmorillon":
            assert "colectomie-gauche" in s.procedures and "oesophagectomie" not in s.procedures
            assert "reanimation" not in s.equipment


# ---------------------------------------------------------------- the planner


def tiny() -> TheatreInstance:
    """One open 120-minute session on Monday, a 10-minute turnover, no overtime allowed. In
    referral order: A (standard, 100 min), B (urgent, 50 min, due Monday), C (cancer, 50 min, due
    Monday)."""
    session = Session("s", "room", "site", MON, 480, 600)
    cases = (
        _case("A", "X", 100, referral=MON - timedelta(days=30)),
        _case("B", "X", 50, priority="urgent", referral=MON - timedelta(days=2), due=MON),
        _case("C", "Y", 50, priority="cancer", referral=MON - timedelta(days=1), due=MON),
    )
    return TheatreInstance(MON, 1, (session,), cases, {"X": frozenset({"site"}), "Y": frozenset({"site"})},
                           turnover_min=10, overtime_allowance_min=0)  # fmt: skip


def test_tiny_instance_reaches_its_optimum_computed_by_hand() -> None:
    inst = tiny()
    w = inst.weights
    # first-come first-served: A fills the session (100 of 120 min); B and C wait, past due by a day
    reference = fcfs(inst)
    assert [b.case for b in reference] == ["A"]
    b_waits = w.waiting["urgent"] + w.wait_per_day["urgent"] + w.past_due["urgent"] + w.late_per_day["urgent"]
    c_waits = w.waiting["cancer"] + w.wait_per_day["cancer"] + w.past_due["cancer"] + w.late_per_day["cancer"]
    assert evaluate(inst, reference).objective == b_waits + c_waits + 20 * w.idle_per_minute
    # optimum: B then C (50 + 10 + 50 = 110 min), A waits a week: 1,000 + 3 (one day) + 10 idle minutes
    sol = solve(inst, 5.0)
    assert sol.status == "OPTIMAL"
    assert sol.objective == w.waiting["standard"] + w.wait_per_day["standard"] + 10 * w.idle_per_minute == 1013
    assert sol.bound == sol.objective and sol.gap == 0.0
    assert sol.plan == (Booking("B", "s", 480), Booking("C", "s", 540))
    assert sol.reference_objective == evaluate(inst, reference).objective


def test_the_planner_is_never_worse_than_first_come_first_served(vienne: Territory) -> None:
    inst = week(vienne, MON, seed=3)
    assert 80 <= len(inst.cases) <= 250
    base = plan_of(inst, fcfs_assignment(inst))
    sol = solve(inst, 8.0)
    assert plan_problems(inst, base) == []
    assert plan_problems(inst, sol.plan) == []
    m_base, m_opt = evaluate(inst, base), evaluate(inst, sol.plan)
    assert sol.objective == m_opt.objective <= m_base.objective
    assert m_opt.done_urgent_cancer >= m_base.done_urgent_cancer
    assert m_opt.past_due_urgent_cancer <= m_base.past_due_urgent_cancer
    assert sol.bound <= sol.objective
