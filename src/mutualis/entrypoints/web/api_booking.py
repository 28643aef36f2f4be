"""The booking API: patients, orders, slots, appointments. Every patient read and change is
audited by the use cases; these handlers only translate HTTP."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request

from mutualis.bootstrap import Container
from mutualis.domain.accounts import User
from mutualis.domain.errors import Problem, ValidationError
from mutualis.domain.orders import Appointment, Order, OrderStatus, Patient, Priority, Sex
from mutualis.domain.territory import Territory
from mutualis.entrypoints.web import schemas as S
from mutualis.entrypoints.web.deps import client_address, get_container, requires
from mutualis.services import booking
from mutualis.services.booking import BOOKERS, READERS

E = TypeVar("E", bound=StrEnum)
router = APIRouter(prefix="/api", tags=["booking"])
ContainerDep = Annotated[Container, Depends(get_container)]
Booker = Annotated[User, Depends(requires(*BOOKERS))]
Reader = Annotated[User, Depends(requires(*READERS))]


def _enum(kind: type[E], value: str, field: str) -> E:
    try:
        return kind(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in kind)
        raise ValidationError(Problem(field, f"unknown value {value!r} (one of {allowed})")) from exc


def _patient_out(p: Patient, c: Container) -> S.PatientOut:
    commune = c.communes.get(p.insee)
    return S.PatientOut(id=p.id or 0, nir=p.nir, last_name=p.last_name, first_name=p.first_name,
                        birth_date=p.birth_date, sex=p.sex.value, insee=p.insee,
                        commune=commune.name if commune else None, phone=p.phone)


def _appointment_out(a: Appointment | None, t: Territory | None = None) -> S.AppointmentOut | None:
    if a is None:
        return None
    return S.AppointmentOut(id=a.id, order_id=a.order_id, equipment=a.equipment, start=a.start, end=a.end)


def _order_out(o: Order, patient: Patient | None = None, appointment: Appointment | None = None) -> S.OrderOut:
    return S.OrderOut(id=o.id or 0, territory=o.territory, accession_number=o.accession_number,
                      patient_id=o.patient_id, patient_name=patient.display_name if patient else None, exam=o.exam,
                      requester=o.requester, requesting_site=o.requesting_site, priority=o.priority.value,
                      not_before=o.not_before, due_by=o.due_by, clinical_info=o.clinical_info, status=o.status.value,
                      appointment=_appointment_out(appointment))


def _local(start: datetime, t: Territory) -> datetime:
    return booking.to_local(start, t) if start.tzinfo else start


def _territory_of_order(c: Container, user: User, order_id: int, request: Request) -> Territory:
    order, _, _ = booking.get_order(c.uow(), user, order_id, address=client_address(request), now=c.clock.now())
    with c.uow() as uow:
        t = uow.territories.get(order.territory)
    assert t is not None
    return t


@router.get("/patients", response_model=list[S.PatientOut])
def search_patients(request: Request, c: ContainerDep, user: Reader, territory: str,
                    q: Annotated[str, Query(min_length=2, description="name prefix(es) or NIR prefix")]
                    ) -> list[S.PatientOut]:
    found = booking.find_patients(c.uow(), user, territory, q, address=client_address(request), now=c.clock.now())
    return [_patient_out(p, c) for p in found]


@router.post("/patients", response_model=S.PatientOut, status_code=201)
def create_patient(body: S.PatientIn, request: Request, c: ContainerDep, user: Booker) -> S.PatientOut:
    p = Patient(body.nir, body.last_name, body.first_name, body.birth_date, _enum(Sex, body.sex, "sex"), body.insee,
                body.phone)
    stored = booking.register_patient(c.uow(), user, body.territory, p, c.communes, address=client_address(request),
                                      now=c.clock.now())
    return _patient_out(stored, c)


@router.get("/patients/{patient_id}", response_model=S.PatientDetail)
def get_patient(patient_id: int, territory: str, request: Request, c: ContainerDep, user: Reader) -> S.PatientDetail:
    p, orders = booking.get_patient(c.uow(), user, territory, patient_id, address=client_address(request),
                                    now=c.clock.now())
    return S.PatientDetail(patient=_patient_out(p, c), orders=[_order_out(o, p) for o in orders])


@router.post("/orders", response_model=S.OrderOut, status_code=201)
def create_order(body: S.OrderIn, request: Request, c: ContainerDep, user: Booker) -> S.OrderOut:
    o = Order(body.territory, body.patient_id, body.exam, body.requester, body.requesting_site,
              _enum(Priority, body.priority, "priority"), body.not_before, body.due_by, body.clinical_info)
    return _order_out(booking.create_order(c.uow(), user, o, address=client_address(request), now=c.clock.now()))


@router.get("/orders", response_model=list[S.OrderOut])
def list_orders(request: Request, c: ContainerDep, user: Reader, territory: str, status: str | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[S.OrderOut]:
    wanted = _enum(OrderStatus, status, "status") if status else None
    rows = booking.list_orders(c.uow(), user, territory, status=wanted, address=client_address(request),
                               now=c.clock.now(), limit=limit)
    return [_order_out(o, p) for o, p in rows]


@router.get("/orders/{order_id}", response_model=S.OrderOut)
def get_order(order_id: int, request: Request, c: ContainerDep, user: Reader) -> S.OrderOut:
    o, p, a = booking.get_order(c.uow(), user, order_id, address=client_address(request), now=c.clock.now())
    return _order_out(o, p, a)


@router.get("/orders/{order_id}/slots", response_model=list[S.SlotOut])
def order_slots(order_id: int, request: Request, c: ContainerDep, user: Booker,
                count: Annotated[int, Query(ge=1, le=50)] = 10) -> list[S.SlotOut]:
    """The best slots across the territory's pooled machines, the score explained."""
    _, t, proposals = booking.find_slots(c.uow(), user, order_id, c.communes, count=count,
                                         address=client_address(request), now=c.clock.now())
    names = {e.id: e.name for e in t.equipment}
    sites = {s.id: s.name for s in t.sites}
    return [S.SlotOut(equipment=p.equipment, equipment_name=names[p.equipment], site=p.site, site_name=sites[p.site],
                      start=booking.to_utc(p.start, t), end=booking.to_utc(p.end, t), wait_days=p.wait_days,
                      travel_minutes=p.travel_minutes, late_days=p.late_days, score=p.score,
                      breakdown=dict(p.breakdown)) for p in proposals]


@router.post("/appointments", response_model=S.AppointmentOut, status_code=201)
def book(body: S.BookIn, request: Request, c: ContainerDep, user: Booker) -> S.AppointmentOut | None:
    """Book an order on a machine; 409 when someone else took the slot first."""
    t = _territory_of_order(c, user, body.order_id, request)
    a = booking.book(c.uow(), user, body.order_id, body.equipment, _local(body.start, t), c.communes,
                     address=client_address(request), now=c.clock.now())
    return _appointment_out(a)


@router.get("/appointments", response_model=list[S.CalendarEntry])
def calendar(request: Request, c: ContainerDep, user: Reader, territory: str, equipment: str,
             start: Annotated[date, Query(alias="from")], days: Annotated[int, Query(ge=1, le=31)] = 7,
             ) -> list[S.CalendarEntry]:
    """A machine's appointments from a day (territory time), for its calendar."""
    t, rows = booking.machine_calendar(c.uow(), user, territory, equipment, start, days,
                                       address=client_address(request), now=c.clock.now())
    return [S.CalendarEntry(appointment_id=r["id"], order_id=r["order_id"], accession_number=r["accession_number"],
                            exam=r["exam_code"], priority=r["priority"], status=r["status"],
                            patient_id=r["patient_id"], patient_name=f"{str(r['last_name']).upper()} {r['first_name']}",
                            start=booking.to_utc(r["start"], t), end=booking.to_utc(r["end"], t))  # type: ignore[arg-type]
            for r in rows]


@router.post("/orders/{order_id}/move", response_model=S.AppointmentOut)
def move(order_id: int, body: S.MoveIn, request: Request, c: ContainerDep, user: Booker) -> S.AppointmentOut | None:
    t = _territory_of_order(c, user, order_id, request)
    a = booking.move(c.uow(), user, order_id, body.equipment, _local(body.start, t), c.communes,
                     address=client_address(request), now=c.clock.now())
    return _appointment_out(a)


@router.post("/orders/{order_id}/cancel-appointment", response_model=S.OrderOut)
def cancel_appointment(order_id: int, body: S.ReasonIn, request: Request, c: ContainerDep,
                       user: Booker) -> S.OrderOut:
    return _order_out(booking.cancel_appointment(c.uow(), user, order_id, reason=body.reason,
                                                 address=client_address(request), now=c.clock.now()))


@router.post("/orders/{order_id}/cancel", response_model=S.OrderOut)
def cancel_order(order_id: int, body: S.ReasonIn, request: Request, c: ContainerDep, user: Booker) -> S.OrderOut:
    return _order_out(booking.cancel_order(c.uow(), user, order_id, reason=body.reason,
                                           address=client_address(request), now=c.clock.now()))


@router.post("/orders/{order_id}/arrival", response_model=S.OrderOut)
def arrival(order_id: int, request: Request, c: ContainerDep, user: Reader) -> S.OrderOut:
    return _order_out(booking.record_arrival(c.uow(), user, order_id, address=client_address(request),
                                             now=c.clock.now()))


@router.post("/orders/{order_id}/no-show", response_model=S.OrderOut)
def no_show(order_id: int, request: Request, c: ContainerDep, user: Booker) -> S.OrderOut:
    return _order_out(booking.record_no_show(c.uow(), user, order_id, address=client_address(request),
                                             now=c.clock.now()))


@router.post("/orders/{order_id}/waiting-list", response_model=S.OrderOut)
def waiting_list(order_id: int, request: Request, c: ContainerDep, user: Booker) -> S.OrderOut:
    return _order_out(booking.put_on_waiting_list(c.uow(), user, order_id, address=client_address(request),
                                                  now=c.clock.now()))


@router.post("/offers/{offer_id}/accept", response_model=S.AppointmentOut)
def accept_offer(offer_id: int, request: Request, c: ContainerDep, user: Booker) -> S.AppointmentOut | None:
    return _appointment_out(booking.accept_offer(c.uow(), user, offer_id, c.communes,
                                                 address=client_address(request), now=c.clock.now()))
