"""A booking agent at Espalion logs in and looks at the territory page, as a person would."""

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ARTIFACTS, PASSWORD


def _login(browser: Browser, server: str, username: str, path: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page.goto(f"{server}{path}")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    return page


def test_territory_page_shows_sites_on_a_map_with_their_equipment(browser: Browser, server: str) -> None:
    page = _login(browser, server, "secretariat.espalion", "/territoires/aveyron-pimm")
    expect(page).to_have_url(f"{server}/territoires/aveyron-pimm")
    expect(page.get_by_role("heading", level=1)).to_contain_text("PIMM de l'Aveyron")
    expect(page.get_by_text("Secrétariat d'Espalion — secrétariat / prise de rendez-vous")).to_be_visible()

    the_map = page.locator("svg#carte-sites")
    expect(the_map).to_be_visible()
    expect(the_map.locator("g.site")).to_have_count(4)
    labels = the_map.locator("g.site text").all_text_contents()
    assert any("Rodez" in x or "Jacques Puel" in x for x in labels), labels
    assert the_map.locator("g.communes circle").count() > 250  # the communes of Aveyron, drawn offline
    expect(the_map.locator("text.duree").first).to_contain_text("min")

    rodez = page.locator("#site-rodez")
    expect(rodez.locator(".equipement[data-modality='MR']")).to_have_count(1)
    expect(page.locator("#site-decazeville .equipement[data-modality='MG']")).to_have_count(1)
    expect(page.locator(".equipement[data-modality='US']")).to_have_count(2)
    expect(page.locator(".equipement[data-modality='DX']")).to_have_count(2)
    expect(page.locator(".equipement[data-modality='CT']")).to_have_count(1)
    expect(rodez.locator(".semaine .ouvert").first).to_be_visible()  # opening hours drawn as a week

    convention = page.locator("article.convention")
    expect(convention).to_contain_text("PIMM")
    expect(convention).to_contain_text("en vigueur")
    expect(convention.locator("ul.membres li")).to_have_count(4)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "territoire-aveyron.png"), full_page=True)
    page.close()


def test_another_territory_is_out_of_reach(browser: Browser, server: str) -> None:
    page = _login(browser, server, "agent.montmo", "/territoires/aveyron-pimm")
    expect(page.get_by_role("heading", name="Erreur 404")).to_be_visible()
    expect(page.get_by_text("ne fait pas partie de votre périmètre")).to_be_visible()
    page.goto(f"{server}/")
    expect(page).to_have_url(f"{server}/territoires/vienne-fmih")
    expect(page.locator("svg#carte-sites g.site")).to_have_count(2)
    page.close()


def test_wrong_password_stays_on_the_login_page(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(f"{server}/connexion")
    page.get_by_label("Identifiant").fill("secretariat.espalion")
    page.get_by_label("Mot de passe").fill("pas le bon")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("Identifiant ou mot de passe incorrect")
    page.close()
