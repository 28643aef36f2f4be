"""Consecutive shifts and days off.

- at most ``max_consecutive`` worked days in a row: every window of ``max + 1`` days holds a
  day off (days before and after the horizon are off, so windows stay inside it);
- at least ``min_consecutive`` worked days and ``min_days_off`` days off in a row, for stretches
  that touch neither end of the horizon (the Curtois & Qu convention: a stretch at an end is
  assumed to go on outside it): every too-short stretch "other kind, k days, other kind" is
  forbidden by one clause, for each k below the minimum.
"""

from __future__ import annotations

from mutualis.engines.roster.model import Lit, RegionModel


def _no_short_stretch(m: RegionModel, e: int, least: int, worked: bool) -> None:
    D = m.f.D
    for k in range(1, least):
        for d in range(max(0, m.start - k - 1), min(m.end, D - k - 1)):  # days d .. d+k+1 meet the region
            lits: list[tuple[Lit, bool]] = [(m.work(e, d), worked), (m.work(e, d + k + 1), worked)]
            lits += [(m.work(e, t), not worked) for t in range(d + 1, d + k + 1)]
            m.clause(lits)


def add(m: RegionModel) -> None:
    f = m.f
    for e in m.free_staff:
        most = int(f.max_cons[e])
        if most < f.D:
            for d in range(max(0, m.start - most), min(m.end, f.D - most)):
                m.at_most([m.work(e, t) for t in range(d, d + most + 1)], most)
        _no_short_stretch(m, e, int(f.min_cons[e]), worked=True)
        _no_short_stretch(m, e, int(f.min_off[e]), worked=False)
