"""Cover (soft): each member of staff below a (day, shift) requirement costs the under weight,
each above it the over weight.

``count − requirement = over − under`` with ``over, under ≥ 0`` (the minimisation makes one of
them 0); staff outside the region count with the incumbent's shifts.
"""

from __future__ import annotations

import numpy as np

from mutualis.engines.roster.model import RegionModel


def add(m: RegionModel) -> None:
    f = m.f
    fixed_staff = ~m.is_free
    for d in np.flatnonzero(m.day_free).tolist():
        col = m.inc[fixed_staff, d]
        fixed = np.bincount(col[col >= 0], minlength=f.S)
        for s in range(f.S):
            if not f.has_cover[d, s]:
                continue
            cells = [m.x[e, d, s] for e in m.free_staff if (e, d, s) in m.x]
            if not cells:
                continue
            base = int(fixed[s]) - int(f.req[d, s])  # count − requirement with no free cell worked
            under = m.model.new_int_var(0, max(0, -base), f"under[{d},{s}]")
            over = m.model.new_int_var(0, max(0, base + len(cells)), f"over[{d},{s}]")
            m.model.add(sum(cells) + base == over - under)
            m.minimise(int(f.under_w[d, s]), under)
            m.minimise(int(f.over_w[d, s]), over)
            now = base + sum(int(m.inc[e, d] == s) for e in m.free_staff if (e, d, s) in m.x)
            m.hint(under, max(0, -now))
            m.hint(over, max(0, now))
