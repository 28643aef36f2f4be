"""Store generated demand (the demo and benchmarks): patients, orders, and, when a first-come
first-served run placed them, their appointments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.orders import Appointment, Order, OrderStatus
from mutualis.domain.territory import Territory
from mutualis.engines.demand import GeneratedOrder
from mutualis.engines.fcfs import Access, Calendar, Outcome, serve
from mutualis.services.booking import to_utc
from mutualis.services.ports import CommuneIndex, UnitOfWork


def serve_first_come(uow: UnitOfWork, t: Territory, generated: Sequence[GeneratedOrder], communes: CommuneIndex,
                     start: date, days: int) -> list[Outcome]:
    """Place ``generated`` first-come first-served on the pooled machines, around what is already
    booked and with the stored presence (nothing is written; :func:`import_demand` stores)."""
    first = datetime.combine(start, time()) - timedelta(days=1)
    until = first + timedelta(days=days + t.booking.horizon_days + 2)
    with uow:
        shifts = uow.presence.shifts(t.id, [s.id for s in t.sites], first.date(), until.date())
        booked = uow.appointments.booked(t.id, [e.id for e in t.equipment], first, until, t.timezone)
    return serve(t, generated, shifts, communes, Access.POOLED, Calendar({k: list(v) for k, v in booked.items()}))


@dataclass(frozen=True)
class ImportReport:
    patients: int
    orders: int
    appointments: int


def import_demand(uow: UnitOfWork, t: Territory, generated: Sequence[GeneratedOrder], *,
                  outcomes: Sequence[Outcome] = (), actor: str, now: datetime) -> ImportReport:
    """Store ``generated`` in one transaction; orders placed by ``outcomes`` are stored scheduled."""
    placed = {id(o.order): o for o in outcomes if o.start is not None and o.equipment is not None}
    durations = {x.code: x.duration_min for x in t.exams}
    new_patients = orders = appointments = 0
    with uow:
        for g in generated:
            patient = uow.patients.by_nir(t.id, g.patient.nir)
            if patient is None:
                patient = uow.patients.add(t.id, g.patient, now)
                new_patients += 1
            outcome = placed.get(id(g))
            status = OrderStatus.SCHEDULED if outcome else OrderStatus.REQUESTED
            order = uow.orders.add(Order(t.id, patient.id or 0, g.exam, g.requester, g.requesting_site, g.priority,
                                         g.not_before, g.due_by, g.clinical_info, status), now)
            orders += 1
            if outcome and outcome.start and outcome.equipment:
                start = to_utc(outcome.start, t)
                uow.appointments.add(t.id, Appointment(order.id or 0, outcome.equipment, start,
                                                       start + timedelta(minutes=durations[g.exam])), now)
                appointments += 1
        uow.audit.append(AuditEvent(at=now, actor=actor, action=Action.CREATE, resource="demand", territory=t.id,
                                    address="cli", detail={"patients": new_patients, "orders": orders,
                                                           "appointments": appointments}))
        uow.commit()
    return ImportReport(new_patients, orders, appointments)


