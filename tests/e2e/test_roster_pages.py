"""Rosters as people use them: the coordinator builds the month, sees it by person with the
counters, publishes it and finds the territory's on-call rota; a radiologist asks for leave,
the coordinator grants it, and the radiologist downloads their own calendar (iCalendar)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from mutualis.adapters.db.engine import upgrade
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.accounts import Role, User
from mutualis.services import booking
from mutualis.services.accounts import add_user
from mutualis.services.territories import load_territory
from tests.conftest import ROOT, TEST_SECRET
from tests.e2e.conftest import ARTIFACTS, COORDINATOR, PASSWORD, live_server, login

TERRITORY = "aveyron-pimm"
WIDE: dict[str, object] = {"viewport": {"width": 1500, "height": 1000}, "accept_downloads": True}
MARTY = User("radiologue.marty", "Dr Hélène Marty", Role.RADIOLOGIST, TERRITORY, sites=("rodez",),
             rpps="12981010940")


@dataclass
class Site:
    url: str
    container: Container


@pytest.fixture(scope="module")
def equipes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = tmp_path_factory.mktemp("e2e-equipes") / "mutualis.db"
    c = bootstrap(Settings(database_url=f"sqlite:///{db}", secret_key=TEST_SECRET))
    upgrade(c.engine)
    now = datetime.now(UTC)
    load_territory(c.uow(), read_territory_file(ROOT / "territories" / f"{TERRITORY}.toml", c.communes),
                   source=TERRITORY, actor="e2e", address=None, now=now)  # fmt: skip
    for user in (COORDINATOR, MARTY):
        add_user(c.uow(), c.hasher, user, PASSWORD, actor="e2e", address=None, now=now)
    with live_server(c) as url:
        yield Site(url, c)
    c.engine.dispose()




def test_build_publish_read_the_rota_ask_leave_and_export(equipes: Site, browser: Browser) -> None:
    with equipes.container.uow() as uow:
        t = uow.territories.get(TERRITORY)
    assert t is not None
    today = booking.to_local(datetime.now(UTC), t).date()
    start = today + timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    coord = login(browser, equipes.url, COORDINATOR.username, "/equipes", **WIDE)
    expect(coord.get_by_role("heading", name="Planning des équipes")).to_be_visible()
    form = coord.get_by_role("form", name="Construire un planning")
    form.get_by_label("Premier jour").fill(start.isoformat())
    form.get_by_label("Nombre de jours").fill("14")
    form.get_by_label("Temps de calcul (secondes)").fill("10")
    form.get_by_role("button", name="Construire le planning").click()

    expect(coord.locator('[data-status="draft"]')).to_be_visible(timeout=90_000)
    grid = coord.get_by_role("region", name="Planning par personne")
    marty = grid.locator(f'tr[data-rpps="{MARTY.rpps}"]')
    expect(marty).to_be_visible()
    assert grid.locator("td.poste-nuit").count() == 14  # one radiologist on call each night
    coord.screenshot(path=str(_artifact("equipes-projet.png")), full_page=False)
    coord.get_by_role("button", name="Publier ce planning").click()
    expect(coord.get_by_text("Le planning est publié")).to_be_visible()

    coord.goto(f"{equipes.url}/equipes?mois={start:%Y-%m}&vue=gardes")
    nights = coord.locator(".calendrier-mois .poste-nuit")
    expect(nights.first).to_contain_text("Nuit :")
    assert nights.count() >= min(14, (start.replace(day=28) - start).days)

    doctor = login(browser, equipes.url, MARTY.username, f"/equipes?vue=demandes&mois={start:%Y-%m}", **WIDE)
    leave = doctor.get_by_role("form", name="Demander un congé")
    first_leave = start + timedelta(days=20)
    leave.get_by_label("Du").fill(first_leave.isoformat())
    leave.get_by_label("Au").fill((first_leave + timedelta(days=4)).isoformat())
    leave.get_by_label("Motif").fill("Congrès de radiologie")
    leave.get_by_role("button", name="Envoyer la demande").click()
    expect(doctor.get_by_text("La demande de congé est enregistrée.")).to_be_visible()
    expect(doctor.get_by_role("table", name="Congés")).to_contain_text("demandé")

    coord.goto(f"{equipes.url}/equipes?vue=demandes&mois={first_leave:%Y-%m}")
    row = coord.get_by_role("table", name="Congés").locator("tr", has_text="Congrès de radiologie")
    row.get_by_role("button", name="Accorder").click()
    expect(coord.get_by_role("table", name="Congés").locator("tr", has_text="Congrès de radiologie")).to_contain_text(
        "accordé")

    doctor.goto(f"{equipes.url}/equipes/personne/{MARTY.rpps}?mois={start:%Y-%m}")
    expect(doctor.get_by_text("limite légale : 48 h")).to_be_visible()
    with doctor.expect_download() as download:
        doctor.get_by_role("link", name="Exporter (iCalendar)").click()
    ics = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert ics.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in ics
    doctor.screenshot(path=str(_artifact("equipes-personne.png")), full_page=True)
    # a radiologist cannot build rosters, nor read someone else's calendar
    assert doctor.request.get(f"{equipes.url}/equipes/personne/15759511197/planning.ics").status == 403
    coord.close()
    doctor.close()


def _artifact(name: str):  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
