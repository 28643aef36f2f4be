"""The rosters API over HTTP (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.territory import Commune
from mutualis.entrypoints.web.app import create_app
from mutualis.services.accounts import add_user
from mutualis.services.territories import load_territory
from tests.conftest import ROOT

PASSWORD = "correct horse battery"
MARTY = "12981010940"


@pytest.fixture
def api(container: Container, communes: dict[str, Commune]) -> Iterator[TestClient]:
    now = datetime.now(UTC)
    load_territory(container.uow(), read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes),
                   source="t", actor="t", address=None, now=now)  # fmt: skip
    for user in (User("coord", "Coord", Role.COORDINATOR, "aveyron-pimm", sites=("rodez",)),
                 User("marty", "Dr Marty", Role.RADIOLOGIST, "aveyron-pimm", sites=("rodez",), rpps=MARTY)):
        add_user(container.uow(), container.hasher, user, PASSWORD, actor="t", address=None, now=now)
    with TestClient(create_app(container)) as client:
        yield client


def _login(api: TestClient, username: str) -> None:
    token = api.post("/api/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"


def test_solve_publish_read_and_export(api: TestClient) -> None:
    body = {"start": "2026-12-07", "days": 7, "time_limit_s": 8}
    _login(api, "marty")
    assert api.post("/api/territories/aveyron-pimm/rosters", json=body).status_code == 403
    _login(api, "coord")
    bad = api.post("/api/territories/aveyron-pimm/rosters", json={**body, "days": 0})
    assert bad.status_code == 422 and "days" in bad.json()["detail"][0]["loc"]
    r = api.post("/api/territories/aveyron-pimm/rosters", json=body)
    assert r.status_code == 201, r.text
    roster = r.json()
    assert roster["status"] == "draft" and sum(e["shift"] == "GN" for e in roster["entries"]) == 7
    assert api.post(f"/api/rosters/{roster['id']}/publish").json()["presence_rows"] > 0
    assert api.post(f"/api/rosters/{roster['id']}/publish").status_code == 409

    _login(api, "marty")
    seen = api.get("/api/territories/aveyron-pimm/rosters", params={"first": "2026-12-07", "days": 7}).json()
    assert seen["id"] == roster["id"] and seen["entries"] == roster["entries"]
    ics = api.get(f"/api/territories/aveyron-pimm/rosters/people/{MARTY}.ics", params={"first": "2026-12-07"})
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert ics.text.count("BEGIN:VEVENT") == sum(e["rpps"] == MARTY for e in roster["entries"])
    other = api.get("/api/territories/aveyron-pimm/rosters/people/15759511197.ics", params={"first": "2026-12-07"})
    assert other.status_code == 403
    asked = api.post("/api/territories/aveyron-pimm/leave", json={"rpps": MARTY, "first": "2026-12-21",
                                                                   "last": "2026-12-24", "reason": "congés"})
    assert asked.status_code == 201
    assert api.post(f"/api/leave/{asked.json()['id']}/decision", json={"approve": True}).status_code == 403
    _login(api, "coord")
    assert api.post(f"/api/leave/{asked.json()['id']}/decision", json={"approve": True}).json() == {
        "status": "approved"}
