"""A real server on loopback and headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from mutualis.adapters.db.engine import upgrade
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.accounts import Role, User
from mutualis.engines.presence import default_presence
from mutualis.entrypoints.web.app import create_app
from mutualis.services import booking
from mutualis.services.accounts import add_user
from mutualis.services.territories import load_territory
from tests.conftest import ROOT, TEST_SECRET

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "mot de passe de test"
ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


COORDINATOR = User("coordination.rodez", "Coordination du PIMM", Role.COORDINATOR, "aveyron-pimm", sites=("rodez",))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("e2e") / "mutualis.db"
    container = bootstrap(Settings(database_url=f"sqlite:///{db}", secret_key=TEST_SECRET))
    upgrade(container.engine)
    now = datetime.now(UTC)
    for name in ("aveyron-pimm", "vienne-fmih"):
        t = read_territory_file(ROOT / "territories" / f"{name}.toml", container.communes)
        load_territory(container.uow(), t, source=name, actor="e2e", address=None, now=now)
        if name == "aveyron-pimm":  # the default presence table, so that slots exist
            first = booking.to_local(now, t).date()
            booking.set_presence(container.uow(), COORDINATOR, t.id, first, first + timedelta(days=69),
                                 default_presence(t, first, 70), address=None, now=now)
    for user in (User("secretariat.espalion", "Secrétariat d'Espalion", Role.BOOKING_AGENT, "aveyron-pimm",
                      sites=("espalion",)),
                 User("agent.montmo", "Agent de Montmorillon", Role.BOOKING_AGENT, "vienne-fmih",
                      sites=("montmorillon",))):
        add_user(container.uow(), container.hasher, user, PASSWORD, actor="e2e", address=None, now=now)
    with live_server(container) as url:
        yield url
    container.engine.dispose()


@contextmanager
def live_server(container: Container) -> Iterator[str]:
    """The application on a free loopback port, served by uvicorn in a thread, until the block ends."""
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def login(browser: Browser, url: str, username: str, path: str, **context: object) -> Page:
    """A new page, signed in as ``username`` on the login form, landing on ``path``."""
    options: dict[str, object] = {"viewport": {"width": 1400, "height": 1000}, "locale": "fr-FR", **context}
    page = browser.new_page(**options)  # type: ignore[arg-type]
    page.goto(f"{url}{path}")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    return page
