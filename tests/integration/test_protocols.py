"""The protocol library on SQLite and PostgreSQL, on the Vienne federation: coordinators create
protocols and approve versions (never edited), anyone of the territory reads them and the
version in force on any past day, practitioners acknowledge for themselves, all audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import NotFound, PermissionDenied, ValidationError
from mutualis.domain.territory import Commune
from mutualis.entrypoints.web.app import create_app
from mutualis.services import protocols
from mutualis.services.accounts import add_user
from mutualis.services.protocols import NewVersion
from mutualis.services.territories import load_territory
from tests.conftest import ROOT

T = "vienne-fmih"
CHU, MONTMO = "867470833", "860841485"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COORD = User("coord.fmih", "Coordination FMIH", Role.COORDINATOR, T, establishments=(CHU,))
GIRARD = User("dr.girard", "Laurent Girard", Role.FEDERATION_SURGEON, T, establishments=(CHU,), rpps="17657859207")
RIVIERE = User("dr.riviere", "Caroline Rivière", Role.FEDERATION_SURGEON, T, establishments=(MONTMO,),
               rpps="17981895562")
AGENT = User("agent.montmo", "Agent", Role.BOOKING_AGENT, T, sites=("montmorillon",))
OTHER = User("coord.rodez", "Coordination PIMM", Role.COORDINATOR, "aveyron-pimm", sites=("rodez",))
TEXT_1 = "RAAC colorectale v1 : boisson sucrée la veille et 2 heures avant, lever J0, alimentation J1."
TEXT_2 = "RAAC colorectale v2 : idem v1, plus prévention thromboembolique prolongée 28 jours après cancer."


@pytest.fixture
def world(container: Container, communes: dict[str, Commune]) -> Container:
    t = read_territory_file(ROOT / "territories" / f"{T}.toml", communes)
    load_territory(container.uow(), t, source="test", actor="test", address=None, now=NOW)
    return container


def _raac(c: Container, *, establishments: tuple[str, ...] = (MONTMO,), effective: date = date(2026, 1, 1),
          now: datetime = NOW) -> int:  # fmt: skip
    p = protocols.create(c.uow(), COORD, T, code="raac-colorectal", title="RAAC en chirurgie colorectale", kind="care",
                         activities_=("theatre", "colectomie-droite-coelio"), establishments=establishments,
                         first=NewVersion(TEXT_1, effective), address="10.0.0.1", now=now)  # fmt: skip
    assert p.id is not None and [v.version for v in p.versions] == [1]
    return p.id


def test_versions_are_added_never_edited_and_the_past_keeps_its_version(world: Container) -> None:
    pid = _raac(world, now=NOW - timedelta(days=60))
    later = NOW + timedelta(days=1)
    v2 = protocols.add_version(world.uow(), COORD, pid, NewVersion(TEXT_2, date(2026, 4, 1)), address=None, now=later)
    assert v2.version == 2 and v2.approved_by == COORD.username and v2.approved_at == later
    _, p, _ = protocols.get(world.uow(), AGENT, pid, now=later)
    v1 = p.version(1)
    assert v1 is not None and v1.text == TEXT_1 and v1.approved_at == NOW - timedelta(days=60)  # untouched
    assert protocols.in_force_on(world.uow(), AGENT, pid, date(2026, 3, 15), now=later) == v1
    assert protocols.in_force_on(world.uow(), AGENT, pid, date(2026, 4, 1), now=later) == v2
    assert protocols.in_force_on(world.uow(), AGENT, pid, date(2025, 12, 31), now=later) is None
    # v3 backdated to January: not in force before its approval
    v3 = protocols.add_version(world.uow(), COORD, pid, NewVersion(TEXT_2 + " Correction.", date(2026, 1, 1)),
                               address=None, now=datetime(2026, 5, 4, 8, tzinfo=UTC))  # fmt: skip
    assert protocols.in_force_on(world.uow(), AGENT, pid, date(2026, 5, 3), now=later) == v2
    assert protocols.in_force_on(world.uow(), AGENT, pid, date(2026, 5, 4), now=later) == v3
    _, lib = protocols.library(world.uow(), AGENT, T, now=datetime(2026, 4, 10, tzinfo=UTC))
    assert [(s.protocol.code, s.current and s.current.version) for s in lib] == [("raac-colorectal", 2)]


def test_only_coordinators_create_and_approve_within_their_scope(world: Container) -> None:
    pid = _raac(world)
    new = NewVersion(TEXT_2, date(2026, 4, 1))
    for user in (GIRARD, AGENT):
        with pytest.raises(PermissionDenied):
            protocols.add_version(world.uow(), user, pid, new, address=None, now=NOW)
        with pytest.raises(PermissionDenied):
            protocols.create(world.uow(), user, T, code="x-protocol", title="X", kind="care", activities_=("theatre",),
                             establishments=(CHU,), address=None, now=NOW)  # fmt: skip
    with pytest.raises(NotFound):  # another territory's coordinator does not see it
        protocols.add_version(world.uow(), OTHER, pid, new, address=None, now=NOW)
    with pytest.raises(NotFound):
        protocols.library(world.uow(), OTHER, T, now=NOW)
    admin = User("admin", "Admin", Role.ADMIN)
    assert protocols.add_version(world.uow(), admin, pid, new, address=None, now=NOW).version == 2


def test_validation_names_the_fields(world: Container) -> None:
    with pytest.raises(ValidationError) as e:
        protocols.create(world.uow(), COORD, T, code="Bad Code", title="", kind="care", activities_=("yoga",),
                         establishments=("123456789",), first=NewVersion("court", None), address=None,
                         now=NOW)  # fmt: skip
    assert {p.location for p in e.value.problems} == {"code", "title", "activities", "establishments", "text",
                                                      "effective_from"}
    with pytest.raises(ValidationError) as e:
        protocols.create(world.uow(), COORD, T, code="x", title="X", kind="recipe", activities_=(), establishments=(),
                         address=None, now=NOW)  # fmt: skip
    assert [p.location for p in e.value.problems] == ["kind"]
    pid = _raac(world)
    with pytest.raises(ValidationError, match="already exists"):
        _raac(world)
    with pytest.raises(ValidationError, match="identical"):
        protocols.add_version(world.uow(), COORD, pid, NewVersion(TEXT_1, date(2026, 5, 1)), address=None, now=NOW)


def test_changes_are_audited(world: Container) -> None:
    pid = _raac(world)
    protocols.add_version(world.uow(), COORD, pid, NewVersion(TEXT_2, date(2026, 4, 1)), address="10.0.0.2", now=NOW)
    protocols.acknowledge(world.uow(), RIVIERE, pid, 1, address="10.0.0.3", now=NOW)
    with world.uow() as uow:
        made = uow.audit.query(actor=COORD.username)
        acks = uow.audit.query(resource="protocol_ack")
    assert sorted((e.resource, e.detail.get("version")) for e in made) == [
        ("protocol", None), ("protocol_version", 1), ("protocol_version", 2)]
    assert all(e.territory == T for e in made)
    assert [(e.actor, e.detail["rpps"], e.detail["version"], e.address) for e in acks] == [
        (RIVIERE.username, RIVIERE.rpps, 1, "10.0.0.3")]


def test_practitioners_acknowledge_for_themselves(world: Container) -> None:
    pid = _raac(world)  # applies to Montmorillon
    _, _, acks = protocols.get(world.uow(), COORD, pid, now=NOW)
    concerned = {x.rpps for x in acks[1].pending}
    # Montmorillon's own practitioners, and the CHU's holding a privilege there (Girard, not Haddad)
    assert {"17981895562", "13768764808", "14698857407", "17657859207"} <= concerned
    assert "15728285584" not in concerned and acks[1].count == 0
    later = NOW + timedelta(hours=2)
    assert protocols.acknowledge(world.uow(), RIVIERE, pid, 1, address=None, now=later) is True
    assert protocols.acknowledge(world.uow(), RIVIERE, pid, 1, address=None, now=later + timedelta(hours=1)) is False
    _, _, acks = protocols.get(world.uow(), COORD, pid, now=later)
    assert [(x.rpps, at) for x, at in acks[1].acknowledged] == [(RIVIERE.rpps, later)]  # the first one is kept
    assert RIVIERE.rpps not in {x.rpps for x in acks[1].pending} and acks[1].expected == len(concerned)
    _, lib = protocols.library(world.uow(), COORD, T, now=later)
    assert (lib[0].acknowledged, lib[0].expected) == (1, len(concerned))

    haddad = User("dr.haddad", "Karim Haddad", Role.FEDERATION_SURGEON, T, establishments=(CHU,), rpps="15728285584")
    with pytest.raises(PermissionDenied, match="does not apply"):
        protocols.acknowledge(world.uow(), haddad, pid, 1, address=None, now=NOW)
    for user in (COORD, AGENT):
        with pytest.raises(PermissionDenied, match="practitioner"):
            protocols.acknowledge(world.uow(), user, pid, 1, address=None, now=NOW)
    with pytest.raises(NotFound):
        protocols.acknowledge(world.uow(), RIVIERE, pid, 9, address=None, now=NOW)


def test_the_api(world: Container) -> None:
    password = "mot de passe de test"
    for user in (COORD, RIVIERE, AGENT):
        add_user(world.uow(), world.hasher, user, password, actor="test", address=None, now=NOW)

    def login(client: TestClient, user: User) -> None:
        token = client.post("/api/token", data={"username": user.username, "password": password}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"

    with TestClient(create_app(world)) as api:
        login(api, COORD)
        r = api.post(f"/api/territories/{T}/protocols", json={
            "code": "irm-rectum", "title": "IRM pelvienne de bilan du cancer du rectum", "kind": "imaging",
            "activities": ["imaging"], "establishments": [CHU, MONTMO],
            "first_version": {"text": "Séquences T2 haute résolution axiales obliques, diffusion b1000.",
                              "effective_from": "2025-01-01"}})  # fmt: skip
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        assert r.json()["in_force"]["version"] == 1
        v2 = {"text": "Séquences T2 HR, diffusion b1000, T1 gadolinium si récidive.", "effective_from": "2099-01-01"}
        r = api.post(f"/api/protocols/{pid}/versions", json=v2)
        assert r.status_code == 201 and r.json()["version"] == 2
        bad = api.post(f"/api/protocols/{pid}/versions", json={"text": "court", "effective_from": "2099-01-01"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["text"]
        assert api.get(f"/api/protocols/{pid}/in-force", params={"on": "2099-01-02"}).json()["version"]["version"] == 2
        assert api.get(f"/api/protocols/{pid}/in-force", params={"on": "2024-12-31"}).json()["version"] is None
        assert api.get(f"/api/territories/{T}/volumes").json()["sites"][0]["volumes"][0]["threshold"] == 30
        login(api, RIVIERE)
        assert api.post(f"/api/protocols/{pid}/versions/1/acknowledge").json() == {"acknowledged": True, "new": True}
        assert api.post(f"/api/protocols/{pid}/versions", json={"text": "x" * 30, "effective_from": "2099-02-01"}
                        ).status_code == 403
        detail = api.get(f"/api/protocols/{pid}").json()
        assert [a["rpps"] for a in detail["versions"][0]["acknowledged"]] == [RIVIERE.rpps]
        login(api, AGENT)
        assert [p["code"] for p in api.get(f"/api/territories/{T}/protocols").json()] == ["irm-rectum"]
        assert api.post(f"/api/protocols/{pid}/versions/1/acknowledge").status_code == 403
        assert api.get(f"/api/territories/{T}/volumes").status_code == 403
