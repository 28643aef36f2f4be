"""First-come first-served, as a booking desk fills a theatre programme: cases in referral order
(then ready date, then id), each takes the first session — earliest day, then earliest start,
then theatre id — among its surgeon's own sessions in the block schedule, else among the open
sessions, that it may take (:mod:`.rule_eligibility`), where it still fits **without
overtime** next to the cases already there, and where its surgeon is not in a conflicting
session (:mod:`.rule_surgeon`); otherwise it stays waiting. Cases already booked are never
moved, and no room is kept for cases referred later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from mutualis.engines.theatre import rule_capacity, rule_eligibility, rule_surgeon
from mutualis.engines.theatre.instance import PRIORITIES, Booking, Session, SurgicalCase, TheatreInstance


def _serve(inst: TheatreInstance, cases: list[SurgicalCase], ranked: Callable[[SurgicalCase], list[Session]],
           allowance: bool) -> dict[str, str]:  # fmt: skip
    content: dict[str, list[SurgicalCase]] = defaultdict(list)
    taken: dict[str, set[str]] = defaultdict(set)  # surgeon → sessions where they operate
    out: dict[str, str] = {}
    for case in cases:
        for s in ranked(case):
            if not rule_eligibility.eligible(inst, case, s):
                continue
            if not rule_capacity.fits(inst, s, [*content[s.id], case], allowance=allowance):
                continue
            if s.id not in taken[case.surgeon] and not rule_surgeon.free(inst, s, taken[case.surgeon]):
                continue
            content[s.id].append(case)
            taken[case.surgeon].add(s.id)
            out[case.id] = s.id
            break
    return out


def _in_time_order(inst: TheatreInstance) -> list[Session]:
    return sorted(inst.sessions, key=lambda s: (s.day, s.start_min, s.theatre, s.id))


def fcfs_assignment(inst: TheatreInstance) -> dict[str, str]:
    """Case id → session id, first-come first-served (cases absent: left waiting)."""
    sessions = _in_time_order(inst)
    opened = [s for s in sessions if s.is_open]

    def ranked(case: SurgicalCase) -> list[Session]:
        return [s for s in sessions if not s.is_open and case.surgeon in s.surgeons] + opened

    return _serve(inst, sorted(inst.cases, key=lambda c: (c.referral, c.ready_on, c.id)), ranked, allowance=False)


def priority_assignment(inst: TheatreInstance) -> dict[str, str]:
    """Case id → session id, the most pressing case first (urgent, cancer, standard; then due
    date, referral date, id), each in its cheapest session under the planner's own costs
    (:meth:`~.instance.TheatreInstance.cost`; then own sessions before open ones, then time
    order) where it fits, overtime allowance included. A greedy start for the planner, and a
    second baseline: what a careful booking desk does one case at a time."""
    sessions = _in_time_order(inst)
    order = sorted(inst.cases, key=lambda c: (PRIORITIES.index(c.priority) if c.priority in PRIORITIES else 9,
                                              c.due, c.referral, c.id))  # fmt: skip

    def ranked(case: SurgicalCase) -> list[Session]:
        return sorted(sessions, key=lambda s: (inst.cost(case, s.day), s.is_open, s.day, s.start_min))

    return _serve(inst, order, ranked, allowance=True)


def plan_of(inst: TheatreInstance, assignment: dict[str, str]) -> tuple[Booking, ...]:
    """The bookings of an assignment, each session in the order rule (:func:`.rule_capacity.sequence`)."""
    content: dict[str, list[SurgicalCase]] = defaultdict(list)
    for cid, sid in assignment.items():
        content[sid].append(inst.case_by_id[cid])
    out: list[Booking] = []
    for sid, cases in content.items():
        out += rule_capacity.sequence(inst, inst.session_by_id[sid], cases)
    return tuple(sorted(out))


def fcfs(inst: TheatreInstance) -> tuple[Booking, ...]:
    """The first-come first-served plan."""
    return plan_of(inst, fcfs_assignment(inst))
