"""Succession: a shift may not be followed the next day by one of its ``forbidden_next``.

One constraint per (day, shift) with forbidden successors: ``x[d,s] + Σ x[d+1,t] ≤ 1`` over the
forbidden ``t`` — tighter in the LP than one constraint per pair, and as exact since a member
of staff works at most one shift a day. Days after the horizon are off: nothing to check.
"""

from __future__ import annotations

import numpy as np

from mutualis.engines.roster.model import RegionModel


def add(m: RegionModel) -> None:
    f = m.f
    after = [np.flatnonzero(f.forbid[s]).tolist() for s in range(f.S)]
    for e in m.free_staff:
        for d in range(max(0, m.start - 1), min(m.end, f.D - 1)):
            for s, nxt in enumerate(after):
                first = m.xs(e, d, s)
                if nxt and not (isinstance(first, int) and first == 0):
                    m.at_most([first, *(m.xs(e, d + 1, t) for t in nxt)], 1)
