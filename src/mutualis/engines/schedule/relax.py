"""The day-level relaxation and the lower bound it proves.

The relaxation forgets minutes: each order goes to a (machine, day) or stays unplaced, and
the exam-minutes of a machine-day may not exceed what it can give (``Calendar.capacity``),
nor those of a site-day what its staff can run (``Calendar.staff_rows``).
Every lawful plan satisfies these, and
its cost depends only on (order, machine's site, day) — so the relaxation's optimum is a lower
bound of the real optimum (overtime, ≥ 0, is left out).

It also keeps the cut of :mod:`.rule_hours` at each full hour (the orders requested during a
day, at hour h or later, fit in what the machine has left after h) and the free-stretch cuts of
:mod:`.rule_overlap` for a few exam lengths.

The bound is a **Lagrangian** one: with prices λ ≥ 0 per minute on each capacity,
    L(λ) = Σ_o min(unplaced_o, min over every (m, d) of [cost(o, m, d) + minutes_o · λ_(m,d)])
           − Σ capacity · λ
is below the relaxation's optimum for any λ ≥ 0 (weak duality), whatever produced λ. The prices
are the duals of the relaxation's linear programme (GLOP) over a restricted set of columns,
grown by column generation: each round prices **every** option of every order (numpy), adds
the columns with a negative reduced cost, and evaluates L. When no column is left to add, L
equals the LP optimum. The LP's solution also serves as the starting point of the day-level
assignment (see :mod:`.solve`).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver.python import model_builder as mb

from mutualis.engines.schedule.calendar import Calendar, intersect, measure

INF = 1e18
CHUNK = 1500
LENGTHS = (15, 20, 25, 30, 40, 45)  # exam lengths (minutes) of the free-stretch cuts (see rule_overlap)


@dataclass
class _Group:
    """Orders alike for pricing: the same capable machines, minutes and radiologist need."""

    orders: np.ndarray  # (n,) order indices
    machines: np.ndarray  # (c,) machine indices
    sites: np.ndarray  # (c,) site index of each machine
    minutes: int
    rad: bool
    latest: np.ndarray  # (c, D) latest start on an empty calendar, -1: none
    rd: np.ndarray
    rmin: np.ndarray
    hour: np.ndarray  # (n,) rmin // 60: the hourly cuts an order takes part in on its request day
    t: np.ndarray  # (n, D) day costs
    v: np.ndarray  # (n, c) travel costs
    u: np.ndarray  # (n,) unplaced costs


@dataclass
class Relaxation:
    bound: int = 0  # valid lower bound of the real problem
    lp_value: float = math.nan
    lp_optimal: bool = False  # no column with a negative reduced cost was left
    rounds: int = 0
    columns: dict[int, list[tuple[int, int, float]]] = field(default_factory=dict)  # order → (m, d, LP value)
    reduced: dict[int, list[tuple[int, int, float]]] = field(default_factory=dict)  # order → cheapest, last prices


def _groups(cal: Calendar, site_of: np.ndarray) -> list[_Group]:
    by: dict[tuple[tuple[int, ...], int, bool], list[int]] = defaultdict(list)
    for k, o in enumerate(cal.orders):
        if cal.capable[k] and cal.release[k][0] < cal.days:
            by[cal.capable[k], cal.minutes(k), o.needs_radiologist].append(k)
    out = []
    days = np.arange(cal.days)
    w = cal.inst.weights
    for (machines, minutes, rad), ks in sorted(by.items()):
        m = np.array(machines)
        latest = np.array([[cal.latest(i, d, rad, minutes) for d in range(cal.days)] for i in machines])
        first = np.array([cal.first_day[k] for k in ks])
        due = np.maximum(first, np.array([cal.due_day[k] for k in ks]))
        wait = np.array([w.wait(cal.orders[k].priority) for k in ks], dtype=float)
        late = np.array([w.late(cal.orders[k].priority) for k in ks], dtype=float)
        t = (wait[:, None] * np.maximum(0, days[None, :] - first[:, None])
             + late[:, None] * np.maximum(0, days[None, :] - due[:, None]))  # fmt: skip
        v = np.array([[cal.travel_cost(k, i) for i in machines] for k in ks], dtype=float)
        out.append(_Group(np.array(ks), m, site_of[m], minutes, rad, latest,
                          np.array([cal.release[k][0] for k in ks]), np.array([cal.release[k][1] for k in ks]),
                          np.array([cal.release[k][1] // 60 for k in ks]), t, v,
                          np.array([cal.unplaced_cost(k) for k in ks], dtype=float)))  # fmt: skip
    return out


def _prices(g: _Group, lam: np.ndarray, extra: dict[str, np.ndarray]) -> np.ndarray:
    """Price per minute of each (machine, day) option for group ``g``: λ of the machine-day, the
    staff rows the machine is in ("rg" rows, and "rd" rows for exams needing a radiologist),
    the free-stretch rows for exams this long."""
    p = lam[g.machines] + extra["rg"][g.machines]
    if g.rad:
        p = p + extra["rd"][g.machines]
    for length in LENGTHS:
        if length <= g.minutes and f"f{length}" in extra:
            p = p + extra[f"f{length}"][g.machines]
    out: np.ndarray = g.minutes * p  # (c, D)
    return out


def _scan(g: _Group, price: np.ndarray, hours: np.ndarray, lo: int, hi: int,
          keep: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Options of orders lo:hi by cost + price: the ``keep`` best (flat c·D indices) and values.
    ``hours``: (machines, D, 24) cumulative prices of the hourly cuts."""
    days = np.arange(price.shape[1])
    rd, rmin = g.rd[lo:hi, None, None], g.rmin[lo:hi, None, None]
    lat = g.latest[None]
    feasible = ((days[None, None, :] > rd) & (lat >= 0)) | ((days[None, None, :] == rd) & (lat >= rmin))
    a = g.t[lo:hi, None, :] + g.v[lo:hi, :, None] + price[None]
    extra = hours[g.machines][:, g.rd[lo:hi], np.minimum(23, g.hour[lo:hi])].T  # (n, c)
    a[np.arange(hi - lo), :, g.rd[lo:hi]] += g.minutes * extra
    a = np.where(feasible, a, INF).reshape(hi - lo, -1)
    keep = min(keep, a.shape[1])
    idx = np.argpartition(a, keep - 1, axis=1)[:, :keep] if keep < a.shape[1] else np.tile(
        np.arange(a.shape[1]), (hi - lo, 1))
    vals = np.take_along_axis(a, idx, axis=1)
    order = np.argsort(vals, axis=1)
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(vals, order, axis=1)


class _LP:
    def __init__(self, cal: Calendar, sites: list[str]) -> None:
        self.cal, self.sites = cal, sites
        self.model = mb.Model()  # type: ignore[no-untyped-call]
        self.order_row: dict[int, mb.LinearConstraint] = {}
        self.rows: dict[tuple[str, int, int], mb.LinearConstraint] = {}  # (kind, index, day [·24 + hour])
        self.caps: dict[tuple[str, int, int], float] = {}
        self.cols: dict[tuple[int, int, int], mb.Variable] = {}
        self.unplaced: dict[int, mb.Variable] = {}
        self.obj: list[tuple[mb.Variable, float]] = []

    def row(self, kind: str, idx: int, day: int, cap: float) -> mb.LinearConstraint:
        found = self.rows.get((kind, idx, day))
        if found is None:
            found = self.rows[kind, idx, day] = self.model.add_linear_constraint(0, -math.inf, cap)
            self.caps[kind, idx, day] = cap
        return found

    def add(self, k: int, i: int, day: int, cost: float) -> int:
        """Adds the column of order ``k`` on machine ``i`` that day; 1 if it is new."""
        if (k, i, day) in self.cols:
            return 0
        cal = self.cal
        x = self.model.new_num_var(0, 1, None)
        self.cols[k, i, day] = x
        if k not in self.order_row:
            u = self.unplaced[k] = self.model.new_num_var(0, 1, None)
            self.order_row[k] = self.model.add_linear_constraint(u, 1, 1)
            self.obj.append((u, float(cal.unplaced_cost(k))))
        self.order_row[k].add_term(x, 1)
        minutes = cal.minutes(k)
        full = cal.capacity(i, day)
        self.row("m", i, day, full).add_term(x, minutes)
        for length in LENGTHS:
            if length <= minutes and cal.capacity(i, day, length) < full:
                self.row(f"f{length}", i, day, cal.capacity(i, day, length)).add_term(x, minutes)
        rd, rmin = cal.release[k]
        if day == rd and rmin > 0:
            segs = cal.segments(i, day, False)
            opening = min((a for a, _ in segs), default=1440)
            for h in range(opening // 60 + 1, min(23, rmin // 60) + 1):
                after = measure([x_ for seg in segs for x_ in intersect([seg], (60 * h, 1440))])
                self.row("h", i, day * 24 + h, after).add_term(x, minutes)
        site = cal.machines[i].site
        s = self.sites.index(site)
        for row in cal.staff_rows(site, day):
            if row.takes(i, cal.orders[k].needs_radiologist):
                self.row(row.kind, s, day, row.capacity).add_term(x, minutes)
        self.obj.append((x, cost))
        return 1

    def solve(self, seconds: float) -> mb.Solver | None:
        variables, costs = zip(*self.obj, strict=True)
        self.model.minimize(mb.LinearExpr.weighted_sum(list(variables), list(costs)))
        solver = mb.Solver("GLOP")
        solver.set_solver_specific_parameters("use_dual_simplex: true")  # faster here than the primal
        solver.set_time_limit_in_seconds(max(0.5, seconds))
        status = solver.solve(self.model)
        return solver if status in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE) else None


def relax(cal: Calendar, seconds: float, start: dict[int, tuple[int, int]] | None = None,
          keep: int = 5, joint: bool = True) -> Relaxation:  # fmt: skip
    """Bound and LP of the day-level relaxation within about ``seconds``; ``start``: a plan's
    (machine, day) per order, added as first columns.

    ``joint`` False: decomposed by modality, each modality with its own copy of the staff
    capacities (a further relaxation, so the sum of the modalities' bounds stays a valid bound)
    and its own LP, in a share of the time proportional to its orders."""
    t0 = time.monotonic()
    sites = sorted(cal.site_machines)
    site_of = np.array([sites.index(m.site) for m in cal.machines])
    blocks: dict[str, list[_Group]] = defaultdict(list)
    for g in _groups(cal, site_of):
        blocks["all" if joint else cal.machines[int(g.machines[0])].modality].append(g)
    out = Relaxation(lp_optimal=True)
    out.bound = sum(cal.unplaced_cost(k) for k in range(len(cal.orders))
                    if not cal.capable[k] or cal.release[k][0] >= cal.days)  # fmt: skip
    out.lp_value = float(out.bound)
    remaining = sum(len(g.orders) for gs in blocks.values() for g in gs)
    for _, groups in sorted(blocks.items()):
        size = sum(len(g.orders) for g in groups)
        budget = (seconds - (time.monotonic() - t0)) * size / max(1, remaining)
        remaining -= size
        _relax_block(cal, sites, groups, budget, start or {}, keep, out)
    return out


def _relax_block(cal: Calendar, sites: list[str], groups: list[_Group], seconds: float,
                 start: dict[int, tuple[int, int]], keep: int, out: Relaxation) -> None:  # fmt: skip
    t0 = time.monotonic()
    n_m, days = len(cal.machines), cal.days
    lam, eta = np.zeros((n_m, days)), np.zeros((n_m, days, 24))
    extra: dict[str, np.ndarray] = {"rg": np.zeros((n_m, days)), "rd": np.zeros((n_m, days))}
    lp = _LP(cal, sites)
    members = {int(k) for g in groups for k in g.orders}
    pi = {k: INF for k in members}
    for k, (i, d) in start.items():
        if k in members:
            lp.add(k, i, d, float(cal.cost(k, i, d)))
    bound, lp_value, rounds, duals = -INF, math.nan, 0, 0.0
    while True:
        rounds += 1
        first = rounds == 1
        total, added = 0.0, 0
        hours = np.cumsum(eta, axis=2)
        for g in groups:
            price = _prices(g, lam, extra)
            for lo in range(0, len(g.orders), CHUNK):
                hi = min(len(g.orders), lo + CHUNK)
                idx, vals = _scan(g, price, hours, lo, hi, keep)
                total += float(np.minimum(vals[:, 0], g.u[lo:hi]).sum())
                for r in range(hi - lo):
                    k = int(g.orders[lo + r])
                    out.reduced[k] = []
                    for j in range(idx.shape[1]):
                        if vals[r, j] >= INF / 2:
                            break
                        c, d = divmod(int(idx[r, j]), days)
                        i = int(g.machines[c])
                        out.reduced[k].append((i, d, float(vals[r, j])))
                        if (first or vals[r, j] < pi[k] - 1e-6 * max(1.0, abs(pi[k]))) and (first or j < 2):
                            added += lp.add(k, i, d, float(g.t[lo + r, d] + g.v[lo + r, c]))
        bound = max(bound, total - duals)
        if (not first and added == 0) or time.monotonic() - t0 > seconds:
            break
        solver = lp.solve(seconds - (time.monotonic() - t0))
        if solver is None:
            break
        lp_value = float(solver.objective_value)
        for k, ct in lp.order_row.items():
            pi[k] = float(solver.dual_value(ct))
        duals = 0.0
        for a in extra.values():
            a.fill(0.0)
        for (kind, idx_, d), ct in lp.rows.items():
            price_ = max(0.0, -float(solver.dual_value(ct)))
            duals += price_ * lp.caps[kind, idx_, d]
            if kind == "h":
                eta[idx_, d // 24, d % 24] = price_
            elif kind == "m":
                lam[idx_, d] = price_
            elif kind[0] == "f":  # free-stretch rows, per machine
                extra.setdefault(kind, np.zeros((n_m, days)))[idx_, d] = price_
            else:  # staff rows, per site: the price goes to each machine of the row
                row = next(r for r in cal.staff_rows(sites[idx_], d) if r.kind == kind)
                extra["rd" if row.radiologist else "rg"][sorted(row.machines), d] += price_
        for k in members:
            out.columns.pop(k, None)
        for (k, i, d), x in lp.cols.items():
            value = float(solver.value(x))
            if value > 1e-6:
                out.columns.setdefault(k, []).append((i, d, value))
    out.bound += math.ceil(bound - 1e-7 * abs(bound) - 1e-6)
    out.lp_value += lp_value
    out.lp_optimal = out.lp_optimal and added == 0 and rounds > 1
    out.rounds = max(out.rounds, rounds)
