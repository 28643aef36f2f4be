"""Solving an instance: ``solve(instance, time_limit_s) -> Solution``.

The reference plan is the current one: appointments keep their place and new orders take the
first available slot (:func:`.baseline.first_available`), or a plan the caller passes. It is
the incumbent: the proposal is never worse.

Small instances (a few thousand options) are solved whole by the exact timed model (CP-SAT,
all the rule modules); its status and bound are CP-SAT's.

Larger ones are decomposed, so that time grows about linearly with size:
1. **Relaxation** (:mod:`.relax`): the day-level LP by column generation, per modality, and a
   Lagrangian lower bound over every option of every order — the reported bound.
2. **Day assignment** (:class:`.model.DayModel`, CP-SAT): orders in blocks of consecutive
   request times (every modality of those days), each block re-optimised with what the others
   take held fixed (already solved blocks at their answer, the others at their LP share),
   starting from a greedy rounding of the LP that keeps every capacity. Options: all of them when the whole model is
   small (then CP-SAT's bound on it is a bound too), else the LP's columns, the reference's
   and the cheapest ones.
3. **Timing** (:mod:`.sequence`): a list schedule per site-day, the exact timed model where it
   fails, and a repair that places the leftovers at their cheapest lawful slot.
4. **Large-neighbourhood search** (:mod:`.lns`) with the exact timed model around the costliest
   orders, until the time limit.

Whatever the path, the plan is then **stabilised** (:mod:`.stabilise`): orders go back to their
reference place wherever that costs nothing, and each site-day is re-timed to keep the most
orders at their reference time, so that the proposal lists only changes that buy something
(a fifth of the time limit, at most 10 s, is kept for this).

The gap is (objective − bound) ÷ objective. CP-SAT runs with ``workers`` (2) threads.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mutualis.engines.schedule.baseline import first_available
from mutualis.engines.schedule.book import Book
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.explain import Change, changes
from mutualis.engines.schedule.instance import Placement, ScheduleInstance
from mutualis.engines.schedule.lns import improve
from mutualis.engines.schedule.model import DayModel, Outcome, TimedModel
from mutualis.engines.schedule.relax import Relaxation, relax
from mutualis.engines.schedule.sequence import repair, time_days
from mutualis.engines.schedule.stabilise import retime, stabilise
from mutualis.engines.schedule.validate import evaluate

Progress = Callable[[str, float], None]
EXACT_OPTIONS = 3_000  # options up to which the timed model is solved whole
FULL_DAY_OPTIONS = 80_000  # options up to which the day model holds every option
BLOCK_ORDERS = 4_000  # orders per day-model block
JOINT_LP_ORDERS = 20_000  # orders up to which one LP holds every modality
RETIME_SHARE, RETIME_MAX_S = 0.2, 10.0  # of the time limit, kept for re-timing the plan at the end


@dataclass(frozen=True)
class Solution:
    status: str  # OPTIMAL, FEASIBLE, or REFERENCE (nothing better than the reference found)
    plan: tuple[Placement, ...]
    objective: int
    bound: int
    bound_source: str
    gap: float
    wall_s: float
    reference_objective: int
    changes: tuple[Change, ...]
    stats: dict[str, float | int | str] = field(default_factory=dict)


def _gap(objective: int, bound: int) -> float:
    return 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)


def solve(instance: ScheduleInstance, time_limit_s: float = 30.0, progress: Progress | None = None, *,
          reference: Sequence[Placement] | None = None, workers: int = 2, seed: int = 0) -> Solution:  # fmt: skip
    t0 = time.monotonic()
    reserve = min(RETIME_MAX_S, RETIME_SHARE * time_limit_s)  # for re-timing at the end
    deadline = t0 + time_limit_s - reserve
    cal = Calendar(instance)
    ref = tuple(reference) if reference is not None else first_available(cal)
    ref_objective = evaluate(cal, ref).objective
    stats: dict[str, float | int | str] = {"orders": len(cal.orders), "machines": len(cal.machines),
                                           "days": cal.days}  # fmt: skip
    size = sum(len(c) * max(0, cal.days - cal.release[k][0]) for k, c in enumerate(cal.capable))
    stats["options_max"] = size
    if size <= EXACT_OPTIONS:
        plan, status, bound, source = _exact(cal, ref, deadline - time.monotonic(), workers, seed)
    else:
        plan, status, bound, source = _decomposed(cal, ref, t0, deadline, progress, workers, seed, stats)
    objective = evaluate(cal, plan).objective if plan else math.inf
    if objective > ref_objective:
        plan, objective, status = ref, ref_objective, "REFERENCE"
    else:
        steady = retime(cal, ref, stabilise(cal, ref, plan), workers=workers,
                        seconds=max(0.5, t0 + time_limit_s - time.monotonic()))
        steady_objective = evaluate(cal, steady).objective
        if steady_objective <= objective:  # always, by construction; kept as a guard
            plan, objective = steady, steady_objective
    obj = int(objective)
    if status == "FEASIBLE" and obj <= bound:
        status = "OPTIMAL"
    if progress is not None:
        progress("done", 1.0)
    return Solution(status, tuple(sorted(plan)), obj, bound, source, _gap(obj, bound), time.monotonic() - t0,
                    ref_objective, changes(cal, ref, tuple(plan)), stats)  # fmt: skip


def _exact(cal: Calendar, ref: tuple[Placement, ...], seconds: float, workers: int,
           seed: int) -> tuple[tuple[Placement, ...], str, int, str]:  # fmt: skip
    tm = TimedModel.build(cal, {k: cal.options(k) for k in range(len(cal.orders))})
    hint = {cal.o[p.order]: (cal.m[p.machine], p.day, p.minute) for p in ref if p.order in cal.o}
    out, plan = tm.solve(seconds, hint, workers, seed)
    bound = math.ceil(out.bound - 1e-6) if out.status in ("OPTIMAL", "FEASIBLE") else 0
    return tuple(plan), out.status, bound, "CP-SAT bound of the whole timed model"


def _decomposed(cal: Calendar, ref: tuple[Placement, ...], t0: float, deadline: float, progress: Progress | None,
                workers: int, seed: int, stats: dict[str, float | int | str]) -> tuple[
                    tuple[Placement, ...], str, int, str]:  # fmt: skip
    budget = deadline - t0
    start = {cal.o[p.order]: (cal.m[p.machine], p.day) for p in ref if p.order in cal.o}
    if progress is not None:
        progress("relaxation", 0.0)
    rel = relax(cal, 0.3 * budget, start, joint=len(cal.orders) <= JOINT_LP_ORDERS)
    stats.update(lp_rounds=rel.rounds, lp_optimal=str(rel.lp_optimal), lp_value=round(rel.lp_value, 1),
                 relaxation_s=round(time.monotonic() - t0, 1))  # fmt: skip
    bound, source = rel.bound, "Lagrangian bound of the day-level relaxation (LP duals)"
    hint = dict(start)
    for k, cols in rel.columns.items():
        i, d, _ = max(cols, key=lambda c: c[2])
        hint[k] = (i, d)
    full = int(stats["options_max"]) <= FULL_DAY_OPTIONS
    assigned, day_bound = _assign(cal, rel, hint, start, full, t0 + 0.7 * budget, progress, workers, seed)
    if full and day_bound > bound:
        bound, source = day_bound, "CP-SAT bound of the day-level relaxation (every option)"
    stats["assignment_s"] = round(time.monotonic() - t0, 1)
    stats["assignment_cost"] = sum(cal.cost(k, i, d) for k, (i, d) in assigned.items()) + sum(
        cal.unplaced_cost(k) for k in range(len(cal.orders)) if k not in assigned)
    book = Book(cal)
    keep = {cal.o[p.order]: (cal.m[p.machine], p.day, p.minute) for p in ref if p.order in cal.o}
    leftovers = time_days(cal, assigned, book, deadline, progress, seed, keep)
    leftovers += [k for k in range(len(cal.orders)) if k not in assigned and cal.capable[k]]
    stats["leftovers"] = len(leftovers)
    unplaced = repair(book, leftovers)
    stats.update(unplaced=len(unplaced), timing_s=round(time.monotonic() - t0, 1))
    stats.update(improve(cal, book, deadline, seed, evaluate(cal, book.plan()).objective, bound))
    return book.plan(), "FEASIBLE", bound, source


def _usage(cal: Calendar, k: int, i: int, day: int, share: float, machine: dict[tuple[int, int], float],
           staff: dict[tuple[str, int, str], float], late: dict[tuple[int, int], list[tuple[int, float]]]) -> None:
    minutes = cal.minutes(k) * share
    site = cal.machines[i].site
    machine[i, day] += minutes
    for row in cal.staff_rows(site, day):
        if row.takes(i, cal.orders[k].needs_radiologist):
            staff[site, day, row.kind] += minutes
    rd, rmin = cal.release[k]
    if day == rd and rmin > 0:
        late[i, day].append((rmin, minutes))


def _net(late: dict[tuple[int, int], list[tuple[int, float]]]) -> dict[tuple[int, int], list[tuple[int, float]]]:
    """Minutes per earliest start, the block's own (negative) entries netted out."""
    out: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for key, items in late.items():
        by: dict[int, float] = defaultdict(float)
        for r, m in items:
            by[r] += m
        kept = [(r, m) for r, m in by.items() if m > 1e-6]
        if kept:
            out[key] = kept
    return out


def _blocks(cal: Calendar, ks: list[int]) -> list[list[int]]:
    """Orders by request time, cut into blocks of at most ``BLOCK_ORDERS``: a block holds every
    modality of its days, so that the staff a site-day shares is shared within one model."""
    ordered = sorted(ks, key=lambda k: (cal.release[k], cal.orders[k].id))
    pieces = max(1, math.ceil(len(ordered) / BLOCK_ORDERS))
    step = math.ceil(len(ordered) / pieces)
    return [ordered[j:j + step] for j in range(0, len(ordered), step)]


def _shares(rel: Relaxation, hint: dict[int, tuple[int, int]], k: int) -> list[tuple[int, int, float]]:
    """What order ``k`` takes while its block is not solved: its LP columns, else its hint."""
    if rel.columns.get(k):
        return rel.columns[k]
    return [(*hint[k], 1.0)] if k in hint else []


def _assign(cal: Calendar, rel: Relaxation, hint: dict[int, tuple[int, int]], start: dict[int, tuple[int, int]],
            full: bool, deadline: float, progress: Progress | None, workers: int,
            seed: int) -> tuple[dict[int, tuple[int, int]], int]:  # fmt: skip
    """(machine, day) per order by CP-SAT over blocks; also CP-SAT's bound when ``full``."""
    ks = [k for k in range(len(cal.orders)) if cal.capable[k] and cal.release[k][0] < cal.days]
    blocks = [ks] if full else _blocks(cal, ks)
    used_m: dict[tuple[int, int], float] = defaultdict(float)
    used_s: dict[tuple[str, int, str], float] = defaultdict(float)
    used_late: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for k in ks:
        for i, d, x in _shares(rel, hint, k):
            _usage(cal, k, i, d, x, used_m, used_s, used_late)
    # each modality's LP had the whole staff of a site-day: scale the shares down to fit it
    caps = {(site, d, row.kind): row.capacity for site, d, _ in used_s for row in cal.staff_rows(site, d)}
    scale = {key: min(1.0, caps[key] / v) if v > 0 else 1.0 for key, v in used_s.items()}
    for key in used_s:
        used_s[key] *= scale[key]
    assigned: dict[int, tuple[int, int]] = {}
    day_bound = 0
    remaining = sum(len(b) for b in blocks)
    for n, block in enumerate(blocks):
        own: dict[tuple[str, int, str], float] = defaultdict(float)
        for k in block:  # the block's own orders leave the usage of the others
            for i, d, x in _shares(rel, hint, k):
                _usage(cal, k, i, d, -x, used_m, own, used_late)
        for key, v in own.items():
            used_s[key] += v * scale.get(key, 1.0)
        taken_m = {key: max(0, int(v + 1e-6)) for key, v in used_m.items()}
        taken_s = {key: max(0, int(v + 1e-6)) for key, v in used_s.items()}
        options = {k: cal.options(k) if full else _options(cal, rel, k, hint, start) for k in block}
        taken_l = _net(used_late)
        prefer = {k: [(i, d) for i, d, _ in sorted(rel.columns.get(k, ()), key=lambda c: -c[2])]
                  + ([hint[k]] if k in hint else []) for k in block}  # fmt: skip
        confidence = {k: max((x for _, _, x in rel.columns.get(k, ())), default=0.0) for k in block}
        dm = DayModel.build(cal, options, taken_m, taken_s, taken_l)
        start_block = dm.greedy(prefer, confidence)  # keeps every capacity: a feasible start for CP-SAT
        widened: set[int] = set()
        for _ in range(3):  # those left out get every option they have, and the greedy runs again
            missing = [k for k in block if k not in start_block and k not in widened]
            if full or not missing:
                break
            for k in missing:
                options[k] = cal.options(k)
            widened.update(missing)
            dm = DayModel.build(cal, options, taken_m, taken_s, taken_l)
            start_block = dm.greedy(prefer, confidence)
        seconds = (deadline - time.monotonic()) * len(block) / max(1, remaining)
        remaining -= len(block)
        if seconds < 0.5:  # no time left for CP-SAT: the greedy answer stands
            out, found = Outcome("UNKNOWN", math.nan, math.nan, 0.0), dict(start_block)
        else:  # unhinted: a hint pulls CP-SAT's search towards the greedy answer, and it stays there
            out, found = dm.solve(seconds, {}, workers, seed)
            if _day_cost(cal, block, found) > _day_cost(cal, block, start_block):
                found = dict(start_block)
        if full and out.status in ("OPTIMAL", "FEASIBLE"):
            day_bound = math.ceil(out.bound - 1e-6) + sum(
                cal.unplaced_cost(k) for k in range(len(cal.orders)) if k not in set(ks))
        for k in block:
            now = found.get(k)
            if now is not None:
                assigned[k] = now
                _usage(cal, k, now[0], now[1], 1.0, used_m, used_s, used_late)
        if progress is not None:
            progress("assignment", (n + 1) / len(blocks))
    return assigned, day_bound


def _day_cost(cal: Calendar, block: list[int], found: dict[int, tuple[int, int]]) -> int:
    return sum(cal.cost(k, *found[k]) if k in found else cal.unplaced_cost(k) for k in block)


def _options(cal: Calendar, rel: Relaxation, k: int, hint: dict[int, tuple[int, int]],
             start: dict[int, tuple[int, int]]) -> list[tuple[int, int]]:  # fmt: skip
    found = {(i, d) for i, d, _ in rel.columns.get(k, ())}
    found |= {(i, d) for i, d, _ in rel.reduced.get(k, ())}
    for src in (hint, start):
        if k in src:
            found.add(src[k])
    extra = {(i, d + step) for i, d in found for step in (-1, 1, 2, 3)}
    found |= {(i, d) for i, d in extra if cal.feasible(k, i, d)}
    return sorted(found)
