"""Pricing by dynamic programming: one member of staff's lawful row of least cost, exactly.

Column generation (:mod:`.colgen`) asks, hundreds of times a second, for the row of least reduced
cost of one member of staff under their hard rules. CP-SAT answers in 10–35 ms on the Curtois
instances, mostly searching; this labelling algorithm answers the same question in 0.1–1 ms by
walking the days once over every *state* a row can be in:

- the last day's shift (or off) and the length of the stretch it ends (work or off; a stretch
  off is counted up to ``min_days_off``, past which its length no longer matters);
- whether that stretch began with the horizon while still too short (a stretch touching an end
  of the horizon is exempt from the minimum lengths: the Curtois & Qu convention);
- weekends worked so far (when ``max_weekends`` can bind), minutes worked (in units of the
  greatest common divisor of the shift lengths) and shifts worked of each type whose maximum
  can bind.

A transition is a day's choice (off or an allowed shift) from a state; it is refused when it
breaks a forbidden succession, ``max_consecutive``, a minimum stretch, ``max_weekends``, the
maximum minutes or a type's maximum; at the end only states within ``[min_minutes,
max_minutes]`` count. States are kept by their exact value, so the least cost found is the
optimum (the same rules as :mod:`.rule_succession`, :mod:`.rule_workload`,
:mod:`.rule_consecutive` and :mod:`.rule_weekends`; a test compares both on Instances 3, 8
and 10 and on a generated instance). The walk is compiled by numba and releases the GIL, so two members of staff are
priced at once.

:class:`Labeller` counts a type's maximum only once a best row breaks it, and answers ``None``
when a member of staff's state space is too large (:data:`MAX_STATES`); :mod:`.colgen` then
prices them with CP-SAT.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numba
import numpy as np
from numpy.typing import NDArray

from mutualis.engines.roster.facts import Facts, IntArray

FloatArray = NDArray[np.float64]
MAX_STATES = 2_000_000  # states per day above which the member of staff is left to CP-SAT
INF = math.inf


@dataclass(frozen=True)
class Shape:
    """One member of staff's rules as the arrays the walk reads."""

    allowed: NDArray[np.bool_]  # (D, S)
    units: IntArray  # (S,) minutes of each shift in units
    lo: int  # least units worked over the horizon
    hi: int  # most units
    forbid: NDArray[np.bool_]  # (S, S)
    slot: IntArray  # (S,) index of the type's counter, -1 when its maximum cannot bind
    radix: IntArray  # (K,) maximum + 1 of each counter
    stride: IntArray  # (K,)
    max_cons: int
    min_cons: int
    min_off: int
    weekends: int  # most weekends worked, -1 when it cannot bind
    weekday: IntArray  # (D,) 1 on a Saturday, 2 on a Sunday, else 0


def shape(f: Facts, e: int, track: frozenset[int] | None = None) -> Shape | None:
    """The walk's arrays for member of staff ``e``, or None when the state space is too large.
    ``track``: the shift types whose maximum is counted (default: every one that can bind)."""
    allowed = f.allowed[e].copy()
    unit = 0
    for s in range(f.S):
        unit = math.gcd(unit, int(f.minutes[s]))
    unit = max(unit, 1)
    units = (f.minutes // unit).astype(np.int64)
    lo, hi = -(-int(f.min_minutes[e]) // unit), int(f.max_minutes[e]) // unit
    hi = min(hi, int(units.max(initial=0)) * f.D)
    slot = np.full(f.S, -1, dtype=np.int64)
    radix: list[int] = []
    for s in binding(f, e):
        if track is None or s in track:
            slot[s] = len(radix)
            radix.append(int(f.max_count[e, s]) + 1)
    stride = np.cumprod([1, *radix[:-1]]).astype(np.int64) if radix else np.zeros(0, dtype=np.int64)
    max_cons = min(int(f.max_cons[e]), f.D)
    weekends = int(f.max_weekends[e]) if f.max_weekends[e] < f.n_weekends else -1
    weekday = np.zeros(f.D, dtype=np.int64)
    for k in range(f.n_weekends):
        for n, d in enumerate(f.weekend_days(k)):
            weekday[d] = n + 1
    length = max(max_cons, int(f.min_off[e]), 1)
    states = (f.S + 1) * length * 2 * (weekends + 1 if weekends >= 0 else 1) * (hi + 1) * int(np.prod(radix or [1]))
    if states > MAX_STATES or hi < lo:
        return None
    return Shape(allowed, units, lo, hi, f.forbid, slot, np.array(radix, dtype=np.int64), stride, max_cons,
                 int(f.min_cons[e]), max(int(f.min_off[e]), 1), weekends, weekday)  # fmt: skip


def _walk(allowed: Any, units: Any, lo: int, hi: int, forbid: Any, slot: Any, radix: Any, stride: Any,
          max_cons: int, min_cons: int, min_off: int, weekends: int, weekday: Any, cost: Any, keep: int,
          ) -> tuple[Any, Any]:  # fmt: skip
    """The ``keep`` best final states' rows ``(keep, D)`` and their costs (``inf`` for none)."""
    D, S = allowed.shape
    K = radix.shape[0]
    C = 1
    for k in range(K):
        C *= radix[k]
    M = hi + 1
    W = weekends + 1 if weekends >= 0 else 1
    L = max(max_cons, min_off, 1)
    N = (S + 1) * L * 2 * W * M * C
    most = 0
    for s in range(S):
        most = max(most, units[s])
    value = np.full(N, np.inf)
    nxt = np.full(N, np.inf)
    active = np.empty(N, dtype=np.int64)
    fresh = np.empty(N, dtype=np.int64)
    pred = np.empty((D, N), dtype=np.int32)
    # the state before day 0: a stretch off long enough (the days before the horizon are off)
    start = (((((S * L) + (min_off - 1)) * 2 + 0) * W + 0) * M + 0) * C + 0
    value[start] = 0.0
    active[0] = start
    n_active = 1
    for d in range(D):
        n_fresh = 0
        left = (D - 1 - d) * most  # most units the days after d can add
        for i in range(n_active):
            j = active[i]
            here = value[j]
            c = j % C
            r = j // C
            m = r % M
            r //= M
            w = r % W
            r //= W
            t = r % 2
            r //= 2
            length = r % L + 1
            last = r // L
            for a in range(S + 1):
                if a == S:  # off
                    if last == S:
                        n_len = min(length + 1, min_off)
                        n_t = t if n_len < min_off else 0
                    else:
                        if length < min_cons and t == 0:
                            continue  # a work stretch too short
                        n_len = 1
                        n_t = 0
                    n_w, n_m, n_c, add = w, m, c, 0.0
                    if n_m + left < lo:
                        continue
                else:
                    if not allowed[d, a]:
                        continue
                    if max_cons < 1:
                        continue
                    if last == S:
                        if length < min_off and t == 0:
                            continue  # a stretch off too short
                        n_len = 1
                        n_t = 1 if (d == 0 and min_cons > 1) else 0
                    else:
                        if forbid[last, a] or length + 1 > max_cons:
                            continue
                        n_len = length + 1
                        n_t = t if n_len < min_cons else 0
                    n_w = w
                    if weekday[d] == 1 or (weekday[d] == 2 and last == S):
                        n_w = w + 1
                        if weekends >= 0 and n_w > weekends:
                            continue
                    if weekends < 0:
                        n_w = 0
                    n_m = m + units[a]
                    if n_m > hi or n_m + left < lo:
                        continue
                    n_c = c
                    k = slot[a]
                    if k >= 0:
                        if (c // stride[k]) % radix[k] + 1 >= radix[k]:
                            continue
                        n_c = c + stride[k]
                    add = cost[d, a]
                n_j = (((((a * L) + (n_len - 1)) * 2 + n_t) * W + n_w) * M + n_m) * C + n_c
                v = here + add
                if v < nxt[n_j]:
                    if nxt[n_j] == np.inf:
                        fresh[n_fresh] = n_j
                        n_fresh += 1
                    nxt[n_j] = v
                    pred[d, n_j] = j
        for i in range(n_active):
            value[active[i]] = np.inf
        value, nxt = nxt, value
        active, fresh = fresh, active
        n_active = n_fresh
    # final states within the minutes, the stretch at the end exempt from the minimums
    finals = np.empty(n_active, dtype=np.int64)
    costs = np.empty(n_active)
    n_final = 0
    for i in range(n_active):
        j = active[i]
        if (j // C) % M >= lo:
            finals[n_final] = j
            costs[n_final] = value[j]
            n_final += 1
    order = np.argsort(costs[:n_final])
    rows = np.full((keep, D), -1, dtype=np.int64)
    best = np.full(keep, np.inf)
    for q in range(min(keep, n_final)):
        j = finals[order[q]]
        best[q] = costs[order[q]]
        for d in range(D - 1, -1, -1):
            last = j // (L * 2 * W * M * C)
            rows[q, d] = last if last < S else -1
            j = pred[d, j]
    return rows, best


def _compiled() -> Callable[..., tuple[IntArray, FloatArray]]:
    """The walk compiled, cached on disk where numba finds a writable place (the package's
    ``__pycache__``, else the user's cache); compiled at each start where it finds none."""
    try:
        return cast(Callable[..., tuple[IntArray, FloatArray]], numba.njit(cache=True, nogil=True)(_walk))
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return cast(Callable[..., tuple[IntArray, FloatArray]], numba.njit(nogil=True)(_walk))


walk = _compiled()


def binding(f: Facts, e: int) -> list[int]:
    """The shift types whose maximum can bind for member of staff ``e``."""
    return [s for s in range(f.S) if 0 < int(f.max_count[e, s]) < int(f.allowed[e, :, s].sum())]


class Labeller:
    """Pricing for one member of staff. The types' maxima are counted only once a best row has
    broken them (the state space grows with each counted maximum, and the best row usually
    breaks none): the walk without a maximum is a relaxation, so a best row that keeps every
    maximum is the optimum; one that breaks some adds their counters and the walk is redone."""

    def __init__(self, f: Facts, e: int) -> None:
        self.f, self.e = f, e
        self.caps = {s: int(f.max_count[e, s]) for s in binding(f, e)}
        self.track: frozenset[int] = frozenset()
        self.shape = shape(f, e, self.track)

    def _broken(self, row: tuple[int, ...]) -> set[int]:
        counts = np.bincount([s for s in row if s >= 0], minlength=self.f.S)
        return {s for s, cap in self.caps.items() if counts[s] > cap}

    def price(self, cost: FloatArray, keep: int = 5) -> tuple[list[tuple[int, ...]], float] | None:
        """The best lawful rows under ``cost`` (D × S, the cost of working each cell; a day off
        costs 0), best first, and the least cost; None when the walk cannot answer (a state
        space too large, or no lawful row at all): the caller solves it otherwise."""
        while self.shape is not None:
            rows, best = walk(self.shape.allowed, self.shape.units, self.shape.lo, self.shape.hi, self.shape.forbid,
                              self.shape.slot, self.shape.radix, self.shape.stride, self.shape.max_cons,
                              self.shape.min_cons, self.shape.min_off, self.shape.weekends, self.shape.weekday,
                              np.ascontiguousarray(cost, dtype=np.float64), keep)  # fmt: skip
            found = [tuple(int(s) for s in rows[q]) for q in range(keep) if best[q] < INF]
            if not found:
                return None
            broken = self._broken(found[0])
            if not broken:
                return [row for row in found if not self._broken(row)], float(best[0])
            self.track |= broken
            self.shape = shape(self.f, self.e, self.track)
        return None
