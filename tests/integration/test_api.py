"""The HTTP API: tokens, roles declared on every route, scopes that follow the conventions,
and the audit of who read what. On SQLite and PostgreSQL, with the shipped territories."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.territory import Commune
from mutualis.entrypoints.web.app import create_app
from mutualis.entrypoints.web.deps import RoleGuard
from mutualis.services.accounts import add_user
from mutualis.services.territories import load_territory
from tests.conftest import FIXTURES, ROOT

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)


@pytest.fixture
def client(container: Container, communes: dict[str, Commune]) -> Iterator[TestClient]:
    for name in ("aveyron-pimm", "vienne-fmih"):
        t = read_territory_file(ROOT / "territories" / f"{name}.toml", communes)
        load_territory(container.uow(), t, source=name, actor="setup", address=None, now=NOW)
    t = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)
    aveyron_radiologist = next(p.rpps for p in t.practitioners if p.profession.value == "radiologist"
                               and p.establishment == t.site("rodez").establishment)
    for user in (
        User("admin", "Admin", Role.ADMIN),
        User("agent.espalion", "Agent Espalion", Role.BOOKING_AGENT, "aveyron-pimm", sites=("espalion",)),
        User("agent.montmo", "Agent Montmorillon", Role.BOOKING_AGENT, "vienne-fmih", sites=("montmorillon",)),
        User("rad.rodez", "Radiologue", Role.RADIOLOGIST, "aveyron-pimm", sites=("rodez",), rpps=aveyron_radiologist),
    ):
        add_user(container.uow(), container.hasher, user, PASSWORD, actor="setup", address=None, now=NOW)
    with TestClient(create_app(container)) as c:
        yield c


def _token(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_healthz_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/token", "/api/sites", "/api/equipment", "/api/practitioners", "/api/territories"} <= set(paths)


def test_sites_without_token_is_401(client: TestClient) -> None:
    r = client.get("/api/sites")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/sites", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_wrong_password_is_401_and_audited(client: TestClient, container: Container) -> None:
    r = client.post("/api/token", data={"username": "agent.espalion", "password": "wrong password!"})
    assert r.status_code == 401
    with container.uow() as uow:
        (event,) = uow.audit.query(actor="agent.espalion")
    assert (event.action.value, event.outcome, event.address) == ("login", "failed", "testclient")


def test_booking_agent_at_espalion_sees_the_pimm_and_nothing_else(client: TestClient) -> None:
    headers = _token(client, "agent.espalion")
    sites = client.get("/api/sites", headers=headers).json()
    assert sorted(s["id"] for s in sites) == ["decazeville", "espalion", "rodez", "saint-geniez"]
    assert {s["territory"] for s in sites} == {"aveyron-pimm"}
    equipment = client.get("/api/equipment", headers=headers).json()
    assert sorted(e["modality"] for e in equipment) == ["CT", "DX", "DX", "MG", "MR", "US", "US"]
    assert client.get("/api/equipment", headers=headers, params={"modality": "MR"}).json()[0]["site"] == "rodez"
    assert client.get("/api/territories/vienne-fmih", headers=headers).status_code == 404
    assert [t["id"] for t in client.get("/api/territories", headers=headers).json()] == ["aveyron-pimm"]
    practitioners = client.get("/api/practitioners", headers=headers).json()
    assert practitioners and {p["territory"] for p in practitioners} == {"aveyron-pimm"}


def test_fmih_agent_sees_only_the_federation(client: TestClient) -> None:
    sites = client.get("/api/sites", headers=_token(client, "agent.montmo")).json()
    assert sorted(s["id"] for s in sites) == ["chu-poitiers", "montmorillon"]


def test_radiologist_sees_where_privileged(client: TestClient, communes: dict[str, Commune]) -> None:
    headers = _token(client, "rad.rodez")
    me = client.get("/api/me", headers=headers).json()
    t = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)
    granted = {s for c in t.conventions for p in c.privileges if p.rpps == me["rpps"] for s in p.sites} | {"rodez"}
    assert {s["id"] for s in client.get("/api/sites", headers=headers).json()} == granted


def test_admin_only_routes(client: TestClient) -> None:
    agent = _token(client, "agent.espalion")
    assert client.get("/api/audit", headers=agent).status_code == 403
    body = {"username": "new.user", "full_name": "N", "password": PASSWORD, "role": "admin"}
    assert client.post("/api/users", headers=agent, json=body).status_code == 403
    admin = _token(client, "admin")
    assert client.post("/api/users", headers=admin, json=body).status_code == 201
    assert client.post("/api/users", headers=admin, json=body).status_code == 409
    bad = {**body, "username": "x y", "password": "short", "role": "booking_agent"}
    r = client.post("/api/users", headers=admin, json=bad)
    assert r.status_code == 422
    assert {tuple(d["loc"]) for d in r.json()["detail"]} == {("username",), ("password",), ("scope",)}


def test_reads_are_audited_with_who_and_where(client: TestClient) -> None:
    client.get("/api/sites", headers=_token(client, "agent.espalion"))
    events = client.get("/api/audit", headers=_token(client, "admin"), params={"actor": "agent.espalion"}).json()
    read = next(e for e in events if e["action"] == "read")
    assert (read["resource"], read["address"], read["detail"]["territories"]) == ("sites", "testclient",
                                                                                   ["aveyron-pimm"])


def test_load_a_territory_over_http(client: TestClient, container: Container) -> None:
    admin = _token(client, "admin")
    text = (FIXTURES / "mini.toml").read_text(encoding="utf-8")
    r = client.post("/api/territories", headers={**admin, "Content-Type": "application/toml"}, content=text)
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True
    broken = text.replace('finess = "120000013"', 'finess = "120000014"', 1).replace('site = "espalion"',
                                                                                    'site = "millau"', 1)
    r = client.post("/api/territories", headers={**admin, "Content-Type": "application/toml"}, content=broken)
    assert r.status_code == 422
    locations = {".".join(d["loc"]) for d in r.json()["detail"]}
    assert {"establishments[0].finess", "equipment[1].site"} <= locations
    with container.uow() as uow:
        stored = uow.territories.get("mini")
    assert stored is not None and stored.establishments[0].finess == "120000013"  # unchanged


def test_every_api_route_declares_its_roles(client: TestClient) -> None:
    app = client.app
    for route in app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or not route.path.startswith("/api") or route.path == "/api/token":
            continue
        guards = [d.call for d in route.dependant.dependencies if isinstance(d.call, RoleGuard)]
        assert guards, f"{route.path} declares no role"
        assert all(g.roles for g in guards)
