"""A surgeon is in one theatre at a time: two sessions of one day conflict when their hours
overlap, or when they are at two different sites less than ``site_travel_min`` apart (the drive
between Poitiers and Montmorillon); a surgeon may have cases in at most one session of each
conflicting pair.

The rule is kept at the session level (as a block schedule is read): it is stronger than "no
two of the surgeon's cases overlap in time" — a surgeon does not leave one room mid-session for
another — and implies it. The validator checks the weaker, time-level rule on the bookings
(:func:`clash`), so any plan the planner or the baseline makes passes it.

CP-SAT side: a Boolean ``in[surgeon@session]`` implied by each of the surgeon's cases in the
session, and ``in[a] + in[b] ≤ 1`` for each conflicting pair ``a``, ``b``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from mutualis.engines.theatre.instance import Session, TheatreInstance

if TYPE_CHECKING:
    from mutualis.engines.theatre.model import TheatreModel


def clash(travel_min: int, a_site: str, a_start: int, a_end: int, b_site: str, b_start: int,
          b_end: int) -> bool:  # fmt: skip
    """Whether one person cannot be in both time ranges (same day): they overlap, or they are at
    two sites with less than ``travel_min`` between them."""
    gap = travel_min if a_site != b_site else 0
    return a_start < b_end + gap and b_start < a_end + gap


def conflict(inst: TheatreInstance, a: Session, b: Session) -> bool:
    return a.id != b.id and a.day == b.day and clash(inst.site_travel_min, a.site, a.start_min, a.end_min,
                                                     b.site, b.start_min, b.end_min)  # fmt: skip


def conflicting_pairs(inst: TheatreInstance) -> list[tuple[int, int]]:
    by_day: dict[date, list[int]] = defaultdict(list)
    for i, s in enumerate(inst.sessions):
        by_day[s.day].append(i)
    out = []
    for idx in by_day.values():
        for n, i in enumerate(idx):
            for j in idx[n + 1:]:
                if conflict(inst, inst.sessions[i], inst.sessions[j]):
                    out.append((i, j))
    return out


def free(inst: TheatreInstance, session: Session, taken: set[str] | frozenset[str]) -> bool:
    """Whether a surgeon already in the sessions ``taken`` (ids) may also operate in ``session``."""
    by_id = inst.session_by_id
    return all(not conflict(inst, session, by_id[sid]) for sid in taken)


def add(tm: TheatreModel) -> None:
    inst = tm.inst
    where: dict[tuple[str, int], list[int]] = defaultdict(list)  # (surgeon, session) → cases
    for (k, i) in tm.x:
        where[inst.cases[k].surgeon, i].append(k)
    by_surgeon: dict[str, set[int]] = defaultdict(set)
    for rpps, i in where:
        by_surgeon[rpps].add(i)
    for i, j in conflicting_pairs(inst):
        for rpps, sessions in by_surgeon.items():
            if i in sessions and j in sessions:
                tm.model.add(_inside(tm, rpps, i, where[rpps, i]) + _inside(tm, rpps, j, where[rpps, j]) <= 1)


def _inside(tm: TheatreModel, rpps: str, i: int, ks: list[int]) -> cp_model.IntVar:
    key = (rpps, i)
    var = tm.inside.get(key)
    if var is None:
        if len(ks) == 1:
            var = tm.x[ks[0], i]
        else:
            var = tm.model.new_bool_var(f"in[{rpps}@{tm.inst.sessions[i].id}]")
            for k in ks:
                tm.model.add_implication(tm.x[k, i], var)
        tm.inside[key] = var
    return var
