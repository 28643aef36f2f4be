"""A referral walks from Montmorillon to a CHU theatre session, as people do it: the Montmorillon
surgeon refers a patient with a colon cancer to the CHU; the CHU's coordination accepts, records
the consultation and books the colectomy into a CHU theatre; the two-site theatre week shows it,
flagged because no tumour board has decided yet; the referring surgeon sees where the patient
stands."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from mutualis.adapters.db.engine import upgrade
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.accounts import Role, User
from mutualis.domain.identifiers import nir_key
from mutualis.domain.orders import Patient, Sex
from mutualis.services.accounts import add_user
from mutualis.services.booking import to_local
from mutualis.services.territories import load_territory
from tests.conftest import ROOT, TEST_SECRET
from tests.e2e.conftest import ARTIFACTS, PASSWORD, live_server, login

TERRITORY = "vienne-fmih"
SURGEON = User("chirurgien.montmorillon", "Dr Caroline Rivière", Role.FEDERATION_SURGEON, TERRITORY,
               sites=("montmorillon",), rpps="17981895562")
CHU = User("coordination.fmih", "Coordination de la FMIH", Role.COORDINATOR, TERRITORY, sites=("chu-poitiers",))


@dataclass
class Federation:
    url: str
    container: Container
    monday: date


@pytest.fixture(scope="module")
def fmih(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    db = tmp_path_factory.mktemp("e2e-fmih") / "mutualis.db"
    c = bootstrap(Settings(database_url=f"sqlite:///{db}", secret_key=TEST_SECRET))
    upgrade(c.engine)
    now = datetime.now(UTC)
    t = read_territory_file(ROOT / "territories" / f"{TERRITORY}.toml", c.communes)
    load_territory(c.uow(), t, source=TERRITORY, actor="e2e", address=None, now=now)
    for user in (SURGEON, CHU):
        add_user(c.uow(), c.hasher, user, PASSWORD, actor="e2e", address=None, now=now)
    with c.uow() as uow:
        nir = "1580786194123"
        uow.patients.add(TERRITORY, Patient(nir + nir_key(nir), "Bernard", "Jacques", date(1958, 7, 3), Sex.MALE,
                                            "86165"), now)  # fmt: skip
        uow.commit()
    today = to_local(now, t).date()
    monday = today + timedelta(days=7 - today.weekday())
    if date(2026, 12, 21) <= monday <= date(2027, 1, 2):  # the theatres' Christmas closures
        monday = date(2027, 1, 4)
    with live_server(c) as url:
        yield Federation(url, c, monday)
    c.engine.dispose()




def test_a_referral_from_montmorillon_reaches_a_chu_theatre(fmih: Federation, browser: Browser) -> None:
    surgeon = login(browser, fmih.url, SURGEON.username, "/federation?vue=adressages")
    form = surgeon.get_by_role("form", name="Nouvel adressage")
    form.get_by_label("Patient").select_option(label="BERNARD Jacques (03/07/1958)")
    form.get_by_label("Vers").select_option(label="CHU de Poitiers — site de la Milétrie")
    form.get_by_label("Motif").select_option(label="oncologie digestive")
    form.get_by_label("Résumé clinique").fill("Adénocarcinome du côlon droit, bilan d'extension négatif.")
    form.get_by_label("Documents joints").fill("compte rendu de coloscopie, scanner TAP")
    form.get_by_role("button", name="Envoyer l'adressage").click()
    expect(surgeon.get_by_text("L'adressage est envoyé")).to_be_visible()
    expect(surgeon.locator("[data-status]")).to_have_text("Envoyé")
    referral_url = surgeon.url.split("?")[0]
    assert not surgeon.get_by_role("button", name="Accepter").count()  # the referring side cannot accept

    chu = login(browser, fmih.url, CHU.username, referral_url.replace(fmih.url, ""))
    chu.get_by_role("button", name="Accepter").click()
    expect(chu.locator("[data-status]")).to_have_text("Accepté")
    chu.get_by_role("button", name="Consultation faite").click()
    expect(chu.locator("[data-status]")).to_have_text("Consultation")
    plan = chu.get_by_role("form", name="Programmer l'intervention")
    plan.get_by_label("Intervention").select_option(value="colectomie-droite-coelio")
    plan.get_by_label("Chirurgien").select_option(label="Dr Laurent Girard")
    plan.get_by_label("Salle").select_option(value="chu-bloc-visceral-1")
    plan.get_by_label("Jour").fill(fmih.monday.isoformat())
    plan.get_by_label("Heure").fill("08:30")
    plan.get_by_role("button", name="Programmer").click()
    expect(chu.get_by_text("L'intervention est programmée.")).to_be_visible()
    expect(chu.locator("[data-status]")).to_have_text("Chirurgie programmée")

    chu.goto(f"{fmih.url}/federation?vue=blocs&semaine={fmih.monday.isoformat()}")
    room = chu.get_by_role("table", name="Blocs opératoires de la semaine").locator(
        'tr[data-theatre="chu-bloc-visceral-1"]')
    booked = room.locator(".intervention")
    expect(booked).to_contain_text("08:30")
    expect(booked).to_contain_text("BERNARD Jacques")
    expect(booked.locator(".badge-rcp")).to_have_text("RCP manquante")  # no tumour-board decision yet
    expect(chu.locator('[data-flag="rcp"]')).to_contain_text("sans décision de RCP")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chu.screenshot(path=str(ARTIFACTS / "federation-blocs.png"), full_page=False)

    surgeon.goto(referral_url)
    expect(surgeon.locator("[data-status]")).to_have_text("Chirurgie programmée")
    expect(surgeon.get_by_role("list", name="Parcours")).to_contain_text(f"{fmih.monday:%d/%m/%Y} à 08:30")
    surgeon.close()
    chu.close()


def test_the_coordinator_fills_the_week_with_the_planner(fmih: Federation, browser: Browser) -> None:
    from mutualis.domain.federation import SurgicalCase
    from mutualis.services import theatres

    now = datetime.now(UTC)
    with fmih.container.uow() as uow:
        (patient,) = uow.patients.search(TERRITORY, "Bernard")
    for n, (surgeon, procedure) in enumerate((("16489545893", "cholecystectomie-coelio"),
                                              ("15822313308", "hernie-inguinale-prothese"),
                                              ("13768764808", "cure-eventration"))):
        theatres.create_case(fmih.container.uow(), CHU, SurgicalCase(
            TERRITORY, patient.id or 0, procedure, surgeon, "standard", False, 0, fmih.monday,
            fmih.monday + timedelta(days=20 + n)), address=None, now=now)  # fmt: skip
    chu = login(browser, fmih.url, CHU.username, f"/federation?vue=blocs&semaine={fmih.monday.isoformat()}")
    form = chu.get_by_role("form", name="Remplir la semaine")
    form.get_by_label("Temps de calcul (s)").fill("5")
    form.get_by_role("button", name="Remplir la semaine avec le planificateur").click()
    proposed = chu.get_by_role("table", name="Interventions proposées").locator("tbody tr[data-case]")
    expect(proposed).to_have_count(3, timeout=60_000)
    expect(chu.locator('[data-figure="done"]')).to_contain_text("3 interventions programmées")
    chu.get_by_role("button", name="Programmer ces 3 interventions").click()
    expect(chu.get_by_text("Les interventions proposées par le planificateur sont programmées.")).to_be_visible()
    calendar = chu.get_by_role("table", name="Blocs opératoires de la semaine")
    expect(calendar.locator(".intervention")).to_have_count(4)  # the referral's colectomy and the three planned
    chu.close()


def test_overdue_referrals_are_listed_to_be_chased(fmih: Federation, browser: Browser) -> None:
    from mutualis.domain.federation import Referral, ReferralReason, Urgency
    from mutualis.services import federation

    with fmih.container.uow() as uow:
        (patient,) = uow.patients.search(TERRITORY, "Bernard")
    sent = datetime.now(UTC) - timedelta(days=2)  # urgent: an answer was due within 24 hours
    federation.send_referral(fmih.container.uow(), SURGEON, Referral(
        TERRITORY, patient.id or 0, "montmorillon", "chu-poitiers", SURGEON.rpps or "", ReferralReason.HEAVY_SURGERY,
        Urgency.URGENT, "Occlusion sur bride, demande de transfert."), address=None, now=sent)  # fmt: skip
    page = login(browser, fmih.url, SURGEON.username, "/federation?vue=adressages")
    expect(page.locator("[data-reminders]")).to_contain_text("À relancer : 1 adressage en retard")
    expect(page.locator('[data-column="sent"] .carte-adressage.en-retard')).to_have_count(1)
    page.close()
