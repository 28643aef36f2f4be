"""Large-neighbourhood search on a complete plan, with the exact timed model (CP-SAT).

A neighbourhood is a set of site-days: every plan placement there is freed and may move to
any capable machine of those site-days, or leave for its best slot outside them at that slot's
cost (fixed appointments stay); the timed model re-solves them from the current placements
(its hint) and the answer is kept when the objective drops, else everything goes back. The
rest of the plan does not change: staffing and machines are per site-day, so nothing outside
can be broken (orders leaving take free slots, checked by :class:`.book.Book`).

Neighbourhoods are drawn around the orders that cost most above what they could cost (the
order's cheapest option on an empty calendar): for an order placed on day d, the sites of the
few cheapest capable machines, on the days from its first possible day to d — so an urgent
exam pushed to tomorrow can take today's slot of an outpatient who waits one more day.
"""

from __future__ import annotations

import time
from collections import defaultdict

from mutualis.engines.schedule.baseline import cheapest
from mutualis.engines.schedule.book import Book
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.model import TimedModel

MAX_FREED = 600  # placements freed in one neighbourhood


def _regret(cal: Calendar, book: Book, k: int) -> int:
    """What order ``k`` costs above its cheapest option on an empty calendar (which costs 0)."""
    i, d, _ = book.where[k]
    return cal.cost(k, i, d)


def neighbourhood(cal: Calendar, book: Book, k: int, sites: int = 3, span: int = 3) -> set[tuple[str, int]]:
    """Site-days around order ``k``: its current one, and those of the ``sites`` sites with its
    cheapest capable machines on up to ``span`` days from its first possible day."""
    i, d, _ = book.where[k]
    ranked = sorted({cal.machines[j].site for j in cal.capable[k]},
                    key=lambda s: min(cal.travel_cost(k, j) for j in cal.site_machines[s] if j in cal.capable[k]))
    first = cal.first_day[k]
    days = range(first, min(d, first + span - 1) + 1)
    return {(cal.machines[i].site, d)} | {(s, day) for s in ranked[:sites] for day in days}


def _cost(cal: Calendar, k: int, i: int, d: int, s: int) -> int:
    return cal.cost(k, i, d) + cal.inst.weights.overtime_per_minute * cal.overtime(i, d, s + cal.minutes(k))


def reoptimise(cal: Calendar, book: Book, area: set[tuple[str, int]], seconds: float, seed: int = 0) -> int:
    """Re-solve the placements of ``area`` exactly; returns the objective gained (0: unchanged).
    An order may also leave the area for its best slot outside, at that slot's cost."""
    freed = [k for k, (i, d, _) in book.where.items() if (cal.machines[i].site, d) in area]
    if not freed or len(freed) > MAX_FREED:
        return 0
    machines = defaultdict(list)
    for site, day in area:
        for i in cal.site_machines[site]:
            machines[day].append(i)
    options = {k: [(i, day) for day in machines for i in machines[day]
                   if i in cal.capable[k] and cal.feasible(k, i, day)] for k in freed}  # fmt: skip
    before = {k: book.where[k] for k in freed}
    cost_before = sum(_cost(cal, k, *at) for k, at in before.items())
    for k in freed:
        book.remove(k)
    exits = {k: cheapest(book, k, area) for k in freed}
    exit_cost = {k: _cost(cal, k, *at) if at is not None else cal.unplaced_cost(k) for k, at in exits.items()}
    out, plan = TimedModel.build(cal, options, exit_cost).solve(seconds, before, workers=2, seed=seed)
    if plan and out.objective < cost_before:
        for p in plan:
            book.place(cal.o[p.order], cal.m[p.machine], p.day, p.minute)
        inside = {cal.o[p.order] for p in plan}
        cost_after = sum(_cost(cal, k, *book.where[k]) for k in inside)
        for k in sorted((k for k in freed if k not in inside), key=lambda k: -exit_cost[k]):
            at = cheapest(book, k, area)
            if at is None:
                cost_after = cost_before + 1
                break
            book.place(k, *at)
            cost_after += _cost(cal, k, *at)
        if cost_after < cost_before:
            return cost_before - cost_after
        for k in [k for k in freed if k in book.where]:
            book.remove(k)
    for k, at in before.items():
        book.place(k, *at)
    return 0


def improve(cal: Calendar, book: Book, deadline: float, seed: int = 0, objective: int = 0,
            bound: int = 0) -> dict[str, int]:  # fmt: skip
    """Neighbourhoods around the costliest orders, the costliest first, until ``deadline`` or
    until the plan (of ``objective`` before) is within 0.1 % of ``bound``."""
    tried: set[frozenset[tuple[str, int]]] = set()
    gained = rounds = 0
    while time.monotonic() < deadline - 0.5 and objective - gained - bound > 1e-3 * (objective - gained):
        order = sorted(book.where, key=lambda k: -_regret(cal, book, k))
        progress = False
        for k in order[:200]:
            if _regret(cal, book, k) <= 0 or time.monotonic() > deadline - 0.5:
                break
            area = frozenset(neighbourhood(cal, book, k))
            if area in tried:
                continue
            tried.add(area)
            rounds += 1
            left = deadline - time.monotonic()
            gain = reoptimise(cal, book, set(area), min(5.0, max(0.5, left / 4)), seed + rounds)
            if gain > 0:
                gained += gain
                progress = True
                break
        if not progress:
            break
    return {"lns_neighbourhoods": rounds, "lns_gain": gained}
