"""Fewer changes for the same plan quality: every order the plan moves goes back to its place
in the reference plan (the current appointments; the first available slot for new orders)
when that place is still free in the plan (or taken by one order that can swap into the moved
order's place at no extra cost for it), lawful, costs the order no more (day and travel), and
runs within opening hours (no overtime). Each revert leaves the objective equal or lower,
so the coordinator reviews only the changes that buy something: a solver is indifferent
between equal-cost plans, patients and staff are not.
"""

from __future__ import annotations

from collections.abc import Sequence

from mutualis.engines.schedule.book import Book
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import Placement


def _fits(book: Book, k: int, i: int, day: int, start: int) -> bool:
    cal = book.cal
    release_day, release_min = cal.release[k]
    if day < release_day or (day == release_day and start < release_min) or day >= cal.days:
        return False
    end = start + cal.minutes(k)
    if cal.overtime(i, day, end) > 0:
        return False
    if not any(a <= start and end <= b for a, b in book.gaps(i, day, cal.orders[k].needs_radiologist)):
        return False
    return book.staff_ok(k, i, day, start)


def _occupants(book: Book, k: int, i: int, day: int, start: int) -> list[int]:
    end = start + book.cal.minutes(k)
    return [q for q, (qi, qd, qs) in book.where.items()
            if q != k and qi == i and qd == day and qs < end and start < qs + book.cal.minutes(q)]  # fmt: skip


def _revert(book: Book, k: int, target: tuple[int, int, int]) -> bool:
    """Put order ``k`` at ``target``, alone or by swapping with the one order there; False (and
    the book unchanged) when neither is lawful at no extra cost."""
    cal = book.cal
    now = book.where.get(k)
    i, day, start = target
    if now is not None and cal.cost(k, i, day) > cal.cost(k, now[0], now[1]):
        return False
    occupants = _occupants(book, k, i, day, start)
    if len(occupants) > 1 or (occupants and now is None):
        return False
    if now is not None:
        book.remove(k)
    if not occupants:
        if _fits(book, k, i, day, start):
            book.place(k, i, day, start)
            return True
        if now is not None:
            book.place(k, *now)
        return False
    assert now is not None
    q = occupants[0]
    q_now = book.where[q]
    if cal.cost(q, now[0], now[1]) <= cal.cost(q, q_now[0], q_now[1]):
        book.remove(q)
        if _fits(book, k, i, day, start):
            book.place(k, i, day, start)
            if _fits(book, q, *now):
                book.place(q, *now)
                return True
            book.remove(k)
        book.place(q, *q_now)
    book.place(k, *now)
    return False


def stabilise(cal: Calendar, reference: Sequence[Placement], plan: Sequence[Placement]) -> tuple[Placement, ...]:
    book = Book(cal)
    book.load(list(plan))
    where = {p.order: (cal.m[p.machine], p.day, p.minute) for p in reference
             if p.order in cal.o and p.machine in cal.m}  # fmt: skip
    changed = True
    while changed:
        changed = False
        for k, o in enumerate(cal.orders):
            target = where.get(o.id)
            if target is not None and book.where.get(k) != target and _revert(book, k, target):
                changed = True
    return book.plan()
