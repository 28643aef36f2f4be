"""The federation's API: referrals and their steps, surgical cases, theatre bookings (privileges
checked), and the cancer cases planned without a tumour-board decision. Handlers only translate
HTTP; the use cases audit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.federation import Referral, ReferralReason, ReferralStatus, SurgicalCase, Urgency
from mutualis.domain.territory import Platform, Privilege
from mutualis.entrypoints.web.deps import client_address, get_container, requires
from mutualis.services import federation, theatres

router = APIRouter(prefix="/api", tags=["federation"])
ContainerDep = Annotated[Container, Depends(get_container)]
Member = Annotated[User, Depends(requires(Role.FEDERATION_SURGEON, Role.COORDINATOR, Role.ADMIN))]


class ReferralIn(BaseModel):
    patient_id: int
    from_site: str
    to_site: str
    referring_rpps: str
    reason: ReferralReason
    urgency: Urgency
    summary: str
    documents: list[str] = []


class StepIn(BaseModel):
    status: ReferralStatus
    note: str = ""


class ReferralOut(BaseModel):
    id: int
    status: str
    due_at: datetime | None
    overdue: bool
    events: list[dict[str, str]]


class CaseIn(BaseModel):
    patient_id: int
    procedure: str
    surgeon: str
    priority: str = "standard"
    cancer: bool = False
    ready_on: date
    due_by: date
    anaesthesia: str = "general"
    equipment: list[str] = []
    referral_id: int | None = None


class BookingIn(BaseModel):
    theatre: str
    start: datetime = Field(description="local time of the territory, without offset")


class CaseOut(BaseModel):
    id: int
    patient_id: int
    procedure: str
    surgeon: str
    cancer: bool
    status: str
    board_missing: bool


def _referral_out(r: Referral, now: datetime) -> ReferralOut:
    return ReferralOut(id=r.id or 0, status=r.status.value, due_at=r.due_at, overdue=r.overdue(now),
                       events=[{"status": e.status.value, "at": e.at.isoformat(), "actor": e.actor, "note": e.note}
                               for e in r.events])  # fmt: skip


@router.post("/territories/{territory_id}/referrals", status_code=201, response_model=ReferralOut)
def send(territory_id: str, body: ReferralIn, request: Request, c: ContainerDep, user: Member) -> ReferralOut:
    now = c.clock.now()
    rid = federation.send_referral(c.uow(), user, Referral(
        territory_id, body.patient_id, body.from_site, body.to_site, body.referring_rpps, body.reason, body.urgency,
        body.summary, tuple(body.documents)), address=client_address(request), now=now)  # fmt: skip
    return _referral_out(federation.referral(c.uow(), user, rid, address=client_address(request), now=now), now)


@router.get("/referrals/{referral_id}", response_model=ReferralOut)
def read(referral_id: int, request: Request, c: ContainerDep, user: Member) -> ReferralOut:
    now = c.clock.now()
    return _referral_out(federation.referral(c.uow(), user, referral_id, address=client_address(request), now=now),
                         now)  # fmt: skip


@router.post("/referrals/{referral_id}/steps", response_model=ReferralOut)
def advance(referral_id: int, body: StepIn, request: Request, c: ContainerDep, user: Member) -> ReferralOut:
    now = c.clock.now()
    r = federation.advance_referral(c.uow(), user, referral_id, body.status, body.note,
                                    address=client_address(request), now=now)  # fmt: skip
    return _referral_out(r, now)


@router.post("/territories/{territory_id}/surgical-cases", status_code=201)
def create_case(territory_id: str, body: CaseIn, request: Request, c: ContainerDep, user: Member) -> dict[str, int]:
    case = SurgicalCase(territory_id, body.patient_id, body.procedure, body.surgeon, body.priority, body.cancer, 0,
                        body.ready_on, body.due_by, body.anaesthesia, body.referral_id,
                        equipment=tuple(body.equipment))
    cid = theatres.create_case(c.uow(), user, case, address=client_address(request), now=c.clock.now())
    return {"id": cid}


@router.post("/surgical-cases/{case_id}/booking", status_code=201)
def book(case_id: int, body: BookingIn, request: Request, c: ContainerDep, user: Member) -> dict[str, object]:
    """Book into a theatre; 422 with the reason when the surgeon holds no privilege there, the
    theatre is closed or taken; ``board_missing``: a cancer case with no tumour-board decision."""
    b = theatres.book_case(c.uow(), user, case_id, body.theatre, body.start.replace(tzinfo=None),
                             address=client_address(request), now=c.clock.now())  # fmt: skip
    return {"id": b.booking.id, "start": b.booking.start.isoformat(), "end": b.booking.end.isoformat(),
            "board_missing": b.board_missing}  # fmt: skip


@router.get("/territories/{territory_id}/surgical-cases/flagged", response_model=list[CaseOut])
def flagged(territory_id: str, c: ContainerDep, user: Member) -> list[CaseOut]:
    """Cancer cases waiting or booked for surgery with no tumour-board (RCP) decision."""
    return [CaseOut(id=x.id or 0, patient_id=x.patient_id, procedure=x.procedure, surgeon=x.surgeon, cancer=x.cancer,
                    status=x.status.value, board_missing=True)
            for x in theatres.flagged_cases(c.uow(), user, territory_id, now=c.clock.now())]  # fmt: skip


class PrivilegeIn(BaseModel):
    rpps: str
    sites: list[str]
    platforms: list[Platform]
    start: date | None = None
    end: date | None = None


class RevokeIn(BaseModel):
    rpps: str
    site: str
    last_day: date


@router.post("/territories/{territory_id}/conventions/{convention_id}/privileges", status_code=201)
def grant(territory_id: str, convention_id: str, body: PrivilegeIn, request: Request, c: ContainerDep,
          user: Member) -> dict[str, str]:  # fmt: skip
    """Grant a privilege under the convention (coordinators; audited)."""
    federation.grant_privilege(c.uow(), user, territory_id, convention_id, Privilege(
        body.rpps, tuple(body.sites), tuple(body.platforms), body.start, body.end), address=client_address(request),
        now=c.clock.now())  # fmt: skip
    return {"status": "granted"}


@router.post("/territories/{territory_id}/conventions/{convention_id}/privileges/revoke")
def revoke(territory_id: str, convention_id: str, body: RevokeIn, request: Request, c: ContainerDep,
           user: Member) -> dict[str, int]:  # fmt: skip
    """End a practitioner's privileges on a site after ``last_day`` (history kept; audited)."""
    return {"ended": federation.revoke_privilege(c.uow(), user, territory_id, convention_id, body.rpps, body.site,
                                                 body.last_day, address=client_address(request), now=c.clock.now())}
