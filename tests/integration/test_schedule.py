"""The week optimiser in use, on SQLite and PostgreSQL: a proposal moves only what was not
announced, books the orders still waiting, applies in one transaction, and is refused whole
when the plan changed since it was made."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import Conflict, PermissionDenied, ValidationError
from mutualis.domain.orders import Appointment, Order, OrderStatus, Patient, Priority, Sex
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.presence import default_presence
from mutualis.services import booking, schedule
from mutualis.services.territories import load_territory
from tests.integration.test_booking import nir

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Paris
MONDAY = date(2026, 11, 23)
BATCH = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Paris
AGENT = User("agent", "Agent", Role.BOOKING_AGENT, "mini", sites=("espalion",))
COORD = User("coord", "Coordination", Role.COORDINATOR, "mini", sites=("rodez",))


@pytest.fixture
def world(container: Container, mini: Territory) -> Container:
    load_territory(container.uow(), mini, source="t", actor="t", address=None, now=NOW)
    booking.set_presence(container.uow(), COORD, "mini", MONDAY, MONDAY + timedelta(days=20),
                         default_presence(mini, MONDAY, 21), address=None, now=NOW)  # fmt: skip
    return container


def _order(c: Container, communes: dict[str, Commune], n: int, due: date) -> int:
    p = booking.register_patient(c.uow(), AGENT, "mini", Patient(nir(n), f"Patient{n}", "Marie", date(1960, 5, 2),
                                 Sex.FEMALE, "12096", "06 12 34 56 78"), communes, address=None, now=NOW)  # fmt: skip
    o = Order("mini", p.id or 0, "IRM-GENOU", "10000000017", "espalion", Priority.OUTPATIENT, MONDAY, due, "Gonalgie")
    stored = booking.create_order(c.uow(), AGENT, o, address=None, now=NOW)
    assert stored.id is not None
    return stored.id


def _unannounced(c: Container, order_id: int, start: datetime) -> None:
    """What a batch placement (generated demand, an applied proposal) writes: not yet announced."""
    with c.uow() as uow:
        uow.appointments.add("mini", Appointment(order_id, "rodez-irm", start, start + timedelta(minutes=20)), NOW)
        uow.orders.set_status(order_id, OrderStatus.SCHEDULED, NOW)
        uow.commit()


def _where(c: Container, order_id: int) -> tuple[OrderStatus, datetime | None]:
    with c.uow() as uow:
        order = uow.orders.get(order_id)
        a = uow.appointments.active_for_order(order_id)
    assert order is not None
    return order.status, None if a is None else a.start


def _scenario(c: Container, communes: dict[str, Commune]) -> tuple[int, int, int]:
    """Three knee MRIs due today, Monday (the MRI opens Mondays and Tuesdays): one announced for
    Tuesday (late, but the patient was told), one placed by a batch on Tuesday (late, movable),
    one not booked yet."""
    announced, batch, waiting = (_order(c, communes, n, MONDAY) for n in (1, 2, 3))
    booking.book(c.uow(), AGENT, announced, "rodez-irm", datetime(2026, 11, 24, 9, 0), communes, address=None, now=NOW)
    _unannounced(c, batch, BATCH)
    return announced, batch, waiting


def test_a_proposal_moves_what_was_not_announced_and_books_the_waiting(world: Container,
                                                                      communes: dict[str, Commune]) -> None:
    announced, batch, waiting = _scenario(world, communes)
    before = _where(world, announced)
    pid = schedule.optimize(world.uow(), COORD, "mini", communes, MONDAY, 7, time_limit_s=10, address=None, now=NOW)
    _, p, changes = schedule.proposal(world.uow(), COORD, pid, address=None, now=NOW)
    assert p.status == "proposed" and p.objective <= p.reference_objective and p.bound <= p.objective
    moved = {c["order_id"]: c for c in changes}
    assert set(moved) == {batch, waiting}  # the announced appointment never moves
    assert moved[batch]["code"] in ("earlier", "meets_due_date") and moved[waiting]["before_equipment"] is None
    assert p.after["past_due"] < p.before["past_due"]
    assert _where(world, batch)[1] == BATCH  # nothing moved before applying

    assert schedule.apply(world.uow(), COORD, pid, communes, address=None, now=NOW) == 2
    assert _where(world, announced) == before
    status, start = _where(world, batch)
    assert status is OrderStatus.SCHEDULED and start is not None and start.date() == MONDAY
    status, start = _where(world, waiting)
    assert status is OrderStatus.SCHEDULED and start is not None and start.date() == MONDAY
    with pytest.raises(Conflict, match="already applied"):
        schedule.apply(world.uow(), COORD, pid, communes, address=None, now=NOW)
    again = schedule.optimize(world.uow(), COORD, "mini", communes, MONDAY, 7, time_limit_s=5, address=None, now=NOW)
    assert schedule.proposal(world.uow(), COORD, again, address=None, now=NOW)[2] == []  # the applied plan is kept


def test_a_stale_proposal_is_refused_whole(world: Container, communes: dict[str, Commune], mini: Territory) -> None:
    _, batch, waiting = _scenario(world, communes)
    pid = schedule.optimize(world.uow(), COORD, "mini", communes, MONDAY, 7, time_limit_s=10, address=None, now=NOW)
    # meanwhile an agent books the waiting order on the phone, where the proposal wanted another order
    _, _, changes = schedule.proposal(world.uow(), COORD, pid, address=None, now=NOW)
    wanted = next(c for c in changes if c["order_id"] == batch)["after_start"]
    booking.book(world.uow(), AGENT, waiting, "rodez-irm", booking.to_local(wanted, mini), communes, address=None,
                 now=NOW)
    with pytest.raises(Conflict, match="changed since"):
        schedule.apply(world.uow(), COORD, pid, communes, address=None, now=NOW)
    assert _where(world, batch) == (OrderStatus.SCHEDULED, BATCH)  # untouched
    with world.uow() as uow:
        assert uow.schedule.proposal(pid)["status"] == "proposed"  # type: ignore[index]


def test_an_unlawful_plan_is_refused_by_the_validator(world: Container, communes: dict[str, Commune],
                                                     mini: Territory) -> None:
    _, batch, _ = _scenario(world, communes)
    pid = schedule.optimize(world.uow(), COORD, "mini", communes, MONDAY, 7, time_limit_s=10, address=None, now=NOW)
    # the staff's presence is withdrawn on Monday: the proposal no longer fits
    shifts = [s for s in default_presence(mini, MONDAY, 21) if s.day != MONDAY]
    booking.set_presence(world.uow(), COORD, "mini", MONDAY, MONDAY + timedelta(days=20), shifts, address=None,
                         now=NOW)  # fmt: skip
    with pytest.raises(ValidationError, match="no longer fits"):
        schedule.apply(world.uow(), COORD, pid, communes, address=None, now=NOW)
    assert _where(world, batch)[1] == BATCH


def test_announced_appointments_stay_and_only_coordinators_plan(world: Container,
                                                                communes: dict[str, Commune]) -> None:
    _, batch, waiting = _scenario(world, communes)
    n = schedule.announce(world.uow(), COORD, "mini", MONDAY, MONDAY + timedelta(days=6), address=None, now=NOW)
    assert n == 1  # the batch placement; the agent's booking was announced when booked
    pid = schedule.optimize(world.uow(), COORD, "mini", communes, MONDAY, 7, time_limit_s=10, address=None, now=NOW)
    _, _, changes = schedule.proposal(world.uow(), COORD, pid, address=None, now=NOW)
    assert [c["order_id"] for c in changes] == [waiting]
    schedule.reject(world.uow(), COORD, pid, address=None, now=NOW)
    with pytest.raises(Conflict, match="rejected"):
        schedule.apply(world.uow(), COORD, pid, communes, address=None, now=NOW)
    assert _where(world, waiting) == (OrderStatus.REQUESTED, None)
    assert _where(world, batch) == (OrderStatus.SCHEDULED, BATCH)
    with pytest.raises(PermissionDenied):
        schedule.optimize(world.uow(), AGENT, "mini", communes, MONDAY, 7, time_limit_s=5, address=None, now=NOW)
    with pytest.raises(ValidationError, match="days"):
        schedule.optimize(world.uow(), COORD, "mini", communes, MONDAY, 60, time_limit_s=5, address=None, now=NOW)
    outsider = replace(COORD, territory="other")
    with pytest.raises(Exception, match="not found"):
        schedule.proposals(world.uow(), outsider, "mini", now=NOW)


def test_a_proposal_leaves_the_next_half_hour_alone_and_still_applies_minutes_later(
        world: Container, communes: dict[str, Commune]) -> None:
    """The MRI opens at 08:00, now: nothing is proposed before 08:30, so a proposal decided 20
    minutes later still fits (it used to be refused when a proposed slot had started meanwhile)."""
    _scenario(world, communes)
    pid = schedule.optimize(world.uow(), COORD, "mini", communes, MONDAY, 7, time_limit_s=10, address=None, now=NOW)
    _, _, changes = schedule.proposal(world.uow(), COORD, pid, address=None, now=NOW)
    starts = [c["after_start"] for c in changes if c["after_start"] is not None]
    assert starts and all(s.astimezone(UTC) >= NOW + schedule.PROPOSAL_LEAD for s in starts)
    later = NOW + timedelta(minutes=20)
    assert schedule.apply(world.uow(), COORD, pid, communes, address=None, now=later) == 2
