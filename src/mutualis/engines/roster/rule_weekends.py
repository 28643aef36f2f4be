"""Weekends: at most ``max_weekends`` weekends with a shift on Saturday or Sunday.

``we[e,k]`` is 1 exactly when staff ``e`` works on Saturday or Sunday of weekend ``k``.
"""

from __future__ import annotations

from mutualis.engines.roster.model import Lit, RegionModel


def add(m: RegionModel) -> None:
    f = m.f
    for e in m.free_staff:
        if f.max_weekends[e] >= f.n_weekends:
            continue
        worked: list[Lit] = []
        for k in range(f.n_weekends):
            days = [m.work(e, d) for d in f.weekend_days(k)]
            free = [v for v in days if not isinstance(v, int)]
            if not free or any(isinstance(v, int) and v == 1 for v in days):
                worked.append(int(any(isinstance(v, int) and v == 1 for v in days)))
            elif len(free) == 1:
                worked.append(free[0])
            else:
                we = m.model.new_bool_var(f"we[{e},{k}]")
                m.model.add_max_equality(we, free)
                m.hint(we, int(any(m.inc[e, d] >= 0 for d in f.weekend_days(k))))
                worked.append(we)
        m.at_most(worked, int(f.max_weekends[e]))
