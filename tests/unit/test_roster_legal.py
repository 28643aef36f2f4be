"""The working-time rules of rosters (domain/rosters.py), each broken on purpose and refused by
the solver-free validator in words; a lawful fortnight passes."""

from __future__ import annotations

from datetime import date, timedelta

from mutualis.domain.rosters import (
    RosterEntry,
    ShiftDefinition,
    ShiftKind,
    counters,
    legal_problems,
)

MON = date(2026, 12, 7)
SHIFTS = {s.code: s for s in (
    ShiftDefinition("J-RDZ", "Jour Rodez", "radiologist", "rodez", 8 * 60, 18 * 60 + 30),
    ShiftDefinition("TELE", "Télélecture", "radiologist", None, 8 * 60, 18 * 60 + 30, ShiftKind.REMOTE),
    ShiftDefinition("GN", "Garde de nuit", "radiologist", None, 18 * 60 + 30, 32 * 60 + 30, ShiftKind.NIGHT_ON_CALL),
    ShiftDefinition("GJ", "Garde de jour (week-end)", "radiologist", None, 8 * 60 + 30, 18 * 60 + 30,
                    ShiftKind.WEEKEND_ON_CALL),
    ShiftDefinition("SOIR", "Soirée", "radiologist", "rodez", 14 * 60, 23 * 60),
    ShiftDefinition("LONG", "Longue journée", "radiologist", "rodez", 7 * 60, 21 * 60),
)}  # fmt: skip
ME = "12981010940"


def _e(offset: int, shift: str) -> RosterEntry:
    return RosterEntry(MON + timedelta(days=offset), ME, shift)


def _reasons(entries: list[RosterEntry]) -> list[str]:
    return [f"{p.location}: {p.reason}" for p in legal_problems(entries, SHIFTS)]


def test_a_lawful_fortnight_passes() -> None:
    week = [_e(0, "J-RDZ"), _e(1, "TELE"), _e(2, "GN"), _e(4, "J-RDZ"), _e(5, "GJ"), _e(7, "J-RDZ"), _e(8, "J-RDZ")]
    assert legal_problems(week, SHIFTS) == []
    c = counters(week, SHIFTS, MON, 14)[ME]
    assert (c.nights, c.weekend_days, c.weekends, c.sites) == (1, 1, 1, {"rodez": 4})
    assert c.minutes == 5 * 630 + 840 + 600  # four days at Rodez and one of remote reading


def test_work_right_after_a_night_on_call_is_refused() -> None:
    problems = _reasons([_e(0, "GN"), _e(1, "J-RDZ")])
    assert any("after the night on call" in p and "11 h required" in p for p in problems), problems
    # the evening after the night: 10 h of rest only
    assert any("after the night on call" in p for p in _reasons([_e(0, "GN"), _e(1, "GN")]))


def test_less_than_eleven_hours_between_two_shifts_is_refused() -> None:
    problems = _reasons([_e(0, "SOIR"), _e(1, "J-RDZ")])  # 23:00 → 08:00: 9 h
    assert problems == [f"{ME} {(MON + timedelta(days=1)).isoformat()}: only 9 h of rest between two shifts "
                        "(11 h required)"]


def test_a_stretch_over_24_hours_is_refused() -> None:
    problems = _reasons([_e(0, "LONG"), RosterEntry(MON, ME, "GN")])  # 07:00 → 08:30 the next day
    assert any("continuous stretch of 25.5 h" in p for p in problems), problems
    assert _reasons([_e(0, "J-RDZ")]) == []


def test_over_48_hours_a_week_on_average_is_refused() -> None:
    nights = [_e(d, "GN") for d in range(0, 28, 2)]  # 14 nights of 14 h in 4 weeks: 49 h a week
    problems = _reasons(nights)
    assert any("49 h a week on average over 4 weeks (48 h at most)" in p for p in problems), problems
    assert not any("48 h" in p for p in _reasons(nights[:-1]))
    # minutes already worked in the weeks before count too
    history = legal_problems(nights[:-1], SHIFTS, history={ME: 60 * 60}, history_weeks=1)
    assert any("48 h at most" in p.reason for p in history)


def test_unknown_shift_codes_are_named() -> None:
    assert [p.reason for p in legal_problems([_e(0, "XX")], SHIFTS)] == ["unknown shift code 'XX'"]
