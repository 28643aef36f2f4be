"""The reading API over HTTP (TestClient): worklist, claim, report, sign, FHIR export."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from mutualis.domain.accounts import Role, User
from mutualis.domain.orders import Priority
from mutualis.entrypoints.web.app import create_app
from mutualis.services.accounts import add_user
from tests.integration.test_reading import CT_RODEZ, MARTY, World, radiologist, ready, world  # noqa: F401

PASSWORD = "correct horse battery"


def _client(w: World, user: User) -> TestClient:
    add_user(w.c.uow(), w.c.hasher, user, PASSWORD, actor="t", address=None, now=w.now)
    client = TestClient(create_app(w.c))
    token = client.post("/api/token", data={"username": user.username, "password": PASSWORD}).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _locs(body: dict[str, list[dict[str, list[str]]]]) -> set[str]:
    return {".".join(map(str, d["loc"])) for d in body["detail"]}


def test_read_report_sign_and_export_as_fhir(world: World) -> None:  # noqa: F811
    task = ready(world, "tdm-thorax", "decazeville", Priority.INPATIENT)
    api = _client(world, radiologist(CT_RODEZ))
    other = _client(world, radiologist(MARTY))
    listed = api.get("/api/reading/worklist", params={"territory": "aveyron-pimm"})
    assert listed.status_code == 200 and task.id in [x["id"] for x in listed.json()["tasks"]]
    assert api.post(f"/api/reading/tasks/{task.id}/claim").status_code == 200
    taken = other.post(f"/api/reading/tasks/{task.id}/claim")
    assert taken.status_code == 409
    r = api.put(f"/api/reading/tasks/{task.id}/report", json={"findings": "Pas d'anomalie.", "conclusion": "Normal."})
    assert r.status_code == 200 and r.json()["status"] == "draft"
    r = api.put(f"/api/reading/tasks/{task.id}/report", json={"dose": {"ctdi_vol_mgy": -1}})
    assert r.status_code == 422 and _locs(r.json()) == {"dose.ctdi_vol_mgy"}
    r = api.post(f"/api/reading/tasks/{task.id}/sign")
    assert r.status_code == 422 and _locs(r.json()) == {"dose.ctdi_vol_mgy", "dose.dlp_mgy_cm"}
    api.put(f"/api/reading/tasks/{task.id}/report", json={"dose": {"ctdi_vol_mgy": 7.5, "dlp_mgy_cm": 260}})
    r = api.post(f"/api/reading/tasks/{task.id}/sign")
    assert r.status_code == 200 and r.json()["signed_by"] == CT_RODEZ
    fhir = api.get(f"/api/fhir/DiagnosticReport/{task.order_id}").json()
    assert fhir["resourceType"] == "DiagnosticReport" and fhir["status"] == "final"
    assert fhir["subject"]["identifier"]["system"] == "urn:oid:1.2.250.1.213.1.4.8"
    assert fhir["resultsInterpreter"][0]["identifier"]["value"] == CT_RODEZ
    text = base64.b64decode(fhir["presentedForm"][0]["data"]).decode()
    assert "Pas d'anomalie." in text and "CTDIvol 7.5 mGy" in text
    r = other.post(f"/api/orders/{task.order_id}/report/addenda", json={"text": "Pas moi"})
    assert r.status_code == 403
    r = api.post(f"/api/orders/{task.order_id}/report/addenda", json={"text": "Relecture : sans changement."})
    assert r.status_code == 201
    fhir = api.get(f"/api/fhir/DiagnosticReport/{task.order_id}").json()
    assert fhir["status"] == "amended" and "Relecture" in base64.b64decode(fhir["presentedForm"][0]["data"]).decode()
    agent = _client(world, User("sec", "Secrétariat", Role.BOOKING_AGENT, "aveyron-pimm", sites=("decazeville",)))
    assert agent.get(f"/api/orders/{task.order_id}/report").json()["conclusion"] == "Normal."
    assert agent.get("/api/reading/worklist", params={"territory": "aveyron-pimm"}).status_code == 403
