"""Rosters over a real database (SQLite and PostgreSQL), with the shipped Aveyron PIMM: a
fortnight solved, lawful, published as the presence that reading follows; leave asked and
approved; a swap checked against the law; the infeasible variant explained in words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import Conflict, PermissionDenied, ValidationError
from mutualis.domain.rosters import Leave, LeaveStatus, RosterEntry, ShiftKind, legal_problems
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.roster.territory import default_shifts
from mutualis.services import reading, rosters
from mutualis.services.rosters import RosterInfeasible
from mutualis.services.territories import load_territory
from tests.conftest import ROOT

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
START = date(2026, 12, 7)  # a Monday
COORD = User("coord", "Coordination", Role.COORDINATOR, "aveyron-pimm", sites=("rodez",))
MARTY = User("marty", "Dr Marty", Role.RADIOLOGIST, "aveyron-pimm", sites=("rodez",), rpps="12981010940")
VIDAL = "15759511197"


@pytest.fixture
def pimm(container: Container, communes: dict[str, Commune]) -> Territory:
    t = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)
    load_territory(container.uow(), t, source="t", actor="t", address=None, now=NOW)
    return t


def test_a_fortnight_is_solved_lawful_published_and_followed_by_reading(container: Container, pimm: Territory) -> None:
    rid = rosters.solve_roster(container.uow(), COORD, pimm.id, START, 14, time_limit_s=15, address=None, now=NOW)
    v = rosters.view(container.uow(), COORD, pimm.id, START, 14, run_id=rid)
    assert v.run is not None and v.run["status"] == "draft"
    assert legal_problems(list(v.entries), v.shifts) == []
    nights = [e for e in v.entries if v.shifts[e.shift].kind is ShiftKind.NIGHT_ON_CALL]
    assert sorted(e.day for e in nights) == [START + timedelta(days=n) for n in range(14)]  # every night covered
    with pytest.raises(PermissionDenied):
        rosters.publish(container.uow(), MARTY, rid, address=None, now=NOW)
    n = rosters.publish(container.uow(), COORD, rid, address=None, now=NOW)
    assert n >= len(v.entries)
    with pytest.raises(Conflict):
        rosters.publish(container.uow(), COORD, rid, address=None, now=NOW)
    # the night's radiologist is on duty for reading at 23:00, away from any site
    night = nights[3]
    at = datetime.combine(night.day, datetime.min.time()).replace(hour=22, tzinfo=UTC)  # 23:00 in Paris
    with container.uow() as uow:
        duty = reading.duty_now(uow, pimm, at)
    assert night.rpps in duty.on_duty and duty.site_of[night.rpps] is None
    # a radiologist sees the published month, a person's iCalendar holds their shifts
    seen = rosters.view(container.uow(), MARTY, pimm.id, START, 14)
    assert seen.entries == v.entries
    mine = [e for e in v.entries if e.rpps == MARTY.rpps]
    ics = rosters.ical(seen, MARTY.rpps)
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.count("BEGIN:VEVENT") == len(mine)


def test_leave_is_asked_approved_and_kept_by_the_next_roster(container: Container, pimm: Territory) -> None:
    leave = Leave(MARTY.rpps or "", START + timedelta(days=2), START + timedelta(days=6), "formation")
    with pytest.raises(PermissionDenied):
        rosters.request_leave(container.uow(), MARTY, pimm.id, Leave(VIDAL, START, START, "x"), address=None, now=NOW)
    with pytest.raises(ValidationError, match="leave refused"):
        rosters.request_leave(container.uow(), MARTY, pimm.id, Leave(MARTY.rpps or "", START, START - timedelta(
            days=1), ""), address=None, now=NOW)  # fmt: skip
    lid = rosters.request_leave(container.uow(), MARTY, pimm.id, leave, address=None, now=NOW)
    with pytest.raises(PermissionDenied):
        rosters.decide_leave(container.uow(), MARTY, lid, True, address=None, now=NOW)
    rosters.decide_leave(container.uow(), COORD, lid, True, address=None, now=NOW)
    with container.uow() as uow:
        assert uow.rosters.get_leave(lid).status is LeaveStatus.APPROVED  # type: ignore[union-attr]
    rid = rosters.solve_roster(container.uow(), COORD, pimm.id, START, 14, time_limit_s=10, address=None, now=NOW)
    v = rosters.view(container.uow(), COORD, pimm.id, START, 14, run_id=rid)
    assert not [e for e in v.entries if e.rpps == MARTY.rpps and leave.covers(e.day)]


def test_a_swap_that_breaks_the_law_is_refused_and_a_lawful_one_applied(container: Container,
                                                                       pimm: Territory) -> None:
    rid = rosters.solve_roster(container.uow(), COORD, pimm.id, START, 14, time_limit_s=10, address=None, now=NOW)
    rosters.publish(container.uow(), COORD, rid, address=None, now=NOW)
    v = rosters.view(container.uow(), COORD, pimm.id, START, 14)
    shift = {(e.day, e.rpps): e.shift for e in v.entries}
    night = next(e for e in v.entries if v.shifts[e.shift].kind is ShiftKind.NIGHT_ON_CALL and e.day > START)
    # someone who works the day after that night would get no rest if they took it
    tired = next(e.rpps for e in v.entries if e.day == night.day + timedelta(days=1) and e.rpps != night.rpps
                 and v.shifts[e.shift].profession == "radiologist" and (night.day, e.rpps) not in shift)
    sid = rosters.request_swap(container.uow(), COORD, rid, night.day, night.rpps, tired, address=None, now=NOW)
    with pytest.raises(ValidationError, match="break a rule") as refused:
        rosters.decide_swap(container.uow(), COORD, sid, True, address=None, now=NOW)
    assert any("after the night on call" in p.reason for p in refused.value.problems)
    assert rosters.view(container.uow(), COORD, pimm.id, START, 14).entries == v.entries  # nothing changed
    # a remote-reading day handed to a colleague who is off that day, qualified and rested: applied
    def lawful(tele: RosterEntry, b: str) -> bool:
        moved = [e for e in v.entries if not (e.day == tele.day and e.rpps == tele.rpps)] + [replace(tele, rpps=b)]
        return not [p for p in legal_problems(moved, v.shifts) if p.location.startswith(b)]

    def takers(tele: RosterEntry) -> list[str]:
        needs = v.shifts[tele.shift].qualification  # remote reading needs CT (or MR) in this territory
        return [p.rpps for p in pimm.practitioners if p.profession.value == "radiologist"
                and (tele.day, p.rpps) not in shift and (needs is None or needs in p.qualifications)
                and lawful(tele, p.rpps)]

    tele, taker = next((e, b) for e in v.entries if e.day > START and v.shifts[e.shift].kind is ShiftKind.REMOTE
                       for b in takers(e))
    day = tele.day
    sid = rosters.request_swap(container.uow(), COORD, rid, day, tele.rpps, taker, address=None, now=NOW)
    rosters.decide_swap(container.uow(), COORD, sid, True, address=None, now=NOW)
    after = {(e.day, e.rpps): e.shift for e in rosters.view(container.uow(), COORD, pimm.id, START, 14).entries}
    assert after[day, taker] == tele.shift and (day, tele.rpps) not in after
    with container.uow() as uow:
        rows = uow.presence.shifts(pimm.id, [s.id for s in pimm.sites], day, day)
    assert any(r.rpps == taker and r.role == "remote" for r in rows)
    assert not any(r.rpps == tele.rpps for r in rows)


def test_too_many_on_leave_is_explained_in_words(container: Container, pimm: Territory) -> None:
    radiologists = [p.rpps for p in pimm.practitioners if p.profession.value == "radiologist"]
    christmas = [Leave(r, date(2026, 12, 21), date(2026, 12, 27), "congés de Noël") for r in radiologists[:9]]
    with pytest.raises(RosterInfeasible) as refused:
        rosters.solve_roster(container.uow(), COORD, pimm.id, START, 28, time_limit_s=20, extra_leave=christmas,
                             address=None, now=NOW)  # fmt: skip
    text = refused.value.problems[0].reason
    assert text.startswith("Aucun planning ne respecte à la fois")
    # the on-call needs a CT reader: the leave of the 6 who read CT is the conflict
    assert "Garde de nuit du territoire du 21/12 au 27/12" in text and "congés de 6 personnes" in text
    with container.uow() as uow:
        assert uow.rosters.runs(pimm.id) == []  # nothing stored


def test_the_next_roster_follows_the_published_one(container: Container, pimm: Territory) -> None:
    """The night on call of the day before rests its radiologist on the first morning, and the
    weeks already worked count in the 48-hour average: Marty, who worked every day of the four
    weeks before (73.5 h a week), has nothing left under the rolling average for the fortnight."""
    shifts = {s.code: s for s in default_shifts(pimm)}
    first = START - timedelta(weeks=4)
    before = [RosterEntry(first + timedelta(days=n), MARTY.rpps or "", "J-rodez") for n in range(28)]
    before.append(RosterEntry(START - timedelta(days=1), VIDAL, "GN"))
    header = {"start_day": first, "days": 28, "status": "draft", "solver_status": "test", "objective": 0,
              "seconds": 0.0, "shifts": [rosters._shift_doc(s) for s in shifts.values()], "notes": {},
              "created_by": "test", "created_at": NOW}
    with container.uow() as uow:
        uow.rosters.set_status(uow.rosters.add_run(pimm.id, header, before), "published", NOW)
        uow.commit()
    with container.uow() as uow:
        p = rosters.problem(uow, pimm, START, 14)
    assert p.worked.weeks == 4 and p.worked.minutes[MARTY.rpps or ""] == 28 * shifts["J-rodez"].minutes
    rid = rosters.solve_roster(container.uow(), COORD, pimm.id, START, 14, time_limit_s=15, address=None, now=NOW)
    v = rosters.view(container.uow(), COORD, pimm.id, START, 14, run_id=rid)
    assert not [e for e in v.entries if e.rpps == VIDAL and e.day == START]
    assert not [e for e in v.entries if e.rpps == MARTY.rpps]
    assert legal_problems(list(v.entries), v.shifts, before=before, history=p.worked.minutes, history_weeks=4) == []
