"""Fewer changes for the same plan quality: every order the plan moves goes back to its place
in the reference plan (the current appointments; the first available slot for new orders)
when that place is still free in the plan (or taken by one order that can swap into the moved
order's place at no extra cost for it), lawful, costs the order no more (day and travel), and
runs within opening hours (no overtime). Each revert leaves the objective equal or lower,
so the coordinator reviews only the changes that buy something: a solver is indifferent
between equal-cost plans, patients and staff are not.

Reverting one order at a time cannot undo a chain (A took B's time, B took C's…), so
:func:`retime` then re-times each site-day whole: the same orders on the same machines, the
fewest possible away from their reference time, no order ending later than it did (no new
overtime), every rule kept (the exact timed model, CP-SAT, on that site-day alone). Machines
and days do not change, so neither does the plan's cost.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

from ortools.sat.python import cp_model

from mutualis.engines import cpsat
from mutualis.engines.schedule.book import Book
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import Placement
from mutualis.engines.schedule.model import TimedModel


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
    """The plan's orders overlapping ``[start, start + k's minutes)`` on machine ``i`` that day
    (from the site-day's items: not a scan of the whole plan)."""
    end = start + book.cal.minutes(k)
    return [q.order for q in book.items[book.cal.machines[i].site, day]
            if q.order >= 0 and q.order != k and q.machine == i and q.start < end and start < q.end]  # fmt: skip


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


def retime(cal: Calendar, reference: Sequence[Placement], plan: Sequence[Placement], *, seconds: float = 5.0,
           workers: int = 2) -> tuple[Placement, ...]:  # fmt: skip
    """``plan`` with each site-day re-timed to keep the most orders at their reference time (see
    the module's docstring); a site-day CP-SAT does not solve in time keeps its plan."""
    deadline = time.monotonic() + seconds
    ref = {p.order: p for p in reference}
    by_site_day: dict[tuple[str, int], list[Placement]] = defaultdict(list)
    for p in plan:
        by_site_day[cal.machines[cal.m[p.machine]].site, p.day].append(p)
    def retimed(p: Placement) -> bool:
        r = ref.get(p.order)
        return r is not None and (r.machine, r.day) == (p.machine, p.day) and r.minute != p.minute

    out: list[Placement] = []
    todo = sorted((group for group in by_site_day.values() if any(retimed(p) for p in group)),
                  key=lambda group: -sum(map(retimed, group)))  # the most re-timed first
    out += [p for group in by_site_day.values() if not any(retimed(p) for p in group) for p in group]
    for n, group in enumerate(todo):  # the time left shared equally among the site-days left
        share = (deadline - time.monotonic()) / (len(todo) - n)
        out += _retime_site_day(cal, ref, group, share, workers) if share > 0.02 else group
    return tuple(out)


def _retime_site_day(cal: Calendar, ref: dict[str, Placement], group: list[Placement], seconds: float,
                     workers: int) -> list[Placement]:  # fmt: skip
    g = cal.g
    tm = TimedModel.build(cal, {cal.o[p.order]: [(cal.m[p.machine], p.day)] for p in group})
    away: list[cp_model.IntVar] = []
    for p in group:
        k = cal.o[p.order]
        if not tm.options[k]:
            return group  # the model cannot place it where it is: leave the site-day alone
        (op,) = tm.options[k]
        tm.model.add(op.presence == 1)
        tm.model.add(op.start * g <= max(p.minute, cal.regular_end[op.machine][p.day] - cal.minutes(k)))
        tm.model.add_hint(op.start, p.minute // g)
        r = ref.get(p.order)
        if r is not None and (r.machine, r.day) == (p.machine, p.day) and r.minute % g == 0:
            a = tm.model.new_bool_var(f"away[{p.order}]")
            tm.model.add(op.start == r.minute // g).only_enforce_if(~a)
            away.append(a)
    tm.model.minimize(sum(away))
    solver = cpsat.solver(seconds, workers, floor=0.05)
    if solver.solve(tm.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return group
    return [Placement(p.order, p.machine, p.day, solver.value(tm.options[cal.o[p.order]][0].start) * g)
            for p in group]  # fmt: skip
