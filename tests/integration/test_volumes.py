"""Digestive oncological surgery per site against the minimum volumes, on SQLite and PostgreSQL:
what counts (cancer resections with an active theatre booking in the year, in the territory's
time zone), per complex site, and the projection to year end as services/volumes.py documents it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, insert, select

from mutualis.adapters.db import tables as TB
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import NotFound, PermissionDenied, ValidationError
from mutualis.domain.orders import Patient, Sex
from mutualis.domain.territory import Commune
from mutualis.services import volumes
from mutualis.services.territories import load_territory
from tests.conftest import ROOT
from tests.integration.test_booking import nir
from tests.integration.test_protocols import AGENT, COORD, GIRARD, OTHER, T

NOW = datetime(2026, 4, 10, 8, 0, tzinfo=UTC)  # day 100 of 2026 in Paris
PARIS = ZoneInfo("Europe/Paris")


def _case(c: Connection, patient: int, theatre: str, procedure: str, status: str, local: datetime, *,
          cancer: bool = True, active: bool = True) -> int:  # fmt: skip
    start = local.replace(tzinfo=PARIS).astimezone(UTC)
    eq = c.execute(select(TB.equipment.c.id).where(TB.equipment.c.territory_id == T,
                                                   TB.equipment.c.code == theatre)).scalar_one()  # fmt: skip
    case_id: int = c.execute(insert(TB.surgical_cases).values(
        territory_id=T, patient_id=patient, procedure=procedure, surgeon_rpps="17657859207",
        priority="cancer" if cancer else "standard", cancer=cancer, anaesthesia="general", equipment=[],
        expected_min=180,
        ready_on=start.date() - timedelta(days=20), due_by=start.date() + timedelta(days=10), status=status,
        created_at=NOW, updated_at=NOW)).inserted_primary_key[0]  # fmt: skip
    c.execute(insert(TB.theatre_bookings).values(
        case_id=case_id, equipment_id=eq, start_at=start, end_at=start + timedelta(hours=3), active=active,
        created_by="test", created_at=NOW))  # fmt: skip
    return case_id


@pytest.fixture
def world(container: Container, communes: dict[str, Commune]) -> Container:
    t = read_territory_file(ROOT / "territories" / f"{T}.toml", communes)
    load_territory(container.uow(), t, source="test", actor="test", address=None, now=NOW)
    with container.uow() as uow:
        pid = uow.patients.add(T, Patient(nir(1), "Patient", "Anne", date(1955, 3, 1), Sex.FEMALE, "86165"), NOW).id
        assert pid is not None
        conn = uow._conn  # type: ignore[attr-defined]
        chu, mtm = "chu-bloc-visceral-1", "montmorillon-bloc-1"
        for day in (3, 17):
            _case(conn, pid, chu, "gastrectomie-totale", "done", datetime(2026, 2, day, 9))
        _case(conn, pid, chu, "proctectomie-coelio", "done", datetime(2026, 3, 5, 9))
        for month in (1, 2, 3):
            _case(conn, pid, "chu-bloc-visceral-2", "colectomie-gauche", "done", datetime(2026, month, 12, 13))
        _case(conn, pid, chu, "hernie-inguinale-prothese", "done", datetime(2026, 2, 9, 9))  # not a resection
        _case(conn, pid, chu, "duodenopancreatectomie", "done", datetime(2026, 2, 10, 9), cancer=False)
        rebooked = _case(conn, pid, chu, "segmentectomie-hepatique", "done", datetime(2026, 2, 20, 9), active=False)
        conn.execute(insert(TB.theatre_bookings).values(
            case_id=rebooked, equipment_id=conn.execute(select(TB.equipment.c.id).where(
                TB.equipment.c.code == "chu-bloc-visceral-3")).scalar_one(),
            start_at=datetime(2026, 3, 20, 8, tzinfo=UTC), end_at=datetime(2026, 3, 20, 11, tzinfo=UTC), active=True,
            created_by="test", created_at=NOW))  # fmt: skip
        _case(conn, pid, chu, "colectomie-droite-coelio", "done", datetime(2026, 1, 1, 0, 30))  # 2025 in UTC
        _case(conn, pid, chu, "colectomie-droite-coelio", "done", datetime(2025, 12, 31, 23, 30))  # in 2025
        _case(conn, pid, chu, "oesophagectomie", "booked", datetime(2026, 5, 20, 8))
        _case(conn, pid, chu, "colectomie-droite-coelio", "booked", datetime(2026, 4, 10, 14))  # later today
        _case(conn, pid, chu, "gastrectomie-partielle", "booked", datetime(2026, 3, 30, 9))  # past, never recorded
        _case(conn, pid, chu, "gastrectomie-totale", "cancelled", datetime(2026, 3, 2, 9))
        for day in (4, 18):
            _case(conn, pid, mtm, "colectomie-droite-coelio", "done", datetime(2026, 2, day, 9))
        _case(conn, pid, mtm, "hartmann", "booked", datetime(2026, 6, 15, 9))  # the booking horizon
        uow.commit()
    return container


def _volumes(r: volumes.VolumeReport, site: str) -> dict[str, tuple[int, int, int, float]]:
    s = next(x for x in r.sites if x.site == site)
    return {v.category: (v.performed, v.planned, v.unrecorded, v.projected) for v in s.volumes}


def test_counts_per_site_and_complex_site_with_the_projection(world: Container) -> None:
    r = volumes.report(world.uow(), COORD, T, now=NOW)
    assert (r.year, r.as_of, r.elapsed, r.days_in_year, r.horizon) == (2026, date(2026, 4, 10), 100, 365,
                                                                       date(2026, 6, 15))
    assert [s.site for s in r.sites] == ["chu-poitiers", "montmorillon"]
    beyond = (date(2026, 12, 31) - date(2026, 6, 15)).days
    assert beyond == 199
    chu = _volumes(r, "chu-poitiers")
    # 2 gastrectomies, 1 proctectomy, 3 left colectomies, 1 liver segmentectomy (counted once,
    # on its active booking), 1 right colectomy on 1 January at 00:30 in Paris
    assert chu["total"] == (8, 2, 1, round(8 + 2 + 8 / 100 * beyond, 1)) == (8, 2, 1, 25.9)
    assert chu["stomach"] == (2, 0, 1, 6.0)
    assert chu["rectum"] == (1, 0, 0, 3.0) and chu["liver"] == (1, 0, 0, 3.0)
    assert chu["oesophagus"] == (0, 1, 0, 1.0) and chu["pancreas"] == (0, 0, 0, 0.0)
    assert _volumes(r, "montmorillon")["total"] == (2, 1, 0, 7.0)
    chu_site = next(s for s in r.sites if s.site == "chu-poitiers")
    assert [(v.category, v.threshold, v.meets) for v in chu_site.volumes] == [
        ("total", 30, False), ("oesophagus", 5, False), ("liver", 5, False), ("stomach", 5, True),
        ("pancreas", 5, False), ("rectum", 5, False)]


def test_a_past_year_is_what_was_performed(world: Container) -> None:
    r = volumes.report(world.uow(), GIRARD, T, 2025, now=NOW)
    assert (r.elapsed, r.days_in_year) == (365, 365)
    assert _volumes(r, "chu-poitiers")["total"] == (1, 0, 0, 1.0)
    assert _volumes(r, "montmorillon")["total"] == (0, 0, 0, 0.0)


def test_who_sees_the_volumes(world: Container) -> None:
    with pytest.raises(PermissionDenied):
        volumes.report(world.uow(), AGENT, T, now=NOW)
    with pytest.raises(NotFound):
        volumes.report(world.uow(), OTHER, T, now=NOW)
    with pytest.raises(ValidationError):
        volumes.report(world.uow(), COORD, T, 1900, now=NOW)
    assert volumes.report(world.uow(), User("admin", "Admin", Role.ADMIN), T, now=NOW).sites
