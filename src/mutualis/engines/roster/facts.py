"""Index tables of an instance (numpy arrays), shared by the rules, the validator and the search.

``E`` members of staff, ``D`` days, ``S`` shift types; a roster as an array is ``(E, D)`` of
shift indices, :data:`~.instance.OFF` (-1) for a day off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mutualis.engines.roster.instance import RosterInstance

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Facts:
    inst: RosterInstance
    E: int
    D: int
    S: int
    minutes: IntArray  # (S,)
    forbid: BoolArray  # (S, S): forbid[s, t] -> t may not follow s the next day
    max_count: IntArray  # (E, S) most shifts of each type
    allowed: BoolArray  # (E, D, S): not a fixed day off, and the type is not capped at 0
    on_w: IntArray  # (E, D, S) weight of a shift-on request (cost when the shift is not worked)
    off_w: IntArray  # (E, D, S) weight of a shift-off request (cost when the shift is worked)
    has_cover: BoolArray  # (D, S)
    req: IntArray  # (D, S)
    under_w: IntArray  # (D, S)
    over_w: IntArray  # (D, S)
    max_minutes: IntArray  # (E,)
    min_minutes: IntArray
    max_cons: IntArray
    min_cons: IntArray
    min_off: IntArray
    max_weekends: IntArray

    @property
    def n_weekends(self) -> int:
        return (self.D + 1) // 7

    def weekend_days(self, k: int) -> tuple[int, ...]:
        return tuple(d for d in (7 * k + 5, 7 * k + 6) if d < self.D)

    def on_constant(self) -> int:
        """Cost of every shift-on request, as if none were met (the objective adds back the met ones)."""
        return int(self.on_w.sum())


def facts(inst: RosterInstance) -> Facts:
    E, D, S = len(inst.staff), inst.days, len(inst.shifts)
    sidx, eidx = inst.shift_index(), inst.staff_index()
    minutes = np.array([s.minutes for s in inst.shifts], dtype=np.int64)
    forbid = np.zeros((S, S), dtype=np.bool_)
    for n, s in enumerate(inst.shifts):
        for t in s.forbidden_next:
            forbid[n, sidx[t]] = True
    max_count = np.array([[min(p.max_of(s.id), D) for s in inst.shifts] for p in inst.staff], dtype=np.int64)
    allowed = np.ones((E, D, S), dtype=np.bool_)
    allowed &= (max_count > 0)[:, None, :]
    for off in inst.days_off:
        allowed[eidx[off.staff], off.day, :] = False
    on_w = np.zeros((E, D, S), dtype=np.int64)
    off_w = np.zeros((E, D, S), dtype=np.int64)
    for r in inst.requests:
        target = on_w if r.on else off_w
        target[eidx[r.staff], r.day, sidx[r.shift]] += r.weight
    has_cover = np.zeros((D, S), dtype=np.bool_)
    req = np.zeros((D, S), dtype=np.int64)
    under_w = np.zeros((D, S), dtype=np.int64)
    over_w = np.zeros((D, S), dtype=np.int64)
    for c in inst.cover:
        k = sidx[c.shift]
        has_cover[c.day, k] = True
        req[c.day, k] = c.requirement
        under_w[c.day, k] = c.under_weight
        over_w[c.day, k] = c.over_weight

    def col(name: str) -> IntArray:
        return np.array([getattr(p, name) for p in inst.staff], dtype=np.int64)

    return Facts(inst, E, D, S, minutes, forbid, max_count, allowed, on_w, off_w, has_cover, req, under_w, over_w,
                 col("max_minutes"), col("min_minutes"), col("max_consecutive"), col("min_consecutive"),
                 col("min_days_off"), col("max_weekends"))  # fmt: skip
