"""The reading worklist, claims, reports and screening double reading, on SQLite and PostgreSQL,
with the shipped Aveyron PIMM territory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from mutualis.adapters.db import tables as T
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import Conflict, PermissionDenied, ValidationError
from mutualis.domain.identifiers import nir_key
from mutualis.domain.orders import Order, OrderStatus, Patient, Priority, Sex
from mutualis.domain.reading import ReadingTask, TaskStatus
from mutualis.domain.reading_settings import ReadingMode, TaskKind
from mutualis.domain.screening import ScreeningState
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.slots import Shift
from mutualis.services import booking, reading, reports
from mutualis.services.territories import load_territory
from tests.conftest import ROOT

COORD = User("coord", "Coordination", Role.COORDINATOR, "aveyron-pimm", sites=("rodez",))
MARTY = "12981010940"  # Rodez: MR, CT, mammo-L1, mammo-L2
CT_RODEZ = "15759511197"  # Rodez: MR, CT
L1_ONLY = "15494114307"  # Rodez: MR, US, mammo-L1
L2_RODEZ = "11723798135"  # Rodez: US, mammo-L1, mammo-L2
ESPALION = "16513453478"  # Espalion: CT, US, mammo-L1


def radiologist(rpps: str) -> User:
    return User(f"dr{rpps}", f"Dr {rpps}", Role.RADIOLOGIST, "aveyron-pimm", sites=("rodez",), rpps=rpps)


@dataclass
class World:
    c: Container
    t: Territory
    now: datetime
    patient_id: int


def _load(c: Container, t: Territory, now: datetime) -> None:
    load_territory(c.uow(), t, source="test", actor="test", address=None, now=now)


def _without_privileges(t: Territory, rpps: str) -> Territory:
    conventions = tuple(replace(cv, privileges=tuple(p for p in cv.privileges if p.rpps != rpps))
                        for cv in t.conventions)
    return replace(t, conventions=conventions)


@pytest.fixture
def world(container: Container, communes: dict[str, Commune]) -> World:
    t = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)
    now = datetime.now(UTC).replace(microsecond=0)
    _load(container, t, now)
    today = booking.to_local(now, t).date()
    radiologists = [p for p in t.practitioners if p.profession.value == "radiologist"]
    days = [today + timedelta(days=d) for d in (-1, 0, 1)]  # the tests move the clock by up to an hour
    shifts = [Shift("espalion" if p.rpps == ESPALION else "rodez", day, "radiologist", 0, 24 * 60, p.rpps)
              for p in radiologists for day in days]
    booking.set_presence(container.uow(), COORD, t.id, days[0], days[-1], shifts, address=None, now=now)
    with container.uow() as uow:
        nir = "2610312096"
        p = uow.patients.add(t.id, Patient(nir + "123" + nir_key(nir + "123"), "Dupré", "Hélène",
                                           date(1961, 3, 14), Sex.FEMALE, "12096"), now)
        uow.commit()
    assert p.id is not None
    return World(container, t, now, p.id)


def ready(w: World, exam: str, site: str, priority: Priority = Priority.OUTPATIENT) -> ReadingTask:
    """An acquired exam whose images reached the PACS: in the reading worklist."""
    with w.c.uow() as uow:
        order = uow.orders.add(Order(w.t.id, w.patient_id, exam, MARTY, site, priority, w.now.date(),
                                     w.now.date() + timedelta(days=10), "Bilan", status=OrderStatus.ACQUIRED), w.now)
        task = reading.enqueue(uow, w.t, order, site, w.now)
        uow.commit()
    assert task is not None and task.id is not None
    return task


def test_exam_enters_the_worklist_of_those_allowed_to_read_it(world: World) -> None:
    ct = ready(world, "tdm-thorax", "decazeville", Priority.URGENT)
    us = ready(world, "echo-abdominale", "decazeville")
    assert ct.due_at - ct.ready_at == timedelta(hours=1)
    again = None
    with world.c.uow() as uow:  # the same exam twice (PACS seen again): one task
        order = uow.orders.get(ct.order_id or 0)
        assert order is not None
        again = reading.enqueue(uow, world.t, order, "decazeville", world.now)
    assert again is None
    w = reading.worklist(world.c.uow(), radiologist(CT_RODEZ), world.t.id, address=None, now=world.now)
    ids = [x.id for x in w.tasks]
    assert ct.id in ids and w.counters["urgent"] == 1
    assert us.id not in ids  # ultrasound is read on site, and he is at Rodez (and not US-qualified)
    w2 = reading.worklist(world.c.uow(), radiologist(L1_ONLY), world.t.id, address=None, now=world.now)
    assert ct.id not in [x.id for x in w2.tasks]  # no CT qualification


def test_concurrent_claims_never_give_one_exam_to_two_radiologists(world: World) -> None:
    readers = [MARTY, CT_RODEZ, "14107796204", "12950406467", "13342126847", "14949036553"]
    for _ in range(5):
        task = ready(world, "tdm-crane", "rodez")
        barrier = threading.Barrier(len(readers))
        won: list[str] = []
        lost: list[str] = []

        def attempt(rpps: str, task_id: int = task.id or 0, b: threading.Barrier = barrier,
                    won: list[str] = won, lost: list[str] = lost) -> None:
            b.wait()
            try:
                reading.claim(world.c.uow(), radiologist(rpps), task_id, address=None, now=world.now)
                won.append(rpps)
            except Conflict:
                lost.append(rpps)

        threads = [threading.Thread(target=attempt, args=(r,)) for r in readers]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(won) == 1 and len(lost) == len(readers) - 1
        with world.c.uow() as uow:
            stored = uow.reading.get(task.id or 0)
        assert stored is not None and stored.claimed_by == won[0] and stored.status is TaskStatus.CLAIMED


def test_an_idle_claim_lapses(world: World) -> None:
    task = ready(world, "tdm-crane", "rodez")
    reading.claim(world.c.uow(), radiologist(MARTY), task.id or 0, address=None, now=world.now)
    with pytest.raises(Conflict):
        reading.claim(world.c.uow(), radiologist(CT_RODEZ), task.id or 0, address=None,
                      now=world.now + timedelta(minutes=10))
    later = world.now + world.t.reading.claim_lapse + timedelta(minutes=1)
    taken = reading.claim(world.c.uow(), radiologist(CT_RODEZ), task.id or 0, address=None, now=later)
    assert taken.claimed_by == CT_RODEZ


def test_report_draft_sign_addendum_and_delivery(world: World) -> None:
    task = ready(world, "tdm-thorax", "decazeville")
    me = radiologist(CT_RODEZ)
    reading.claim(world.c.uow(), me, task.id or 0, address=None, now=world.now)
    page = reports.reading_page(world.c.uow(), me, task.id or 0, address=None, now=world.now)
    assert page.report.technique.startswith("Acquisition hélicoïdale thoracique")  # the catalogue's template
    assert page.report.findings.startswith("Parenchyme pulmonaire") and page.report.indication == "Bilan"
    reports.save_draft(world.c.uow(), me, task.id or 0, {"findings": "Pas de nodule.", "conclusion": "Normal."},
                       address=None, now=world.now)
    with pytest.raises(ValidationError) as missing:
        reports.sign_report(world.c.uow(), me, task.id or 0, address=None, now=world.now)
    assert {p.location for p in missing.value.problems} == {"dose.ctdi_vol_mgy", "dose.dlp_mgy_cm"}
    reports.save_draft(world.c.uow(), me, task.id or 0, {"dose": {"ctdi_vol_mgy": 6.1, "dlp_mgy_cm": 230.0}},
                       address=None, now=world.now)
    signed = reports.sign_report(world.c.uow(), me, task.id or 0, address=None, now=world.now)
    assert signed.status.value == "signed" and signed.findings == "Pas de nodule."
    with pytest.raises(ValidationError):  # signed: no more drafting
        reports.save_draft(world.c.uow(), me, task.id or 0, {"conclusion": "autre"}, address=None, now=world.now)
    amended = reports.add_addendum(world.c.uow(), me, task.order_id or 0, "Comparaison avec l'examen de 2024.",
                                   address=None, now=world.now + timedelta(hours=1))
    assert amended.conclusion == "Normal." and len(amended.addenda) == 1
    agent = User("sec.dcz", "Secrétariat", Role.BOOKING_AGENT, "aveyron-pimm", sites=("decazeville",))
    order, _, delivered, _ = reports.report_for_order(world.c.uow(), agent, task.order_id or 0, address=None,
                                                       now=world.now)
    assert order.status is OrderStatus.REPORTED and delivered.addenda[0].text.startswith("Comparaison")
    # the database itself keeps the signed report as signed
    with pytest.raises(DBAPIError), world.c.engine.begin() as conn:
        conn.execute(update(T.reports).where(T.reports.c.order_id == task.order_id).values(conclusion="changed"))
    with world.c.uow() as uow:
        events = uow.audit.query(resource="report")
    assert {(e.actor, e.action.value) for e in events} >= {(me.username, "update"), (agent.username, "read")}


def test_a_radiologist_without_the_privilege_cannot_sign(world: World) -> None:
    task = ready(world, "tdm-thorax", "espalion")
    me = radiologist(ESPALION)  # his own establishment's site: allowed
    reading.claim(world.c.uow(), me, task.id or 0, address=None, now=world.now)
    reports.save_draft(world.c.uow(), me, task.id or 0, {"findings": "RAS", "conclusion": "Normal",
                                                         "dose": {"ctdi_vol_mgy": 5.0, "dlp_mgy_cm": 200.0}},
                       address=None, now=world.now)
    other = ready(world, "tdm-thorax", "decazeville")
    assert any(pv.rpps == ESPALION for cv in world.t.conventions for pv in cv.privileges)
    _load(world.c, _without_privileges(world.t, ESPALION), world.now)  # privilege revoked
    with pytest.raises(PermissionDenied, match="no privilege"):
        reading.claim(world.c.uow(), me, other.id or 0, address=None, now=world.now)
    # an exam of his own hospital is still his to sign
    assert reports.sign_report(world.c.uow(), me, task.id or 0, address=None, now=world.now).signed_by == ESPALION
    # a Rodez radiologist whose privileges are revoked while he holds a Decazeville exam
    holder = radiologist(CT_RODEZ)
    _load(world.c, world.t, world.now)
    reading.claim(world.c.uow(), holder, other.id or 0, address=None, now=world.now)
    reports.save_draft(world.c.uow(), holder, other.id or 0, {"findings": "RAS", "conclusion": "Normal",
                                                              "dose": {"ctdi_vol_mgy": 5.0, "dlp_mgy_cm": 200.0}},
                       address=None, now=world.now)
    _load(world.c, _without_privileges(world.t, CT_RODEZ), world.now)
    with pytest.raises(PermissionDenied, match="no privilege"):
        reports.sign_report(world.c.uow(), holder, other.id or 0, address=None, now=world.now)
    with world.c.uow() as uow:
        assert uow.reports.for_order(other.order_id or 0).status.value == "draft"  # type: ignore[union-attr]


def _screening(w: World) -> ReadingTask:
    task = ready(w, "mammo-depistage", "decazeville", Priority.SCREENING)
    assert task.kind is TaskKind.SCREENING_L1
    return task


def _read(w: World, rpps: str, task_id: int, **fields: object) -> ScreeningState:
    reading.claim(w.c.uow(), radiologist(rpps), task_id, address=None, now=w.now)
    return reports.record_screening(w.c.uow(), radiologist(rpps), task_id, dict(fields), address=None,
                                    now=w.now).state


def _l2_task(w: World, order_id: int | None) -> ReadingTask | None:
    with w.c.uow() as uow:
        return next((x for x in uow.reading.for_order(order_id or 0) if x.kind is TaskKind.SCREENING_L2), None)


def test_double_reading_l1_negative_goes_to_another_reader_and_l2_positive_recalls(world: World) -> None:
    task = _screening(world)
    assert _read(world, MARTY, task.id or 0, right=1, left=2, density="B") is ScreeningState.AWAITING_L2
    l2 = _l2_task(world, task.order_id)
    assert l2 is not None and l2.excluded == (MARTY,) and l2.due_at - l2.ready_at == timedelta(days=15)
    mine = reading.worklist(world.c.uow(), radiologist(MARTY), world.t.id, address=None, now=world.now)
    assert l2.id not in [x.id for x in mine.tasks]
    with pytest.raises(PermissionDenied):  # the same reader for L2
        reading.claim(world.c.uow(), radiologist(MARTY), l2.id or 0, address=None, now=world.now)
    with pytest.raises(PermissionDenied):  # L1-only reader
        reading.claim(world.c.uow(), radiologist(L1_ONLY), l2.id or 0, address=None, now=world.now)
    assert _read(world, L2_RODEZ, l2.id or 0, right=4, left=1, density="B") is ScreeningState.RECALL
    with world.c.uow() as uow:
        order = uow.orders.get(task.order_id or 0)
    assert order is not None and order.status is OrderStatus.REPORTED
    found = reports.indicators(world.c.uow(), COORD, world.t.id, world.now.year, address=None, now=world.now)
    assert found[L2_RODEZ].l2_only_positives == 1 and found[MARTY].missed_at_l1 == 1


def test_l1_positive_is_worked_up_by_l1_and_needs_no_l2(world: World) -> None:
    task = _screening(world)
    assert _read(world, MARTY, task.id or 0, right=4, left=1, density="C") is ScreeningState.WORKUP
    assert _l2_task(world, task.order_id) is None
    with pytest.raises(PermissionDenied):
        reports.record_screening(world.c.uow(), radiologist(L2_RODEZ), task.id or 0, {"workup": "positive"},
                                 address=None, now=world.now)
    state = reports.record_screening(world.c.uow(), radiologist(MARTY), task.id or 0, {"workup": "positive"},
                                     address=None, now=world.now).state
    assert state is ScreeningState.POSITIVE and _l2_task(world, task.order_id) is None


def test_technically_insufficient_and_bad_classes(world: World) -> None:
    task = _screening(world)
    with pytest.raises(ValidationError) as bad:
        _read(world, MARTY, task.id or 0, right=7, left=1, density="E")
    assert {p.location for p in bad.value.problems} == {"right", "density"}
    state = reports.record_screening(world.c.uow(), radiologist(MARTY), task.id or 0,
                                     {"right": 1, "left": 1, "density": "A", "technically_insufficient": True},
                                     address=None, now=world.now).state
    assert state is ScreeningState.NEW_IMAGES and _l2_task(world, task.order_id) is None


def _sweep(world: World, at: datetime) -> dict[str, int]:
    """One committed sweep round (lapse, escalation, push) of the territory at ``at``."""
    with world.c.uow() as uow:
        t = uow.territories.get(world.t.id)
        assert t is not None
        counts = reading.sweep(uow, t, at)
        uow.commit()
    return counts


def test_push_mode_assigns_and_escalation_flags(world: World) -> None:
    _load(world.c, replace(world.t, reading=replace(world.t.reading, mode=ReadingMode.PUSH)), world.now)
    urgent = ready(world, "tdm-crane", "rodez", Priority.URGENT)
    counts = _sweep(world, world.now)
    with world.c.uow() as uow:
        stored = uow.reading.get(urgent.id or 0)
        t = uow.territories.get(world.t.id)
        assert t is not None
    assert counts.get("assigned") == 1 and stored is not None and stored.status is TaskStatus.CLAIMED
    assert stored.claimed_by in {p.rpps for p in world.t.practitioners if "CT" in p.qualifications}
    late = ready(world, "tdm-thorax", "rodez", Priority.URGENT)
    with world.c.uow() as uow:  # nobody on duty an hour later: it waits, and escalates near its due time
        uow.presence.replace(world.t.id, world.now.date() - timedelta(days=2), world.now.date() + timedelta(days=2),
                             [])
        counts = reading.sweep(uow, t, world.now + timedelta(minutes=50))
        uow.commit()
        flagged = uow.reading.get(late.id or 0)
    assert flagged is not None and flagged.escalated and flagged.status is TaskStatus.WAITING


def test_push_mode_urgent_exam_preempts_a_routine_reading(world: World) -> None:
    """One CT reader on duty, holding 80 minutes of MR readings: an urgent head CT would wait past
    its hour, so it is claimed for them at once; their MR readings stay theirs, and the
    pre-emption is in the audit trail. With one short reading held, the urgent exam waits."""
    _load(world.c, replace(world.t, reading=replace(world.t.reading, mode=ReadingMode.PUSH)), world.now)
    today = booking.to_local(world.now, world.t).date()
    with world.c.uow() as uow:
        uow.presence.replace(world.t.id, today - timedelta(days=1), today + timedelta(days=1),
                             [Shift("rodez", d, "radiologist", 0, 24 * 60, CT_RODEZ)
                              for d in (today - timedelta(days=1), today, today + timedelta(days=1))])
        uow.commit()
    mr = [ready(world, "irm-genou", "rodez") for _ in range(4)]
    for n, x in enumerate(mr):
        with world.c.uow() as uow:
            assert uow.reading.claim(x.id or 0, CT_RODEZ, world.now - timedelta(minutes=10 - n),
                                     world.now - timedelta(hours=1))
            uow.commit()
    urgent = ready(world, "tdm-crane", "rodez", Priority.URGENT)
    counts = _sweep(world, world.now)
    with world.c.uow() as uow:
        stored = uow.reading.get(urgent.id or 0)
        held = [uow.reading.get(x.id or 0) for x in mr]
        trail = uow.audit.query(actor="dispatch")
    assert counts["preempted"] == 1 and stored is not None and stored.status is TaskStatus.CLAIMED
    assert stored.claimed_by == CT_RODEZ
    assert all(x is not None and x.status is TaskStatus.CLAIMED and x.claimed_by == CT_RODEZ for x in held)
    (event,) = trail
    assert event.detail == {"preempts": mr[0].id, "reader": CT_RODEZ} and event.resource_id == str(urgent.id)
    # the same urgent exam, with the reader holding one short reading only: no pre-emption
    with world.c.uow() as uow:
        for x in held[1:]:
            assert x is not None
            uow.reading.save(replace(x, status=TaskStatus.DONE), expected=TaskStatus.CLAIMED, holder=CT_RODEZ,
                             done_at=world.now)
        uow.reading.save(replace(stored, status=TaskStatus.WAITING, claimed_by=None, claimed_at=None),
                         expected=TaskStatus.CLAIMED)
        uow.commit()
    assert _sweep(world, world.now)["preempted"] == 0


def test_conventions_decide_remote_reading(world: World) -> None:
    no_remote_ct = tuple(replace(cv, remote_reading=tuple(m for m in cv.remote_reading if m.value != "CT"))
                         for cv in world.t.conventions)
    _load(world.c, replace(world.t, conventions=no_remote_ct), world.now)
    task = ready(world, "tdm-thorax", "decazeville")
    with pytest.raises(PermissionDenied, match="remote reading"):
        reading.claim(world.c.uow(), radiologist(CT_RODEZ), task.id or 0, address=None, now=world.now)



def test_push_mode_assigns_only_readings_that_end_before_the_readers_duty(world: World) -> None:
    """Two CT readers free now: one leaves in 10 minutes, the other's duty runs on past midnight
    (today's row, then tomorrow's until 08:00). An urgent injected chest CT (15 minutes) goes to the one who
    stays, though the other comes first among equals; with only the one leaving, it waits."""
    _load(world.c, replace(world.t, reading=replace(world.t.reading, mode=ReadingMode.PUSH)), world.now)
    local = booking.to_local(world.now, world.t)
    today, minute = local.date(), local.hour * 60 + local.minute
    leaving = Shift("rodez", today, "radiologist", 0, min(minute + 10, 24 * 60), MARTY)
    staying = [Shift("rodez", today, "radiologist", 0, 24 * 60, CT_RODEZ),
               Shift("rodez", today + timedelta(days=1), "radiologist", 0, 8 * 60, CT_RODEZ)]
    with world.c.uow() as uow:
        uow.presence.replace(world.t.id, today - timedelta(days=1), today + timedelta(days=1), [leaving, *staying])
        t = uow.territories.get(world.t.id)
        assert t is not None
        duty = reading.duty_now(uow, t, world.now)
        uow.commit()
    assert duty.until[MARTY] - world.now <= timedelta(minutes=10)
    assert duty.until[CT_RODEZ] == datetime.combine(today + timedelta(days=1), time(8), ZoneInfo(world.t.timezone))
    urgent = ready(world, "tdm-thorax-inj", "rodez", Priority.URGENT)
    assert _sweep(world, world.now)["assigned"] == 1
    with world.c.uow() as uow:
        stored = uow.reading.get(urgent.id or 0)
    assert stored is not None and stored.claimed_by == CT_RODEZ
    # only the radiologist who leaves in 10 minutes: the exam is not handed to them
    with world.c.uow() as uow:
        uow.presence.replace(world.t.id, today - timedelta(days=1), today + timedelta(days=1), [leaving])
        uow.reading.save(replace(stored, status=TaskStatus.WAITING, claimed_by=None, claimed_at=None),
                         expected=TaskStatus.CLAIMED)
        uow.commit()
    assert _sweep(world, world.now)["assigned"] == 0
