"""The rosters API: solve a period into a draft, publish it, read a period, leave requests and
decisions, and a person's iCalendar. Handlers only translate HTTP; the use cases audit."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import PermissionDenied
from mutualis.domain.rosters import Leave
from mutualis.entrypoints.web.deps import client_address, get_container, requires
from mutualis.services import rosters

router = APIRouter(prefix="/api", tags=["rosters"])
ContainerDep = Annotated[Container, Depends(get_container)]
Planner = Annotated[User, Depends(requires(Role.COORDINATOR, Role.ADMIN))]
Member = Annotated[User, Depends(requires(Role.COORDINATOR, Role.ADMIN, Role.RADIOLOGIST, Role.RADIOGRAPHER))]


class SolveIn(BaseModel):
    start: date
    days: int = Field(28, ge=1, le=rosters.MAX_DAYS)
    time_limit_s: float = Field(60.0, gt=0, le=600)


class EntryOut(BaseModel):
    day: date
    rpps: str
    shift: str


class CountersOut(BaseModel):
    rpps: str
    weekly_hours: float
    nights: int
    weekend_days: int
    weekends: int


class RosterOut(BaseModel):
    id: int | None
    status: str | None
    first: date
    days: int
    entries: list[EntryOut]
    counters: list[CountersOut]


class LeaveIn(BaseModel):
    rpps: str
    first: date
    last: date
    reason: str = Field(min_length=1, max_length=200)


class DecisionIn(BaseModel):
    approve: bool


def _out(v: rosters.RosterView) -> RosterOut:
    return RosterOut(
        id=int(str(v.run["id"])) if v.run else None, status=str(v.run["status"]) if v.run else None, first=v.first,
        days=v.days, entries=[EntryOut(day=e.day, rpps=e.rpps, shift=e.shift) for e in v.entries],
        counters=[CountersOut(rpps=c.rpps, weekly_hours=round(c.weekly_hours, 2), nights=c.nights,
                              weekend_days=c.weekend_days, weekends=c.weekends)
                  for c in v.counters.values()])  # fmt: skip


@router.post("/territories/{territory_id}/rosters", status_code=201, response_model=RosterOut)
def solve(territory_id: str, body: SolveIn, request: Request, c: ContainerDep, user: Planner) -> RosterOut:
    """Solve a period into a draft roster (422 with the conflicting rules when none exists)."""
    rid = rosters.solve_roster(c.uow(), user, territory_id, body.start, body.days, time_limit_s=body.time_limit_s,
                               address=client_address(request), now=c.clock.now())  # fmt: skip
    return _out(rosters.view(c.uow(), user, territory_id, body.start, body.days, run_id=rid))


@router.post("/rosters/{roster_id}/publish")
def publish(roster_id: int, request: Request, c: ContainerDep, user: Planner) -> dict[str, int]:
    """Publish a draft: it becomes the presence table over its period."""
    return {"presence_rows": rosters.publish(c.uow(), user, roster_id, address=client_address(request),
                                             now=c.clock.now())}  # fmt: skip


@router.get("/territories/{territory_id}/rosters", response_model=RosterOut)
def read(territory_id: str, first: date, c: ContainerDep, user: Member, days: int = 28) -> RosterOut:
    """The published roster over ``days`` days from ``first``."""
    return _out(rosters.view(c.uow(), user, territory_id, first, days))


@router.get("/territories/{territory_id}/rosters/people/{rpps}.ics")
def ical(territory_id: str, rpps: str, first: date, c: ContainerDep, user: Member, days: int = 63) -> Response:
    """A person's published shifts as iCalendar (their own; coordinators: anyone's)."""
    if user.role not in (Role.COORDINATOR, Role.ADMIN) and user.rpps != rpps:
        raise PermissionDenied("your own calendar only")
    v = rosters.view(c.uow(), user, territory_id, first, days)
    return Response(rosters.ical(v, rpps), media_type="text/calendar; charset=utf-8")


@router.post("/territories/{territory_id}/leave", status_code=201)
def ask_leave(territory_id: str, body: LeaveIn, request: Request, c: ContainerDep, user: Member) -> dict[str, int]:
    lid = rosters.request_leave(c.uow(), user, territory_id, Leave(body.rpps, body.first, body.last, body.reason),
                                address=client_address(request), now=c.clock.now())  # fmt: skip
    return {"id": lid}


@router.post("/leave/{leave_id}/decision")
def decide_leave(leave_id: int, body: DecisionIn, request: Request, c: ContainerDep, user: Planner) -> dict[str, str]:
    rosters.decide_leave(c.uow(), user, leave_id, body.approve, address=client_address(request), now=c.clock.now())
    return {"status": "approved" if body.approve else "refused"}
