"""The federation over a real database (SQLite and PostgreSQL), with the shipped Vienne FMIH: a
surgeon without a CHU theatre privilege cannot be booked there, with it can; a referral walks
from Montmorillon to a CHU theatre session; a cancer case booked without a tumour-board decision
is flagged until the board decides (quorum of three specialties, or a short registration)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import Conflict, PermissionDenied, ValidationError
from mutualis.domain.federation import (
    Attendee,
    BoardCase,
    Referral,
    ReferralReason,
    ReferralStatus,
    SurgicalCase,
    TumourBoard,
    Urgency,
)
from mutualis.domain.identifiers import nir_key
from mutualis.domain.orders import Patient, Sex
from mutualis.domain.territory import Commune, Platform, Privilege, Territory
from mutualis.services import federation, theatres
from mutualis.services.territories import load_territory
from tests.conftest import ROOT

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
MONDAY = date(2026, 11, 30)
RIVIERE = "17981895562"  # Montmorillon; theatre privilege there only
GIRARD = "17657859207"  # CHU and Montmorillon
SURGEON = User("riviere", "Dr Rivière", Role.FEDERATION_SURGEON, "vienne-fmih", sites=("montmorillon",), rpps=RIVIERE)
CHU = User("coord", "Coordination FMIH", Role.COORDINATOR, "vienne-fmih", sites=("chu-poitiers",))


def _territory(communes: dict[str, Commune], grant: bool = False) -> Territory:
    t = read_territory_file(ROOT / "territories" / "vienne-fmih.toml", communes)
    if not grant:
        return t
    (c,) = t.conventions
    extra = Privilege(RIVIERE, ("chu-poitiers",), (Platform.THEATRE,), date(2026, 11, 1))
    return replace(t, conventions=(replace(c, privileges=(*c.privileges, extra)),))


@pytest.fixture
def vienne(container: Container, communes: dict[str, Commune]) -> int:
    load_territory(container.uow(), _territory(communes), source="t", actor="t", address=None, now=NOW)
    with container.uow() as uow:
        first = "2580786194"
        p = uow.patients.add("vienne-fmih", Patient(first + "123" + nir_key(first + "123"), "Bernard", "Jacques",
                                                    date(1958, 7, 3), Sex.MALE, "86165"), NOW)  # fmt: skip
        uow.commit()
    assert p.id is not None
    return p.id


def _case(c: Container, patient: int, surgeon: str, procedure: str, cancer: bool = False,
          referral: int | None = None) -> int:  # fmt: skip
    return theatres.create_case(c.uow(), CHU, SurgicalCase("vienne-fmih", patient, procedure, surgeon,
                                                             "cancer" if cancer else "standard", cancer, 0, MONDAY,
                                                             MONDAY + timedelta(days=28), referral_id=referral),
                                  address=None, now=NOW)  # fmt: skip


def test_a_surgeon_without_a_chu_privilege_cannot_be_booked_there_and_with_it_can(
        container: Container, vienne: int, communes: dict[str, Commune]) -> None:
    case = _case(container, vienne, RIVIERE, "cholecystectomie-coelio")
    monday_9 = datetime.combine(MONDAY, datetime.min.time()).replace(hour=9)
    with pytest.raises(ValidationError, match="booking refused") as refused:
        theatres.book_case(container.uow(), CHU, case, "chu-bloc-visceral-1", monday_9, address=None, now=NOW)
    assert "no theatre privilege on chu-poitiers" in refused.value.problems[0].reason
    load_territory(container.uow(), _territory(communes, grant=True), source="t", actor="t", address=None, now=NOW)
    booked = theatres.book_case(container.uow(), CHU, case, "chu-bloc-visceral-1", monday_9, address=None,
                                  now=NOW)  # fmt: skip
    assert booked.booking.theatre == "chu-bloc-visceral-1" and not booked.board_missing
    # the theatre is taken then; the surgeon too
    other = _case(container, vienne, GIRARD, "cholecystectomie-coelio")
    with pytest.raises(ValidationError, match="booking refused") as taken:
        theatres.book_case(container.uow(), CHU, other, "chu-bloc-visceral-1", monday_9, address=None, now=NOW)
    assert "is taken then" in taken.value.problems[0].reason
    # a case that needs intra-operative ultrasound cannot go to Montmorillon's rooms, which lack it
    liver = theatres.create_case(container.uow(), CHU, SurgicalCase(
        "vienne-fmih", vienne, "cholecystectomie-coelio", GIRARD, "standard", False, 0, MONDAY,
        MONDAY + timedelta(days=28), equipment=("echographie-peroperatoire",)), address=None, now=NOW)  # fmt: skip
    with pytest.raises(ValidationError, match="booking refused") as lacking:
        theatres.book_case(container.uow(), CHU, liver, "montmorillon-bloc-1", monday_9 + timedelta(days=1),
                           address=None, now=NOW)  # fmt: skip
    assert any("lacks echographie-peroperatoire" in p.reason for p in lacking.value.problems)
    sunday = monday_9 - timedelta(days=1)
    with pytest.raises(ValidationError, match="booking refused") as closed:
        theatres.book_case(container.uow(), CHU, other, "chu-bloc-visceral-2", sunday, address=None, now=NOW)
    assert any("outside the theatre's sessions" in p.reason for p in closed.value.problems)


def test_a_referral_walks_from_montmorillon_to_a_chu_theatre(container: Container, vienne: int) -> None:
    r = Referral("vienne-fmih", vienne, "montmorillon", "chu-poitiers", RIVIERE, ReferralReason.DIGESTIVE_ONCOLOGY,
                 Urgency.SOON, "Adénocarcinome du côlon droit, bilan d'extension négatif", ("coloscopie.pdf",))
    with pytest.raises(ValidationError, match="referral refused"):
        federation.send_referral(container.uow(), SURGEON, replace(r, summary="court"), address=None, now=NOW)
    rid = federation.send_referral(container.uow(), SURGEON, r, address=None, now=NOW)
    with pytest.raises(PermissionDenied):  # the referring side does not accept its own referral
        federation.advance_referral(container.uow(), SURGEON, rid, ReferralStatus.ACCEPTED, address=None, now=NOW)
    later = NOW + timedelta(days=4)
    assert federation.referrals(container.uow(), SURGEON, "vienne-fmih", now=later)[0].overdue(later)
    federation.advance_referral(container.uow(), CHU, rid, ReferralStatus.ACCEPTED, "RDV avec Pr Girard",
                                address=None, now=NOW)  # fmt: skip
    with pytest.raises(ValidationError, match="cannot become returned"):
        federation.advance_referral(container.uow(), CHU, rid, ReferralStatus.RETURNED, address=None, now=NOW)
    federation.advance_referral(container.uow(), CHU, rid, ReferralStatus.CONSULTATION, address=None, now=NOW)
    case = _case(container, vienne, GIRARD, "colectomie-droite-coelio", cancer=True, referral=rid)
    booked = theatres.book_case(container.uow(), CHU, case, "chu-bloc-visceral-2",
                                  datetime.combine(MONDAY, datetime.min.time()).replace(hour=8), address=None,
                                  now=NOW)  # fmt: skip
    assert booked.board_missing  # a digestive cancer booked without a tumour-board decision
    assert [c.id for c in theatres.flagged_cases(container.uow(), CHU, "vienne-fmih", now=NOW)] == [case]
    seen = federation.referral(container.uow(), SURGEON, rid, address=None, now=NOW)  # where the patient stands
    assert seen.status is ReferralStatus.SURGERY
    assert [e.status for e in seen.events] == [ReferralStatus.SENT, ReferralStatus.ACCEPTED,
                                               ReferralStatus.CONSULTATION, ReferralStatus.SURGERY]

    board = federation.create_board(container.uow(), CHU, TumourBoard("vienne-fmih", "RCP digestive", "chu-poitiers",
                                                                      MONDAY - timedelta(days=3)),
                                     address=None, now=NOW)  # fmt: skip
    bc = federation.present_case(container.uow(), CHU, board, BoardCase(board, vienne, "Colectomie d'emblée ?",
                                                                        referral_id=rid), address=None, now=NOW)
    two = [Attendee(GIRARD, "chirurgie digestive"), Attendee("x", "oncologie")]
    with pytest.raises(ValidationError, match="decision refused") as no_quorum:
        federation.record_decision(container.uow(), CHU, bc, two, "Chirurgie première", address=None, now=NOW)
    assert "quorum of 3" in no_quorum.value.problems[0].reason
    federation.record_decision(container.uow(), CHU, bc, [*two, Attendee("y", "radiologie")], "Chirurgie première",
                               address=None, now=NOW)  # fmt: skip
    assert theatres.flagged_cases(container.uow(), CHU, "vienne-fmih", now=NOW) == []
    seen = federation.referral(container.uow(), SURGEON, rid, address=None, now=NOW)
    assert "décision de RCP : Chirurgie première" in seen.events[-1].note  # sent to the referring surgeon


def test_a_short_registration_needs_no_quorum(container: Container, vienne: int) -> None:
    board = federation.create_board(container.uow(), CHU, TumourBoard("vienne-fmih", "RCP", "chu-poitiers", MONDAY),
                                    address=None, now=NOW)  # fmt: skip
    bc = federation.present_case(container.uow(), CHU, board, BoardCase(board, vienne, "Polype dégénéré, standard",
                                                                        standard=True), address=None, now=NOW)
    federation.record_decision(container.uow(), CHU, bc, [Attendee(GIRARD, "chirurgie digestive")],
                               "Surveillance selon le référentiel", address=None, now=NOW)  # fmt: skip
    with pytest.raises(PermissionDenied):
        federation.create_board(container.uow(), SURGEON, TumourBoard("vienne-fmih", "RCP", "montmorillon", MONDAY),
                                address=None, now=NOW)  # fmt: skip


def test_the_api_flags_a_cancer_case_without_a_board_decision(container: Container, vienne: int) -> None:
    from fastapi.testclient import TestClient

    from mutualis.entrypoints.web.app import create_app
    from mutualis.services.accounts import add_user

    add_user(container.uow(), container.hasher, CHU, "correct horse battery", actor="t", address=None, now=NOW)
    with TestClient(create_app(container)) as api:
        token = api.post("/api/token", data={"username": "coord", "password": "correct horse battery"})
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        case = api.post("/api/territories/vienne-fmih/surgical-cases", json={
            "patient_id": vienne, "procedure": "gastrectomie-totale", "surgeon": GIRARD, "priority": "cancer",
            "cancer": True, "ready_on": "2026-11-30", "due_by": "2026-12-30"})
        assert case.status_code == 201, case.text
        bad = api.post(f"/api/surgical-cases/{case.json()['id']}/booking",
                       json={"theatre": "chu-bloc-visceral-3", "start": "2026-11-29T09:00:00"})  # a Sunday
        assert bad.status_code == 422 and "outside the theatre's sessions" in str(bad.json()["detail"])
        ok = api.post(f"/api/surgical-cases/{case.json()['id']}/booking",
                      json={"theatre": "chu-bloc-visceral-3", "start": "2026-11-30T09:00:00"})
        assert ok.status_code == 201 and ok.json()["board_missing"] is True
        flagged = api.get("/api/territories/vienne-fmih/surgical-cases/flagged").json()
        assert [x["id"] for x in flagged] == [case.json()["id"]]


def test_privileges_are_granted_and_revoked_by_a_coordinator_and_audited(container: Container, vienne: int) -> None:
    convention = "fmih-chirurgie-viscerale-vienne"
    grant = Privilege(RIVIERE, ("chu-poitiers",), (Platform.THEATRE,), date(2026, 11, 24))
    with pytest.raises(PermissionDenied):
        federation.grant_privilege(container.uow(), SURGEON, "vienne-fmih", convention, grant, address=None, now=NOW)
    with pytest.raises(ValidationError, match="privilege refused"):
        federation.grant_privilege(container.uow(), CHU, "vienne-fmih", convention, replace(grant, platforms=()),
                                   address=None, now=NOW)  # fmt: skip
    federation.grant_privilege(container.uow(), CHU, "vienne-fmih", convention, grant, address="10.0.0.9", now=NOW)
    case = _case(container, vienne, RIVIERE, "hernie-inguinale-prothese")
    monday_9 = datetime.combine(MONDAY, datetime.min.time()).replace(hour=9)
    theatres.book_case(container.uow(), CHU, case, "chu-bloc-visceral-2", monday_9, address=None, now=NOW)
    # revoked after Monday: a case on Tuesday is refused, Monday's booking stays
    assert federation.revoke_privilege(container.uow(), CHU, "vienne-fmih", convention, RIVIERE, "chu-poitiers",
                                       MONDAY, address="10.0.0.9", now=NOW) == 1  # fmt: skip
    later = _case(container, vienne, RIVIERE, "hernie-inguinale-prothese")
    with pytest.raises(ValidationError, match="booking refused"):
        theatres.book_case(container.uow(), CHU, later, "chu-bloc-visceral-2", monday_9 + timedelta(days=1),
                             address=None, now=NOW)  # fmt: skip
    with container.uow() as uow:
        events = uow.audit.query(resource="privilege")
    assert sorted((e.action.value, e.actor, e.address, e.detail.get("site") or e.detail["sites"][0])
                  for e in events) == [("create", "coord", "10.0.0.9", "chu-poitiers"),
                                       ("update", "coord", "10.0.0.9", "chu-poitiers")]  # fmt: skip


def test_the_planner_fills_the_week_and_its_plan_is_booked_whole(container: Container, vienne: int) -> None:
    surgeons = ["17657859207", "16489545893", "15728285584", "16053865321", "15822313308", "13768764808"]
    procedures = ["cholecystectomie-coelio", "hernie-inguinale-prothese", "colectomie-droite-coelio"]
    ids = [_case(container, vienne, surgeons[n % len(surgeons)], procedures[n % 3], cancer=n % 3 == 2)
           for n in range(12)]
    with pytest.raises(PermissionDenied):
        theatres.plan_week(container.uow(), SURGEON, "vienne-fmih", MONDAY, time_limit_s=5, now=NOW)
    plan = theatres.plan_week(container.uow(), CHU, "vienne-fmih", MONDAY, time_limit_s=10, now=NOW)
    assert plan.items and {p.case.id for p in plan.items} <= set(ids)
    assert plan.done >= plan.done_fcfs and plan.urgent_cancer >= plan.urgent_cancer_fcfs
    assert all(p.start.date() >= MONDAY and p.start.weekday() < 5 for p in plan.items)
    items = [(p.case.id or 0, p.theatre, p.start) for p in plan.items]
    # one of them booked by hand meanwhile: the whole plan is refused, nothing written
    first = plan.items[0]
    theatres.book_case(container.uow(), CHU, first.case.id or 0, first.theatre, first.start, address=None, now=NOW)
    with pytest.raises(Conflict):
        theatres.book_week(container.uow(), CHU, "vienne-fmih", items, address=None, now=NOW)
    with container.uow() as uow:
        assert len(uow.federation.cases("vienne-fmih", ["booked"])) == 1
    assert theatres.book_week(container.uow(), CHU, "vienne-fmih", items[1:], address=None, now=NOW) == len(items) - 1
    with container.uow() as uow:
        assert len(uow.federation.cases("vienne-fmih", ["booked"])) == len(items)
