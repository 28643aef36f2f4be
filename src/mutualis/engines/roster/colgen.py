"""Column generation and diving: a first roster close to the LP bound, and a proven lower bound.

Every hard rule concerns one member of staff, and only the cover ties them together. So the
roster is a choice of one lawful row (a *column*) per member of staff, and the master problem is
a set partitioning: each member of staff takes one column, each covered (day, shift) counts the
columns that work it, under- and over-cover priced by their weights::

    min  Σ cost(col)·λ + Σ under_w·u + over_w·o
    s.t. Σ_{col of e} λ = 1                          (π_e)      for each member of staff e
         Σ_{col working (d,s)} λ + u − o = req[d,s]  (y[d,s])  for each covered cell

1. **Root.** The LP relaxation of the master (GLOP, kept and re-solved as columns come) over the
   columns known, then for each member of staff a *pricing* problem: the lawful row of least
   reduced cost ``cost(row) − Σ y·worked − π_e`` under that member's hard rules alone — the
   labelling walk of :mod:`.labelling` (exact, about a millisecond), or CP-SAT on
   :mod:`.rule_succession`, :mod:`.rule_workload`, :mod:`.rule_consecutive` and
   :mod:`.rule_weekends` when the walk's state space is too large; two at a time; every
   improving row found becomes a column. The duals priced are smoothed towards those of the best
   bound so far (Wentges). Repeated until no row prices out. On the Curtois instances the LP
   value is the best known value or within 0.3 % of it.
2. **Lower bound.** When every pricing problem is proven optimal, the Lagrangian bound
   ``Σ y·req + Σ_e min_row(cost(row) − Σ y·worked)`` is a valid lower bound of the objective
   (the duals are within ``−over_w ≤ y ≤ under_w``); the rounding of the duals to integers for
   CP-SAT is accounted for.
3. **Dives.** The columns at 0.9 or more in the LP are fixed, else the tenth of the staff left
   whose largest column is largest; then pricing until no column prices out; again, until every
   member of staff has a column. Then the dive is undone (its columns stay) and the next dive
   starts from the root's LP with its values scaled by random factors (:data:`NOISE`), until a
   dive reaches the bound or :data:`DIVE_SHARE` of the time is spent. The best roster is kept.
4. **The rest.** When time runs out in a dive, each member of staff left takes one of their
   columns: largest LP value first, the column the cover needs most given the others, then
   column swaps while one lowers the objective. Every column is a lawful row, so the roster is
   lawful. CP-SAT then re-optimises those members together over the whole horizon for the time
   left.

The roster returned is lawful; :mod:`.lns` goes on from it. The fairness groups (``balance``,
the territory's rosters) are not in the master: the caller leaves instances that have them to
the large-neighbourhood search alone.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import ortools.linear_solver.pywraplp as pywraplp
from ortools.sat.python import cp_model

from mutualis.engines import cpsat
from mutualis.engines.roster import labelling, rule_consecutive, rule_succession, rule_weekends, rule_workload
from mutualis.engines.roster.facts import Facts, IntArray
from mutualis.engines.roster.model import Region, RegionModel, build
from mutualis.engines.roster.validate import objective_array

Progress = Callable[[str, float], None]
Row = tuple[int, ...]
SCALE = 1000  # reduced costs are rounded to 1/SCALE for CP-SAT
PRICE_S = 0.3  # most seconds of one pricing problem
SMOOTH = 0.3  # Wentges' smoothing of the duals at the root
FIX_SHARE = 0.1  # share of the staff left fixed at each step of the dive (when none is at 1)
ROUNDS = 50  # most pricing rounds after each fixing step of the dive
KEEP = 30  # columns kept per member of staff when the LP is purged
PURGE = 60  # the LP is purged when it holds more columns than this per member of staff
NOISE = 0.3  # the LP values of the dives after the first are scaled by a random factor within 1 ± NOISE
DIVE_SHARE = 0.8  # of the time given, the root and the dives take at most this share; the rest re-optimises
COLGEN_CELLS = 20_000  # allowed (staff, day, shift) cells up to which column generation is used


@dataclass
class ColgenStats:
    iterations: int = 0
    columns: int = 0
    root_lp: float | None = None
    root_seconds: float | None = None
    bound: int = 0
    fixed: int = 0
    dive_objective: int | None = None
    lp_failed: bool = False
    dives: int = 0


class LpFailed(Exception):
    """The master LP could not be solved (a numerical failure of GLOP)."""


class _Collect(cp_model.CpSolverSolutionCallback):
    """Every row the pricing solver meets on its way to the best one."""

    def __init__(self, xs: list[tuple[tuple[int, int, int], cp_model.IntVar]], days: int) -> None:
        super().__init__()
        self.xs, self.days = xs, days
        self.rows: list[Row] = []

    def on_solution_callback(self) -> None:
        row = [-1] * self.days
        for (_, d, s), v in self.xs:
            if self.boolean_value(v):
                row[d] = s
        self.rows.append(tuple(row))


class _Pricer:
    """One member of staff's pricing problem: the labelling walk, or when the walk declines, their
    hard rules as a CP-SAT model whose objective changes with the duals."""

    def __init__(self, f: Facts, e: int) -> None:
        self.f, self.e = f, e
        self.labeller = labelling.Labeller(f, e)
        self.cost = (f.off_w[e] - f.on_w[e]).astype(np.float64)
        m = RegionModel(f, np.full((f.E, f.D), -1, dtype=np.int64), Region((e,), 0, f.D))
        for rule in (rule_succession, rule_workload, rule_consecutive, rule_weekends):
            rule.add(m)
        m.model.clear_hints()  # type: ignore[no-untyped-call]
        self.model = m.model
        self.xs = list(m.x.items())
        self.cells = (np.array([d for (_, d, _), _ in self.xs], dtype=np.int64),
                      np.array([s for (_, _, s), _ in self.xs], dtype=np.int64))
        self.request = self.cost[self.cells]  # the CP-SAT variables' request costs

    def price(self, y: np.ndarray, limit: float, seed: int) -> tuple[list[Row], float | None]:
        """The rows met, and a lower bound of ``min Σ (request − y)·x`` when proven (else None)."""
        walked = self.labeller.price(self.cost - y)
        if walked is not None:
            return walked
        coefs = np.rint((self.request - y[self.cells]) * SCALE).astype(np.int64)
        pairs = [(v, int(c)) for (_, v), c in zip(self.xs, coefs, strict=True) if c]
        self.model.minimize(cp_model.LinearExpr.weighted_sum([v for v, _ in pairs], [c for _, c in pairs]))
        solver = cpsat.solver(limit, 1, seed, floor=0.02)
        found = _Collect(self.xs, self.f.D)
        status = solver.solve(self.model, found)
        if status != cp_model.OPTIMAL:
            return found.rows, None
        # each worked cell's coefficient is off by at most 1/2 in SCALE units
        return found.rows, (solver.best_objective_bound - 0.5 * self.f.D) / SCALE


class _Master:
    """The LP relaxation of the set partitioning, kept by GLOP and grown column by column."""

    def __init__(self, f: Facts) -> None:
        self.f = f
        self.columns: list[dict[Row, tuple[int, pywraplp.Variable]]] = [{} for _ in range(f.E)]
        self.fixed: dict[int, Row] = {}
        self.constant = [int(f.on_w[e].sum()) for e in range(f.E)]
        self.center: np.ndarray | None = None  # the duals of the best Lagrangian bound so far
        self.center_bound = -math.inf
        self._build([[] for _ in range(f.E)])

    def _build(self, known: list[list[Row]]) -> None:
        """A new LP: the rows, the slacks, and the columns ``known`` of each member of staff with
        their bounds."""
        f = self.f
        lp = self.lp = pywraplp.Solver.CreateSolver("GLOP")
        self.objective = lp.Objective()
        self.objective.SetMinimization()
        self.one = [lp.Constraint(1, 1) for _ in range(f.E)]
        self.cover: dict[tuple[int, int], pywraplp.Constraint] = {}
        for d, s in zip(*np.nonzero(f.has_cover), strict=True):
            d, s = int(d), int(s)
            req = int(f.req[d, s])
            c = self.cover[d, s] = lp.Constraint(req, req)
            under, over = lp.NumVar(0, lp.infinity(), ""), lp.NumVar(0, lp.infinity(), "")
            c.SetCoefficient(under, 1)
            c.SetCoefficient(over, -1)
            self.objective.SetCoefficient(under, int(f.under_w[d, s]))
            self.objective.SetCoefficient(over, int(f.over_w[d, s]))
        self.columns = [{} for _ in range(f.E)]
        for e, rows in enumerate(known):
            for row in rows:
                self.add(e, row)

    def cost(self, e: int, row: Row) -> int:
        f = self.f
        return self.constant[e] + sum(int(f.off_w[e, d, s] - f.on_w[e, d, s]) for d, s in enumerate(row) if s >= 0)

    def add(self, e: int, row: Row) -> bool:
        if row in self.columns[e]:
            return False
        cost = self.cost(e, row)
        v = self.lp.NumVar(0, 0 if e in self.fixed and self.fixed[e] != row else 1, "")
        self.one[e].SetCoefficient(v, 1)
        self.objective.SetCoefficient(v, cost)
        for d, s in enumerate(row):
            if s >= 0 and self.f.has_cover[d, s]:
                self.cover[d, s].SetCoefficient(v, 1)
        self.columns[e][row] = (cost, v)
        return True

    def fix(self, e: int, row: Row) -> None:
        self.fixed[e] = row
        for other, (_, v) in self.columns[e].items():
            if other != row:
                v.SetUb(0)

    def solve(self) -> tuple[float, np.ndarray, np.ndarray]:
        """The LP value, the cover duals ``y`` (D × S) and the staff duals ``π``; raises
        :class:`LpFailed` when GLOP fails on a new LP too."""
        if self.lp.Solve() != pywraplp.Solver.OPTIMAL:
            # GLOP's incremental solve fails now and then (ABNORMAL) where the same LP solved
            # anew is fine: once more on a new LP
            self._build([list(cols) for cols in self.columns])
            if self.lp.Solve() != pywraplp.Solver.OPTIMAL:
                raise LpFailed
        y = np.zeros((self.f.D, self.f.S))
        for (d, s), c in self.cover.items():
            y[d, s] = c.dual_value()
        return self.objective.Value(), y, np.array([c.dual_value() for c in self.one])

    def largest(self, scale: Callable[[float], float] = float) -> dict[int, tuple[float, Row]]:
        """Each member of staff not fixed: their column of largest value in the LP (each value
        passed through ``scale`` first)."""
        out: dict[int, tuple[float, Row]] = {}
        for e, cols in enumerate(self.columns):
            if e not in self.fixed and cols:
                out[e] = max((scale(v.solution_value()), row) for row, (_, v) in cols.items())
        return out

    def purge(self, y: np.ndarray) -> None:
        """A new LP with, for each member of staff, their :data:`KEEP` columns of least reduced
        cost under the cover duals ``y`` and every column with a value in the LP (GLOP's solves
        slow down with the columns: on Instance 12, 18,000 columns after a dive)."""
        kept: list[list[Row]] = []
        for e, cols in enumerate(self.columns):
            reduced = sorted(cols, key=lambda row: cols[row][0] - _priced(row, y))
            used = [row for row, (_, v) in cols.items() if v.solution_value() > 1e-9]
            kept.append(list(dict.fromkeys([*used, *reduced[:KEEP], *([self.fixed[e]] if e in self.fixed else [])])))
        self._build(kept)

    def unfix(self) -> None:
        """Every column free again (the columns priced during a dive stay)."""
        for e in self.fixed:
            for _, v in self.columns[e].values():
                v.SetUb(1)
        self.fixed = {}


def _priced(row: Row, y: np.ndarray) -> float:
    """The cover duals ``y`` a row collects: ``Σ y·worked``."""
    return float(sum(y[d, s] for d, s in enumerate(row) if s >= 0))


def _round(master: _Master, pricers: list[_Pricer], pool: ThreadPoolExecutor, rng: random.Random,
           deadline: float, stats: ColgenStats, smooth: float = 0.0) -> tuple[float, int]:
    """One LP solve and one pricing of every member of staff not fixed: (LP value, columns added).
    ``smooth``: the duals priced are that share of the best duals so far (those of the best
    Lagrangian bound), the rest the LP's: fewer rounds (Wentges' smoothing); a round that adds
    nothing so is redone with the LP's duals. The Lagrangian bound is kept in ``stats`` when every
    pricing problem was proven."""
    f = master.f
    value, y, pi = master.solve()
    todo = [e for e in range(f.E) if e not in master.fixed]
    for alpha in ((smooth, 0.0) if smooth and master.center is not None else (0.0,)):
        priced_y = y if not alpha or master.center is None else alpha * master.center + (1 - alpha) * y
        seeds = [rng.randrange(1 << 30) for _ in todo]
        limit = max(0.02, min(PRICE_S, deadline - time.monotonic()))
        jobs = [(pricers[e], priced_y, limit, seed) for e, seed in zip(todo, seeds, strict=True)]
        priced = list(pool.map(lambda job: job[0].price(*job[1:]), jobs))
        added = 0
        for e, (rows, _) in zip(todo, priced, strict=True):
            for row in rows:
                reduced = master.cost(e, row) - pi[e] - _priced(row, y)
                if reduced < -1e-6 and master.add(e, row):
                    added += 1
        if not master.fixed and all(low is not None for _, low in priced):
            lows = [master.constant[e] + low for e, (_, low) in zip(todo, priced, strict=True) if low is not None]
            lagrange = float((priced_y * np.where(f.has_cover, f.req, 0)).sum()) + sum(lows)
            if lagrange > master.center_bound:
                master.center, master.center_bound = priced_y.copy(), lagrange
            stats.bound = max(stats.bound, math.ceil(lagrange - 1e-6))
        if added:
            break
    stats.iterations += 1
    stats.columns = sum(len(c) for c in master.columns)
    return value, added


def _complete(master: _Master) -> IntArray:
    """The fixed rows, and for each member of staff left one of their columns: the one the cover
    needs most given the others (largest LP value first), then column swaps while one lowers the
    objective (a local search in the columns known)."""
    f = master.f
    largest = master.largest()
    R = np.full((f.E, f.D), -1, dtype=np.int64)
    count = np.zeros((f.D, f.S), dtype=np.int64)
    days = np.arange(f.D)

    def place(e: int, row: Row, sign: int) -> None:
        r = np.array(row)
        np.add.at(count, (days[r >= 0], r[r >= 0]), sign)

    for e, row in master.fixed.items():
        R[e] = row
        place(e, row, 1)
    left = sorted(largest, key=lambda e: -largest[e][0])

    def delta(e: int, row: Row) -> float:
        """What taking ``row`` costs member of staff ``e`` (not placed) with the cover as it is."""
        r = np.array(row)
        d, s = days[r >= 0], r[r >= 0]
        short = f.has_cover[d, s] & (count[d, s] < f.req[d, s])
        extra = f.has_cover[d, s] & ~short
        return float(master.columns[e][row][0] - f.under_w[d, s][short].sum() + f.over_w[d, s][extra].sum())

    chosen: dict[int, Row] = {}
    for _ in range(3):  # a first choice, then two passes of swaps
        moved = False
        for e in left:
            current = chosen.pop(e, None)
            if current is not None:
                place(e, current, -1)
            best = min(master.columns[e], key=lambda row: delta(e, row))
            if current is not None and delta(e, current) <= delta(e, best):
                best = current
            moved |= best != current
            chosen[e] = best
            place(e, best, 1)
        if not moved:
            break
    for e, row in chosen.items():
        R[e] = row
    return R


def _root(master: _Master, pricers: list[_Pricer], pool: ThreadPoolExecutor, rng: random.Random,
          end: float, stats: ColgenStats, t0: float, tell: Callable[[str], None]) -> None:
    while time.monotonic() < end:
        value, added = _round(master, pricers, pool, rng, end, stats, SMOOTH)
        tell(f"column generation: LP {value:.0f}")
        if not added:
            stats.root_lp, stats.root_seconds = value, round(time.monotonic() - t0, 2)
            break


def _dive(master: _Master, pricers: list[_Pricer], pool: ThreadPoolExecutor, rng: random.Random,
          end: float, stats: ColgenStats, tell: Callable[[str], None], noise: float) -> None:
    """Fix columns until every member of staff has one (or ``end``): those at 0.9 or more in the
    LP, else the :data:`FIX_SHARE` of the staff left whose largest column is largest, the LP
    values scaled by a random factor within ``1 ± noise``; then pricing until no column prices
    out (at most :data:`ROUNDS` rounds)."""
    f = master.f
    while time.monotonic() < end and len(master.fixed) < f.E:
        _, y, _ = master.solve()
        if sum(len(c) for c in master.columns) > PURGE * f.E:
            master.purge(y)
            master.solve()
        largest = master.largest(lambda v: v * (1 + rng.uniform(-noise, noise)))
        ones = [e for e, (v, _) in largest.items() if v > 0.9]
        if not ones:
            ones = [e for _, e in sorted(((v, e) for e, (v, _) in largest.items()), reverse=True)]
            ones = ones[:max(1, round(FIX_SHARE * len(largest)))]
        for e in ones:
            master.fix(e, largest[e][1])
        value = math.nan
        for _ in range(ROUNDS):
            value, added = _round(master, pricers, pool, rng, end, stats)
            if not added:
                break
        tell(f"dive {stats.dives + 1}: {len(master.fixed)} of {f.E} fixed, LP {value:.0f}")


def generate(f: Facts, start: IntArray, deadline: float, *, seed: int = 0, workers: int = 2,
             progress: Progress | None = None, stats: ColgenStats | None = None) -> IntArray:
    """A lawful roster by column generation and diving from the lawful roster ``start`` (its rows
    are the first columns), until ``deadline`` (``time.monotonic()``): the root, then dives
    from the root's LP (the first as the LP says, the next with noise, every dive adding the
    columns it prices), the best roster kept, until a dive reaches the bound or
    :data:`DIVE_SHARE` of the time is spent."""
    stats = stats if stats is not None else ColgenStats()
    rng = random.Random(seed)
    t0 = time.monotonic()
    dive_end = t0 + DIVE_SHARE * (deadline - t0)
    master = _Master(f)
    for e in range(f.E):
        master.add(e, tuple(int(s) for s in start[e]))
    pricers = [_Pricer(f, e) for e in range(f.E)]

    def tell(what: str) -> None:
        if progress is not None:
            progress(what, min(1.0, (time.monotonic() - t0) / max(1e-3, deadline - t0)))

    best: tuple[int, IntArray, tuple[int, ...]] | None = None

    def keep_best() -> None:
        """The dive's roster (its staff left completed) when it is the best so far."""
        nonlocal best
        R = _complete(master)
        value = objective_array(f, R)
        if best is None or value < best[0]:
            best = (value, R, tuple(e for e in range(f.E) if e not in master.fixed))

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            _root(master, pricers, pool, rng, dive_end, stats, t0, tell)
            while best is None or (time.monotonic() < dive_end and best[0] > stats.bound):
                _dive(master, pricers, pool, rng, dive_end, stats, tell, NOISE if stats.dives else 0.0)
                master.solve()
                keep_best()
                stats.dives += 1
                master.unfix()
    except LpFailed:  # the columns known still give a lawful roster; the LP values only order it
        stats.lp_failed = True
        keep_best()
    assert best is not None  # kept at least once: after the first dive, or on LpFailed
    stats.dive_objective, R, free = best
    stats.fixed = f.E - len(free)
    if free and deadline - time.monotonic() > 0.2:
        tell("re-optimising the staff left")
        model = build(f, R, Region(free, 0, f.D))
        solver = cpsat.solver(deadline - time.monotonic(), workers, seed)
        if solver.solve(model.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            model.read(solver, R)
    return R
