"""The federation's protocol library and volumes as people use them: the coordinator approves
version 2 of a protocol to take effect next month; the page shows version 1 in force today and
version 2 on a later day; a surgeon acknowledges the version in force; the volumes page draws
each site's bars against the thresholds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import insert, select

from mutualis.adapters.db import tables as TB
from mutualis.adapters.db.engine import upgrade
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.accounts import Role, User
from mutualis.domain.orders import Patient, Sex
from mutualis.services import booking, protocols
from mutualis.services.accounts import add_user
from mutualis.services.protocols import NewVersion
from mutualis.services.territories import load_territory
from tests.conftest import ROOT, TEST_SECRET
from tests.e2e.conftest import ARTIFACTS, PASSWORD, live_server, login
from tests.integration.test_booking import nir

T = "vienne-fmih"
CHU, MONTMO = "867470833", "860841485"
COORD = User("coordination.fmih", "Coordination de la FMIH", Role.COORDINATOR, T, establishments=(CHU,))
SURGEON = User("dr.riviere", "Caroline Rivière", Role.FEDERATION_SURGEON, T, establishments=(MONTMO,),
               rpps="17981895562")
V1 = ("Antibioprophylaxie en chirurgie colorectale : céfazoline 2 g IV + métronidazole 1 g IV dans les 30 à 60 "
      "minutes avant l'incision ; réinjection de céfazoline après 4 heures.")
V2 = ("Antibioprophylaxie en chirurgie colorectale : céfoxitine 2 g IV dans les 30 à 60 minutes avant l'incision ; "
      "réinjection de 1 g toutes les 2 heures ; allergie : clindamycine + gentamicine.")


@dataclass
class Library:
    url: str
    container: Container
    protocol_id: int
    today: date


def _cases(c: Container, now: datetime) -> None:
    """A few cancer resections this year at both sites (done before today, booked after)."""
    with c.uow() as uow:
        pid = uow.patients.add(T, Patient(nir(7), "Patient", "Jean", date(1950, 1, 2), Sex.MALE, "86194"), now).id
        conn = uow._conn  # type: ignore[attr-defined]
        year_start = datetime(now.year, 1, 1, 8, tzinfo=UTC)
        span = max((now - year_start).days, 1)
        plan = [("chu-bloc-visceral-1", "colectomie-gauche", 9), ("chu-bloc-visceral-2", "proctectomie-coelio", 3),
                ("chu-bloc-visceral-3", "gastrectomie-totale", 2), ("chu-bloc-visceral-1", "duodenopancreatectomie", 4),
                ("montmorillon-bloc-1", "colectomie-droite-coelio", 5)]  # fmt: skip
        for theatre, procedure, n in plan:
            eq = conn.execute(select(TB.equipment.c.id).where(TB.equipment.c.code == theatre)).scalar_one()
            for i in range(n + 1):
                done = i < n
                start = year_start + timedelta(days=span * i // max(n, 1)) if done else now + timedelta(days=7 + i)
                if done and start >= now:
                    start = now - timedelta(minutes=1)
                case = conn.execute(insert(TB.surgical_cases).values(
                    territory_id=T, patient_id=pid, procedure=procedure, surgeon_rpps="17657859207",
                    priority="cancer", cancer=True, anaesthesia="general", equipment=[], expected_min=180,
                    ready_on=start.date(),
                    due_by=start.date(), status="done" if done else "booked", created_at=now,
                    updated_at=now)).inserted_primary_key[0]  # fmt: skip
                conn.execute(insert(TB.theatre_bookings).values(
                    case_id=case, equipment_id=eq, start_at=start, end_at=start + timedelta(hours=3), active=True,
                    created_by="e2e", created_at=now))  # fmt: skip
        uow.commit()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    db = tmp_path_factory.mktemp("e2e-protocols") / "mutualis.db"
    c = bootstrap(Settings(database_url=f"sqlite:///{db}", secret_key=TEST_SECRET))
    upgrade(c.engine)
    now = datetime.now(UTC)
    t = read_territory_file(ROOT / "territories" / f"{T}.toml", c.communes)
    load_territory(c.uow(), t, source=T, actor="e2e", address=None, now=now)
    for user in (COORD, SURGEON):
        add_user(c.uow(), c.hasher, user, PASSWORD, actor="e2e", address=None, now=now)
    today = booking.to_local(now, t).date()
    p = protocols.create(c.uow(), COORD, T, code="antibioprophylaxie-colorectale",
                         title="Antibioprophylaxie en chirurgie colorectale", kind="care",
                         activities_=("theatre", "colectomie-gauche"), establishments=(CHU, MONTMO),
                         first=NewVersion(V1, today - timedelta(days=60)), address=None,
                         now=now - timedelta(days=60))  # fmt: skip
    _cases(c, now)
    with live_server(c) as url:
        yield Library(url, c, p.id or 0, today)
    c.engine.dispose()




def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def test_a_new_version_takes_effect_next_month_and_the_past_keeps_its_version(library: Library,
                                                                             browser: Browser) -> None:
    page = login(browser, library.url, COORD.username, "/protocoles")
    expect(page.get_by_role("heading", name="Protocoles harmonisés")).to_be_visible()
    row = page.locator('tr[data-protocol="antibioprophylaxie-colorectale"]')
    expect(row.locator("[data-in-force]")).to_contain_text("version 1")
    expect(row).to_contain_text("Centre hospitalier de Montmorillon")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "protocoles.png"), full_page=True)
    row.get_by_role("link", name="Antibioprophylaxie en chirurgie colorectale").click()

    effective = _next_month(library.today)
    page.get_by_label("Texte de la version").fill(V2)
    page.get_by_label("Applicable à partir du").fill(effective.isoformat())
    page.get_by_role("button", name="Approuver la version").click()
    expect(page.get_by_text("La nouvelle version est approuvée")).to_be_visible()
    timeline = page.get_by_role("list", name="Historique des versions")
    expect(timeline.locator('[data-version="2"] .etat-version')).to_have_text("à venir")
    expect(timeline.locator('[data-version="1"] .etat-version')).to_have_text("en vigueur")
    chosen = page.get_by_role("region", name="Version en vigueur à la date choisie")
    expect(chosen.locator("[data-chosen-version]")).to_have_attribute("data-chosen-version", "1")

    page.get_by_label("En vigueur le").fill((effective + timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Afficher").click()
    expect(chosen.locator("[data-chosen-version]")).to_have_attribute("data-chosen-version", "2")
    expect(chosen).to_contain_text("céfoxitine")
    page.get_by_label("En vigueur le").fill((library.today - timedelta(days=61)).isoformat())
    page.get_by_role("button", name="Afficher").click()
    expect(chosen).to_contain_text("aucune version de ce protocole n'était en vigueur")
    page.get_by_label("En vigueur le").fill((effective - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Afficher").click()
    expect(chosen.locator("[data-chosen-version]")).to_have_attribute("data-chosen-version", "1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "protocole-versions.png"), full_page=True)
    page.close()

    _, p, _ = protocols.get(library.container.uow(), COORD, library.protocol_id, now=datetime.now(UTC))
    assert [(v.version, v.approved_by) for v in p.versions] == [(1, COORD.username), (2, COORD.username)]
    assert p.versions[0].text == V1  # untouched


def test_a_practitioner_acknowledges_the_version_in_force(library: Library, browser: Browser) -> None:
    page = login(browser, library.url, SURGEON.username, f"/protocoles/{library.protocol_id}")
    v1 = page.locator('[data-version="1"]')
    acks = v1.locator("[data-acks]").get_attribute("data-acks") or ""
    done, expected = acks.split("/")
    assert done == "0" and int(expected) >= 10  # both establishments' practitioners
    expect(page.get_by_role("button", name="Approuver la version")).to_have_count(0)  # not a coordinator
    v1.get_by_role("button", name="J'ai pris connaissance").click()
    expect(page.get_by_text("Votre prise de connaissance est enregistrée.")).to_be_visible()
    expect(page.locator('[data-version="1"] [data-acks]')).to_have_attribute("data-acks", f"1/{expected}")
    expect(page.locator('[data-version="1"]')).to_contain_text("Vous avez pris connaissance de cette version.")
    page.screenshot(path=str(ARTIFACTS / "protocole-prise-de-connaissance.png"), full_page=True)
    page.goto(f"{library.url}/protocoles")
    expect(page.locator('tr[data-protocol="antibioprophylaxie-colorectale"] [data-acks]')).to_contain_text(
        f"1 / {expected}")
    page.close()
    with library.container.uow() as uow:
        assert [e.actor for e in uow.audit.query(resource="protocol_ack")] == [SURGEON.username]


def test_the_volumes_page_draws_the_bars_against_the_thresholds(library: Library, browser: Browser) -> None:
    page = login(browser, library.url, COORD.username, "/volumes")
    expect(page.get_by_role("heading", name="Chirurgie oncologique digestive : volumes")).to_be_visible()
    chu = page.locator('section[data-site="chu-poitiers"]')
    expect(chu.get_by_role("img")).to_be_visible()
    total = chu.locator('g[data-category="total"]')
    expect(total.locator('rect[data-kind="performed"]')).to_have_attribute("data-value", "18")
    expect(total.locator('rect[data-kind="planned"]')).to_have_attribute("data-value", "4")
    expect(total.locator("line.ligne-seuil")).to_have_count(1)
    expect(chu.locator('g[data-category="rectum"] rect[data-kind="performed"]')).to_have_attribute("data-value", "3")
    expect(chu.locator('g[data-category="pancreas"] rect[data-kind="performed"]')).to_have_attribute("data-value",
                                                                                                    "4")
    expect(chu.locator("g[data-category]")).to_have_count(6)
    mtm = page.locator('section[data-site="montmorillon"]')
    expect(mtm.locator('g[data-category="total"] rect[data-kind="performed"]')).to_have_attribute("data-value", "5")
    expect(page.get_by_role("heading", name="Comment la projection est calculée")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "volumes.png"), full_page=True)
    page.close()
