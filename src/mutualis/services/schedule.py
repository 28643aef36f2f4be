"""Use cases of the week optimiser: build the territory's planning problem from the database,
solve it into a stored proposal, show it, apply it in one transaction, or reject it.

What may move: orders waiting for an appointment, and appointments not yet announced to the
patient (``appointments.announced_at`` empty: placed by a batch or by an applied proposal).
Announced appointments, those already past and those of orders under way stay where they are
and take their machine and staff. Applying re-reads everything, checks that none of the
proposal's orders changed since, and re-runs the solver-free validator on the plan that
would result: a stale or unlawful proposal is refused (HTTP 409) and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from mutualis.domain.accounts import Role, User, visible_sites
from mutualis.domain.audit import Action
from mutualis.domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.orders import Appointment, OrderStatus, Priority
from mutualis.domain.territory import Territory
from mutualis.engines.schedule.baseline import first_available
from mutualis.engines.schedule.build import Booked, OrderRequest, from_territory
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.explain import explain
from mutualis.engines.schedule.instance import Placement, ScheduleInstance
from mutualis.engines.schedule.solve import solve
from mutualis.engines.schedule.validate import Metrics, evaluate, plan_problems
from mutualis.services.booking import to_local, to_utc
from mutualis.services.common import audit as _audit
from mutualis.services.common import territory as _territory
from mutualis.services.ports import CommuneIndex, UnitOfWork

Progress = Callable[[str, float], None]
MAX_DAYS = 28
MOVABLE = "scheduled"


@dataclass(frozen=True)
class Planning:
    """The planning problem of a horizon and how its order ids map back to the database."""

    territory: Territory
    instance: ScheduleInstance
    movable: Mapping[str, int]  # instance order id → order id


@dataclass(frozen=True)
class ProposalSummary:
    id: int
    territory: str
    start: date
    days: int
    status: str  # proposed | applied | rejected
    solver_status: str
    objective: int
    reference_objective: int
    bound: int
    gap: float
    seconds: float
    before: Mapping[str, float]
    after: Mapping[str, float]
    changes: int
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None



def _require_planner(user: User, t: Territory, now: datetime) -> frozenset[str]:
    """The sites the coordinator plans: those of the pooling conventions they belong to."""
    if user.role not in (Role.COORDINATOR, Role.ADMIN):
        raise PermissionDenied("only coordinators plan the territory's week")
    sites = visible_sites(user, t, now.date())
    if not sites:
        raise NotFound("territory", t.id)
    return sites


def _window(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(Problem("days", f"must be between 1 and {MAX_DAYS} (got {days})"))


def planning(uow: UnitOfWork, t: Territory, communes: CommuneIndex, start: date, days: int, now: datetime,
             sites: frozenset[str], lead: timedelta = timedelta(0)) -> Planning:  # fmt: skip
    """The problem of ``days`` days from ``start`` as the database holds it at ``now`` (inside
    a unit of work), on the machines of ``sites``, for the orders those sites requested (other
    appointments on those machines stay where they are). ``lead``: what starts within it from
    now stays where it is, and nothing is placed there."""
    _window(days)
    t = replace(t, equipment=tuple(e for e in t.equipment if e.site in sites))
    midnight = datetime.combine(start, time())
    end = midnight + timedelta(days=days)
    local_now = to_local(now, t) + lead
    exams = {x.code: x for x in t.exams}
    site_insee = {s.id: s.insee for s in t.sites}

    def origin(r: Mapping[str, Any]) -> str:
        if r["priority"] in (Priority.URGENT.value, Priority.INPATIENT.value):
            return str(site_insee.get(r["requesting_site"], r["insee"]))
        return str(r["insee"])

    def request(r: Mapping[str, Any], current: tuple[str, datetime] | None) -> OrderRequest:
        return OrderRequest(str(r["order_id"]), r["exam_code"], r["priority"], to_local(r["created_at"], t),
                            r["not_before"], r["due_by"], origin(r), current)  # fmt: skip

    requests: list[OrderRequest] = []
    booked: list[Booked] = []
    for r in uow.schedule.appointments(t.id, to_utc(midnight - timedelta(days=1), t), to_utc(end, t)):
        start_local, end_local = to_local(r["start_at"], t), to_local(r["end_at"], t)
        exam = exams.get(r["exam_code"])
        movable = (r["announced_at"] is None and r["status"] == MOVABLE and start_local >= local_now
                   and midnight <= start_local < end and exam is not None
                   and r["requesting_site"] in sites)  # fmt: skip
        if movable:
            requests.append(request(r, (r["code"], start_local)))
        else:
            booked.append(Booked(f"appointment {r['id']}", r["code"], start_local, end_local,
                                 bool(exam and exam.radiologist_on_site)))  # fmt: skip
    requests += [request(r, None) for r in uow.schedule.requested(t.id, to_utc(end, t))
                 if r["exam_code"] in exams and r["requesting_site"] in sites]  # fmt: skip
    shifts = uow.presence.shifts(t.id, sorted(sites), start, start + timedelta(days=days - 1))
    instance = from_territory(t, requests, booked, shifts, communes, start, days, earliest=max(local_now, midnight))
    return Planning(t, instance, {o.id: int(o.id) for o in instance.orders})


def _metrics(m: Metrics) -> dict[str, float]:
    out = asdict(m)
    out.pop("terms", None)
    return {k: float(v) for k, v in out.items()}


def _when(inst: ScheduleInstance, p: Placement) -> datetime:
    return inst.instant(p.day, p.minute)


# A proposal leaves alone what starts in the next half hour and books nothing there: the patient
# and the staff need that time, and the proposal stays valid while the coordinator decides (its
# application checks the plan again at that time, without the lead).
PROPOSAL_LEAD = timedelta(minutes=30)


def optimize(uow: UnitOfWork, user: User, territory_id: str, communes: CommuneIndex, start: date, days: int, *,
             time_limit_s: float = 30.0, progress: Progress | None = None, address: str | None,
             now: datetime) -> int:  # fmt: skip
    """Solve the week and store the result as a proposal (nothing is moved): its id."""
    if time_limit_s <= 0:
        raise ValidationError(Problem("time_limit", "must be positive"))
    with uow:
        t = _territory(uow, territory_id)
        sites = _require_planner(user, t, now)
        plan = planning(uow, t, communes, start, days, now, sites, PROPOSAL_LEAD)
    inst = plan.instance
    solution = solve(inst, time_limit_s, progress)
    cal = Calendar(inst)
    reference = {p.order: p for p in first_available(cal)}  # the current plan; new orders at their first slot
    proposal = {p.order: p for p in solution.plan}
    machine_of = {m.id: m for m in inst.machines}
    rows = []
    for o in inst.orders:
        before, after = o.current, proposal.get(o.id)
        if before == after:
            continue
        ref = before if before is not None else reference.get(o.id)
        why = explain(cal, ref, after) if ref != after else None
        code = why.code if why is not None else "first_available"
        rows.append({
            "order_id": plan.movable[o.id],
            "before_equipment": before.machine if before else None,
            "before_start": to_utc(_when(inst, before), t) if before else None,
            "after_equipment": after.machine if after else None,
            "after_start": to_utc(_when(inst, after), t) if after else None,
            "after_end": (to_utc(_when(inst, after) + timedelta(minutes=o.duration * inst.slot_min), t)
                          if after else None),
            "code": code,
            "params": {**(dict(why.params) if why else {}),
                       **({"site": inst.sites.get(machine_of[after.machine].site, after.machine)} if after else {})},
        })  # fmt: skip
    header = {
        "start_day": start, "days": days, "solver_status": solution.status, "objective": solution.objective,
        "reference_objective": solution.reference_objective, "bound": solution.bound, "gap": solution.gap,
        "seconds": round(solution.wall_s, 2), "created_by": user.username, "created_at": now,
        "metrics": {"before": _metrics(evaluate(cal, tuple(reference.values()))),
                    "after": _metrics(evaluate(cal, solution.plan))},
    }  # fmt: skip
    with uow:
        pid = uow.schedule.add_proposal(t.id, header, rows)
        _audit(uow, user, Action.CREATE, "schedule_proposal", pid, t.id, address, now, start=start.isoformat(),
               days=days, changes=len(rows), objective=solution.objective, status=solution.status)  # fmt: skip
        uow.commit()
    return pid



def _summary(r: Mapping[str, Any], changes: int | None = None) -> ProposalSummary:
    metrics = r["metrics"] or {}
    return ProposalSummary(
        r["id"], r["territory_id"], r["start_day"], r["days"], r["status"], r["solver_status"], r["objective"],
        r["reference_objective"], r["bound"], r["gap"], r["seconds"], metrics.get("before", {}),
        metrics.get("after", {}), r.get("changes", 0) if changes is None else changes, r["created_by"],
        r["created_at"], r["decided_by"], r["decided_at"])  # fmt: skip


def proposals(uow: UnitOfWork, user: User, territory_id: str, *, now: datetime, limit: int = 20
              ) -> list[ProposalSummary]:  # fmt: skip
    with uow:
        t = _territory(uow, territory_id)
        _require_planner(user, t, now)
        return [_summary(r) for r in uow.schedule.proposals(t.id, limit)]


def proposal(uow: UnitOfWork, user: User, proposal_id: int, *, address: str | None, now: datetime
             ) -> tuple[Territory, ProposalSummary, list[dict[str, Any]]]:  # fmt: skip
    """A proposal with its changes (patients' names included: the read is audited)."""
    with uow:
        row = uow.schedule.proposal(proposal_id)
        if row is None:
            raise NotFound("proposal", str(proposal_id))
        t = _territory(uow, row["territory_id"])
        _require_planner(user, t, now)
        changes = uow.schedule.changes(proposal_id)
        _audit(uow, user, Action.READ, "schedule_proposal", proposal_id, t.id, address, now,
               patients=sorted({c["patient_id"] for c in changes}))  # fmt: skip
        uow.commit()
    return t, _summary(row, len(changes)), changes


def _decidable(uow: UnitOfWork, user: User, proposal_id: int, now: datetime) -> tuple[Territory, dict[str, Any]]:
    row = uow.schedule.proposal(proposal_id, for_update=True)
    if row is None:
        raise NotFound("proposal", str(proposal_id))
    t = _territory(uow, row["territory_id"])
    _require_planner(user, t, now)
    if row["status"] != "proposed":
        raise Conflict(f"proposal {proposal_id} is already {row['status']}")
    return t, row


def reject(uow: UnitOfWork, user: User, proposal_id: int, *, address: str | None, now: datetime) -> None:
    with uow:
        t, _ = _decidable(uow, user, proposal_id, now)
        uow.schedule.decide(proposal_id, "rejected", user.username, now)
        _audit(uow, user, Action.UPDATE, "schedule_proposal", proposal_id, t.id, address, now, status="rejected")
        uow.commit()


def apply(uow: UnitOfWork, user: User, proposal_id: int, communes: CommuneIndex, *, address: str | None,
          now: datetime) -> int:  # fmt: skip
    """Apply a proposal in one transaction; the number of orders moved or booked."""
    with uow:
        t, row = _decidable(uow, user, proposal_id, now)
        changes = uow.schedule.changes(proposal_id)
        plan = planning(uow, t, communes, row["start_day"], row["days"], now, visible_sites(user, t, now.date()))
        inst = plan.instance
        current = {o.id: o.current for o in inst.orders}

        def placement(order: str, equipment: str | None, start: datetime | None) -> Placement | None:
            if equipment is None or start is None:
                return None
            return Placement(order, equipment, *inst.day_minute(to_local(start, t)))

        stale = []
        wanted = {k: v for k, v in current.items() if v is not None}
        for c in changes:
            key = str(c["order_id"])
            if key not in current or current[key] != placement(key, c["before_equipment"], c["before_start"]):
                stale.append(c["order_id"])
                continue
            after = placement(key, c["after_equipment"], c["after_start"])
            if after is None:
                wanted.pop(key, None)
            else:
                wanted[key] = after
        if stale:
            shown = ", ".join(map(str, stale[:5])) + (" …" if len(stale) > 5 else "")
            raise Conflict(f"the plan changed since this proposal was made (orders {shown}): run the optimiser again")
        problems = plan_problems(inst, list(wanted.values()))
        if problems:
            raise ValidationError(problems, "the proposal no longer fits the territory's plan: run the optimiser again")
        # free every old slot first: a change may take the slot another change leaves
        old = {c["order_id"]: uow.appointments.active_for_order(c["order_id"]) for c in changes}
        for a in old.values():
            if a is not None:
                uow.appointments.deactivate(a.id or 0, now)
        for c in changes:
            if c["after_equipment"] is not None:
                uow.appointments.add(t.id, Appointment(c["order_id"], c["after_equipment"], c["after_start"],
                                                       c["after_end"]), now)  # fmt: skip
                if old[c["order_id"]] is None:
                    uow.orders.set_status(c["order_id"], OrderStatus.SCHEDULED, now)
                    uow.orders.set_waiting(c["order_id"], None)
            elif old[c["order_id"]] is not None:
                uow.orders.set_status(c["order_id"], OrderStatus.REQUESTED, now)
        uow.schedule.decide(proposal_id, "applied", user.username, now)
        _audit(uow, user, Action.UPDATE, "schedule_proposal", proposal_id, t.id, address, now, status="applied",
               orders=[c["order_id"] for c in changes])  # fmt: skip
        uow.commit()
    return len(changes)


def announce(uow: UnitOfWork, user: User, territory_id: str, first: date, last: date, *, address: str | None,
             now: datetime) -> int:  # fmt: skip
    """Mark the appointments of ``first``..``last`` as announced to their patients (the
    convocations went out): from now on the optimiser leaves them where they are."""
    if last < first:
        raise ValidationError(Problem("last", "must not be before first"))
    with uow:
        t = _territory(uow, territory_id)
        _require_planner(user, t, now)
        n = uow.schedule.announce(t.id, to_utc(datetime.combine(first, time()), t),
                                  to_utc(datetime.combine(last + timedelta(days=1), time()), t), now)  # fmt: skip
        _audit(uow, user, Action.UPDATE, "appointment", None, t.id, address, now, announced=n,
               first=first.isoformat(), last=last.isoformat())  # fmt: skip
        uow.commit()
    return n
