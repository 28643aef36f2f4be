"""Use cases of booking: patients, orders, slot search, book / move / cancel / arrive / no-show,
the waiting list and its offers. Every patient read and change is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mutualis.domain.accounts import Role, User, visible_sites
from mutualis.domain.audit import Action
from mutualis.domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.orders import (
    Appointment,
    Order,
    OrderStatus,
    Patient,
    Priority,
    order_problems,
    patient_problems,
    transition,
)
from mutualis.domain.territory import Commune, EquipmentKind, Exam, Territory
from mutualis.engines.slots import (
    Machine,
    Proposal,
    Shift,
    SlotInstance,
    SlotQuery,
    proposal_problems,
    search,
)
from mutualis.engines.travel import GreatCircleEstimate
from mutualis.services.common import audit as _audit
from mutualis.services.common import territory as _territory
from mutualis.services.ports import CommuneIndex, UnitOfWork


class SlotTaken(Conflict):
    """The slot is no longer free (HTTP 409): another booking took it."""


BOOKERS = (Role.BOOKING_AGENT, Role.COORDINATOR, Role.ADMIN)
READERS = (Role.BOOKING_AGENT, Role.COORDINATOR, Role.ADMIN, Role.RADIOGRAPHER, Role.RADIOLOGIST)
PRIORITY_RANK = {Priority.URGENT: 0, Priority.INPATIENT: 1, Priority.OUTPATIENT: 2, Priority.SCREENING: 3}


# --- time ---------------------------------------------------------------------------------------


def to_local(dt: datetime, t: Territory) -> datetime:
    return dt.astimezone(ZoneInfo(t.timezone)).replace(tzinfo=None)


def to_utc(local: datetime, t: Territory) -> datetime:
    return local.replace(tzinfo=ZoneInfo(t.timezone)).astimezone(UTC)


# --- access --------------------------------------------------------------------------------------



def _sites(user: User, t: Territory, now: datetime) -> frozenset[str]:
    sites = visible_sites(user, t, now.date())
    if not sites:
        raise NotFound("territory", t.id)
    return sites



def _order_in_scope(
    uow: UnitOfWork, user: User, order_id: int, now: datetime, *, lock: bool = False
) -> tuple[Order, Territory]:
    order = uow.orders.get(order_id, for_update=lock)
    if order is None:
        raise NotFound("order", str(order_id))
    t = _territory(uow, order.territory)
    if order.requesting_site not in visible_sites(user, t, now.date()):
        raise NotFound("order", str(order_id))  # out of scope looks like absent
    return order, t


# --- patients ------------------------------------------------------------------------------------


def register_patient(
    uow: UnitOfWork,
    user: User,
    territory_id: str,
    patient: Patient,
    communes: CommuneIndex,
    *,
    address: str | None,
    now: datetime,
) -> Patient:
    with uow:
        t = _territory(uow, territory_id)
        _sites(user, t, now)
        nir = patient.nir.replace(" ", "")
        problems = patient_problems(replace(patient, nir=nir), communes, now.date())
        if problems:
            raise ValidationError(problems, "patient refused")
        if uow.patients.by_nir(t.id, nir) is not None:
            raise Conflict(f"a patient with NIR {nir} already exists in {t.id}")
        stored = uow.patients.add(t.id, replace(patient, nir=nir), now)
        _audit(uow, user, Action.CREATE, "patient", stored.id, t.id, address, now)
        uow.commit()
    return stored


def find_patients(
    uow: UnitOfWork, user: User, territory_id: str, text: str, *, address: str | None, now: datetime
) -> list[Patient]:
    with uow:
        t = _territory(uow, territory_id)
        _sites(user, t, now)
        found = uow.patients.search(t.id, text) if text.strip() else []
        _audit(uow, user, Action.READ, "patient", None, t.id, address, now, query=text, patients=[p.id for p in found])
        uow.commit()
    return found


def get_patient(
    uow: UnitOfWork, user: User, territory_id: str, patient_id: int, *, address: str | None, now: datetime
) -> tuple[Patient, list[Order]]:
    with uow:
        t = _territory(uow, territory_id)
        _sites(user, t, now)
        patient = uow.patients.get(t.id, patient_id)
        if patient is None:
            raise NotFound("patient", str(patient_id))
        orders = uow.orders.list(t.id, patient_id=patient_id)
        _audit(uow, user, Action.READ, "patient", patient_id, t.id, address, now)
        uow.commit()
    return patient, orders


# --- orders --------------------------------------------------------------------------------------


def _exam(t: Territory, code: str) -> Exam | None:
    return next((x for x in t.exams if x.code == code), None)


def create_order(uow: UnitOfWork, user: User, order: Order, *, address: str | None, now: datetime) -> Order:
    """Record an order; refused whole, every problem named by its field."""
    with uow:
        t = _territory(uow, order.territory)
        sites = _sites(user, t, now)
        problems = order_problems(order)
        exam = _exam(t, order.exam)
        if exam is None:
            problems.append(Problem("exam", f"unknown exam {order.exam!r} in the catalogue of {t.id}"))
        elif exam.kind is not EquipmentKind.IMAGING:
            problems.append(Problem("exam", f"{order.exam!r} is not an imaging exam"))
        elif order.priority is Priority.SCREENING and exam.modality is not None and exam.modality.value != "MG":
            problems.append(Problem("priority", "screening applies to screening mammography only"))
        if order.requesting_site not in sites:
            problems.append(Problem("requesting_site", f"unknown or outside your scope: {order.requesting_site!r}"))
        if uow.patients.get(t.id, order.patient_id) is None:
            problems.append(Problem("patient_id", f"unknown patient {order.patient_id}"))
        if problems:
            raise ValidationError(problems, "order refused")
        stored = uow.orders.add(replace(order, status=OrderStatus.REQUESTED), now)
        _audit(
            uow, user, Action.CREATE, "order", stored.id, t.id, address, now, patient=order.patient_id, exam=order.exam
        )
        uow.commit()
    return stored


def get_order(
    uow: UnitOfWork, user: User, order_id: int, *, address: str | None, now: datetime
) -> tuple[Order, Patient, Appointment | None]:
    with uow:
        order, t = _order_in_scope(uow, user, order_id, now)
        patient = uow.patients.get(t.id, order.patient_id)
        assert patient is not None
        appointment = uow.appointments.active_for_order(order_id)
        _audit(uow, user, Action.READ, "order", order_id, t.id, address, now, patient=order.patient_id)
        uow.commit()
    return order, patient, appointment


# --- slot search ---------------------------------------------------------------------------------


def _eligible(t: Territory, exam: Exam, sites: frozenset[str]) -> list[str]:
    return [
        e.id
        for e in t.equipment
        if e.kind is EquipmentKind.IMAGING
        and e.modality == exam.modality
        and e.site in sites
        and (not e.exams or exam.code in e.exams)
    ]


class SlotSearch:
    """The slot-search problem of one order, read from the database: eligible
    machines within ``sites``, their site-mates (they share staff), bookings, presence, and travel
    from the patient's commune (or, for urgent and inpatient exams, from the requesting site)."""

    def __init__(self, uow: UnitOfWork, t: Territory, order: Order, patient: Patient, communes: CommuneIndex,
                 sites: frozenset[str], now: datetime) -> None:
        exam = _exam(t, order.exam)
        assert exam is not None
        self.uow, self.t, self.order, self.exam = uow, t, order, exam
        eligible = set(_eligible(t, exam, sites))
        self.sites = sorted({e.site for e in t.equipment if e.id in eligible})
        mates = [e for e in t.equipment if e.site in self.sites and e.kind is EquipmentKind.IMAGING]
        self.earliest = max(to_local(now, t), datetime.combine(order.not_before, time()))
        origin_insee = patient.insee
        if order.priority in (Priority.URGENT, Priority.INPATIENT):
            origin_insee = t.site(order.requesting_site).insee
        travel = GreatCircleEstimate(t.travel)
        origin: Commune | None = communes.get(origin_insee)
        site_insee = {s.id: s.insee for s in t.sites}
        self.machines = tuple(
            Machine(e.id, e.site, e.opening_hours, e.closures, e.id in eligible,
                    travel.minutes(origin, communes[site_insee[e.site]]) if origin else 0.0)
            for e in mates)

    def instance(self, count: int = 10, days: int | None = None) -> SlotInstance:
        """The problem over the first ``days`` days (default: the territory's horizon), with the
        bookings (each process's version-checked copy, adapters/db/cache.py) and presence of that window."""
        t = self.t
        horizon = t.booking.horizon_days if days is None else min(days, t.booking.horizon_days)
        first = datetime.combine(self.earliest.date(), time())
        until = first + timedelta(days=horizon + 1)
        busy = self.uow.appointments.booked(t.id, [m.code for m in self.machines], first, until, t.timezone)
        shifts = self.uow.presence.shifts(t.id, self.sites, first.date(), until.date())
        query = SlotQuery(duration_min=self.exam.duration_min, priority=self.order.priority.value,
                          earliest=self.earliest, due_by=self.order.due_by,
                          needs_radiologist=self.exam.radiologist_on_site, count=count, horizon_days=horizon)
        return SlotInstance(query, self.machines, busy, shifts, t.booking)

    def best(self, count: int = 10) -> list[Proposal]:
        """The best ``count`` slots within the territory's horizon (the search looks at each
        machine's days only until it has ``count`` of its own)."""
        return search(self.instance(count))


def build_instance(uow: UnitOfWork, t: Territory, order: Order, patient: Patient, communes: CommuneIndex,
                   sites: frozenset[str], now: datetime, count: int = 10, days: int | None = None) -> SlotInstance:
    """The slot-search problem of ``order`` over its first ``days`` days (see :class:`SlotSearch`)."""
    return SlotSearch(uow, t, order, patient, communes, sites, now).instance(count, days)


def find_slots(
    uow: UnitOfWork,
    user: User,
    order_id: int,
    communes: CommuneIndex,
    *,
    count: int = 10,
    address: str | None,
    now: datetime,
) -> tuple[Order, Territory, list[Proposal]]:
    with uow:
        order, t = _order_in_scope(uow, user, order_id, now)
        patient = uow.patients.get(t.id, order.patient_id)
        assert patient is not None
        sites = visible_sites(user, t, now.date())
        proposals = SlotSearch(uow, t, order, patient, communes, sites, now).best(count)
        _audit(
            uow,
            user,
            Action.READ,
            "order",
            order_id,
            t.id,
            address,
            now,
            slots=len(proposals),
            patient=order.patient_id,
        )
        uow.commit()
    return order, t, proposals


# --- book, move, cancel ----------------------------------------------------------------------------


def _check_slot(
    uow: UnitOfWork,
    user: User,
    order: Order,
    t: Territory,
    communes: CommuneIndex,
    equipment: str,
    start_local: datetime,
    now: datetime,
) -> Appointment:
    patient = uow.patients.get(t.id, order.patient_id)
    assert patient is not None
    days = max(0, (start_local.date() - to_local(now, t).date()).days + 1)
    instance = build_instance(uow, t, order, patient, communes, visible_sites(user, t, now.date()), now, days=days)
    exam = _exam(t, order.exam)
    assert exam is not None
    machine = next((m for m in instance.machines if m.code == equipment), None)
    end_local = start_local + timedelta(minutes=exam.duration_min)
    candidate = Proposal(equipment, machine.site if machine else "", start_local, end_local, 0, 0, 0, 0, {})
    problems = proposal_problems(instance, candidate)
    if problems == ["overlaps a booking"]:  # the slot was free when shown; someone took it since
        raise SlotTaken(f"{equipment} is already booked at {start_local:%Y-%m-%d %H:%M}")
    if problems:
        raise ValidationError([Problem("start" if machine else "equipment", p) for p in problems], "slot refused")
    # booked by an agent with the patient (phone, desk, accepted offer): announced at once
    return Appointment(order.id or 0, equipment, to_utc(start_local, t), to_utc(end_local, t), announced_at=now)


def book(
    uow: UnitOfWork,
    user: User,
    order_id: int,
    equipment: str,
    start_local: datetime,
    communes: CommuneIndex,
    *,
    address: str | None,
    now: datetime,
) -> Appointment:
    """Book the order at ``start_local`` (territory time) on ``equipment``. The slot is re-checked
    against every rule; the database refuses a double booking even under a race (409)."""
    with uow:
        order, t = _order_in_scope(uow, user, order_id, now, lock=True)
        transition(order.status, OrderStatus.SCHEDULED)
        appointment = uow.appointments.add(
            t.id, _check_slot(uow, user, order, t, communes, equipment, start_local, now), now
        )
        uow.orders.set_status(order_id, OrderStatus.SCHEDULED, now)
        uow.orders.set_waiting(order_id, None)
        _audit(
            uow,
            user,
            Action.CREATE,
            "appointment",
            appointment.id,
            t.id,
            address,
            now,
            order=order_id,
            equipment=equipment,
            start=start_local.isoformat(),
            patient=order.patient_id,
        )
        uow.commit()
    return appointment


def move(
    uow: UnitOfWork,
    user: User,
    order_id: int,
    equipment: str,
    start_local: datetime,
    communes: CommuneIndex,
    *,
    address: str | None,
    now: datetime,
) -> Appointment:
    """Move a scheduled order to another slot in one transaction; the freed slot is offered."""
    with uow:
        order, t = _order_in_scope(uow, user, order_id, now, lock=True)
        current = uow.appointments.active_for_order(order_id)
        if order.status is not OrderStatus.SCHEDULED or current is None:
            raise ValidationError(Problem("status", f"only a scheduled order can move (this one is {order.status})"))
        uow.appointments.deactivate(current.id or 0, now)
        appointment = uow.appointments.add(
            t.id, _check_slot(uow, user, order, t, communes, equipment, start_local, now), now
        )
        _audit(
            uow,
            user,
            Action.UPDATE,
            "appointment",
            appointment.id,
            t.id,
            address,
            now,
            order=order_id,
            moved_from=current.id,
            equipment=equipment,
            start=start_local.isoformat(),
            patient=order.patient_id,
        )
        _offer_freed(uow, t, current, now)
        uow.commit()
    return appointment


def _offer_freed(uow: UnitOfWork, t: Territory, freed: Appointment, now: datetime) -> int | None:
    """Offer a freed slot to the waiting list: the most urgent, longest-waiting order that fits."""
    equipment = next(e for e in t.equipment if e.id == freed.equipment)
    length = (freed.end - freed.start).total_seconds() / 60
    fitting = [
        x.code
        for x in t.exams
        if x.modality == equipment.modality
        and x.kind is EquipmentKind.IMAGING
        and (not equipment.exams or x.code in equipment.exams)
        and x.duration_min <= length
    ]
    if not fitting:
        return None
    waiting = uow.orders.waiting(t.id, fitting, to_local(freed.start, t).date())
    if not waiting:
        return None
    best = min(waiting, key=lambda o: PRIORITY_RANK[o.priority])  # stable: longest-waiting first within a rank
    exam = _exam(t, best.exam)
    assert exam is not None and best.id is not None
    eq_id = uow.appointments.equipment_ids(t.id)[freed.equipment]
    return uow.offers.add(best.id, eq_id, freed.start, freed.start + timedelta(minutes=exam.duration_min), now)


def _status_change(
    uow: UnitOfWork,
    user: User,
    order_id: int,
    wanted: OrderStatus,
    *,
    free_slot: bool,
    address: str | None,
    now: datetime,
    reason: str = "",
) -> Order:
    with uow:
        order, t = _order_in_scope(uow, user, order_id, now, lock=True)
        transition(order.status, wanted)
        current = uow.appointments.active_for_order(order_id)
        offer = None
        if free_slot and current is not None:
            uow.appointments.deactivate(current.id or 0, now)
            offer = _offer_freed(uow, t, current, now)
        uow.orders.set_status(order_id, wanted, now)
        _audit(
            uow,
            user,
            Action.UPDATE,
            "order",
            order_id,
            t.id,
            address,
            now,
            status=wanted.value,
            reason=reason,
            offer=offer,
            patient=order.patient_id,
        )
        uow.commit()
    return replace(order, status=wanted)


def cancel_appointment(
    uow: UnitOfWork, user: User, order_id: int, *, reason: str = "", address: str | None, now: datetime
) -> Order:
    """Cancel the appointment, keep the order (back to requested); the slot is offered to the waiting list."""
    return _status_change(
        uow, user, order_id, OrderStatus.REQUESTED, free_slot=True, address=address, now=now, reason=reason
    )


def cancel_order(
    uow: UnitOfWork, user: User, order_id: int, *, reason: str = "", address: str | None, now: datetime
) -> Order:
    return _status_change(
        uow, user, order_id, OrderStatus.CANCELLED, free_slot=True, address=address, now=now, reason=reason
    )


def record_arrival(uow: UnitOfWork, user: User, order_id: int, *, address: str | None, now: datetime) -> Order:
    return _status_change(uow, user, order_id, OrderStatus.ARRIVED, free_slot=False, address=address, now=now)


def record_no_show(uow: UnitOfWork, user: User, order_id: int, *, address: str | None, now: datetime) -> Order:
    return _status_change(uow, user, order_id, OrderStatus.NO_SHOW, free_slot=False, address=address, now=now)


def put_on_waiting_list(uow: UnitOfWork, user: User, order_id: int, *, address: str | None, now: datetime) -> Order:
    with uow:
        order, t = _order_in_scope(uow, user, order_id, now, lock=True)
        if order.status is not OrderStatus.REQUESTED:
            raise ValidationError(Problem("status", f"only a requested order can wait (this one is {order.status})"))
        uow.orders.set_waiting(order_id, now)
        _audit(uow, user, Action.UPDATE, "order", order_id, t.id, address, now, waiting=True, patient=order.patient_id)
        uow.commit()
    return order


def accept_offer(
    uow: UnitOfWork, user: User, offer_id: int, communes: CommuneIndex, *, address: str | None, now: datetime
) -> Appointment:
    with uow:
        offer = uow.offers.get(offer_id)
    if offer is None or offer["status"] != "offered":
        raise NotFound("offer", str(offer_id))
    with uow:
        _, t = _order_in_scope(uow, user, offer["order_id"], now)
    appointment = book(
        uow, user, offer["order_id"], offer["code"], to_local(offer["start_at"], t), communes, address=address, now=now
    )
    with uow:
        uow.offers.set_status(offer_id, "accepted")
        uow.commit()
    return appointment


def set_presence(
    uow: UnitOfWork,
    user: User,
    territory_id: str,
    first: date,
    last: date,
    shifts: Sequence[Shift],
    *,
    address: str | None,
    now: datetime,
) -> int:
    """Replace the presence table of ``first``..``last`` (rosters will write here later)."""
    if user.role not in (Role.COORDINATOR, Role.ADMIN):
        raise PermissionDenied("only coordinators set the presence table")
    with uow:
        t = _territory(uow, territory_id)
        sites = _sites(user, t, now)
        bad = sorted({s.site for s in shifts if s.site not in sites})
        if bad:
            raise ValidationError(Problem("site", f"outside your scope: {', '.join(bad)}"))
        n = uow.presence.replace(t.id, first, last, shifts)
        _audit(
            uow,
            user,
            Action.UPDATE,
            "presence",
            None,
            t.id,
            address,
            now,
            first=first.isoformat(),
            last=last.isoformat(),
            shifts=n,
        )
        uow.commit()
    return n


def list_orders(uow: UnitOfWork, user: User, territory_id: str, *, status: OrderStatus | None, address: str | None,
                now: datetime, limit: int = 200) -> list[tuple[Order, Patient]]:
    with uow:
        t = _territory(uow, territory_id)
        sites = _sites(user, t, now)
        orders = [o for o in uow.orders.list(t.id, status=status, limit=limit) if o.requesting_site in sites]
        patients = {o.patient_id: uow.patients.get(t.id, o.patient_id) for o in orders}
        _audit(uow, user, Action.READ, "order", None, t.id, address, now, status=status.value if status else None,
               orders=len(orders))
        uow.commit()
    return [(o, p) for o in orders if (p := patients[o.patient_id]) is not None]


def machine_calendar(uow: UnitOfWork, user: User, territory_id: str, equipment: str, first: date, days: int, *,
                     address: str | None, now: datetime) -> tuple[Territory, list[dict[str, object]]]:
    """A machine's live appointments over ``days`` days from ``first`` (territory time), with patients."""
    with uow:
        t = _territory(uow, territory_id)
        sites = _sites(user, t, now)
        machine = next((e for e in t.equipment if e.id == equipment and e.site in sites), None)
        if machine is None:
            raise NotFound("equipment", equipment)
        start = to_utc(datetime.combine(first, time()), t)
        end = to_utc(datetime.combine(first + timedelta(days=days), time()), t)
        rows = uow.appointments.calendar(t.id, equipment, start, end)
        _audit(uow, user, Action.READ, "calendar", equipment, t.id, address, now, first=first.isoformat(),
               days=days, patients=sorted({int(str(r["patient_id"])) for r in rows}))
        uow.commit()
    return t, [{**r, "start": to_local(r["start_at"], t), "end": to_local(r["end_at"], t)} for r in rows]
