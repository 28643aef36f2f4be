"""Shift requests (soft): an unmet shift-on request costs its weight, a granted shift-off too.

As a linear term per cell: ``(off weight − on weight) · x[e,d,s]``; the constant (every on
request unmet) is left out of the model and added back by :func:`.validate.objective`.
"""

from __future__ import annotations

from mutualis.engines.roster.model import RegionModel


def add(m: RegionModel) -> None:
    f = m.f
    for (e, d, s), v in m.x.items():
        m.minimise(int(f.off_w[e, d, s] - f.on_w[e, d, s]), v)
