"""A booking agent at Espalion books an MRI for a new patient, as a person would: registers the
patient, orders the exam, chooses a slot on the timeline, books it, finds it in the machine's
agenda; then a second and third order show the slot gone, a stale page says it was just taken,
and an appointment is cancelled."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from mutualis.domain.identifiers import nir_key
from tests.e2e.conftest import ARTIFACTS, login

FIRST13 = "2" + "61" + "03" + "12" + "096" + "123"  # a woman born in March 1961 in Espalion (12096)
NIR = FIRST13 + nir_key(FIRST13)
EXAM = "irm-genou"  # MR, 30 min: only the Rodez MRI can do it




def _shot(page: Page, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def _order(page: Page, patient_url: str) -> tuple[str, str]:
    """Order the MRI for the selected patient; the (equipment, start) of the first proposal."""
    page.goto(patient_url)
    form = page.locator("form[action='/reservation/commandes']")
    form.locator("select[name=exam]").select_option(EXAM)
    form.locator("select[name=requester]").select_option(index=1)
    form.get_by_label("Renseignements cliniques").fill("Gonalgie droite après chute, suspicion de lésion méniscale")
    form.get_by_role("button", name="Chercher un créneau").click()
    expect(page).to_have_url(re.compile(r"/reservation/commandes/\d+$"))
    first = page.locator("li.proposition").first
    return str(first.get_attribute("data-equipment")), str(first.get_attribute("data-start"))


def test_book_an_mri_then_see_it_in_the_agenda(browser: Browser, server: str) -> None:
    page = login(browser, server, "secretariat.espalion", "/reservation?territoire=aveyron-pimm")
    page.goto(f"{server}/reservation?territoire=aveyron-pimm")
    expect(page.get_by_role("heading", level=1)).to_have_text("Prendre un rendez-vous")

    # step 1: nobody found, then a patient created (a wrong NIR key first, refused in French)
    page.get_by_label("Nom, prénom ou NIR").fill("Martin")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("Aucun patient ne correspond")).to_be_visible()
    form = page.locator("form[action='/reservation/patients']")
    wrong_key = FIRST13 + f"{(int(NIR[13:]) % 97) + 1:02d}"
    form.locator("input[name=nir]").fill(wrong_key)
    form.locator("input[name=last_name]").fill("Martin")
    form.locator("input[name=first_name]").fill("Jeanne")
    form.locator("input[name=birth_date]").fill("1961-03-14")
    form.locator("select[name=sex]").select_option("F")
    form.locator("input[name=insee]").fill("12096")
    form.locator("input[name=phone]").fill("05 65 12 34 56")
    assert page.locator("datalist#communes option[value='12096']").count() == 1
    form.get_by_role("button", name="Créer le patient").click()
    expect(page.get_by_role("alert")).to_contain_text("clé du NIR invalide")
    _shot(page, "reservation-patient-erreur.png")
    form = page.locator("form[action='/reservation/patients']")
    expect(form.locator("input[name=last_name]")).to_have_value("Martin")  # what was typed is kept
    form.locator("input[name=nir]").fill(NIR)
    form.get_by_role("button", name="Créer le patient").click()

    # step 2: the order
    expect(page).to_have_url(re.compile(r"/reservation\?territoire=aveyron-pimm&patient=\d+$"))
    patient_url = page.url
    expect(page.locator(".nom-patient")).to_have_text("MARTIN Jeanne")
    groups = page.locator("select[name=exam] optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert "IRM" in groups and "Scanner" in groups, groups
    expect(page.locator(f"select[name=exam] option[value='{EXAM}']")).to_have_text("IRM du genou — 30 min")
    _shot(page, "reservation-demande.png")
    equipment, start = _order(page, patient_url)

    # step 3: the proposals, on a timeline, all on the Rodez MRI
    cards = page.locator("li.proposition")
    assert cards.count() >= 3
    assert {c.get_attribute("data-equipment") for c in cards.all()} == {"rodez-irm"}
    rows = page.locator(".frise .frise-ligne[data-equipment]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("IRM 1,5 T")
    expect(rows.first).to_contain_text("Hôpital Jacques Puel (Rodez)")
    assert rows.first.locator("a.repere").count() == cards.count()
    expect(cards.first).to_contain_text("attente : ")
    expect(cards.first).to_contain_text("trajet : ≈ ")
    expect(cards.first.locator(".score")).to_have_text(re.compile(r"^attente [\d,]+ \+ trajet [\d,]+ \+ retard 0 = "))
    expect(cards.first.locator(".quand")).to_contain_text(re.compile(r"^(Lundi|Mardi|Mercredi|Jeudi|Vendredi|Samedi)"))
    _shot(page, "reservation-propositions.png")
    order_url = page.url

    cards.first.get_by_role("button", name="Réserver").click()
    expect(page.get_by_role("heading", name="Rendez-vous confirmé")).to_be_visible()
    confirmed = page.locator("section.rendez-vous")
    expect(confirmed).to_contain_text("IRM 1,5 T — Hôpital Jacques Puel")
    expect(confirmed).to_contain_text(re.compile(r"MUT\d{10}"))
    expect(confirmed.locator(".preparation")).to_contain_text("Retirer tout objet métallique")
    hour = start[11:16]
    expect(confirmed.locator(".quand")).to_contain_text(hour)
    _shot(page, "reservation-confirmee.png")

    # the agenda of the machine on that day, then its week
    confirmed.get_by_role("link", name="Voir l'agenda de l'équipement ce jour-là").click()
    expect(page).to_have_url(re.compile(rf"/agenda/aveyron-pimm/rodez-irm\?jour={start[:10]}&vue=jour$"))
    block = page.locator(".agenda-colonne .rdv").filter(has_text="MARTIN Jeanne")
    expect(block).to_contain_text("IRM du genou")
    expect(block).to_contain_text(re.compile(r"n° MUT\d{10}"))
    _shot(page, "agenda-jour.png")
    page.get_by_role("link", name="Semaine", exact=True).click()
    expect(page.locator(".agenda-entete")).to_have_count(7)
    expect(page.locator(".agenda-entete").first).to_contain_text("lun.")
    day_column = page.locator(f".agenda-colonne[data-day='{start[:10]}']")
    expect(day_column.locator(".rdv")).to_contain_text("MARTIN Jeanne")
    expect(day_column.locator(".rdv")).to_contain_text(f"{hour}–")
    expect(day_column.locator(".ouverture").first).to_be_attached()
    _shot(page, "agenda-semaine.png")
    page.get_by_role("link", name="Semaine suivante »").click()
    expect(page.locator(".agenda-colonne .rdv")).to_have_count(0)
    page.get_by_role("link", name="← Retour au territoire").click()
    expect(page).to_have_url(f"{server}/territoires/aveyron-pimm")
    expect(page.get_by_role("link", name="Prendre un rendez-vous")).to_be_visible()
    mri = page.locator("#site-rodez .equipement[data-modality=MR]")
    expect(mri.get_by_role("link", name="Agenda")).to_have_attribute("href", "/agenda/aveyron-pimm/rodez-irm")
    _shot(page, "territoire-liens-agenda.png", full_page=False)
    page.locator("#site-rodez").screenshot(path=str(ARTIFACTS / "territoire-site-rodez.png"))

    # the patient is found again by name, and a second registration of her NIR is refused
    page.goto(f"{server}/reservation?territoire=aveyron-pimm")
    page.get_by_label("Nom, prénom ou NIR").fill("mart jea")
    page.get_by_role("button", name="Rechercher").click()
    found = page.locator("table.resultats tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("MARTIN Jeanne")
    expect(found).to_contain_text("Espalion")
    _shot(page, "reservation-recherche.png")
    form = page.locator("form[action='/reservation/patients']")
    for name, value in (("nir", NIR), ("last_name", "Martin"), ("first_name", "Jeanne"), ("birth_date", "1961-03-14"),
                        ("insee", "12096")):
        form.locator(f"[name={name}]").fill(value)
    form.locator("select[name=sex]").select_option("F")
    form.get_by_role("button", name="Créer le patient").click()
    expect(page.get_by_role("status")).to_contain_text("Un patient avec ce NIR existe déjà")
    page.locator("table.resultats").get_by_role("link", name="Choisir").click()
    expect(page).to_have_url(patient_url)
    expect(page.locator(".historique li")).to_have_count(1)  # the first order, scheduled
    expect(page.locator(".historique li")).to_contain_text("programmé")

    # a second order of the same length: that slot is gone
    second = _order(page, patient_url)
    assert second != (equipment, start), second
    stale = page  # keeps the second order's proposals on screen

    # a third order books the second one's best slot from another tab; the stale page is told
    other = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    other.context.add_cookies(page.context.cookies())
    third = _order(other, patient_url)
    assert third == second
    other.locator("li.proposition").first.get_by_role("button", name="Réserver").click()
    expect(other.get_by_role("heading", name="Rendez-vous confirmé")).to_be_visible()
    other.close()
    stale.locator("li.proposition").first.get_by_role("button", name="Réserver").click()
    expect(stale.get_by_role("alert")).to_contain_text("Ce créneau vient d'être pris")
    fresh = stale.locator("li.proposition").first
    assert (fresh.get_attribute("data-equipment"), fresh.get_attribute("data-start")) != second
    _shot(stale, "reservation-creneau-pris.png")

    # book the fresh one, then cancel it
    fresh.get_by_role("button", name="Réserver").click()
    expect(stale.get_by_role("heading", name="Rendez-vous confirmé")).to_be_visible()
    stale.once("dialog", lambda d: d.accept())
    stale.get_by_role("button", name="Annuler le rendez-vous").click()
    expect(stale.get_by_role("status")).to_contain_text("Le rendez-vous a été annulé")
    expect(stale.locator("h1 .statut")).to_have_text("à programmer")
    assert stale.locator("li.proposition").count() >= 3

    # the first order still shows its appointment; the agenda shows the third order's too
    stale.goto(order_url)
    expect(stale.get_by_role("heading", name="Rendez-vous programmé")).to_be_visible()
    stale.goto(f"{server}/agenda/aveyron-pimm/rodez-irm?jour={second[1][:10]}&vue=semaine")
    third_day = stale.locator(f".agenda-colonne[data-day='{second[1][:10]}']")
    expect(third_day.locator(".rdv").filter(has_text=f"{second[1][11:16]}–")).to_contain_text("MARTIN Jeanne")
    _shot(stale, "agenda-semaine-2-rdv.png")
    stale.close()


def test_an_agenda_out_of_scope_is_an_error_page(browser: Browser, server: str) -> None:
    page = login(browser, server, "agent.montmo", "/agenda/aveyron-pimm/rodez-irm")
    expect(page.get_by_role("heading", name="Erreur 404")).to_be_visible()
    page.goto(f"{server}/reservation?territoire=aveyron-pimm")
    expect(page.get_by_role("heading", name="Erreur 404")).to_be_visible()
    page.close()
