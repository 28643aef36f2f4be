"""Slot search: the rules, the ranking, and a brute-force cross-check against the validator."""

import random
from datetime import date, datetime, timedelta

import pytest

from mutualis.domain.territory import BookingSettings, Closure, TimeRange
from mutualis.engines.slots import (
    RADIOGRAPHER,
    RADIOLOGIST,
    Busy,
    Machine,
    Proposal,
    Shift,
    SlotInstance,
    SlotQuery,
    proposal_problems,
    search,
)

MON = date(2026, 11, 23)  # a Monday
WEEK = {d: (TimeRange(8 * 60, 12 * 60), TimeRange(13 * 60, 18 * 60)) for d in ("mon", "tue", "wed", "thu", "fri")}


def _staff(site: str, days: int = 14, radiographers: int = 1, radiologists: int = 0) -> list[Shift]:
    out = []
    for i in range(days):
        day = MON + timedelta(days=i)
        out += [Shift(site, day, RADIOGRAPHER, 7 * 60, 19 * 60)] * radiographers
        out += [Shift(site, day, RADIOLOGIST, 8 * 60, 18 * 60)] * radiologists
    return out


def _query(**kw: object) -> SlotQuery:
    base: dict[str, object] = {"duration_min": 30, "priority": "outpatient", "earliest": datetime(2026, 11, 23, 7),
                               "due_by": MON + timedelta(days=10), "count": 5, "horizon_days": 13}
    return SlotQuery(**{**base, **kw})  # type: ignore[arg-type]


def test_first_slot_is_at_opening() -> None:
    inst = SlotInstance(_query(), (Machine("mr", "rodez", WEEK),), {}, _staff("rodez"))
    best = search(inst)[0]
    assert (best.start, best.end) == (datetime(2026, 11, 23, 8), datetime(2026, 11, 23, 8, 30))
    assert [p.start.date() for p in search(inst)] == [MON + timedelta(days=i) for i in range(5)]  # one per day


def test_bookings_closures_and_now_are_honoured() -> None:
    busy = {"mr": [Busy(datetime(2026, 11, 23, 8), datetime(2026, 11, 23, 11, 50))]}
    closures = (Closure(datetime(2026, 11, 23, 13), datetime(2026, 11, 24, 0)),)
    inst = SlotInstance(_query(earliest=datetime(2026, 11, 23, 7, 3)), (Machine("mr", "rodez", WEEK, closures),),
                        busy, _staff("rodez"))
    best = search(inst)[0]
    assert best.start == datetime(2026, 11, 24, 8)  # 11:50–12:00 is too short; the afternoon is closed
    inst2 = SlotInstance(_query(earliest=datetime(2026, 11, 23, 9, 2)), (Machine("mr", "rodez", WEEK),), {},
                         _staff("rodez"))
    assert search(inst2)[0].start == datetime(2026, 11, 23, 9, 5)  # rounded up to the 5-minute step


def test_no_radiographer_no_slot_and_one_per_running_machine() -> None:
    machines = (Machine("dx", "decaz", WEEK), Machine("ct", "decaz", WEEK, eligible=False))
    assert search(SlotInstance(_query(), machines[:1], {}, [])) == []
    busy = {"ct": [Busy(datetime(2026, 11, 23, 8), datetime(2026, 11, 23, 10))]}
    best = search(SlotInstance(_query(), machines, busy, _staff("decaz", radiographers=1)))[0]
    assert best.start == datetime(2026, 11, 23, 10)  # the only radiographer runs the CT until 10:00
    best2 = search(SlotInstance(_query(), machines, busy, _staff("decaz", radiographers=2)))[0]
    assert best2.start == datetime(2026, 11, 23, 8)


def test_back_to_back_bookings_on_one_room_keep_one_radiographer_busy() -> None:
    # two radiographers, two rooms: the second room's three X-rays in a row occupy one of them only
    machines = (Machine("mr", "decaz", WEEK), Machine("dx", "decaz", WEEK, eligible=False))
    busy = {"dx": [Busy(datetime(2026, 11, 23, 8, m), datetime(2026, 11, 23, 8, m + 10)) for m in (0, 10, 20)]}
    best = search(SlotInstance(_query(), machines, busy, _staff("decaz", radiographers=2)))[0]
    assert best.start == datetime(2026, 11, 23, 8)
    assert proposal_problems(SlotInstance(_query(), machines, busy, _staff("decaz", radiographers=2)), best) == []
    # with one radiographer the MRI waits until the room is free
    alone = search(SlotInstance(_query(), machines, busy, _staff("decaz", radiographers=1)))[0]
    assert alone.start == datetime(2026, 11, 23, 8, 30)


def test_radiologist_on_site_for_ultrasound() -> None:
    us = (Machine("us", "rodez", WEEK),)
    assert search(SlotInstance(_query(needs_radiologist=True), us, {}, _staff("rodez"))) == []
    shifts = [*_staff("rodez"), Shift("rodez", MON + timedelta(days=2), RADIOLOGIST, 14 * 60, 18 * 60)]
    best = search(SlotInstance(_query(needs_radiologist=True), us, {}, shifts))[0]
    assert best.start == datetime(2026, 11, 25, 14)


def test_ranking_trades_wait_against_travel() -> None:
    near = Machine("near", "espalion", {"wed": (TimeRange(8 * 60, 18 * 60),)}, travel_minutes=5)
    far = Machine("far", "rodez", WEEK, travel_minutes=45)
    shifts = _staff("espalion") + _staff("rodez")
    outpatient = search(SlotInstance(_query(), (near, far), {}, shifts))
    assert outpatient[0].equipment == "near"  # two days later, 40 minutes nearer: worth it at 10/day
    urgent = search(SlotInstance(_query(priority="urgent"), (near, far), {}, shifts))
    assert urgent[0].equipment == "far"  # an urgent exam goes to the soonest machine
    p = outpatient[0]
    assert p.breakdown == {"wait": pytest.approx(10 * p.wait_days, abs=0.01), "travel": 5.0, "late": 0.0}
    heavy_travel = BookingSettings(travel_per_minute=0.0)
    assert search(SlotInstance(_query(), (near, far), {}, shifts, heavy_travel))[0].equipment == "far"


def test_lateness_is_counted() -> None:
    only_later = Machine("mr", "rodez", {"fri": (TimeRange(8 * 60, 9 * 60),)})
    p = search(SlotInstance(_query(due_by=MON), (only_later,), {}, _staff("rodez")))[0]
    assert p.late_days == 4 and p.breakdown["late"] == 400.0


def test_validator_flags_every_broken_rule() -> None:
    m = Machine("mr", "rodez", WEEK, (Closure(datetime(2026, 11, 24, 8), datetime(2026, 11, 24, 9)),))
    inst = SlotInstance(_query(), (m,), {"mr": [Busy(datetime(2026, 11, 23, 8), datetime(2026, 11, 23, 9))]},
                        _staff("rodez"))

    def at(start: datetime) -> Proposal:
        return Proposal("mr", "rodez", start, start + timedelta(minutes=30), 0, 0, 0, 0, {})

    assert proposal_problems(inst, at(datetime(2026, 11, 23, 8, 30))) == ["overlaps a booking"]
    assert proposal_problems(inst, at(datetime(2026, 11, 24, 8, 0))) == ["during a closure"]
    assert proposal_problems(inst, at(datetime(2026, 11, 23, 11, 45))) == ["outside opening hours"]
    assert proposal_problems(inst, at(datetime(2026, 11, 23, 9, 0))) == []
    no_staff = SlotInstance(inst.query, inst.machines, inst.busy, [])
    assert proposal_problems(no_staff, at(datetime(2026, 11, 23, 9, 0))) == ["not enough staff present"]


def test_random_instances_against_brute_force() -> None:
    rng = random.Random(7)
    for _ in range(30):
        machines = tuple(Machine(f"m{i}", rng.choice(["a", "b"]), WEEK, eligible=rng.random() < 0.8,
                                 travel_minutes=rng.randint(0, 60)) for i in range(3))
        busy: dict[str, list[Busy]] = {}
        for m in machines:
            for _ in range(rng.randint(0, 25)):
                start = datetime.combine(MON + timedelta(days=rng.randint(0, 6)), datetime.min.time()) + timedelta(
                    minutes=rng.randrange(8 * 60, 17 * 60, 5))
                b = Busy(start, start + timedelta(minutes=rng.choice([15, 20, 30, 45])), rng.random() < 0.3)
                if not any(x.start < b.end and b.start < x.end for x in busy.get(m.code, [])):
                    busy.setdefault(m.code, []).append(b)
        for items in busy.values():
            items.sort(key=lambda b: b.start)  # SlotInstance wants them sorted by start
        shifts = _staff("a", 7, rng.randint(0, 2), rng.randint(0, 1)) + _staff("b", 7, rng.randint(0, 2), 1)
        q = _query(duration_min=rng.choice([10, 20, 30, 60]), needs_radiologist=rng.random() < 0.4,
                   horizon_days=6, count=20)
        inst = SlotInstance(q, machines, busy, shifts)
        found = search(inst)
        for p in found:
            assert proposal_problems(inst, p) == [], p
        # brute force: the earliest lawful start of every machine and day is the one proposed
        for m in machines:
            if not m.eligible:
                continue
            for d in range(7):
                day = MON + timedelta(days=d)
                midnight = datetime.combine(day, datetime.min.time())
                starts = [midnight + timedelta(minutes=k) for k in range(7 * 60, 19 * 60, 5)]
                lawful = [s for s in starts if proposal_problems(inst, Proposal(
                    m.code, m.site, s, s + timedelta(minutes=q.duration_min), 0, 0, 0, 0, {})) == []]
                proposed = [p.start for p in found if p.equipment == m.code and p.start.date() == day]
                assert proposed == lawful[:1], (m, day)
        assert [p.score for p in found] == sorted(p.score for p in found)
