"""Rosters of a territory's radiologists and radiographers: shift definitions, who works which
shift on which day, leave, and the legal rules of working time, checked without a solver.

A **shift** has a code, the profession that works it, a site (``None``: remote reading or an
on-call of the whole territory), a start and an end in minutes from the day's midnight (an end
past 1,440 runs into the next day), a kind (day, remote, night on call, weekend day on call) and
the qualification it needs, if any (``MR`` for the radiographer of the MRI, ``mammo-L2`` for a
screening second reader).

Legal rules for hospital doctors (../shared/DOMAIN.md; French rules also applied here to
radiographers, whose own limits are no looser) — :func:`legal_problems` names every breach:

- **rest after a night on call**: 11 hours of rest immediately after every night on call, no
  work then;
- **daily rest**: at least 11 consecutive hours between two shifts;
- **24-hour stretch**: no continuous stretch of work over 24 hours (shifts that touch or overlap
  make one stretch);
- **48-hour average**: at most 48 hours a week averaged over 4 months (17 weeks, rolling) —
  over a shorter roster the cap applies to its own weeks (``history`` adds the minutes already
  worked in the weeks before it).

A roster follows the one before it: ``before`` (the shifts worked just before the roster) takes
part in the rest and stretch rules, so a night on call on the last day of November forbids work
on the morning of 1 December; its minutes belong in ``history``.

Pure data and rules: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise

from mutualis.domain.errors import Problem

DAY = 1_440
REST_AFTER_NIGHT_MIN = 11 * 60
DAILY_REST_MIN = 11 * 60
MAX_STRETCH_MIN = 24 * 60
WEEKLY_AVERAGE_MAX_MIN = 48 * 60
AVERAGE_WEEKS = 17  # about 4 months


class ShiftKind(StrEnum):
    DAY = "day"  # on site
    REMOTE = "remote"  # remote reading
    NIGHT_ON_CALL = "night_on_call"  # territory on-call night
    WEEKEND_ON_CALL = "weekend_on_call"  # weekend or holiday day on call


ON_CALL = frozenset({ShiftKind.NIGHT_ON_CALL, ShiftKind.WEEKEND_ON_CALL})


@dataclass(frozen=True)
class ShiftDefinition:
    code: str
    label: str  # French, shown on the pages
    profession: str  # radiologist | radiographer
    site: str | None
    start_min: int
    end_min: int  # may exceed 1,440: ends the next day
    kind: ShiftKind = ShiftKind.DAY
    qualification: str | None = None

    @property
    def minutes(self) -> int:
        return self.end_min - self.start_min

    def span(self, day: date) -> tuple[datetime, datetime]:
        midnight = datetime.combine(day, time())
        return midnight + timedelta(minutes=self.start_min), midnight + timedelta(minutes=self.end_min)


@dataclass(frozen=True)
class Contract:
    """A member of staff's contract: ``share`` of full time (1.0, 0.8, 0.5…), whether they
    work weekends and take on-call."""

    rpps: str
    share: float = 1.0
    weekends: bool = True
    on_call: bool = True


@dataclass(frozen=True, order=True)
class RosterEntry:
    day: date
    rpps: str
    shift: str  # ShiftDefinition.code


class LeaveStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True)
class Leave:
    rpps: str
    first: date
    last: date
    reason: str = "congé"
    status: LeaveStatus = LeaveStatus.APPROVED
    id: int | None = None

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class Counters:
    """One person's figures over a roster: hours, average week, nights and weekends on call."""

    rpps: str
    minutes: int
    weeks: float
    nights: int
    weekend_days: int
    weekends: int  # weekends with at least one shift
    sites: Mapping[str, int] = field(default_factory=dict)  # days per site

    @property
    def weekly_hours(self) -> float:
        return self.minutes / 60 / self.weeks if self.weeks else 0.0


def _spans(entries: Iterable[RosterEntry], shifts: Mapping[str, ShiftDefinition]
           ) -> dict[str, list[tuple[datetime, datetime, ShiftDefinition]]]:  # fmt: skip
    out: dict[str, list[tuple[datetime, datetime, ShiftDefinition]]] = defaultdict(list)
    for e in entries:
        s = shifts[e.shift]
        out[e.rpps].append((*s.span(e.day), s))
    for spans in out.values():
        spans.sort(key=lambda x: x[0])
    return out


def _hours(minutes: float) -> str:
    return f"{minutes / 60:.1f} h".replace(".0 h", " h")


def legal_problems(entries: Sequence[RosterEntry], shifts: Mapping[str, ShiftDefinition], *,
                   history: Mapping[str, int] | None = None, history_weeks: int = 0,
                   before: Sequence[RosterEntry] = ()) -> list[Problem]:  # fmt: skip
    """Every breach of the working-time rules, each located ``<rpps> <date>`` with its reason.
    ``before``: shifts worked before the roster, for the rest and stretch rules only (a breach
    between two of them is not this roster's)."""
    problems: list[Problem] = []
    unknown = sorted({e.shift for e in (*entries, *before) if e.shift not in shifts})
    if unknown:
        return [Problem("shift", f"unknown shift code {code!r}") for code in unknown]
    first_day = min((e.day for e in entries), default=None)
    for rpps, spans in _spans((*before, *entries), shifts).items():
        stretch_start, stretch_end = spans[0][0], spans[0][1]
        for (a0, a1, sa), (b0, b1, _) in pairwise(spans):
            if first_day is None or b0.date() < first_day:
                stretch_start, stretch_end = (stretch_start, max(stretch_end, b1)) if b0 <= stretch_end else (b0, b1)
                continue
            where = f"{rpps} {b0.date().isoformat()}"
            gap = (b0 - a1).total_seconds() / 60
            if sa.kind is ShiftKind.NIGHT_ON_CALL and gap < REST_AFTER_NIGHT_MIN:
                rest = "no rest" if gap <= 0 else f"only {_hours(gap)} of rest"
                problems.append(Problem(where, f"{rest} after the night on call of {a0:%d/%m} (11 h required)"))
            elif gap < 0:
                problems.append(Problem(where, f"two shifts overlap ({sa.code} until {a1:%d/%m %H:%M})"))
            elif 0 < gap < DAILY_REST_MIN:
                problems.append(Problem(where, f"only {_hours(gap)} of rest between two shifts (11 h required)"))
            if b0 <= stretch_end:
                stretch_end = max(stretch_end, b1)
            else:
                stretch_start, stretch_end = b0, b1
            if (stretch_end - stretch_start).total_seconds() / 60 > MAX_STRETCH_MIN:
                problems.append(Problem(where, f"a continuous stretch of "
                                               f"{_hours((stretch_end - stretch_start).total_seconds() / 60)} "
                                               f"from {stretch_start:%d/%m %H:%M} (24 h at most)"))
        for s0, _, s in spans:
            if s.minutes > MAX_STRETCH_MIN and first_day is not None and s0.date() >= first_day:
                problems.append(Problem(f"{rpps} {s0.date().isoformat()}", f"shift {s.code} lasts over 24 h"))
    problems += _weekly_average(entries, shifts, history or {}, history_weeks)
    return problems


@dataclass(frozen=True)
class Worked:
    """What was worked before a roster, as the published rosters say: ``before``, the shifts of
    the day before its first day with their definitions; ``minutes`` per person over the
    ``weeks`` before it (0: nothing published)."""

    before: tuple[tuple[RosterEntry, ShiftDefinition], ...] = ()
    minutes: Mapping[str, int] = field(default_factory=dict)
    weeks: int = 0

    def problems(self, entries: Sequence[RosterEntry], shifts: Mapping[str, ShiftDefinition]) -> list[Problem]:
        """:func:`legal_problems` of ``entries`` worked after this."""
        return legal_problems(entries, {**{s.code: s for _, s in self.before}, **shifts}, history=self.minutes,
                              history_weeks=self.weeks, before=tuple(e for e, _ in self.before))


def _weekly_average(entries: Sequence[RosterEntry], shifts: Mapping[str, ShiftDefinition],
                    history: Mapping[str, int], history_weeks: int) -> list[Problem]:  # fmt: skip
    if not entries:
        return []
    first = min(e.day for e in entries)
    last = max(e.day for e in entries)
    weeks = max(1, -(-((last - first).days + 1) // 7))
    minutes: dict[str, int] = defaultdict(int)
    for e in entries:
        minutes[e.rpps] += shifts[e.shift].minutes
    problems = []
    span = min(AVERAGE_WEEKS, weeks + history_weeks)
    for rpps, m in sorted(minutes.items()):
        total = m + history.get(rpps, 0)
        if total > WEEKLY_AVERAGE_MAX_MIN * span:
            problems.append(Problem(f"{rpps} {first.isoformat()}", f"{_hours(total / span)} a week on average over "
                                                                   f"{span} weeks (48 h at most)"))
    return problems


def counters(entries: Sequence[RosterEntry], shifts: Mapping[str, ShiftDefinition], first: date, days: int
             ) -> dict[str, Counters]:  # fmt: skip
    """Each person's figures over ``days`` days from ``first``."""
    by: dict[str, list[RosterEntry]] = defaultdict(list)
    for e in entries:
        if first <= e.day < first + timedelta(days=days):
            by[e.rpps].append(e)
    out = {}
    for rpps, mine in by.items():
        sites: dict[str, int] = defaultdict(int)
        weekends: set[date] = set()
        for e in mine:
            s = shifts[e.shift]
            if s.site:
                sites[s.site] += 1
            if e.day.weekday() >= 5:
                weekends.add(e.day - timedelta(days=e.day.weekday() - 5))
        out[rpps] = Counters(
            rpps, sum(shifts[e.shift].minutes for e in mine), days / 7,
            sum(shifts[e.shift].kind is ShiftKind.NIGHT_ON_CALL for e in mine),
            sum(shifts[e.shift].kind is ShiftKind.WEEKEND_ON_CALL for e in mine), len(weekends),
            dict(sites))  # fmt: skip
    return out
