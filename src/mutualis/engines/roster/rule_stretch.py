"""Stretches as paths: a stronger formulation of the consecutive rules, for staff free over the
whole horizon (the whole model).

Each member of staff's horizon is a path of alternating stretches: a work stretch ``W(a, l)``
(days ``a .. a+l-1`` worked, ``l`` within ``[min, max]`` consecutive shifts, at least 1 when it
touches an end of the horizon), then a stretch off — ``O(a)`` opens it with ``min_days_off``
days (1 at the start of the horizon), then ``C(t)`` adds day ``t`` to it, and ``R(t)`` closes
it before day ``t``. Flow conservation on this acyclic graph describes exactly the lawful
work/off patterns and its linear relaxation is integral, which tightens CP-SAT's LP bound far
beyond the clauses of :mod:`.rule_consecutive` (kept for propagation). ``w[e,d]`` is the sum of
the work stretches covering ``d``.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from mutualis.engines.roster.facts import IntArray
from mutualis.engines.roster.model import RegionModel


def _off_run(row: IntArray, t: int) -> int:
    """Days off in a row ending on day ``t`` in ``row``."""
    n = 0
    while t - n >= 0 and row[t - n] < 0:
        n += 1
    return n


def add_staff(m: RegionModel, e: int) -> None:
    f, model, D = m.f, m.model, m.f.D
    most, least, rest = int(f.max_cons[e]), int(f.min_cons[e]), int(f.min_off[e])
    inc = m.inc[e]
    covering: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    ending: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    starting: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for a in range(D):
        for length in range(1, min(most, D - a) + 1):
            if length < least and a > 0 and a + length < D:
                continue
            if any(isinstance(m.work(e, d), int) for d in range(a, a + length)):
                break  # a day with no allowed shift ends every longer stretch too
            v = model.new_bool_var(f"W[{e},{a},{length}]")
            run = all(inc[d] >= 0 for d in range(a, a + length))
            m.hint(v, int(run and (a == 0 or inc[a - 1] < 0) and (a + length == D or inc[a + length] < 0)))
            starting[a].append(v)
            ending[a + length].append(v)
            for d in range(a, a + length):
                covering[d].append(v)
    opens = {a: model.new_bool_var(f"O[{e},{a}]") for a in range(D)}
    chain = {t: model.new_bool_var(f"C[{e},{t}]") for t in range(1, D)}
    closes = {t: model.new_bool_var(f"R[{e},{t}]") for t in range(1, D)}
    for a, v in opens.items():
        m.hint(v, int(inc[a] < 0 and (a == 0 or inc[a - 1] >= 0)))
    for t, v in chain.items():
        off = _off_run(inc, t)
        m.hint(v, int(inc[t] < 0 and off > (rest if off <= t else 1)))
    for t, v in closes.items():
        m.hint(v, int(inc[t] >= 0 and inc[t - 1] < 0))
    model.add(sum(starting[0]) + opens[0] == 1)
    arrive: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for a, v in opens.items():
        if a > 0:
            model.add(v == sum(ending[a]))
        target = a + (rest if a > 0 else 1)
        if target < D:
            arrive[target].append(v)
    for t in range(1, D):
        inflow = [*arrive[t], *([chain[t - 1]] if t >= 2 else [])]
        model.add(sum(inflow) == chain[t] + closes[t])
        model.add(closes[t] == sum(starting[t]))
    for d in range(D):
        model.add(sum(covering[d]) == m.w[e, d])


def add(m: RegionModel) -> None:
    if not m.day_free.all():
        return
    for e in m.free_staff:
        add_staff(m, e)
