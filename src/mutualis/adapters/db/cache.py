"""Per-process copies of what slot search reads on every request, each tagged with the version
stamp the database bumps in the same transaction as any change (equipment.bookings_version,
territories.presence_version). A reader reads the stamp first, then the rows, so a copy can be
tagged older than its content (it is reloaded next time) but never newer. Stateless web
processes stay stateless: a copy is only ever a shortcut, checked by one query."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mutualis.engines.slots import Busy


@dataclass
class MachineBook:
    """A machine's live bookings from ``floor`` on, in territory-local time, sorted by start."""

    version: int
    floor: datetime  # local; bookings starting before it are not in the copy
    items: list[Busy] = field(default_factory=list)

    def between(self, start: datetime, end: datetime) -> list[Busy]:
        """The bookings starting in [start − 1 day, end): a slice, no copy of each booking."""
        lo = bisect.bisect_left(self.items, start - _DAY, key=_start)
        hi = bisect.bisect_left(self.items, end, key=_start)
        return self.items[lo:hi]


def _start(b: Busy) -> datetime:
    return b.start


@dataclass
class PresenceBook:
    version: int
    floor: date
    by_site_day: dict[tuple[str, date], list[tuple[str, int, int, str]]] = field(default_factory=dict)


_DAY = timedelta(days=1)
MACHINES: dict[tuple[str, str, str], MachineBook] = {}  # (database, territory, machine) → copy
PRESENCE: dict[tuple[str, str], PresenceBook] = {}  # (database, territory) → copy
