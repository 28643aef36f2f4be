"""Checking a roster without a solver, and its benchmark objective.

:func:`roster_problems` lists, in words, every hard rule a roster breaks (empty: lawful);
:func:`objective` is the Curtois & Qu objective: unmet shift-on requests, granted shift-off
requests, under- and over-cover, each times its weight. Both read the rules from
:mod:`.instance` directly, not from the CP-SAT model, so that they check it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from mutualis.engines.roster.facts import Facts, IntArray
from mutualis.engines.roster.instance import OFF, RosterInstance, is_weekend


def _stretches(worked: Sequence[bool]) -> list[tuple[bool, int, int]]:
    """Maximal runs of equal values: (worked?, first day, length)."""
    runs: list[tuple[bool, int, int]] = []
    for d, v in enumerate(worked):
        if runs and runs[-1][0] == v:
            runs[-1] = (v, runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((v, d, 1))
    return runs


def staff_problems(inst: RosterInstance, e: int, row: Sequence[int], fixed_off: set[tuple[str, int]] | None = None,
                   ) -> list[str]:  # fmt: skip
    """The hard rules member of staff ``e`` breaks in ``row`` (its shift index or OFF per day)."""
    p = inst.staff[e]
    if len(row) != inst.days:
        return [f"{p.id}: {len(row)} days for a horizon of {inst.days}"]
    bad = [v for v in row if not OFF <= v < len(inst.shifts)]
    if bad:
        return [f"{p.id}: unknown shift index {bad[0]}"]
    if fixed_off is None:
        fixed_off = {(o.staff, o.day) for o in inst.days_off}
    problems: list[str] = []
    sidx = inst.shift_index()
    names = [inst.shifts[v].id if v != OFF else None for v in row]
    for d, s in enumerate(names):
        if s is not None and (p.id, d) in fixed_off:
            problems.append(f"{p.id}: shift {s} on day {d}, a fixed day off")
    for d in range(inst.days - 1):
        s, t = names[d], names[d + 1]
        if s is not None and t is not None and t in inst.shifts[sidx[s]].forbidden_next:
            problems.append(f"{p.id}: shift {t} on day {d + 1} may not follow {s} on day {d}")
    for shift in inst.shifts:
        count = names.count(shift.id)
        if count > p.max_of(shift.id):
            problems.append(f"{p.id}: {count} shifts {shift.id}, at most {p.max_of(shift.id)}")
    minutes = sum(inst.shifts[v].minutes for v in row if v != OFF)
    if not p.min_minutes <= minutes <= p.max_minutes:
        problems.append(f"{p.id}: {minutes} minutes worked, outside [{p.min_minutes}, {p.max_minutes}]")
    for worked, first, length in _stretches([v != OFF for v in row]):
        inside = first > 0 and first + length < inst.days  # touches neither end of the horizon
        if worked and length > p.max_consecutive:
            problems.append(f"{p.id}: {length} shifts in a row from day {first}, at most {p.max_consecutive}")
        if worked and inside and length < p.min_consecutive:
            problems.append(f"{p.id}: {length} shift(s) in a row from day {first}, at least {p.min_consecutive}")
        if not worked and inside and length < p.min_days_off:
            problems.append(f"{p.id}: {length} day(s) off in a row from day {first}, at least {p.min_days_off}")
    weekends = {d // 7 for d, v in enumerate(row) if v != OFF and is_weekend(d)}
    if len(weekends) > p.max_weekends:
        problems.append(f"{p.id}: {len(weekends)} weekends worked, at most {p.max_weekends}")
    return problems


def roster_problems(instance: RosterInstance, roster: Sequence[Sequence[int]]) -> list[str]:
    """Every hard rule the roster breaks, in words (empty: the roster is lawful)."""
    if len(roster) != len(instance.staff):
        return [f"roster has {len(roster)} rows for {len(instance.staff)} members of staff"]
    fixed_off = {(o.staff, o.day) for o in instance.days_off}
    return [x for e, row in enumerate(roster) for x in staff_problems(instance, e, row, fixed_off)]


def objective_parts(f: Facts, R: IntArray) -> dict[str, int]:
    """The objective of roster array ``R`` (E × D) by part: requests, under- and over-cover."""
    e_idx, d_idx = np.nonzero(R >= 0)
    s_idx = R[e_idx, d_idx]
    met_on = int(f.on_w[e_idx, d_idx, s_idx].sum())
    granted_off = int(f.off_w[e_idx, d_idx, s_idx].sum())
    count = np.zeros((f.D, f.S), dtype=np.int64)
    np.add.at(count, (d_idx, s_idx), 1)
    under = np.where(f.has_cover, np.maximum(0, f.req - count), 0)
    over = np.where(f.has_cover, np.maximum(0, count - f.req), 0)
    return {"requests": f.on_constant() - met_on + granted_off, "under": int((f.under_w * under).sum()),
            "over": int((f.over_w * over).sum()), "balance": balance_cost(f.inst, R)}  # fmt: skip


def balance_cost(instance: RosterInstance, roster: Sequence[Sequence[int]] | IntArray) -> int:
    """The fairness groups' cost (:class:`~.instance.Balance`): weight × spread beyond tolerance."""
    if not instance.balance:
        return 0
    staff, shifts = instance.staff_index(), instance.shift_index()
    total = 0
    for g in instance.balance:
        types = {shifts[s] for s in g.shifts if s in shifts}
        counts = [sum(1 for v in roster[staff[e]] if int(v) in types) for e in g.staff if e in staff]
        if len(counts) > 1:
            total += g.weight * max(0, max(counts) - min(counts) - g.tolerance)
    return total


def objective_array(f: Facts, R: IntArray) -> int:
    return sum(objective_parts(f, R).values())


def objective(instance: RosterInstance, roster: Sequence[Sequence[int]]) -> int:
    """The benchmark objective, computed from the instance's own records (no index tables)."""
    eidx = instance.staff_index()
    total = 0
    for r in instance.requests:
        v = roster[eidx[r.staff]][r.day]
        worked = v != OFF and instance.shifts[v].id == r.shift
        if worked != r.on:
            total += r.weight
    count = Counter((d, instance.shifts[v].id) for row in roster for d, v in enumerate(row) if v != OFF)
    for c in instance.cover:
        n = count[(c.day, c.shift)]
        total += c.under_weight * max(0, c.requirement - n) + c.over_weight * max(0, n - c.requirement)
    return total + balance_cost(instance, roster)
