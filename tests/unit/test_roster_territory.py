"""The December roster of the Aveyron PIMM (engine level, the shipped territory file): lawful,
every night and weekend day on call covered, on-call spread within one among radiologists of
the same contract, nobody over 48 hours a week; and the variant with too many on leave at
Christmas explained in words."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from mutualis.adapters.communes import load_communes
from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.rosters import Leave, ShiftKind, counters, legal_problems
from mutualis.engines.roster.explain import explain_infeasible
from mutualis.engines.roster.solve import solve
from mutualis.engines.roster.territory import (
    TerritoryRoster,
    default_demand,
    default_shifts,
    entries,
    people_of,
    to_instance,
)
from mutualis.engines.roster.validate import roster_problems
from tests.conftest import ROOT

DECEMBER = date(2026, 12, 1)


def _problem(leave: tuple[Leave, ...] = ()) -> TerritoryRoster:
    t = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", load_communes())
    shifts = default_shifts(t)
    return TerritoryRoster(t.id, DECEMBER, 31, shifts, people_of(t, {}, DECEMBER),
                           default_demand(t, shifts, DECEMBER, 31), leave)  # fmt: skip


def test_the_december_roster_is_lawful_covered_and_fair() -> None:
    p = _problem()
    inst = to_instance(p)
    assert explain_infeasible(p, inst) == []
    sol = solve(inst, 40.0)
    assert sol.roster is not None and roster_problems(inst, sol.roster) == []
    got = entries(p, sol.roster)
    shifts = {s.code: s for s in p.shifts}
    assert legal_problems(got, shifts) == []
    on_call: dict[tuple[date, ShiftKind], int] = defaultdict(int)
    for e in got:
        if shifts[e.shift].kind in (ShiftKind.NIGHT_ON_CALL, ShiftKind.WEEKEND_ON_CALL):
            on_call[e.day, shifts[e.shift].kind] += 1
    days = [DECEMBER + timedelta(days=n) for n in range(31)]
    assert all(on_call[d, ShiftKind.NIGHT_ON_CALL] == 1 for d in days)
    assert all(on_call[d, ShiftKind.WEEKEND_ON_CALL] == 1 for d in days if d.weekday() >= 5)
    c = counters(got, shifts, DECEMBER, 31)
    # all full time, on call: one contract; the on-call needs a CT reader (the territory has a CT)
    radiologists = [x for x in p.people if x.profession == "radiologist" and "CT" in x.qualifications]
    assert all("CT" in x.qualifications for x in p.people for e in got
               if e.rpps == x.rpps and shifts[e.shift].kind in (ShiftKind.NIGHT_ON_CALL, ShiftKind.WEEKEND_ON_CALL))
    nights = [c[x.rpps].nights if x.rpps in c else 0 for x in radiologists]
    weekend_days = [c[x.rpps].weekend_days if x.rpps in c else 0 for x in radiologists]
    assert max(nights) - min(nights) <= 1, nights
    assert max(weekend_days) - min(weekend_days) <= 1, weekend_days
    assert all(v.weekly_hours <= 48 for v in c.values())


def test_too_many_on_leave_at_christmas_is_explained() -> None:
    t = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", load_communes())
    radiologists = [x.rpps for x in t.practitioners if x.profession.value == "radiologist"]
    leave = tuple(Leave(r, date(2026, 12, 24), date(2026, 12, 27), "congés de Noël") for r in radiologists[:9])
    p = _problem(leave)
    (text,) = explain_infeasible(p, to_instance(p))
    assert text.startswith("Aucun planning ne respecte à la fois")
    # the on-call needs a CT reader: the leave of the 3 without CT is not part of the conflict
    assert "congés de 6 personnes" in text and "du 24/12 au 27/12" in text
    assert "Garde" in text


def test_remote_readers_follow_the_reading_the_bookings_ask() -> None:
    t = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", load_communes())
    shifts = default_shifts(t)
    tele = next(s for s in shifts if s.code == "TELE")
    assert tele.qualification == "CT"  # ultrasound is read on site: remote reading is the CT's
    tuesday, saturday = DECEMBER + timedelta(days=7), DECEMBER + timedelta(days=4)
    quiet = default_demand(t, shifts, DECEMBER, 7)
    assert quiet[DECEMBER, "TELE"] == 1 and (saturday, "TELE") not in quiet
    # an MR reader among the remote readers on the days the MRI is open, a CT reader besides
    irm = next(s for s in shifts if s.code == "TELE-IRM")
    assert irm.qualification == "MR" and quiet[DECEMBER, "TELE-IRM"] == 1 and (saturday, "TELE-IRM") not in quiet
    on_site = sum(v for (d, code), v in quiet.items() if d == DECEMBER and code.startswith("J-"))
    # 40 hours of reading and 5 of performing at Rodez that Tuesday: ceil(45 h / 7 h) radiologist-days in all
    busy = default_demand(t, shifts, DECEMBER, 8, {("rodez", tuesday): 300}, {tuesday: 2400.0})
    there = sum(v for (d, code), v in busy.items() if d == tuesday and code.startswith("J-"))
    assert there == on_site
    assert busy[tuesday, "TELE"] + busy[tuesday, "TELE-IRM"] == 7 - on_site and busy[tuesday, "TELE-IRM"] == 1
    assert busy[DECEMBER, "TELE"] == 1


def test_the_pages_name_each_remote_shift() -> None:
    from mutualis.entrypoints.web.rosters_fr import short

    t = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", load_communes())
    shifts = {s.code: s for s in default_shifts(t)}
    names = {s.id: s.name for s in t.sites}
    assert [short(shifts[c], names) for c in ("TELE", "TELE-IRM", "L2", "GN", "GJ")] == [
        "Télé", "Télé IRM", "L2", "Nuit", "Garde"]
    assert shifts["GN"].qualification == shifts["GJ"].qualification == "CT"  # the on-call reads the night's CTs
