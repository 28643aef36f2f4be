"""Eligibility: which sessions a case may take.

A case may go into a session when all of these hold (each failure is a reason, in words):

- the block schedule lets its surgeon operate there (the session is allocated to them, to a
  team they belong to, or is open);
- its surgeon holds a privilege at the session's site (under a convention in force, or their
  own establishment: :func:`.block.privileges_from_territory`);
- the case is allowed at the site (heavy surgery and digestive oncology only at the CHU) and
  the theatre takes its procedure (the territory's restriction of the room, if any);
- the theatre has the equipment the case needs, and the anaesthesia it needs is available;
- the session is inside the horizon and not before the case's ready date;
- the case alone fits in the session and its overtime allowance.

CP-SAT side: one Boolean per eligible (case, session) pair and one per case left waiting;
exactly one of them is true.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mutualis.engines.theatre.instance import Session, SurgicalCase, TheatreInstance

if TYPE_CHECKING:
    from mutualis.engines.theatre.model import TheatreModel


def reasons(inst: TheatreInstance, case: SurgicalCase, session: Session) -> list[str]:
    """Why ``case`` may not go into ``session`` (empty: it may)."""
    out: list[str] = []
    who = inst.names.get(case.surgeon, case.surgeon)
    if not session.allocated_to(case.surgeon):
        out.append(f"session allocated to {session.team or ', '.join(sorted(session.surgeons))} in the block "
                   f"schedule, not to {who}")  # fmt: skip
    if session.site not in inst.privileges.get(case.surgeon, frozenset()):
        out.append(f"surgeon {who} holds no privilege at site {session.site}")
    if case.sites and session.site not in case.sites:
        out.append(f"case not allowed at site {session.site} (only {', '.join(sorted(case.sites))})")
    if session.procedures and case.procedure not in session.procedures:
        out.append(f"theatre {session.theatre} does not take {case.procedure}")
    missing = case.equipment - session.equipment
    if missing:
        out.append(f"theatre {session.theatre} lacks {', '.join(sorted(missing))}")
    if case.anaesthesia not in session.anaesthesia:
        out.append(f"no {case.anaesthesia} anaesthesia in session {session.id}")
    if not inst.start <= session.day < inst.end:
        out.append("session outside the horizon")
    if session.day < case.ready_on:
        out.append(f"session on {session.day} before the case's ready date {case.ready_on}")
    if case.expected_min > session.length + inst.overtime_allowance_min:
        out.append(f"case ({case.expected_min} min) longer than the session ({session.length} min) and its "
                   f"overtime allowance")  # fmt: skip
    return out


def eligible(inst: TheatreInstance, case: SurgicalCase, session: Session) -> bool:
    return not reasons(inst, case, session)


def options(inst: TheatreInstance) -> dict[int, list[int]]:
    """Case index → indices of the sessions it may take."""
    return {k: [i for i, s in enumerate(inst.sessions) if eligible(inst, c, s)] for k, c in enumerate(inst.cases)}


def add(tm: TheatreModel) -> None:
    for k, case in enumerate(tm.inst.cases):
        tm.waiting[k] = tm.model.new_bool_var(f"waiting[{case.id}]")
        for i in tm.by_case[k]:
            tm.x[k, i] = tm.model.new_bool_var(f"x[{case.id}@{tm.inst.sessions[i].id}]")
        tm.model.add_exactly_one([tm.x[k, i] for i in tm.by_case[k]] + [tm.waiting[k]])
