"""A roster follows the one before it: the rest after the day before's night on call, and the
48-hour average over the rolling four months, in the legal check and in the engine's instance."""

from __future__ import annotations

from datetime import date, timedelta

from mutualis.domain.rosters import Contract, RosterEntry, ShiftDefinition, ShiftKind, Worked, legal_problems
from mutualis.engines.roster.instance import DayOff
from mutualis.engines.roster.territory import Person, TerritoryRoster, to_instance, too_close

DAYSHIFT = ShiftDefinition("J-rodez", "Jour Rodez", "radiologist", "rodez", 8 * 60, 18 * 60 + 30)
EARLY = ShiftDefinition("E", "Tôt", "radiologist", "rodez", 7 * 60, 14 * 60)
LATE = ShiftDefinition("S", "Soir", "radiologist", "rodez", 14 * 60, 21 * 60)
NIGHT = ShiftDefinition("GN", "Garde de nuit", "radiologist", None, 18 * 60 + 30, 32 * 60 + 30,
                        ShiftKind.NIGHT_ON_CALL)
SHIFTS = {s.code: s for s in (DAYSHIFT, EARLY, LATE, NIGHT)}
DEC1 = date(2026, 12, 1)


def test_a_night_on_call_the_day_before_the_roster_forbids_its_first_morning() -> None:
    got = [RosterEntry(DEC1, "A", "J-rodez")]
    assert legal_problems(got, SHIFTS) == []  # alone, the roster looks lawful
    before = [RosterEntry(DEC1 - timedelta(days=1), "A", "GN")]
    (p,) = legal_problems(got, SHIFTS, before=before)
    assert p.location == "A 2026-12-01" and "after the night on call of 30/11" in p.reason
    # a breach between two shifts of the roster before is not this roster's
    old = [RosterEntry(DEC1 - timedelta(days=2), "A", "GN"), RosterEntry(DEC1 - timedelta(days=1), "A", "J-rodez")]
    assert legal_problems([RosterEntry(DEC1 + timedelta(days=1), "A", "J-rodez")], SHIFTS, before=old) == []


def test_the_average_counts_the_weeks_before() -> None:
    got = [RosterEntry(DEC1 + timedelta(days=n), "A", "J-rodez") for n in range(5)]  # 52.5 h in a week
    (p,) = legal_problems(got, SHIFTS)
    assert "52.5 h a week on average over 1 weeks" in p.reason
    # 13 quiet weeks before (35 h each) bring the rolling average under 48 h
    assert legal_problems(got, SHIFTS, history={"A": 13 * 35 * 60}, history_weeks=13) == []
    # 13 heavy weeks before (50 h each) do not
    assert legal_problems(got, SHIFTS, history={"A": 13 * 50 * 60}, history_weeks=13)


def _problem(**kw: object) -> TerritoryRoster:
    people = tuple(Person(r, r, "radiologist", frozenset(), frozenset({"rodez"}), "chu", Contract(r))
                   for r in ("A", "B"))  # fmt: skip
    return TerritoryRoster("t", DEC1, 28, (DAYSHIFT, EARLY, LATE, NIGHT), people, {}, **kw)  # type: ignore[arg-type]


def test_the_instance_rests_whoever_was_on_call_the_night_before_and_lowers_the_ceiling() -> None:
    plain = to_instance(_problem())
    off0 = _problem().offset  # 1 December 2026 is a Tuesday: day 1 of the instance
    assert off0 == 1 and DayOff("A", off0) not in plain.days_off
    after_night = to_instance(_problem(worked=Worked(((RosterEntry(DEC1 - timedelta(days=1), "A", "GN"), NIGHT),))))
    assert DayOff("A", off0) in after_night.days_off and DayOff("B", off0) not in after_night.days_off
    # after a late shift only the early one is too close: a heavy request against it, not a day off
    after_late = to_instance(_problem(worked=Worked(((RosterEntry(DEC1 - timedelta(days=1), "B", "S"), LATE),))))
    assert DayOff("B", off0) not in after_late.days_off
    assert [(r.staff, r.day, r.shift, r.on) for r in after_late.requests] == [("B", off0, "E", False)]
    assert too_close(LATE, EARLY) and not too_close(LATE, DAYSHIFT) and too_close(NIGHT, DAYSHIFT)
    # 48 h × 17 weeks minus what A worked in the 13 weeks before
    heavy = to_instance(_problem(worked=Worked(minutes={"A": 13 * 50 * 60}, weeks=13)))
    ceiling = {s.id: s.max_minutes for s in heavy.staff}
    assert ceiling["A"] == 48 * 60 * 17 - 13 * 50 * 60 and ceiling["B"] == 48 * 60 * 4
