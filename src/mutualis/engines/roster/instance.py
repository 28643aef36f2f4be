"""The typed staff-rostering problem (the Curtois & Qu shift scheduling model).

A **roster** gives every member of staff one shift type or a day off on each day of the
horizon. Days are indices from 0 (a Monday); Saturday and Sunday are days ``7k + 5`` and
``7k + 6``. Inside the engine a roster is a tuple per member of staff (in ``instance.staff``
order) of shift indices (into ``instance.shifts``), :data:`OFF` for a day off.

Hard rules (a lawful roster keeps them all):

- at most one shift a day, none on the staff's fixed days off;
- succession: a shift may not be followed the next day by one of its ``forbidden_next``;
- workload: at most ``max_shifts`` of each type; total minutes in ``[min_minutes, max_minutes]``;
- consecutive shifts: at most ``max_consecutive`` worked days in a row (days before and after
  the horizon count as off); at least ``min_consecutive`` in a row and at least
  ``min_days_off`` days off in a row, except for a stretch that touches the start or the end of
  the horizon (the format assumes the stretch goes on outside it);
- weekends: at most ``max_weekends`` weekends with a shift on Saturday or Sunday.

Soft rules (the objective, lower is better): each unmet shift-on request and each granted
shift-off request costs its weight; each member of staff missing from or above a cover
requirement costs the cover's under or over weight.

Pure data: no I/O (parsing is :mod:`.curtois`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OFF = -1  # a day off in a roster
Roster = tuple[tuple[int, ...], ...]  # [staff][day] -> shift index or OFF


@dataclass(frozen=True)
class ShiftType:
    id: str
    minutes: int
    forbidden_next: tuple[str, ...] = ()  # shift ids that may not follow this one the next day


@dataclass(frozen=True)
class Staff:
    id: str
    max_shifts: tuple[tuple[str, int], ...]  # (shift id, most shifts of that type over the horizon)
    max_minutes: int
    min_minutes: int
    max_consecutive: int
    min_consecutive: int
    min_days_off: int
    max_weekends: int

    def max_of(self, shift: str) -> int:
        """Most shifts of type ``shift``; a type the line does not name is not limited."""
        for sid, limit in self.max_shifts:
            if sid == shift:
                return limit
        return 1 << 30


@dataclass(frozen=True)
class DayOff:
    staff: str
    day: int


@dataclass(frozen=True)
class ShiftRequest:
    """``on``: the staff wishes to work ``shift`` on ``day``; otherwise not to. Unmet: ``weight``."""

    staff: str
    day: int
    shift: str
    weight: int
    on: bool


@dataclass(frozen=True)
class Cover:
    day: int
    shift: str
    requirement: int
    under_weight: int
    over_weight: int


@dataclass(frozen=True)
class Balance:
    """Fairness (soft, not in the Curtois format): the members of ``staff`` work numbers of
    ``shifts`` (e.g. nights on call) within ``tolerance`` of each other; each shift of spread
    beyond costs ``weight``."""

    staff: tuple[str, ...]
    shifts: tuple[str, ...]
    tolerance: int = 1
    weight: int = 1_000


@dataclass(frozen=True)
class RosterInstance:
    days: int
    shifts: tuple[ShiftType, ...]
    staff: tuple[Staff, ...]
    days_off: tuple[DayOff, ...] = ()
    requests: tuple[ShiftRequest, ...] = ()
    cover: tuple[Cover, ...] = ()
    name: str = ""
    balance: tuple[Balance, ...] = ()

    @property
    def weeks(self) -> int:
        return self.days // 7

    def shift_index(self) -> dict[str, int]:
        return {s.id: n for n, s in enumerate(self.shifts)}

    def staff_index(self) -> dict[str, int]:
        return {p.id: n for n, p in enumerate(self.staff)}


def is_weekend(day: int) -> bool:
    return day % 7 in (5, 6)


def as_roster(rows: Sequence[Sequence[int]]) -> Roster:
    return tuple(tuple(int(v) for v in row) for row in rows)
