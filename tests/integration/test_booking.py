"""Orders and booking over a real database (SQLite and PostgreSQL): the lifecycle, the rules
re-checked at booking, the database's own refusal of double bookings under a 20-client race,
and the waiting list."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import Conflict, NotFound, ValidationError
from mutualis.domain.identifiers import nir_key
from mutualis.domain.orders import Appointment, Order, OrderStatus, Patient, Priority, Sex
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.presence import default_presence
from mutualis.services import booking
from mutualis.services.territories import load_territory

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Paris
AGENT = User("agent", "Agent", Role.BOOKING_AGENT, "mini", sites=("espalion",))
COORD = User("coord", "Coordination", Role.COORDINATOR, "mini", sites=("rodez",))
CLINIC = User("clinic", "Clinique", Role.BOOKING_AGENT, "mini", sites=("clinique",))


def nir(n: int, sex: str = "2", year: int = 1960) -> str:
    first = f"{sex}{year % 100:02d}0512202{n:03d}"
    return first + nir_key(first)


@pytest.fixture
def world(container: Container, mini: Territory) -> Container:
    load_territory(container.uow(), mini, source="t", actor="t", address=None, now=NOW)
    booking.set_presence(container.uow(), COORD, "mini", date(2026, 11, 23), date(2027, 1, 31),
                         default_presence(mini, date(2026, 11, 23), 70), address=None, now=NOW)
    return container


def _patient(c: Container, communes: dict[str, Commune], n: int = 1) -> Patient:
    p = Patient(nir(n), "Durand", "Marie", date(1960, 5, 2), Sex.FEMALE, "12096", "06 12 34 56 78")
    return booking.register_patient(c.uow(), AGENT, "mini", p, communes, address="10.0.0.1", now=NOW)


def _order(c: Container, patient: Patient, exam: str = "IRM-GENOU", **kw: object) -> Order:
    o = Order("mini", patient.id or 0, exam, "10000000017", "espalion", Priority.OUTPATIENT, date(2026, 11, 23),
              date(2026, 12, 10), "Gonalgie droite")
    return booking.create_order(c.uow(), AGENT, replace(o, **kw), address="10.0.0.1", now=NOW)  # type: ignore[arg-type]


def test_search_then_book_then_lifecycle(world: Container, communes: dict[str, Commune]) -> None:
    order = _order(world, _patient(world, communes))
    assert order.accession_number and order.status is OrderStatus.REQUESTED
    _, _, slots = booking.find_slots(world.uow(), AGENT, order.id or 0, communes, address=None, now=NOW)
    assert slots and slots[0].equipment == "rodez-irm"
    assert slots[0].start == datetime(2026, 11, 23, 8, 0)  # Monday: open 08:00, now is 08:00 local
    assert slots[0].travel_minutes > 20  # Espalion → Rodez
    appt = booking.book(world.uow(), AGENT, order.id or 0, "rodez-irm", slots[0].start, communes, address=None,
                        now=NOW)
    assert appt.start == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="cannot become scheduled"):
        booking.book(world.uow(), AGENT, order.id or 0, "rodez-irm", slots[1].start, communes, address=None, now=NOW)
    booking.record_arrival(world.uow(), AGENT, order.id or 0, address=None, now=NOW)
    with pytest.raises(ValidationError, match="an order arrived cannot become no_show"):
        booking.record_no_show(world.uow(), AGENT, order.id or 0, address=None, now=NOW)
    got, patient, current = booking.get_order(world.uow(), AGENT, order.id or 0, address=None, now=NOW)
    assert got.status is OrderStatus.ARRIVED and current is not None and patient.last_name == "Durand"


def test_booking_rechecks_the_rules(world: Container, communes: dict[str, Commune]) -> None:
    order = _order(world, _patient(world, communes))
    sunday = datetime(2026, 11, 29, 10, 0)
    with pytest.raises(ValidationError, match="outside opening hours"):
        booking.book(world.uow(), AGENT, order.id or 0, "rodez-irm", sunday, communes, address=None, now=NOW)
    with pytest.raises(ValidationError, match="cannot perform this exam"):
        booking.book(world.uow(), AGENT, order.id or 0, "espalion-echo", datetime(2026, 11, 23, 9), communes,
                     address=None, now=NOW)
    with pytest.raises(ValidationError, match="during a closure"):
        booking.book(world.uow(), AGENT, order.id or 0, "rodez-irm", datetime(2026, 12, 24, 9), communes,
                     address=None, now=NOW)


def test_out_of_scope_order_looks_absent(world: Container, communes: dict[str, Commune]) -> None:
    order = _order(world, _patient(world, communes))
    with pytest.raises(NotFound):
        booking.find_slots(world.uow(), CLINIC, order.id or 0, communes, address=None, now=NOW)


def test_bad_orders_are_refused_with_their_fields_and_nothing_stored(world: Container,
                                                                     communes: dict[str, Commune]) -> None:
    patient = _patient(world, communes)
    with pytest.raises(ValidationError) as caught:
        _order(world, patient, exam="IRM-INCONNUE", due_by=date(2026, 11, 1), requester="10000000018")
    assert {p.location for p in caught.value.problems} == {"exam", "due_by", "requester"}
    bad = Patient(nir(2)[:-2] + "00", "Martin", "Paul", date(1960, 5, 2), Sex.MALE, "12096")
    with pytest.raises(ValidationError) as caught2:
        booking.register_patient(world.uow(), AGENT, "mini", bad, communes, address=None, now=NOW)
    assert [p.location for p in caught2.value.problems] == ["nir"]
    with world.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM patients")).scalar() == 1


def test_the_database_itself_refuses_overlaps(world: Container, communes: dict[str, Commune]) -> None:
    a = _order(world, _patient(world, communes, 1))
    b = _order(world, _patient(world, communes, 2))
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    with world.uow() as uow:
        uow.appointments.add("mini", Appointment(a.id or 0, "rodez-irm", start, start + timedelta(minutes=20)), NOW)
        uow.commit()
    with pytest.raises(Conflict), world.uow() as uow:  # bypasses every check of the service
        uow.appointments.add("mini", Appointment(b.id or 0, "rodez-irm", start + timedelta(minutes=10),
                                                 start + timedelta(minutes=30)), NOW)
        uow.commit()
    with world.uow() as uow:  # back to back is fine
        uow.appointments.add("mini", Appointment(b.id or 0, "rodez-irm", start + timedelta(minutes=20),
                                                 start + timedelta(minutes=40)), NOW)
        uow.commit()


def test_twenty_clients_race_for_the_same_slots(world: Container, communes: dict[str, Commune]) -> None:
    orders = [_order(world, _patient(world, communes, n)) for n in range(1, 21)]
    _, _, slots = booking.find_slots(world.uow(), AGENT, orders[0].id or 0, communes, count=3, address=None, now=NOW)
    targets = [s.start for s in slots[:3]]  # three slots, twenty clients
    barrier = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        barrier.wait()
        try:
            booking.book(world.uow(), AGENT, orders[i].id or 0, "rodez-irm", targets[i % 3], communes,
                         address=None, now=NOW)
            outcome = "booked"
        except (Conflict, ValidationError) as exc:
            outcome = type(exc).__name__
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert len(results) == 20 and results.count("booked") == 3, results
    with world.engine.connect() as conn:
        overlaps = conn.execute(text(
            "SELECT count(*) FROM appointments a JOIN appointments b ON a.equipment_id = b.equipment_id "
            "AND a.id < b.id AND a.active AND b.active AND a.start_at < b.end_at AND b.start_at < a.end_at"
        )).scalar()
        live = conn.execute(text("SELECT count(*) FROM appointments WHERE active")).scalar()
    assert overlaps == 0 and live == 3


def test_cancellation_offers_the_slot_to_the_waiting_list(world: Container, communes: dict[str, Commune]) -> None:
    first = _order(world, _patient(world, communes, 1))
    waiting = _order(world, _patient(world, communes, 2), priority=Priority.URGENT)
    later = _order(world, _patient(world, communes, 3))
    start = datetime(2026, 11, 23, 8, 0)
    booking.book(world.uow(), AGENT, first.id or 0, "rodez-irm", start, communes, address=None, now=NOW)
    booking.put_on_waiting_list(world.uow(), AGENT, later.id or 0, address=None, now=NOW)
    booking.put_on_waiting_list(world.uow(), AGENT, waiting.id or 0, address=None, now=NOW + timedelta(minutes=1))
    booking.cancel_appointment(world.uow(), AGENT, first.id or 0, reason="patient empêché", address=None, now=NOW)
    with world.uow() as uow:
        offers = uow.offers.for_order(waiting.id or 0)
        assert uow.offers.for_order(later.id or 0) == []  # the urgent one came later but goes first
        assert uow.orders.get(first.id or 0).status is OrderStatus.REQUESTED  # type: ignore[union-attr]
    assert len(offers) == 1 and offers[0]["code"] == "rodez-irm"
    appt = booking.accept_offer(world.uow(), AGENT, offers[0]["id"], communes, address=None, now=NOW)
    assert booking.to_local(appt.start, _mini(world)) == start
    with pytest.raises(NotFound):
        booking.accept_offer(world.uow(), AGENT, offers[0]["id"], communes, address=None, now=NOW)


def _mini(c: Container) -> Territory:
    with c.uow() as uow:
        t = uow.territories.get("mini")
    assert t is not None
    return t


def test_patient_reads_and_changes_are_audited(world: Container, communes: dict[str, Commune]) -> None:
    patient = _patient(world, communes)
    assert [p.id for p in booking.find_patients(world.uow(), AGENT, "mini", "dur", address="10.0.0.2",
                                                now=NOW)] == [patient.id]
    booking.get_patient(world.uow(), AGENT, "mini", patient.id or 0, address="10.0.0.3", now=NOW)
    with world.uow() as uow:
        events = [(e.action.value, e.resource, e.address) for e in uow.audit.query(actor="agent")]
    assert ("create", "patient", "10.0.0.1") in events
    assert ("read", "patient", "10.0.0.2") in events and ("read", "patient", "10.0.0.3") in events
