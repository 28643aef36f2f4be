"""A booked MRI on the mini territory: the common start of the DICOM tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.identifiers import nir_key
from mutualis.domain.orders import Order, Patient, Priority
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.presence import default_presence
from mutualis.services import booking
from mutualis.services.territories import load_territory

AGENT = User("agent", "Agent", Role.BOOKING_AGENT, "mini", sites=("espalion",))
COORD = User("coord", "Coord", Role.COORDINATOR, "mini", sites=("rodez",))


def booked_mri(container: Container, territory: Territory, communes: dict[str, Commune], patient: Patient
               ) -> tuple[Order, datetime]:
    """Load ``territory`` (the mini one), fill a month of presence, register ``patient`` (its NIR
    given without key: the key is added), order a knee MRI and book its best slot. Returns the
    order and the local start."""
    now = datetime.now(UTC)
    load_territory(container.uow(), territory, source="t", actor="t", address=None, now=now)
    today = booking.to_local(now, territory).date()
    booking.set_presence(container.uow(), COORD, territory.id, today, today + timedelta(days=30),
                         default_presence(territory, today, 31), address=None, now=now)
    stored = booking.register_patient(container.uow(), AGENT, territory.id,
                                      Patient(**{**patient.__dict__, "nir": patient.nir + nir_key(patient.nir)}),
                                      communes, address=None, now=now)
    order = booking.create_order(container.uow(), AGENT, Order(
        territory.id, stored.id or 0, "IRM-GENOU", "10000000017", "espalion", Priority.OUTPATIENT, today,
        today + timedelta(days=20), "Gonalgie"), address=None, now=now)
    _, _, slots = booking.find_slots(container.uow(), AGENT, order.id or 0, communes, address=None, now=now)
    booking.book(container.uow(), AGENT, order.id or 0, "rodez-irm", slots[0].start, communes, address=None, now=now)
    return order, slots[0].start


