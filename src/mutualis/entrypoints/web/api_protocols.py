"""The protocol library's API (list and create protocols, approve a version, the version in force
on a day, acknowledge a version) and the federation's oncological surgery volumes. Handlers only
translate HTTP; the use cases check permissions and audit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from mutualis.bootstrap import Container
from mutualis.domain.accounts import ANY_ROLE, PRACTITIONER_ROLES, Role, User
from mutualis.domain.protocols import ProtocolVersion
from mutualis.entrypoints.web.deps import client_address, get_container, requires
from mutualis.services import protocols, volumes
from mutualis.services.protocols import Acknowledgements, NewVersion, ProtocolSummary

router = APIRouter(prefix="/api", tags=["protocols"])
ContainerDep = Annotated[Container, Depends(get_container)]
Reader = Annotated[User, Depends(requires(*ANY_ROLE))]
Approver = Annotated[User, Depends(requires(Role.COORDINATOR, Role.ADMIN))]
Practitioner = Annotated[User, Depends(requires(*sorted(PRACTITIONER_ROLES)))]
VolumeReader = Annotated[User, Depends(requires(*volumes.READERS))]


class VersionIn(BaseModel):
    text: str
    effective_from: date


class ProtocolIn(BaseModel):
    code: str
    title: str
    kind: str = Field(description="care | imaging")
    activities: list[str] = Field(description="platforms (theatre, imaging…) or catalogue codes")
    establishments: list[str] = Field(description="FINESS numbers")
    first_version: VersionIn | None = None


class VersionOut(BaseModel):
    version: int
    text: str
    approved_by: str
    approved_at: datetime
    effective_from: date

    @classmethod
    def of(cls, v: ProtocolVersion) -> VersionOut:
        return cls(version=v.version, text=v.text, approved_by=v.approved_by, approved_at=v.approved_at,
                   effective_from=v.effective_from)  # fmt: skip


class AckOut(BaseModel):
    rpps: str
    name: str
    at: datetime | None


class VersionDetailOut(VersionOut):
    acknowledged: list[AckOut]
    pending: list[AckOut]

    @classmethod
    def with_acks(cls, a: Acknowledgements) -> VersionDetailOut:
        return cls(**VersionOut.of(a.version).model_dump(),
                   acknowledged=[AckOut(rpps=x.rpps, name=x.display_name, at=at) for x, at in a.acknowledged],
                   pending=[AckOut(rpps=x.rpps, name=x.display_name, at=None) for x in a.pending])  # fmt: skip


class ProtocolOut(BaseModel):
    id: int
    territory: str
    code: str
    title: str
    kind: str
    activities: list[str]
    establishments: list[str]
    in_force: VersionOut | None
    acknowledged: int
    expected: int

    @classmethod
    def of(cls, s: ProtocolSummary) -> ProtocolOut:
        p = s.protocol
        return cls(id=p.id or 0, territory=p.territory, code=p.code, title=p.title, kind=p.kind.value,
                   activities=list(p.activities), establishments=list(p.establishments),
                   in_force=VersionOut.of(s.current) if s.current else None, acknowledged=s.acknowledged,
                   expected=s.expected)  # fmt: skip


class ProtocolDetailOut(ProtocolOut):
    versions: list[VersionDetailOut]


class InForceOut(BaseModel):
    on: date
    version: VersionOut | None


class VolumeOut(BaseModel):
    category: str
    threshold: int
    performed: int
    planned: int
    unrecorded: int
    projected: float
    meets: bool


class SiteVolumesOut(BaseModel):
    site: str
    name: str
    volumes: list[VolumeOut]


class VolumeReportOut(BaseModel):
    territory: str
    year: int
    as_of: date
    elapsed: int
    days_in_year: int
    horizon: date
    method: str
    sites: list[SiteVolumesOut]


def _detail(c: Container, user: User, protocol_id: int) -> ProtocolDetailOut:
    now = c.clock.now()
    t, p, acks = protocols.get(c.uow(), user, protocol_id, now=now)
    return ProtocolDetailOut(**ProtocolOut.of(protocols.summarise(t, p, acks, now)).model_dump(),
                             versions=[VersionDetailOut.with_acks(acks[v.version]) for v in p.versions])  # fmt: skip


@router.get("/territories/{territory_id}/protocols", response_model=list[ProtocolOut])
def list_protocols(territory_id: str, c: ContainerDep, user: Reader) -> list[ProtocolOut]:
    """The library: each protocol with its version in force today and its acknowledgements."""
    _, lib = protocols.library(c.uow(), user, territory_id, now=c.clock.now())
    return [ProtocolOut.of(s) for s in lib]


@router.post("/territories/{territory_id}/protocols", status_code=201, response_model=ProtocolDetailOut)
def create_protocol(territory_id: str, body: ProtocolIn, request: Request, c: ContainerDep,
                    user: Approver) -> ProtocolDetailOut:  # fmt: skip
    first = NewVersion(body.first_version.text, body.first_version.effective_from) if body.first_version else None
    p = protocols.create(c.uow(), user, territory_id, code=body.code, title=body.title, kind=body.kind,
                         activities_=tuple(body.activities), establishments=tuple(body.establishments), first=first,
                         address=client_address(request), now=c.clock.now())  # fmt: skip
    return _detail(c, user, p.id or 0)


@router.get("/protocols/{protocol_id}", response_model=ProtocolDetailOut)
def get_protocol(protocol_id: int, c: ContainerDep, user: Reader) -> ProtocolDetailOut:
    """One protocol with its whole history and who acknowledged each version."""
    return _detail(c, user, protocol_id)


@router.post("/protocols/{protocol_id}/versions", status_code=201, response_model=VersionOut)
def add_version(protocol_id: int, body: VersionIn, request: Request, c: ContainerDep, user: Approver) -> VersionOut:
    """Approve a new version (earlier versions are never changed)."""
    v = protocols.add_version(c.uow(), user, protocol_id, NewVersion(body.text, body.effective_from),
                              address=client_address(request), now=c.clock.now())  # fmt: skip
    return VersionOut.of(v)


@router.get("/protocols/{protocol_id}/in-force", response_model=InForceOut)
def in_force(protocol_id: int, on: date, c: ContainerDep, user: Reader) -> InForceOut:
    """The version in force on day ``on`` (effective and approved by then); null before the first."""
    v = protocols.in_force_on(c.uow(), user, protocol_id, on, now=c.clock.now())
    return InForceOut(on=on, version=VersionOut.of(v) if v else None)


@router.post("/protocols/{protocol_id}/versions/{version}/acknowledge")
def acknowledge(protocol_id: int, version: int, request: Request, c: ContainerDep,
                user: Practitioner) -> dict[str, bool]:  # fmt: skip
    """The caller (a practitioner) acknowledges the version; ``new`` is false if they already had."""
    new = protocols.acknowledge(c.uow(), user, protocol_id, version, address=client_address(request),
                                now=c.clock.now())  # fmt: skip
    return {"acknowledged": True, "new": new}


@router.get("/territories/{territory_id}/volumes", response_model=VolumeReportOut)
def volume_report(territory_id: str, c: ContainerDep, user: VolumeReader, year: int | None = None) -> VolumeReportOut:
    """Digestive oncological resections per site against the minimum volumes, with the projection."""
    r = volumes.report(c.uow(), user, territory_id, year, now=c.clock.now())
    return VolumeReportOut(
        territory=r.territory, year=r.year, as_of=r.as_of, elapsed=r.elapsed, days_in_year=r.days_in_year,
        horizon=r.horizon, method="performed + planned + performed / elapsed × days after the booking horizon",
        sites=[SiteVolumesOut(site=s.site, name=s.name, volumes=[
            VolumeOut(category=v.category, threshold=v.threshold, performed=v.performed, planned=v.planned,
                      unrecorded=v.unrecorded, projected=v.projected, meets=v.meets) for v in s.volumes])
               for s in r.sites])  # fmt: skip
