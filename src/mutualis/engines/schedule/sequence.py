"""From days to minutes: each site-day's assigned orders get their start times, and what does
not fit is re-placed.

1. Per site-day, a list schedule: orders that stay on their reference machine-day keep their
   time when still lawful; the others by request time on that day (those requested earlier
   first), then priority, longest first, each at the earliest lawful start on its machine,
   else on another capable machine of the site (:class:`.book.Book` checks every rule). If some
   do not fit: the same without keeping times, then by priority first; the best is kept.
2. If urgent or inpatient orders still do not fit, the exact timed model (CP-SAT, the rule
   modules) re-times the whole site-day, the list schedule as its hint, and is kept when what
   it leaves out matters less.
3. What still does not fit is repaired: by priority, each takes its cheapest lawful slot
   anywhere given everything placed (:func:`.baseline.cheapest`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping

from mutualis.engines.schedule.baseline import cheapest
from mutualis.engines.schedule.book import Book
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import PRIORITIES
from mutualis.engines.schedule.model import TimedModel

Progress = Callable[[str, float], None]


def _by_release(cal: Calendar, day: int, k: int) -> tuple[int, int, int]:
    rd, rmin = cal.release[k]
    return (rmin if rd == day else 0, PRIORITIES.index(cal.orders[k].priority), -cal.minutes(k))


def _by_priority(cal: Calendar, day: int, k: int) -> tuple[int, int, int]:
    rd, rmin = cal.release[k]
    return (PRIORITIES.index(cal.orders[k].priority), rmin if rd == day else 0, -cal.minutes(k))


def _list_schedule(book: Book, site: str, day: int, ks: list[int], assigned: Mapping[int, tuple[int, int]],
                   key: Callable[[Calendar, int, int], tuple[int, int, int]],
                   keep: Mapping[int, tuple[int, int, int]]) -> list[int]:  # fmt: skip
    """Places ``ks``; those whose ``keep`` slot (machine, day, minute) is lawful first take it."""
    cal, failed = book.cal, []
    machines = cal.site_machines[site]
    rest = []
    for k in ks:
        i, d, s = keep.get(k, (-1, -1, -1))
        if (i, d) == assigned[k] and book.earliest(k, i, d, s) == s:
            book.place(k, i, d, s)
        else:
            rest.append(k)
    for k in sorted(rest, key=lambda k: key(cal, day, k)):
        first = assigned[k][0]
        for i in [first] + [j for j in machines if j != first and j in cal.capable[k]]:
            at = book.earliest(k, i, day)
            if at is not None:
                book.place(k, i, day, at)
                break
        else:
            failed.append(k)
    return failed


def _loss(cal: Calendar, failed: list[int]) -> int:
    return sum(cal.unplaced_cost(k) for k in failed)


def _best_list(book: Book, site: str, day: int, ks: list[int], assigned: Mapping[int, tuple[int, int]],
               keep: Mapping[int, tuple[int, int, int]]) -> list[int]:  # fmt: skip
    """List schedules, the first that places everything: keeping the reference times, by request
    time, by priority (urgent exams first); if none does, the one whose leftovers matter least."""
    best: tuple[int, list[int], dict[int, tuple[int, int, int]]] | None = None
    for key, kept in ((_by_release, keep), (_by_release, {}), (_by_priority, {})):
        failed = _list_schedule(book, site, day, ks, assigned, key, kept)
        if not failed:
            return failed
        loss = _loss(book.cal, failed)
        if best is None or loss < best[0]:
            best = (loss, failed, {k: book.where[k] for k in ks if k in book.where})
        for k in [k for k in ks if k in book.where]:
            book.remove(k)
    assert best is not None
    for k, (i, d, s) in best[2].items():
        book.place(k, i, d, s)
    return best[1]


def _exact(book: Book, site: str, day: int, ks: list[int], seconds: float, seed: int) -> list[int]:
    """Re-time the site-day with CP-SAT; the orders it leaves out (the list schedule's when it
    does no better)."""
    cal = book.cal
    placed = [k for k in ks if k in book.where]
    failed = [k for k in ks if k not in book.where]
    hint = {k: book.where[k] for k in placed}
    options = {k: [(i, day) for i in cal.site_machines[site] if i in cal.capable[k]] for k in ks}
    tm = TimedModel.build(cal, options)
    _, plan = tm.solve(seconds, hint, workers=1, seed=seed)
    kept = {cal.o[p.order] for p in plan}
    if not plan or _loss(cal, [k for k in ks if k not in kept]) >= _loss(cal, failed):
        return failed
    for k in placed:
        book.remove(k)
    for p in plan:
        book.place(cal.o[p.order], cal.m[p.machine], p.day, p.minute)
    return [k for k in ks if k not in book.where]


def time_days(cal: Calendar, assigned: Mapping[int, tuple[int, int]], book: Book, deadline: float,
              progress: Progress | None = None, seed: int = 0,
              keep: Mapping[int, tuple[int, int, int]] | None = None) -> list[int]:  # fmt: skip
    """Place the ``assigned`` (machine, day) orders into ``book``; returns those left over.
    ``keep``: reference slots (machine, day, minute), kept when the order stays on that
    machine-day and the slot is still lawful (no needless change of time for the patient)."""
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for k, (i, day) in assigned.items():
        groups[day, cal.machines[i].site].append(k)
    leftovers: list[int] = []
    for n, ((day, site), ks) in enumerate(sorted(groups.items())):
        failed = _best_list(book, site, day, ks, assigned, keep or {})
        left = deadline - time.monotonic()
        pressing = any(cal.orders[k].priority in ("urgent", "inpatient") for k in failed)
        if pressing and left > 2.0:
            failed = _exact(book, site, day, ks, min(1.0, left / 8), seed)
        leftovers += failed
        if progress is not None and n % 50 == 0:
            progress("timing", n / len(groups))
    return leftovers


def repair(book: Book, leftovers: list[int]) -> list[int]:
    """Place each leftover at its cheapest lawful slot, most pressing first; returns the unplaced."""
    cal, unplaced = book.cal, []
    for k in sorted(leftovers, key=lambda k: (PRIORITIES.index(cal.orders[k].priority), cal.due_day[k],
                                              cal.orders[k].requested_at)):  # fmt: skip
        found = cheapest(book, k)
        if found is None:
            unplaced.append(k)
        else:
            book.place(k, *found)
    return unplaced
