"""The CP-SAT model of a region of the roster: some members of staff over a window of days.

Everything outside the region keeps the incumbent roster's value and enters the constraints as
a constant; the whole roster is the region of all staff over the whole horizon. Each rule module
(:mod:`.rule_cover`, :mod:`.rule_succession`, :mod:`.rule_workload`, :mod:`.rule_consecutive`,
:mod:`.rule_weekends`, :mod:`.rule_requests`) adds, for the region, the constraints and
objective terms that touch at least one free cell.

Variables: ``x[e,d,s]`` (staff ``e`` works shift ``s`` on day ``d``, only where allowed) and
``w[e,d]`` (staff ``e`` works on day ``d``, the sum of its ``x``). A cell outside the region, or
one with no allowed shift, is the integer 0 or 1. Every variable is hinted with the incumbent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from mutualis.engines.roster.facts import Facts, IntArray

Lit = cp_model.IntVar | int  # a 0/1 variable or a constant


@dataclass(frozen=True)
class Region:
    """Staff free over days ``start .. end-1``, or only over ``days`` among them when given."""

    staff: tuple[int, ...]
    start: int
    end: int  # exclusive
    days: tuple[int, ...] | None = None

    def day_list(self) -> list[int]:
        return list(self.days) if self.days is not None else list(range(self.start, self.end))

    @staticmethod
    def whole(f: Facts) -> Region:
        return Region(tuple(range(f.E)), 0, f.D)


class RegionModel:
    def __init__(self, f: Facts, incumbent: IntArray, region: Region) -> None:
        self.f, self.inc, self.region = f, incumbent, region
        self.model = cp_model.CpModel()
        self.free_staff = region.staff
        self.is_free = np.zeros(f.E, dtype=np.bool_)
        self.is_free[list(region.staff)] = True
        self.start, self.end = region.start, region.end
        self.day_free = np.zeros(f.D, dtype=np.bool_)
        self.day_free[region.day_list()] = True
        self.x: dict[tuple[int, int, int], cp_model.IntVar] = {}
        self.w: dict[tuple[int, int], Lit] = {}
        self.objective_terms: list[tuple[int, cp_model.IntVar]] = []
        self.hints: list[tuple[cp_model.IntVar, int]] = []
        m = self.model
        for e in region.staff:
            for d in region.day_list():
                cells = []
                for s in np.flatnonzero(f.allowed[e, d]):
                    v = m.new_bool_var(f"x[{e},{d},{s}]")
                    self.x[e, d, int(s)] = v
                    self.hint(v, int(incumbent[e, d] == s))
                    cells.append(v)
                if not cells:
                    self.w[e, d] = 0
                elif len(cells) == 1:
                    self.w[e, d] = cells[0]
                else:
                    w = m.new_bool_var(f"w[{e},{d}]")
                    m.add(sum(cells) == w)
                    self.hint(w, int(incumbent[e, d] >= 0))
                    self.w[e, d] = w

    def hint(self, var: cp_model.IntVar, value: int) -> None:
        self.hints.append((var, value))

    def free(self, e: int, d: int) -> bool:
        return bool(self.is_free[e]) and 0 <= d < self.f.D and bool(self.day_free[d])

    def xs(self, e: int, d: int, s: int) -> Lit:
        """Staff ``e`` on shift ``s`` on day ``d``: a variable in the region, else the incumbent's 0/1."""
        if self.free(e, d):
            return self.x.get((e, d, s), 0)
        return int(0 <= d < self.f.D and self.inc[e, d] == s)

    def work(self, e: int, d: int) -> Lit:
        """Staff ``e`` works on day ``d`` (days outside the horizon are off)."""
        if self.free(e, d):
            return self.w[e, d]
        return int(0 <= d < self.f.D and self.inc[e, d] >= 0)

    def clause(self, lits: Iterable[tuple[Lit, bool]]) -> None:
        """At least one literal holds; a literal is (value, wanted), e.g. (w, False) is "not w"."""
        out: list[cp_model.LiteralT] = []
        for v, want in lits:
            if isinstance(v, int):
                if bool(v) == want:
                    return  # satisfied by the fixed part
                continue
            out.append(v if want else v.negated())
        if out:
            self.model.add_bool_or(out)

    def at_most(self, lits: Sequence[Lit], bound: int, coefs: Sequence[int] | None = None) -> None:
        """Σ coef·lit ≤ bound, skipped when nothing in it is free."""
        self.between(lits, None, bound, coefs)

    def between(self, lits: Sequence[Lit], low: int | None, high: int | None,
                coefs: Sequence[int] | None = None) -> None:  # fmt: skip
        cs = coefs if coefs is not None else [1] * len(lits)
        const = sum(c * v for c, v in zip(cs, lits, strict=True) if isinstance(v, int))
        vs = [(c, v) for c, v in zip(cs, lits, strict=True) if not isinstance(v, int) and c != 0]
        if not vs:
            return
        top = sum(c for c, _ in vs if c > 0)
        bottom = sum(c for c, _ in vs if c < 0)
        expr = cp_model.LinearExpr.weighted_sum([v for _, v in vs], [c for c, _ in vs])
        if high is not None and const + top > high:
            self.model.add(expr <= high - const)
        if low is not None and const + bottom < low:
            self.model.add(expr >= low - const)

    def minimise(self, coef: int, var: cp_model.IntVar) -> None:
        if coef:
            self.objective_terms.append((coef, var))

    def finish(self) -> None:
        terms = self.objective_terms
        self.model.minimize(cp_model.LinearExpr.weighted_sum([v for _, v in terms], [c for c, _ in terms]))
        for var, value in self.hints:
            self.model.add_hint(var, value)

    def read(self, solver: cp_model.CpSolver, roster: IntArray) -> None:
        """Write the solver's answer for the region into ``roster`` (an E × D array)."""
        for e in self.free_staff:
            roster[e, self.day_free] = -1
        for (e, d, s), v in self.x.items():
            if solver.boolean_value(v):
                roster[e, d] = s


def build(f: Facts, incumbent: IntArray, region: Region, *, stretches: bool = False) -> RegionModel:
    """The region's model with every rule and the objective; ``stretches`` adds :mod:`.rule_stretch`."""
    from mutualis.engines.roster import (
        rule_balance,
        rule_consecutive,
        rule_cover,
        rule_requests,
        rule_stretch,
        rule_succession,
        rule_weekends,
        rule_workload,
    )

    m = RegionModel(f, incumbent, region)
    for rule in (rule_succession, rule_workload, rule_consecutive, rule_weekends, rule_requests, rule_cover,
                 rule_balance):
        rule.add(m)
    if stretches:
        rule_stretch.add(m)
    m.finish()
    return m
