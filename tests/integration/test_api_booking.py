"""The booking API end to end over HTTP (TestClient), on SQLite and PostgreSQL."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.identifiers import nir_key
from mutualis.domain.territory import Territory
from mutualis.engines.presence import default_presence
from mutualis.entrypoints.web.app import create_app
from mutualis.services.accounts import add_user
from mutualis.services.booking import set_presence
from mutualis.services.territories import load_territory

PASSWORD = "correct horse battery"


@pytest.fixture
def api(container: Container, mini: Territory) -> Iterator[TestClient]:
    now = datetime.now(UTC)
    load_territory(container.uow(), mini, source="t", actor="t", address=None, now=now)
    coordinator = User("coord", "Coord", Role.COORDINATOR, "mini", sites=("rodez",))
    set_presence(container.uow(), coordinator, "mini", now.date(), now.date() + timedelta(days=90),
                 default_presence(mini, now.date(), 91), address=None, now=now)
    for user in (User("agent", "Agent", Role.BOOKING_AGENT, "mini", sites=("espalion",)),
                 User("clinic", "Clinique", Role.BOOKING_AGENT, "mini", sites=("clinique",)),
                 User("rad", "Rad", Role.RADIOLOGIST, "mini", sites=("rodez",), rpps="10000000017")):
        add_user(container.uow(), container.hasher, user, PASSWORD, actor="t", address=None, now=now)
    with TestClient(create_app(container)) as client:
        token = client.post("/api/token", data={"username": "agent", "password": PASSWORD}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _nir(n: int) -> str:
    first = f"2610312096{n:03d}"
    return first + nir_key(first)


def _patient(api: TestClient, n: int = 1) -> int:
    r = api.post("/api/patients", json={"territory": "mini", "nir": _nir(n), "last_name": "Vidal",
                                        "first_name": "Anne", "birth_date": "1961-03-14", "sex": "F",
                                        "insee": "12096", "phone": "06 11 22 33 44"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _order(api: TestClient, patient: int, **kw: object) -> dict[str, object]:
    today = date.today()
    body = {"territory": "mini", "patient_id": patient, "exam": "IRM-GENOU", "requester": "10000000017",
            "requesting_site": "espalion", "priority": "outpatient", "not_before": today.isoformat(),
            "due_by": (today + timedelta(days=14)).isoformat(), "clinical_info": "Gonalgie", **kw}
    return {"status": (r := api.post("/api/orders", json=body)).status_code, "body": r.json()}


def test_order_slots_book_and_calendar(api: TestClient) -> None:
    created = _order(api, _patient(api))
    assert created["status"] == 201
    order = created["body"]
    assert isinstance(order, dict)
    slots = api.get(f"/api/orders/{order['id']}/slots", params={"count": 5}).json()
    assert len(slots) == 5 and {s["equipment"] for s in slots} == {"rodez-irm"}
    assert slots[0]["site_name"] == "Hôpital de Rodez" and slots[0]["travel_minutes"] > 20
    assert set(slots[0]["breakdown"]) == {"wait", "travel", "late"}
    booked = api.post("/api/appointments", json={"order_id": order["id"], "equipment": "rodez-irm",
                                                  "start": slots[0]["start"]})
    assert booked.status_code == 201, booked.text
    assert api.get(f"/api/orders/{order['id']}").json()["status"] == "scheduled"
    other = _order(api, _patient(api, 2))["body"]
    assert isinstance(other, dict)
    clash = api.post("/api/appointments", json={"order_id": other["id"], "equipment": "rodez-irm",
                                                "start": slots[0]["start"]})
    assert clash.status_code == 409 and "already booked" in clash.text
    day = datetime.fromisoformat(slots[0]["start"]).date()
    calendar = api.get("/api/appointments", params={"territory": "mini", "equipment": "rodez-irm",
                                                    "from": day.isoformat(), "days": 1}).json()
    assert [c["order_id"] for c in calendar] == [order["id"]] and calendar[0]["patient_name"] == "VIDAL Anne"
    moved = api.post(f"/api/orders/{order['id']}/move", json={"equipment": "rodez-irm", "start": slots[1]["start"]})
    assert moved.status_code == 200, moved.text
    assert api.post(f"/api/orders/{order['id']}/arrival").json()["status"] == "arrived"
    r = api.post(f"/api/orders/{order['id']}/no-show")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["status"]


def test_bad_orders_are_refused_and_nothing_is_stored(api: TestClient, container: Container) -> None:
    patient = _patient(api)
    bad = _order(api, patient, exam="IRM-INCONNUE", due_by="2000-01-01")
    assert bad["status"] == 422
    assert isinstance(bad["body"], dict)
    assert {tuple(d["loc"]) for d in bad["body"]["detail"]} == {("exam",), ("due_by",)}
    r = api.post("/api/patients", json={"territory": "mini", "nir": _nir(2)[:-2] + "00", "last_name": "X",
                                        "first_name": "Y", "birth_date": "1961-03-14", "sex": "F", "insee": "12096"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["nir"]
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM patients")).scalar() == 1


def test_scope_roles_and_audit(api: TestClient) -> None:
    order = _order(api, _patient(api))["body"]
    assert isinstance(order, dict)
    token = api.post("/api/token", data={"username": "clinic", "password": PASSWORD}).json()["access_token"]
    clinic = {"Authorization": f"Bearer {token}"}
    assert api.get(f"/api/orders/{order['id']}", headers=clinic).status_code == 404
    rad = api.post("/api/token", data={"username": "rad", "password": PASSWORD}).json()["access_token"]
    assert api.get(f"/api/orders/{order['id']}/slots", headers={"Authorization": f"Bearer {rad}"}).status_code == 403
    assert api.get("/api/patients", params={"territory": "mini", "q": "vid"}).json()[0]["last_name"] == "Vidal"
    del api.headers["Authorization"]
    assert api.get("/api/patients", params={"territory": "mini", "q": "vid"}).status_code == 401
