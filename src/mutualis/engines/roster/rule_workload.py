"""Workload: at most ``max_shifts`` of each type, total minutes within ``[min, max]``.

Over the whole horizon: the days outside the region count with the incumbent's shifts.
"""

from __future__ import annotations

import numpy as np

from mutualis.engines.roster.model import Lit, RegionModel


def add(m: RegionModel) -> None:
    f = m.f
    window = np.flatnonzero(m.day_free).tolist()
    for e in m.free_staff:
        outside = m.inc[e, ~m.day_free]
        outside = outside[outside >= 0]
        count_out = np.bincount(outside, minlength=f.S)
        minutes_out = int(f.minutes[outside].sum())
        every: list[Lit] = []
        coefs: list[int] = []
        for s in range(f.S):
            cells: list[Lit] = [m.x[e, d, s] for d in window if (e, d, s) in m.x]
            every += cells
            coefs += [int(f.minutes[s])] * len(cells)
            m.at_most([*cells, int(count_out[s])], int(f.max_count[e, s]))
        m.between([*every, 1], int(f.min_minutes[e]), int(f.max_minutes[e]), [*coefs, minutes_out])
