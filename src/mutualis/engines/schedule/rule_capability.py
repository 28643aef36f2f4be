"""Capability: an order goes to one machine able to perform its exam (same modality, and the
exam in the machine's list when it has one), or stays unplaced (at the cost
``Calendar.unplaced_cost``, so only when nothing else is possible or the horizon is full).

Options are generated here: the (machine, day) pairs of capable machines where the order fits
on an otherwise empty calendar (opening hours, closures, fixed appointments, presence and its
earliest start: :meth:`.calendar.Calendar.feasible`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mutualis.engines.schedule.calendar import Calendar

if TYPE_CHECKING:
    from mutualis.engines.schedule.model import DayModel, TimedModel


def options(cal: Calendar, k: int, days: Sequence[int] | None = None) -> list[tuple[int, int]]:
    return cal.options(k, days)


def add_day(dm: DayModel) -> None:
    for k, opts in dm.options.items():
        dm.model.add_exactly_one([op.x for op in opts] + [dm.unplaced[k]])


def add_timed(tm: TimedModel) -> None:
    for k, opts in tm.options.items():
        tm.model.add_exactly_one([op.presence for op in opts] + [tm.unplaced[k]])
