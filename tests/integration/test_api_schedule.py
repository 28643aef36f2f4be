"""The week optimiser's API over HTTP (TestClient), on SQLite and PostgreSQL: a coordinator runs
it, reads the proposal, applies it once; bad input and other roles are refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.territory import Territory
from mutualis.engines.presence import default_presence
from mutualis.entrypoints.web.app import create_app
from mutualis.services.accounts import add_user
from mutualis.services.booking import set_presence, to_local
from mutualis.services.territories import load_territory
from tests.integration.test_api_booking import PASSWORD, _order, _patient

COORD = User("coord", "Coord", Role.COORDINATOR, "mini", sites=("rodez",))


@pytest.fixture
def api(container: Container, mini: Territory) -> Iterator[TestClient]:
    now = datetime.now(UTC)
    load_territory(container.uow(), mini, source="t", actor="t", address=None, now=now)
    set_presence(container.uow(), COORD, "mini", now.date(), now.date() + timedelta(days=30),
                 default_presence(mini, now.date(), 31), address=None, now=now)  # fmt: skip
    for user in (User("agent", "Agent", Role.BOOKING_AGENT, "mini", sites=("espalion",)), COORD):
        add_user(container.uow(), container.hasher, user, PASSWORD, actor="t", address=None, now=now)
    with TestClient(create_app(container)) as client:
        yield client


def _login(api: TestClient, username: str) -> None:
    token = api.post("/api/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"


def test_coordinator_runs_reads_and_applies_a_proposal(api: TestClient, mini: Territory) -> None:
    _login(api, "agent")
    orders = [_order(api, _patient(api, n)) for n in (1, 2)]
    assert all(o["status"] == 201 for o in orders)
    today = to_local(datetime.now(UTC), mini).date().isoformat()
    body = {"start": today, "days": 7, "time_limit_s": 5}
    assert api.post("/api/territories/mini/schedule/proposals", json=body).status_code == 403  # an agent

    _login(api, "coord")
    bad = api.post("/api/territories/mini/schedule/proposals", json={**body, "days": 0})
    assert bad.status_code == 422 and "days" in bad.json()["detail"][0]["loc"]
    r = api.post("/api/territories/mini/schedule/proposals", json=body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "proposed" and p["changes"] == 2 and p["objective"] <= p["reference_objective"]
    detail = api.get(f"/api/schedule/proposals/{p['id']}").json()
    ids = {o["body"]["id"] for o in orders}  # type: ignore[index]
    assert {x["order_id"] for x in detail["items"]} == ids
    assert all(x["before_equipment"] is None and x["after_equipment"] == "rodez-irm" for x in detail["items"])
    assert [x["id"] for x in api.get("/api/territories/mini/schedule/proposals").json()] == [p["id"]]

    applied = api.post(f"/api/schedule/proposals/{p['id']}/apply")
    assert applied.status_code == 200 and applied.json()["status"] == "applied"
    assert api.post(f"/api/schedule/proposals/{p['id']}/apply").status_code == 409
    assert api.post(f"/api/schedule/proposals/{p['id']}/reject").status_code == 409
    for order_id in ids:
        got = api.get(f"/api/orders/{order_id}").json()
        assert got["status"] == "scheduled", got
    assert api.get("/api/schedule/proposals/999").status_code == 404
    week = {"first": today, "last": (to_local(datetime.now(UTC), mini).date() + timedelta(days=6)).isoformat()}
    announced = api.post("/api/territories/mini/schedule/announce", json=week)
    assert announced.status_code == 200 and announced.json()["announced"] == 2  # the two placed by the proposal
    assert api.post("/api/territories/mini/schedule/announce", json=week).json()["announced"] == 0
