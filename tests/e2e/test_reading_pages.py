"""A radiologist reads an exam as a person would: on duty at Espalion, Dr Costes finds an urgent
chest CT acquired at Decazeville in the territory's reading worklist, filters the list, claims
the exam, sees the patient's previous exam with its signed conclusion, writes the report, is
told in French that the dose is missing, signs it, adds an addendum, and the exam leaves the
worklist. Then a screening mammogram read negative by one radiologist goes to the
double-reading queue of another radiologist holding mammo-L2, and not back to the first.

Runs on its own database (Aveyron PIMM, presence written so that the radiologists of the test
are on duty whatever the time of day)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from mutualis.adapters.db.engine import upgrade
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.accounts import Role, User
from mutualis.domain.identifiers import nir_key
from mutualis.domain.orders import Order, OrderStatus, Patient, Priority, Sex
from mutualis.domain.territory import Territory
from mutualis.engines.presence import default_presence
from mutualis.engines.slots import RADIOLOGIST, Shift
from mutualis.services import booking, reading, reports
from mutualis.services.accounts import add_user
from mutualis.services.territories import load_territory
from tests.conftest import ROOT, TEST_SECRET
from tests.e2e.conftest import ARTIFACTS, COORDINATOR, PASSWORD, live_server, login

TERRITORY = "aveyron-pimm"
COSTES = User("radiologue.espalion", "Dr Antoine Costes", Role.RADIOLOGIST, TERRITORY, sites=("espalion",),
              rpps="16513453478")  # CT, US, mammo-L1; privileges Espalion, Rodez, Decazeville
MARTY = User("radiologue.marty", "Dr Hélène Marty", Role.RADIOLOGIST, TERRITORY, sites=("rodez",),
             rpps="12981010940")  # mammo-L1 and mammo-L2
LACOMBE = User("radiologue.lacombe", "Dr Pierre Lacombe", Role.RADIOLOGIST, TERRITORY, sites=("decazeville",),
               rpps="14949036553")  # mammo-L2, Decazeville
FABRE = User("radiologue.fabre", "Dr Mathieu Fabre", Role.RADIOLOGIST, TERRITORY, sites=("rodez",),
             rpps="14107796204")  # off duty today and tomorrow in this test
ON_DUTY_ALL_DAY = {COSTES.rpps: "espalion", MARTY.rpps: "rodez", LACOMBE.rpps: "decazeville"}
AGENT = User("secretariat.espalion", "Secrétariat d'Espalion", Role.BOOKING_AGENT, TERRITORY, sites=("espalion",))
REQUESTER = "12950406467"  # Dr Thomas Rouquette


@dataclass
class Reading:
    url: str
    container: Container
    territory: Territory


def _presence(t: Territory, today: date) -> list[Shift]:
    """The default presence for 30 days, except that today and tomorrow the test's radiologists
    are present all day (00:00–24:00) and Dr Fabre is absent."""
    special = {*ON_DUTY_ALL_DAY, FABRE.rpps}
    soon = (today, today + timedelta(days=1))
    shifts = [s for s in default_presence(t, today, 30) if not (s.rpps in special and s.day in soon)]
    return shifts + [Shift(site, day, RADIOLOGIST, 0, 24 * 60, rpps=rpps)
                     for rpps, site in ON_DUTY_ALL_DAY.items() for day in soon]


def patient(r: Reading, nir13: str, last: str, first: str, born: date, sex: Sex) -> int:
    """Register a patient (the NIR given without its key) and return their id."""
    stored = booking.register_patient(r.container.uow(), AGENT, TERRITORY, Patient(
        nir13 + nir_key(nir13), last, first, born, sex, "12096"), r.container.communes, address=None,
                                      now=datetime.now(UTC))
    assert stored.id is not None
    return stored.id


def acquired_order(r: Reading, patient_id: int, exam: str, priority: Priority, clinical: str, *,
                   requesting_site: str = "espalion", images_minutes_ago: int = 0) -> Order:
    """Order and book the exam (booking use cases), mark it acquired and put it in the reading
    worklist, as the PACS notification does."""
    c, t, now = r.container, r.territory, datetime.now(UTC)
    today = booking.to_local(now, t).date()
    order = booking.create_order(c.uow(), AGENT, Order(t.id, patient_id, exam, REQUESTER, requesting_site, priority,
                                                       today, today + timedelta(days=30), clinical),
                                 address=None, now=now)
    assert order.id is not None
    _, _, slots = booking.find_slots(c.uow(), AGENT, order.id, c.communes, address=None, now=now)
    booking.book(c.uow(), AGENT, order.id, slots[0].equipment, slots[0].start, c.communes, address=None, now=now)
    with c.uow() as uow:
        uow.orders.set_status(order.id, OrderStatus.ACQUIRED, now)
        stored = uow.orders.get(order.id)
        assert stored is not None
        assert reading.enqueue(uow, t, stored, slots[0].site, now - timedelta(minutes=images_minutes_ago))
        uow.commit()
    return stored


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reading]:
    db = tmp_path_factory.mktemp("e2e-lecture") / "mutualis.db"
    container = bootstrap(Settings(database_url=f"sqlite:///{db}", secret_key=TEST_SECRET))
    upgrade(container.engine)
    now = datetime.now(UTC)
    load_territory(container.uow(), read_territory_file(ROOT / "territories" / f"{TERRITORY}.toml", container.communes),
                   source=TERRITORY, actor="e2e", address=None, now=now)
    with container.uow() as uow:
        t = uow.territories.get(TERRITORY)
    assert t is not None
    today = booking.to_local(now, t).date()
    booking.set_presence(container.uow(), COORDINATOR, t.id, today, today + timedelta(days=29), _presence(t, today),
                         address=None, now=now)
    for user in (COSTES, MARTY, LACOMBE, FABRE, AGENT):
        add_user(container.uow(), container.hasher, user, PASSWORD, actor="e2e", address=None, now=now)
    with live_server(container) as url:
        yield Reading(url, container, t)
    container.engine.dispose()




def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _signed_previous_exam(r: Reading, patient_id: int) -> None:
    """A chest X-ray of the same patient, read and signed (it shows in the history)."""
    c, now = r.container, datetime.now(UTC)
    order = acquired_order(r, patient_id, "rx-thorax", Priority.OUTPATIENT, "Toux persistante")
    with c.uow() as uow:
        (task,) = [x for x in uow.reading.open(TERRITORY) if x.order_id == order.id]
    assert task.id is not None
    reading.claim(c.uow(), COSTES, task.id, address=None, now=now)
    reports.save_draft(c.uow(), COSTES, task.id, {
        "findings": "Pas de foyer parenchymateux.", "conclusion": "Radiographie thoracique normale.",
        "dose": {"dap_mgy_cm2": 95.0}}, address=None, now=now)
    reports.sign_report(c.uow(), COSTES, task.id, address=None, now=now)


def test_claim_report_and_sign_a_ct(browser: Browser, lecture: Reading) -> None:
    durand = patient(lecture, "1580412096045", "Durand", "Paul", date(1958, 4, 2), Sex.MALE)
    _signed_previous_exam(lecture, durand)
    order = acquired_order(lecture, durand, "tdm-thorax", Priority.URGENT,
                           "Dyspnée aiguë, suspicion d'embolie pulmonaire", images_minutes_ago=25)
    accession = order.accession_number

    page = login(browser, lecture.url, "radiologue.espalion", "/lecture")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Liste de lecture")
    expect(page.locator("nav.compte").get_by_role("link", name="Lecture")).to_be_visible()
    expect(page.get_by_text("Vous n'êtes pas de garde")).to_have_count(0)
    expect(page.locator("h1 small")).to_contain_text("présent à CH d'Espalion")
    row = page.locator(f"tr[data-accession='{accession}']")
    expect(row).to_contain_text("DURAND Paul")
    expect(row).to_contain_text("Scanner thoracique sans injection")
    expect(row).to_contain_text("CH de Decazeville")
    expect(row.locator(".badge-prio")).to_have_text("urgent")
    expect(row.locator(".echeance")).to_contain_text(re.compile(r"reste (3\d|4\d) min"))
    share = float(row.locator(".jauge").get_attribute("aria-valuenow") or "0")
    assert 35 <= share <= 50, share  # 25 of 60 minutes gone
    expect(page.locator("[data-counter=urgent] strong")).to_have_text("1")
    expect(page.locator("[data-counter=total] strong")).to_have_text("1")
    expect(page.locator("[data-counter=mine] strong")).to_have_text("0")
    _shot(page, "lecture-liste.png")

    # the filters apply to the list
    page.get_by_label("Priorité").select_option("outpatient")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"priorite=outpatient"))
    expect(page.locator("tr.tache")).to_have_count(0)
    expect(page.get_by_text("1 examen(s) masqué(s) par les filtres")).to_be_visible()
    page.get_by_label("Modalité").select_option("CT")
    page.get_by_label("Priorité").select_option("")
    page.get_by_label("Échéance").select_option("1h")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.locator("tr.tache")).to_have_count(1)
    page.get_by_role("link", name="Effacer les filtres").click()

    # Dr Marty takes it first, from her own screen: this page's "Prendre" is refused
    task_id = int(page.locator(f"tr[data-accession='{accession}']").get_attribute("data-task") or "0")
    c = lecture.container
    reading.claim(c.uow(), MARTY, task_id, address=None, now=datetime.now(UTC))
    page.locator(f"tr[data-accession='{accession}']").get_by_role("button", name="Prendre").click()
    expect(page.get_by_role("alert")).to_have_text("Un autre radiologue a pris cet examen.")
    expect(page.locator(f"tr[data-accession='{accession}']")).to_have_count(0)
    reading.give_back(c.uow(), MARTY, task_id, address=None, now=datetime.now(UTC))
    page.goto(f"{lecture.url}/lecture")

    # claim, give back, claim again: the reading page
    page.locator(f"tr[data-accession='{accession}']").get_by_role("button", name="Prendre").click()
    expect(page).to_have_url(f"{lecture.url}/lecture/{task_id}")
    page.get_by_role("button", name="Rendre à la liste").click()
    expect(page.get_by_role("status")).to_contain_text("L'examen est rendu à la liste de lecture.")
    expect(page.locator("[data-counter=mine] strong")).to_have_text("0")
    page.locator(f"tr[data-accession='{accession}']").get_by_role("button", name="Prendre").click()
    page.goto(f"{lecture.url}/lecture")
    mine = page.locator(f"tr[data-accession='{accession}']")
    expect(mine).to_contain_text("pris par moi")
    expect(page.locator("[data-counter=mine] strong")).to_have_text("1")
    mine.get_by_role("link", name="Ouvrir").click()
    expect(page).to_have_url(re.compile(r"/lecture/\d+$"))
    reading_url = page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text("Scanner thoracique sans injection")
    expect(page.locator(".nom-patient")).to_have_text("DURAND Paul")
    expect(page.locator(".dossier")).to_contain_text("Homme")
    expect(page.locator(".dossier")).to_contain_text("suspicion d'embolie pulmonaire")
    previous = page.locator(".chronologie li")
    expect(previous).to_have_count(1)
    expect(previous).to_contain_text("Radiographie du thorax")
    expect(previous).to_contain_text("Radiographie thoracique normale.")
    form = page.locator("form.cr")
    expect(form.get_by_label("Indication")).to_have_value("Dyspnée aiguë, suspicion d'embolie pulmonaire")
    expect(form.get_by_label("PDS (mGy·cm²)")).to_have_count(0)  # radiography's dose: not on a CT
    form.get_by_label("Résultats").fill("Pas de défect endoluminal des artères pulmonaires.\nPas d'épanchement.")
    form.get_by_label("Conclusion").fill("Pas d'embolie pulmonaire.")

    # signing without the dose is refused, in French, naming the field; what was typed stays
    form.get_by_role("button", name="Signer").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Le compte rendu n'a pas été signé")
    expect(alert).to_contain_text("CTDIvol (mGy) : obligatoire pour signer le compte rendu")
    expect(alert).to_contain_text("PDL (mGy·cm) : obligatoire pour signer le compte rendu")
    form = page.locator("form.cr")
    expect(form.locator("label.invalide").filter(has_text="CTDIvol")).to_contain_text("obligatoire pour signer")
    expect(form.get_by_label("Conclusion")).to_have_value("Pas d'embolie pulmonaire.")
    _shot(page, "lecture-signature-refusee.png")
    form.get_by_label("CTDIvol (mGy)").fill("abc")
    form.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("alert")).to_contain_text("CTDIvol (mGy) : un nombre est attendu")
    form = page.locator("form.cr")
    form.get_by_label("CTDIvol (mGy)").fill("8,5")
    form.get_by_label("PDL (mGy·cm)").fill("320")
    form.get_by_role("button", name="Signer").click()

    # signed: read-only, then an addendum keeps the original
    expect(page).to_have_url(re.compile(r"/lecture/\d+\?info=signe$"))
    expect(page.get_by_role("heading", name="Compte rendu signé")).to_be_visible()
    expect(page.locator("form.cr")).to_have_count(0)
    report = page.locator(".compte-rendu.signe")
    expect(report).to_contain_text("Signé par Dr Antoine COSTES")
    expect(report.locator(".conclusion")).to_have_text("Pas d'embolie pulmonaire.")
    expect(report).to_contain_text("8,5 mGy")
    expect(report).to_contain_text("320 mGy·cm")
    report.get_by_label("Ajouter un addendum").fill(
        "Nodule pulmonaire de 4 mm du lobe inférieur droit : contrôle à 12 mois.")
    report.get_by_role("button", name="Ajouter l'addendum").click()
    expect(page.get_by_role("status")).to_contain_text("Addendum ajouté")
    expect(page.locator(".addenda li")).to_contain_text("Nodule pulmonaire de 4 mm")
    expect(page.locator(".compte-rendu.signe .conclusion")).to_have_text("Pas d'embolie pulmonaire.")
    _shot(page, "lecture-compte-rendu-signe.png")

    # the exam has left the worklist
    page.get_by_role("link", name="Retour à la liste").click()
    expect(page.locator(f"tr[data-accession='{accession}']")).to_have_count(0)
    expect(page.locator("[data-counter=urgent] strong")).to_have_text("0")
    page.goto(reading_url)
    expect(page.get_by_role("heading", name="Compte rendu signé")).to_be_visible()
    page.close()

    # the requesting site's secretariat finds the signed report, addendum included, on the order
    desk = login(browser, lecture.url, AGENT.username, f"/reservation/commandes/{order.id}")
    delivered = desk.locator("pre.compte-rendu")
    expect(delivered).to_contain_text("Pas d'embolie pulmonaire.")
    expect(delivered).to_contain_text("Nodule pulmonaire de 4 mm")
    expect(desk.get_by_role("heading", name="Compte rendu (complété par addendum)")).to_be_visible()
    desk.close()

    # a radiologist off duty sees why the list is empty
    off = login(browser, lecture.url, "radiologue.fabre", "/lecture")
    expect(off.get_by_role("status")).to_contain_text("Vous n'êtes pas de garde / présent")
    expect(off.locator("tr.tache")).to_have_count(0)
    off.close()


def test_screening_double_reading_goes_to_another_reader(browser: Browser, lecture: Reading) -> None:
    anne = patient(lecture, "2650312089012", "Vigouroux", "Anne", date(1965, 3, 8), Sex.FEMALE)
    order = acquired_order(lecture, anne, "mammo-depistage", Priority.SCREENING, "Dépistage organisé, campagne 2026",
                           requesting_site="decazeville")
    accession = order.accession_number

    # first reading by Dr Marty
    page = login(browser, lecture.url, "radiologue.marty", "/lecture/double-lecture")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Double lecture")
    expect(page.locator("[data-volume=l1]")).to_contain_text("0 / 500")
    expect(page.locator("[data-volume=l2]")).to_contain_text("0 / 1 500")
    row = page.locator(f"tr[data-accession='{accession}']")
    expect(row).to_contain_text("1re lecture")
    expect(row).to_contain_text("VIGOUROUX Anne")
    row.get_by_role("button", name="Prendre").click()
    form = page.locator("form.depistage-lecture")
    form.get_by_label("Sein droit (classe ACR)").select_option("1")
    form.get_by_label("Sein gauche (classe ACR)").select_option("2")
    form.get_by_role("button", name="Enregistrer la lecture").click()  # no density: refused in French
    expect(page.get_by_role("alert")).to_contain_text("Densité mammaire : une densité A, B, C ou D")
    form = page.locator("form.depistage-lecture")
    expect(form.get_by_label("Sein gauche (classe ACR)")).to_have_value("2")
    form.get_by_label("B — densités fibroglandulaires éparses").check()
    form.get_by_role("button", name="Enregistrer la lecture").click()
    expect(page.get_by_role("status")).to_contain_text("Lecture de dépistage enregistrée")
    expect(page.locator(".etat-depistage")).to_contain_text("en attente de seconde lecture")
    expect(page.locator("[data-reading=l1]")).to_contain_text("négative")

    # it does not come back to her as a second reading
    page.goto(f"{lecture.url}/lecture/double-lecture")
    expect(page.locator(f"tr[data-accession='{accession}']")).to_have_count(0)
    expect(page.locator("[data-volume=l1]")).to_contain_text("1 / 500")
    page.close()

    # Dr Lacombe (mammo-L2) sees it as a second reading, without the first reading's detail
    other = login(browser, lecture.url, "radiologue.lacombe", "/lecture/double-lecture")
    row = other.locator(f"tr[data-accession='{accession}']")
    expect(row).to_contain_text("2e lecture")
    expect(row).to_contain_text("VIGOUROUX Anne")
    _shot(other, "lecture-double-lecture.png")
    row.get_by_role("button", name="Prendre").click()
    expect(other.locator(".depistage")).to_contain_text("son détail n'est pas montré")
    expect(other.locator("[data-reading=l1]")).to_have_count(0)
    form = other.locator("form.depistage-lecture")
    form.get_by_label("Sein droit (classe ACR)").select_option("1")
    form.get_by_label("Sein gauche (classe ACR)").select_option("1")
    form.get_by_label("B — densités fibroglandulaires éparses").check()
    form.get_by_role("button", name="Enregistrer la lecture").click()
    expect(other.locator(".etat-depistage")).to_contain_text("négatif aux deux lectures : dossier clos")
    expect(other.locator("[data-reading=l1]")).to_contain_text("négative")
    _shot(other, "lecture-depistage-clos.png")
    other.goto(f"{lecture.url}/lecture/double-lecture")
    expect(other.locator("[data-volume=l2]")).to_contain_text("1 / 1 500")
    other.close()
