"""The coordinator plans the week as a person would: a week of demand was placed first-come
first-served by a batch (not yet announced to the patients); the coordinator runs the
optimiser from the planning page, reads the proposal (figures before and after, the site ×
day calendar of moves, each change with its reason, in French), applies it, and the
appointments are where the proposal put them."""

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
from mutualis.domain.territory import Territory
from mutualis.engines.demand import generate_demand
from mutualis.engines.presence import default_presence
from mutualis.services import booking
from mutualis.services.accounts import add_user
from mutualis.services.demand import import_demand, serve_first_come
from mutualis.services.territories import load_territory
from tests.conftest import ROOT, TEST_SECRET
from tests.e2e.conftest import ARTIFACTS, COORDINATOR, PASSWORD, live_server, login

TERRITORY = "aveyron-pimm"


@dataclass
class Planning:
    url: str
    container: Container
    territory: Territory


@pytest.fixture(scope="module")
def planning(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planning]:
    db = tmp_path_factory.mktemp("e2e-planning") / "mutualis.db"
    c = bootstrap(Settings(database_url=f"sqlite:///{db}", secret_key=TEST_SECRET))
    upgrade(c.engine)
    now = datetime.now(UTC)
    t = read_territory_file(ROOT / "territories" / f"{TERRITORY}.toml", c.communes)
    load_territory(c.uow(), t, source=TERRITORY, actor="e2e", address=None, now=now)
    today = booking.to_local(now, t).date()
    booking.set_presence(c.uow(), COORDINATOR, t.id, today, today + timedelta(days=29),
                         default_presence(t, today, 30), address=None, now=now)  # fmt: skip
    generated = generate_demand(t, c.communes, today, 5, 3)
    outcomes = serve_first_come(c.uow(), t, generated, c.communes, today, 5)
    import_demand(c.uow(), t, generated, outcomes=outcomes, actor="e2e", now=now)
    add_user(c.uow(), c.hasher, COORDINATOR, PASSWORD, actor="e2e", address=None, now=now)
    with live_server(c) as url:
        yield Planning(url, c, t)
    c.engine.dispose()




def test_the_coordinator_optimises_the_week_and_applies_the_proposal(planning: Planning, browser: Browser) -> None:
    page = login(browser, planning.url, COORDINATOR.username, "/planification")
    expect(page.get_by_role("heading", name="Planification de la semaine")).to_be_visible()
    expect(page.get_by_text("Aucune proposition pour l'instant.")).to_be_visible()
    page.get_by_label("Temps de calcul (secondes)").fill("8")
    page.get_by_role("button", name="Optimiser la période").click()

    expect(page.get_by_role("heading", name="Proposition n° 1")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-status]")).to_have_text("à décider")
    past_due = page.locator('[data-figure="past_due"]')
    expect(past_due).to_contain_text("Patients après leur échéance")
    expect(past_due).to_have_class("gain carte mieux")  # fewer patients past their due date than first come
    calendar = page.get_by_role("table", name="Arrivées et départs par site et par jour")
    expect(calendar.get_by_role("rowheader", name="Hôpital Jacques Puel (Rodez)")).to_be_visible()
    expect(calendar.locator("td.gagne, td.perd, td.echange").first).to_be_visible()
    first_day = page.locator("details.jour-changements").first
    expect(first_day.locator("tbody tr").first).to_be_visible()
    reasons = page.locator("table.changements td:last-child").all_inner_texts()
    assert any(("avancé" in r or "au lieu de" in r or "premier créneau" in r) for r in reasons)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planification-proposition.png"), full_page=False)

    _, p, changes = _proposal(planning)
    moved = [x for x in changes if x["after_equipment"] is not None]
    assert moved and p.after["past_due"] < p.before["past_due"]
    page.get_by_role("button", name="Appliquer la proposition").click()
    expect(page.get_by_text("La proposition est appliquée")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_text("appliquée")
    expect(page.get_by_role("button", name="Appliquer la proposition")).to_have_count(0)
    with planning.container.uow() as uow:
        for x in moved[:20]:
            a = uow.appointments.active_for_order(x["order_id"])
            assert a is not None and (a.equipment, a.start) == (x["after_equipment"], x["after_start"])
            assert a.announced_at is None  # still to be announced to the patient

    page.goto(f"{planning.url}/planification")
    expect(page.locator(".propositions-plan li").first).to_contain_text("appliquée")
    page.close()


def _proposal(planning: Planning):  # type: ignore[no-untyped-def]
    from mutualis.services import schedule

    return schedule.proposal(planning.container.uow(), COORDINATOR, 1, address=None, now=datetime.now(UTC))
