"""Capacity: the cases of a session, one after the other with the turnover between two of
them, fit in the session and its overtime allowance; the minutes past its end are overtime,
the minutes left unused are idle.

A session holding cases of expected in-room times d₁…dₙ is busy for
``load = Σ dᵢ + turnover × (n − 1)`` minutes from its start (0 when empty); then
``load ≤ length + allowance``, ``overtime = max(0, load − length)``,
``idle = max(0, length − load)``.

Order within a session (:func:`sequence`): urgent cases first, then cancer, then standard (the
most pressing are least exposed to a late cancellation), and within a priority the longest
first (complex cases in the morning, when the whole team is there), then by case id; start
times follow from the session's start.

CP-SAT side, per session with candidates: Σ (dᵢ + t)·xᵢ ≤ length + allowance + t; a Boolean
``used`` ≥ every xᵢ; ``overtime`` ∈ [0, allowance] ≥ Σ (dᵢ + t)·xᵢ − t − length; the idle
minutes are ``length − Σ (dᵢ + t)·xᵢ + t·used + overtime`` (both at their least at an optimum).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from mutualis.engines.theatre.instance import PRIORITIES, Booking, Session, SurgicalCase, TheatreInstance

if TYPE_CHECKING:
    from mutualis.engines.theatre.model import TheatreModel


def load(inst: TheatreInstance, cases: Sequence[SurgicalCase]) -> int:
    """Minutes from the session's start to the end of its last case."""
    return sum(c.expected_min for c in cases) + inst.turnover_min * max(0, len(cases) - 1)


def overtime(session: Session, minutes: int) -> int:
    return max(0, minutes - session.length)


def idle(session: Session, minutes: int) -> int:
    return max(0, session.length - minutes)


def fits(inst: TheatreInstance, session: Session, cases: Sequence[SurgicalCase], *, allowance: bool = True) -> bool:
    """Whether ``cases`` fit in ``session`` (with its overtime allowance unless ``allowance`` is false)."""
    return load(inst, cases) <= session.length + (inst.overtime_allowance_min if allowance else 0)


def _rank(case: SurgicalCase) -> tuple[int, int, str]:
    prio = PRIORITIES.index(case.priority) if case.priority in PRIORITIES else len(PRIORITIES)
    return prio, -case.expected_min, case.id


def sequence(inst: TheatreInstance, session: Session, cases: Sequence[SurgicalCase]) -> list[Booking]:
    """The bookings of ``cases`` in ``session``, in the order rule, back to back with turnovers."""
    out: list[Booking] = []
    at = session.start_min
    for c in sorted(cases, key=_rank):
        out.append(Booking(c.id, session.id, at))
        at += c.expected_min + inst.turnover_min
    return out


def add(tm: TheatreModel) -> None:
    inst = tm.inst
    t, allowance = inst.turnover_min, inst.overtime_allowance_min
    for i, s in enumerate(inst.sessions):
        ks = tm.by_session.get(i, [])
        if not ks:
            continue
        xs = [tm.x[k, i] for k in ks]
        sizes = [inst.cases[k].expected_min + t for k in ks]
        busy = cp_model.LinearExpr.weighted_sum(xs, sizes)
        if sum(sizes) > s.length + allowance + t:
            tm.model.add(busy <= s.length + allowance + t)
        used = tm.model.new_bool_var(f"used[{s.id}]")
        for x in xs:
            tm.model.add_implication(x, used)
        tm.used[i] = used
        if sum(sizes) - t > s.length:
            over = tm.model.new_int_var(0, min(allowance, sum(sizes) - t - s.length), f"overtime[{s.id}]")
            tm.model.add(over >= busy - t - s.length)
            tm.over[i] = over
        tm.busy[i] = busy
