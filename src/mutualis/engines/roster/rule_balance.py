"""Balance (soft): within each group of staff (the same profession and contract), the number of
shifts of the group's types (nights on call; weekend days on call) differs by at most
``tolerance`` between any two members; each shift of spread beyond it costs ``weight``.

``lo ≤ count[e] ≤ hi`` for every member, ``excess ≥ hi − lo − tolerance``, minimise
``weight × excess``; members outside the region count with the incumbent's shifts.
"""

from __future__ import annotations

from mutualis.engines.roster.model import Lit, RegionModel


def add(m: RegionModel) -> None:
    f = m.f
    staff, shifts = f.inst.staff_index(), f.inst.shift_index()
    for n, group in enumerate(f.inst.balance):
        members = [staff[s] for s in group.staff if s in staff]
        types = [shifts[s] for s in group.shifts if s in shifts]
        if len(members) < 2 or not types or not any(m.is_free[e] for e in members):
            continue
        counts: list[tuple[list[Lit], int]] = []
        for e in members:
            cells = [m.xs(e, d, s) for d in range(f.D) for s in types]
            fixed = sum(c for c in cells if isinstance(c, int))
            counts.append(([c for c in cells if not isinstance(c, int)], fixed))
        top = max(len(v) + c for v, c in counts)
        hi = m.model.new_int_var(0, top, f"balance_hi[{n}]")
        lo = m.model.new_int_var(0, top, f"balance_lo[{n}]")
        for variables, fixed in counts:
            total = sum(variables) + fixed if variables else fixed
            m.model.add(hi >= total)
            m.model.add(lo <= total)
        excess = m.model.new_int_var(0, top, f"balance_excess[{n}]")
        m.model.add(excess >= hi - lo - group.tolerance)
        m.minimise(group.weight, excess)
        now = [int(sum(int(m.inc[e, d] in types) for d in range(f.D))) for e in members]
        m.hint(hi, max(now))
        m.hint(lo, min(now))
        m.hint(excess, max(0, max(now) - min(now) - group.tolerance))
