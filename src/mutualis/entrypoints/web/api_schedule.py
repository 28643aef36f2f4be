"""The week optimiser's API: run it into a proposal, read proposals, apply or reject one, mark
appointments as announced. Handlers only translate HTTP; the use cases audit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.entrypoints.web.deps import client_address, get_container, requires
from mutualis.services import schedule
from mutualis.services.schedule import ProposalSummary

router = APIRouter(prefix="/api", tags=["schedule"])
ContainerDep = Annotated[Container, Depends(get_container)]
Planner = Annotated[User, Depends(requires(Role.COORDINATOR, Role.ADMIN))]


class OptimizeIn(BaseModel):
    start: date
    days: int = Field(7, ge=1, le=schedule.MAX_DAYS)
    time_limit_s: float = Field(30.0, gt=0, le=600)


class ProposalOut(BaseModel):
    id: int
    territory: str
    start: date
    days: int
    status: str
    solver_status: str
    objective: int
    reference_objective: int
    bound: int
    gap: float
    seconds: float
    before: dict[str, float]
    after: dict[str, float]
    changes: int
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, p: ProposalSummary) -> ProposalOut:
        return cls(**{**p.__dict__, "before": dict(p.before), "after": dict(p.after)})


class ChangeOut(BaseModel):
    order_id: int
    before_equipment: str | None
    before_start: datetime | None
    after_equipment: str | None
    after_start: datetime | None
    after_end: datetime | None
    code: str
    params: dict[str, Any]


class ProposalDetailOut(ProposalOut):
    items: list[ChangeOut]


class AnnounceIn(BaseModel):
    first: date
    last: date


@router.post("/territories/{territory_id}/schedule/proposals", status_code=201, response_model=ProposalOut)
def optimize(territory_id: str, body: OptimizeIn, request: Request, c: ContainerDep, user: Planner) -> ProposalOut:
    """Run the week optimiser (up to ``time_limit_s`` seconds) and store its proposal."""
    address, now = client_address(request), c.clock.now()
    pid = schedule.optimize(c.uow(), user, territory_id, c.communes, body.start, body.days,
                            time_limit_s=body.time_limit_s, address=address, now=now)  # fmt: skip
    _, p, _ = schedule.proposal(c.uow(), user, pid, address=address, now=now)
    return ProposalOut.of(p)


@router.get("/territories/{territory_id}/schedule/proposals", response_model=list[ProposalOut])
def list_proposals(territory_id: str, c: ContainerDep, user: Planner) -> list[ProposalOut]:
    return [ProposalOut.of(p) for p in schedule.proposals(c.uow(), user, territory_id, now=c.clock.now())]


@router.get("/schedule/proposals/{proposal_id}", response_model=ProposalDetailOut)
def get_proposal(proposal_id: int, request: Request, c: ContainerDep, user: Planner) -> ProposalDetailOut:
    _, p, changes = schedule.proposal(c.uow(), user, proposal_id, address=client_address(request),
                                      now=c.clock.now())  # fmt: skip
    fields = ChangeOut.model_fields
    return ProposalDetailOut(**ProposalOut.of(p).model_dump(),
                             items=[ChangeOut(**{k: x[k] for k in fields}) for x in changes])  # fmt: skip


@router.post("/schedule/proposals/{proposal_id}/apply", response_model=ProposalOut)
def apply(proposal_id: int, request: Request, c: ContainerDep, user: Planner) -> ProposalOut:
    """Apply in one transaction; 409 when the plan changed since the proposal was made."""
    address = client_address(request)
    schedule.apply(c.uow(), user, proposal_id, c.communes, address=address, now=c.clock.now())
    _, p, _ = schedule.proposal(c.uow(), user, proposal_id, address=address, now=c.clock.now())
    return ProposalOut.of(p)


@router.post("/schedule/proposals/{proposal_id}/reject", response_model=ProposalOut)
def reject(proposal_id: int, request: Request, c: ContainerDep, user: Planner) -> ProposalOut:
    address = client_address(request)
    schedule.reject(c.uow(), user, proposal_id, address=address, now=c.clock.now())
    _, p, _ = schedule.proposal(c.uow(), user, proposal_id, address=address, now=c.clock.now())
    return ProposalOut.of(p)


@router.post("/territories/{territory_id}/schedule/announce")
def announce(territory_id: str, body: AnnounceIn, request: Request, c: ContainerDep, user: Planner) -> dict[str, int]:
    """Mark the appointments of ``first``..``last`` as announced to the patients."""
    n = schedule.announce(c.uow(), user, territory_id, body.first, body.last, address=client_address(request),
                          now=c.clock.now())  # fmt: skip
    return {"announced": n}
