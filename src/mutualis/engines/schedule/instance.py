"""The typed problem of the appointment optimiser: what to place, where it may go, who is there.

Everything is territory-local and naive, like engines/slots.py. Times inside the optimiser are
small integers: a **day** is an index from ``ScheduleInstance.start`` (day 0), a **minute** is
counted from that day's midnight.

Slot granularity (``slot_min``): 5 minutes by default. Every exam of the shipped catalogues
lasts a multiple of 5 minutes (10 to 45), slot search (engines/slots.py) already steps by 5
minutes, so nothing is rounded up; with 15-minute slots a 10-minute X-ray would hold 15
minutes (+50 %) and 20- or 25-minute exams 30 (+50 %, +20 %). The model's size does not grow
with a finer grid: an interval variable is one variable whatever its domain, and the
day-level model does not look at minutes at all.

Orders carry their duration in slots; fixed appointments (already announced to the patient)
carry minutes, since they were booked outside the optimiser and need not sit on its grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mutualis.engines.slots import Shift

PRIORITIES = ("urgent", "inpatient", "outpatient", "screening")


def _default_wait() -> dict[str, int]:
    return {"urgent": 1_000, "inpatient": 200, "outpatient": 20, "screening": 5}


@dataclass(frozen=True)
class ScheduleWeights:
    """Weights of the objective (lower is better), integers because CP-SAT needs them.

    Lexicographic in spirit — urgent lateness ≫ due-date lateness ≫ patient travel ≫ waiting ≫
    overtime — with room for trade-offs between neighbours:

    - ``urgent_late_per_day`` 100,000: each day an urgent exam happens after its due date;
    - ``late_per_day`` 10,000: each day another exam happens after its due date (one day late
      weighs as much as 1,000 minutes of extra driving, so no detour is refused to stay on time);
    - ``travel_per_minute`` 10: each minute of one-way driving (estimated, engines/travel.py);
    - ``wait_per_day`` by priority: urgent 1,000, inpatient 200 (a hospital bed-day),
      outpatient 20, screening 5: for an outpatient, two days of waiting weigh as much as four
      minutes of driving, so patients keep their nearest machine unless it makes them wait long;
    - ``overtime_per_minute`` 1: each minute a machine runs past its last opening range (only
      when the instance allows overtime, ``ScheduleInstance.overtime_min`` > 0);
    - ``unplaced_days`` 7: an order the plan cannot place costs as if it were placed this many
      days after the horizon, at its farthest capable site.

    Counted from what no plan can avoid (see :mod:`.calendar`): waiting from the first day the
    order could be done at all, lateness after the later of its due date and that day, travel
    beyond the nearest capable site. These constants would add the same amount to every plan
    and hide the differences behind a small gap.
    All values are assumptions, to tune per territory.
    """

    urgent_late_per_day: int = 100_000
    late_per_day: int = 10_000
    travel_per_minute: int = 10
    wait_per_day: Mapping[str, int] = field(default_factory=_default_wait)
    overtime_per_minute: int = 1
    unplaced_days: int = 7

    def late(self, priority: str) -> int:
        return self.urgent_late_per_day if priority == "urgent" else self.late_per_day

    def wait(self, priority: str) -> int:
        return self.wait_per_day.get(priority, self.wait_per_day.get("outpatient", 20))


@dataclass(frozen=True, order=True)
class Placement:
    """Where and when an order (or a movable appointment) takes place."""

    order: str
    machine: str
    day: int  # days since the horizon's start
    minute: int  # start, minutes since that day's midnight


@dataclass(frozen=True)
class ScheduleOrder:
    """An order to place, or an appointment not yet announced (``current`` set: it may move)."""

    id: str
    exam: str
    modality: str
    duration: int  # slots of ``ScheduleInstance.slot_min`` minutes
    priority: str
    requested_at: datetime
    not_before: datetime  # earliest start (request instant, or midnight of the not-before date)
    due: date
    commune: str  # INSEE code travel is counted from
    needs_radiologist: bool = False
    current: Placement | None = None


@dataclass(frozen=True)
class FixedAppointment:
    """An appointment already announced: it stays where it is and takes capacity and staff."""

    id: str
    machine: str
    day: int
    minute: int
    duration_min: int
    needs_radiologist: bool = False

    @property
    def end(self) -> int:
        return self.minute + self.duration_min


@dataclass(frozen=True)
class ScheduleMachine:
    """A machine: ``hours[w]`` are the opening ranges of weekday ``w`` (0 = Monday) in minutes;
    closures are naive datetime ranges (end exclusive); ``exams`` empty means every exam of
    its modality."""

    id: str
    site: str
    modality: str
    hours: tuple[tuple[tuple[int, int], ...], ...]  # 7 weekdays
    closures: tuple[tuple[datetime, datetime], ...] = ()
    exams: frozenset[str] = frozenset()

    def can_do(self, order: ScheduleOrder) -> bool:
        return self.modality == order.modality and (not self.exams or order.exam in self.exams)


@dataclass(frozen=True)
class ScheduleInstance:
    """One planning problem: place ``orders`` on ``machines`` over ``days`` days from ``start``.

    ``shifts`` say who is present (engines/slots.py :class:`Shift`; rosters later); ``travel``
    gives the driving minutes from a commune to a site (every pair an order may need);
    ``overtime_min`` lets a machine run that many minutes past its last range of the day, at
    ``weights.overtime_per_minute`` a minute (0: opening hours are strict).
    """

    start: date
    days: int
    orders: tuple[ScheduleOrder, ...]
    machines: tuple[ScheduleMachine, ...]
    shifts: tuple[Shift, ...]
    travel: Mapping[tuple[str, str], int]
    fixed: tuple[FixedAppointment, ...] = ()
    sites: Mapping[str, str] = field(default_factory=dict)  # site id → name, for explanations
    weights: ScheduleWeights = field(default_factory=ScheduleWeights)
    slot_min: int = 5
    overtime_min: int = 0
    name: str = ""

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def instant(self, day: int, minute: int) -> datetime:
        return datetime.combine(self.date_of(day), datetime.min.time()) + timedelta(minutes=minute)

    def day_minute(self, when: datetime) -> tuple[int, int]:
        """(day index, minute) of an instant; the day may be negative or past the horizon."""
        day = (when.date() - self.start).days
        return day, when.hour * 60 + when.minute + (1 if when.second or when.microsecond else 0)

    def current_plan(self) -> tuple[Placement, ...]:
        return tuple(o.current for o in self.orders if o.current is not None)
