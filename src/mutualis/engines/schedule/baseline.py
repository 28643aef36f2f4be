"""Baselines: one order at a time in request order, as a booking desk does.

- :func:`first_available` — what a RIS does: each order takes the earliest lawful slot on any
  capable machine of the territory (ties: the shorter drive, then the machine id);
- :func:`best_slot` — what Mutualis's booking desk does today (engines/slots.py ranks slots by
  waiting, travel and lateness): each order takes the slot that costs least under the
  optimiser's own weights, given what is already booked.

Appointments that already have a place (``ScheduleOrder.current``) keep it: the current plan.
"""

from __future__ import annotations

from collections.abc import Callable

from mutualis.engines.schedule.book import Book
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import Placement

Progress = Callable[[str, float], None]


def _arrival(cal: Calendar) -> list[int]:
    return sorted((k for k, o in enumerate(cal.orders) if o.current is None),
                  key=lambda k: (cal.orders[k].requested_at, cal.orders[k].id))  # fmt: skip


def _start(cal: Calendar) -> Book:
    book = Book(cal)
    book.load([o.current for o in cal.orders if o.current is not None])
    return book


def earliest_anywhere(book: Book, k: int) -> tuple[int, int, int] | None:
    """(machine, day, start) of the earliest lawful slot of order ``k`` on any capable machine."""
    cal = book.cal
    for day in range(cal.first_day[k], cal.days):
        found = [(s, cal.travel_cost(k, i), cal.machines[i].id, i)
                 for i in cal.capable[k] if (s := book.earliest(k, i, day)) is not None]  # fmt: skip
        if found:
            s, _, _, i = min(found)
            return i, day, s
    return None


def cheapest(book: Book, k: int, avoid: set[tuple[str, int]] | frozenset[tuple[str, int]] = frozenset(),
             ) -> tuple[int, int, int] | None:  # fmt: skip
    """(machine, day, start) of the lawful slot of order ``k`` of least cost, outside the
    site-days ``avoid``: on each machine the earliest day is the cheapest (costs grow with the
    day), so one search per machine."""
    cal = book.cal
    best: tuple[int, int, str, int, int, int] | None = None
    span = range(cal.first_day[k], cal.days)
    for i in cal.capable[k]:
        travel = cal.travel_cost(k, i)
        site = cal.machines[i].site
        for day in span:
            if best is not None and cal.day_cost(k, day) + travel > best[0]:
                break
            if (site, day) in avoid:
                continue
            s = book.earliest(k, i, day)
            if s is not None:
                cand = (cal.day_cost(k, day) + travel, day * 1440 + s, cal.machines[i].id, i, day, s)
                best = cand if best is None else min(best, cand)
                break
    return None if best is None else best[3:]


def _serve(cal: Calendar, pick: Callable[[Book, int], tuple[int, int, int] | None],
           progress: Progress | None, label: str) -> tuple[Placement, ...]:  # fmt: skip
    book = _start(cal)
    order = _arrival(cal)
    for n, k in enumerate(order):
        found = pick(book, k)
        if found is not None:
            book.place(k, *found)
        if progress is not None and n % 500 == 0:
            progress(label, n / max(1, len(order)))
    if progress is not None:
        progress(label, 1.0)
    return book.plan()


def first_available(cal: Calendar, progress: Progress | None = None) -> tuple[Placement, ...]:
    return _serve(cal, earliest_anywhere, progress, "first available")


def best_slot(cal: Calendar, progress: Progress | None = None) -> tuple[Placement, ...]:
    return _serve(cal, cheapest, progress, "best slot")
