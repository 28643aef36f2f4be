"""Large-neighbourhood search: free a region of the roster, re-optimise it with CP-SAT, keep the best.

Regions (:class:`.model.Region`), each kind with its own adaptive size:

- ``staff``: a few members of staff over the whole horizon (or as long a window as the cell
  budget allows): they exchange shifts between them;
- ``window``: every member of staff (or as many as the budget allows) over a few days;
- ``block``: more staff than ``staff`` over a window of a few weeks;
- ``split``: every member of staff (or as many as the budget allows) over two short windows
  anywhere in the horizon (a weekend worked here for one off there).

Half the staff of a region are drawn among those who can change a costly (day, shift) — under-
or over-covered — and the rest at random. A kind grows when CP-SAT proves its region optimal
within the time slice and shrinks when it does not; kinds that improved recently are drawn more.

Two sub-models are solved at a time, each by a single-threaded CP-SAT (``workers`` threads in
all). The incumbent hints every sub-model, so a sub-solve never returns worse. A result is merged
into the current roster — which the other thread may have changed meanwhile — and kept when the
merged roster is still lawful (every hard rule is per member of staff, so only the region's staff
are checked) and not worse; ties are kept (a plateau move). The best roster seen is kept apart:
after a long stall the current roster restarts from it, perturbed by a window re-optimised with
a noisy objective (an iterated local search), and the search goes on from there.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from mutualis.engines.roster.facts import Facts, IntArray
from mutualis.engines.roster.model import Region, build
from mutualis.engines.roster.validate import objective_array, staff_problems

Progress = Callable[[str, float], None]
CELL_CAP = 6_000  # most free cells in one sub-model
SLICE_S = 0.6  # time slice of one sub-solve, doubled after each STALL_STEP sub-solves without improvement
STALL_STEP = 16
KICK_AFTER = 64  # sub-solves without improvement before a perturbation
KICK_NOISE = 2  # most random weight per cell in a perturbation
KICK_SLACK = 0.02  # a perturbed roster may cost this share more than the best


@dataclass
class Kind:
    name: str
    size: float  # staff (staff, block) or days (window)
    low: float
    high: float
    tries: int = 0
    gains: int = 0
    score: float = 1.0  # running mean of the improvement per second


@dataclass
class LnsStats:
    iterations: int = 0
    improvements: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    kicks: int = 0


def _cost_cells(f: Facts, R: IntArray) -> tuple[np.ndarray, np.ndarray]:
    count = np.zeros((f.D, f.S), dtype=np.int64)
    e_idx, d_idx = np.nonzero(R >= 0)
    np.add.at(count, (d_idx, R[e_idx, d_idx]), 1)
    return f.has_cover & (count < f.req), f.has_cover & (count > f.req)


def _costly_staff(f: Facts, R: IntArray, rng: random.Random, k: int, days: range, avoid: set[int]) -> list[int]:
    """Up to ``k`` staff who could change an under- or over-covered cell in ``days``.

    For a missing shift, those who could take it without going over their most minutes come first
    (the others are at their limit: they would have to give up a shift elsewhere).
    """
    short, extra = _cost_cells(f, R)
    cells = [(d, s) for d in days for s in range(f.S) if short[d, s] or extra[d, s]]
    rng.shuffle(cells)
    worked = np.where(R >= 0, f.minutes[np.maximum(R, 0)], 0)
    room = f.max_minutes - worked.sum(axis=1)  # minutes each member of staff may still add
    picks: list[int] = []
    for d, s in cells[: 3 * k]:
        col = R[:, d]
        if short[d, s]:
            able = np.flatnonzero(f.allowed[:, d, s] & (col != s))
            roomy = [int(e) for e in able if room[e] + worked[e, d] >= f.minutes[s] and int(e) not in avoid]
            if roomy and rng.random() < 0.5:
                picks.append(rng.choice(roomy))
                continue
        else:
            able = np.flatnonzero(col == s)
        cand = [int(e) for e in able if int(e) not in avoid]
        if cand:
            picks.append(rng.choice(cand))
    return list(dict.fromkeys(picks))[:k]


def _region(kind: Kind, f: Facts, R: IntArray, rng: random.Random, busy: set[int]) -> Region:
    per_day = max(1.0, float(f.allowed.sum()) / (f.E * f.D))  # allowed shifts per staff-day
    if kind.name in ("window", "split"):
        length = max(2, min(f.D, round(kind.size)))
        n = min(f.E, max(2, int(CELL_CAP / (length * per_day))))
        if kind.name == "split" and 2 * length <= f.D:  # two windows of half the length, anywhere
            half = max(1, length // 2)
            a, b = rng.randrange(0, f.D - half + 1), rng.randrange(0, f.D - half + 1)
            days = tuple(sorted(set(range(a, a + half)) | set(range(b, b + half))))
            staff = tuple(range(f.E)) if n >= f.E else tuple(sorted(rng.sample(range(f.E), n)))
            return Region(staff, days[0], days[-1] + 1, days)
    else:
        n = max(1, min(f.E, round(kind.size)))
        length = f.D if kind.name == "staff" else min(f.D, max(7, 2 * f.D // max(3, n)))
        length = max(2, min(length, int(CELL_CAP / (n * per_day))))
    start = rng.randrange(0, f.D - length + 1)
    end = start + length
    if n >= f.E:
        return Region(tuple(range(f.E)), start, end)
    chosen = _costly_staff(f, R, rng, max(1, n // 2), range(start, end), busy)
    rest = [e for e in range(f.E) if e not in chosen and e not in busy]
    rng.shuffle(rest)
    chosen += rest[: n - len(chosen)]
    if len(chosen) < n:  # everyone else is busy: share
        others = [e for e in range(f.E) if e not in chosen]
        chosen += rng.sample(others, n - len(chosen))
    return Region(tuple(sorted(chosen)), start, end)


def _solve_region(f: Facts, incumbent: IntArray, region: Region, seed: int, limit: float, noise: int = 0
                  ) -> tuple[int, IntArray | None, int]:  # fmt: skip
    """Re-optimise ``region`` of ``incumbent``; ``noise`` > 0 adds a random weight in ``[-noise, noise]``
    to every cell (a perturbation: the answer is another roster of about the same cost)."""
    model = build(f, incumbent, region)
    if noise:
        rng = random.Random(seed)
        terms = model.objective_terms + [(rng.randint(-noise, noise), v) for v in model.x.values()]
        terms = [(c, v) for c, v in terms if c]
        model.model.minimize(cp_model.LinearExpr.weighted_sum([v for _, v in terms], [c for c, _ in terms]))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.linearization_level = 2
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = limit
    status = solver.solve(model.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return int(status), None, len(model.x)
    out = incumbent.copy()
    model.read(solver, out)
    return int(status), out, len(model.x)


def improve(f: Facts, R: IntArray, deadline: float, *, seed: int = 0, workers: int = 2,
            progress: Progress | None = None, stats: LnsStats | None = None) -> IntArray:  # fmt: skip
    """Improve lawful roster ``R`` until ``deadline`` (``time.monotonic()``); return the best found.

    The search works on a current roster: a sub-solve's answer replaces it when not worse. After
    :data:`KICK_AFTER` sub-solves without improvement, the current roster restarts from the best
    one, perturbed: a window re-optimised with a noisy objective (:func:`_solve_region`), kept when
    it costs at most :data:`KICK_SLACK` more than the best.
    """
    rng = random.Random(seed)
    stats = stats if stats is not None else LnsStats()
    best = R.copy()
    best_value = objective_array(f, best)
    cur, cur_value = best.copy(), best_value
    version = 0
    fixed_off = {(o.staff, o.day) for o in f.inst.days_off}
    staff_cells = max(1.0, float(f.allowed.sum()) / f.E)
    kinds = [
        Kind("staff", min(f.E, max(2.0, 300 / staff_cells)), 2, f.E),
        Kind("window", min(f.D, 7.0), 3, f.D),
        Kind("split", min(f.D, 8.0), 4, f.D),
        Kind("block", min(f.E, max(3.0, 600 / staff_cells)), 3, f.E),
    ]
    kick_kind = Kind("kick", min(f.D, 7.0), 3, f.D)
    stall = 0  # sub-solves since the last improvement of the current roster
    kicking = False  # a perturbation is running
    started = time.monotonic()
    total = max(1e-3, deadline - started)
    running: dict[Future[tuple[int, IntArray | None, int]], tuple[Kind, Region, float, int]] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        while True:
            left = deadline - time.monotonic()
            while left > 0.1 and best_value > 0 and len(running) < max(1, workers):
                busy = {e for _, reg, _, _ in running.values() for e in reg.staff}
                if stall >= KICK_AFTER and not kicking and left > 3.0:
                    kind, kicking, stall = kick_kind, True, 0
                    kind.size = max(3.0, min(f.D, 7.0 * rng.uniform(0.7, 1.5)))
                    region = _region(Kind("window", kind.size, 3, f.D), f, best, rng, busy)
                    fut = pool.submit(_solve_region, f, best.copy(), region, rng.randrange(1 << 30),
                                      min(left - 0.05, 2 * SLICE_S), KICK_NOISE)  # fmt: skip
                    running[fut] = (kind, region, time.monotonic(), -1)
                    continue
                kind = max(kinds, key=lambda k: k.score * (0.5 + rng.random())) if rng.random() < 0.7 \
                    else rng.choice(kinds)  # fmt: skip
                region = _region(kind, f, cur, rng, busy)
                limit = max(0.05, min(left - 0.05, SLICE_S * 2 ** min(3, stall // STALL_STEP)))
                fut = pool.submit(_solve_region, f, cur.copy(), region, rng.randrange(1 << 30), limit)
                running[fut] = (kind, region, time.monotonic(), version)
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                kind, region, t0, seen = running.pop(fut)
                status, cand, _cells = fut.result()
                spent = time.monotonic() - t0
                rows = list(region.staff)
                cols = region.day_list()
                if kind is kick_kind:
                    kicking = False
                    if cand is None:
                        continue
                    value = objective_array(f, cand)
                    stats.kicks += 1
                    if value <= best_value + max(1, round(KICK_SLACK * best_value)):
                        cur, cur_value = cand, value  # the best roster perturbed (no merge: a fresh start)
                        version += 1
                        if value < best_value:
                            best, best_value = cand.copy(), value
                    continue
                kind.tries += 1
                stats.iterations += 1
                gain = 0
                if cand is not None:
                    merged = cur.copy()
                    merged[np.ix_(rows, cols)] = cand[np.ix_(rows, cols)]
                    lawful = seen == version or not any(staff_problems(f.inst, e, merged[e].tolist(), fixed_off)
                                                        for e in rows)  # fmt: skip
                    value = objective_array(f, merged)
                    if lawful and value <= cur_value:
                        gain = cur_value - value
                        cur, cur_value = merged, value
                        version += 1
                        if value < best_value or (value == best_value and gain):
                            best, best_value = merged.copy(), value
                stall = 0 if gain else stall + 1
                if gain:
                    kind.gains += 1
                    stats.improvements += 1
                    stats.by_kind[kind.name] = stats.by_kind.get(kind.name, 0) + 1
                kind.score = 0.8 * kind.score + 0.2 * (gain / max(spent, 1e-3))
                grow = 1.1 if status == cp_model.OPTIMAL else 1 / 1.1
                kind.size = min(kind.high, max(kind.low, kind.size * grow))
            if progress is not None:
                progress(f"search: {best_value}", min(1.0, (time.monotonic() - started) / total))
    return best
