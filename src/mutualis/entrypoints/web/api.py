"""The JSON API under /api. Handlers translate HTTP to use cases and back; no rule lives here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm

from mutualis.adapters.territory_file import (
    equipment_document,
    parse_territory,
    practitioner_document,
    territory_document,
)
from mutualis.bootstrap import Container
from mutualis.domain.accounts import ANY_ROLE, Role, User
from mutualis.domain.errors import Problem, ValidationError
from mutualis.domain.territory import Territory
from mutualis.entrypoints.web import schemas as S
from mutualis.entrypoints.web.deps import client_address, get_container, requires
from mutualis.services import accounts, territories

router = APIRouter(prefix="/api")
ContainerDep = Annotated[Container, Depends(get_container)]


@router.post("/token", response_model=S.Token, tags=["accounts"])
def token(request: Request, container: ContainerDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> S.Token:
    """OAuth2 password flow: a bearer token for a username and password."""
    user = accounts.authenticate(
        container.uow(),
        container.hasher,
        form.username,
        form.password,
        address=client_address(request),
        now=container.clock.now(),
    )
    codec = container.tokens
    return S.Token(access_token=codec.issue(user.username, user.role.value), expires_in=codec.minutes * 60)


@router.get("/me", response_model=S.Me, tags=["accounts"])
def me(user: Annotated[User, Depends(requires(*ANY_ROLE))]) -> S.Me:
    return S.Me(
        username=user.username,
        full_name=user.full_name,
        role=user.role.value,
        territory=user.territory,
        establishments=list(user.establishments),
        sites=list(user.sites),
        rpps=user.rpps,
    )


def _read(request: Request, container: Container, user: User, resource: str, territory: str | None) -> list[Territory]:
    return territories.read_territories(
        container.uow(),
        user,
        resource=resource,
        now=container.clock.now(),
        address=client_address(request),
        territory_id=territory,
    )


@router.get("/territories", response_model=list[S.TerritorySummary], tags=["territory"])
def list_territories(
    request: Request, container: ContainerDep, user: Annotated[User, Depends(requires(*ANY_ROLE))]
) -> list[S.TerritorySummary]:
    """The territories the caller may see, cut to their scope."""
    return [
        S.TerritorySummary(
            id=t.id,
            name=t.name,
            sites=len(t.sites),
            equipment=len(t.equipment),
            practitioners=len(t.practitioners),
            conventions=[c.id for c in t.conventions],
        )
        for t in _read(request, container, user, "territory", None)
    ]


@router.get("/territories/{territory_id}", tags=["territory"])
def get_territory(
    territory_id: str, request: Request, container: ContainerDep, user: Annotated[User, Depends(requires(*ANY_ROLE))]
) -> dict[str, Any]:
    """One territory in the territory file's shape, cut to the caller's scope."""
    (t,) = _read(request, container, user, "territory", territory_id)
    return territory_document(t, container.communes)


@router.post("/territories", response_model=S.LoadOut, tags=["territory"])
def load_territory(
    request: Request,
    container: ContainerDep,
    user: Annotated[User, Depends(requires(Role.ADMIN))],
    body: Annotated[str, Body(media_type="application/toml")],
) -> S.LoadOut:
    """Load or update a territory from a territory file's text (TOML); refused whole on any error."""
    t = parse_territory("request body", body, container.communes)
    if user.territory not in (None, t.id):
        raise ValidationError(Problem("territory.id", f"you administer {user.territory!r}, not {t.id!r}"))
    report = territories.load_territory(
        container.uow(),
        t,
        source="api",
        actor=user.username,
        address=client_address(request),
        now=container.clock.now(),
    )
    return S.LoadOut(territory=report.territory, created=report.created, counts=report.counts)


@router.get("/sites", response_model=list[S.SiteOut], tags=["territory"])
def list_sites(
    request: Request,
    container: ContainerDep,
    user: Annotated[User, Depends(requires(*ANY_ROLE))],
    territory: str | None = None,
) -> list[S.SiteOut]:
    """The sites the caller may act on."""
    out = []
    for t in _read(request, container, user, "sites", territory):
        names = {e.finess: e.name for e in t.establishments}
        for s in t.sites:
            c = container.communes.get(s.insee)
            out.append(
                S.SiteOut(
                    territory=t.id,
                    id=s.id,
                    establishment=s.establishment,
                    establishment_name=names[s.establishment],
                    name=s.name,
                    insee=s.insee,
                    commune=c.name if c else None,
                    lat=c.lat if c else None,
                    lon=c.lon if c else None,
                )
            )
    return out


@router.get("/equipment", response_model=list[S.EquipmentOut], tags=["territory"])
def list_equipment(
    request: Request,
    container: ContainerDep,
    user: Annotated[User, Depends(requires(*ANY_ROLE))],
    territory: str | None = None,
    site: str | None = None,
    modality: Annotated[str | None, Query(description="DICOM modality, e.g. MR")] = None,
) -> list[dict[str, Any]]:
    """The equipment on the sites the caller may act on."""
    return [
        {"territory": t.id, **equipment_document(e)}
        for t in _read(request, container, user, "equipment", territory)
        for e in t.equipment
        if (site is None or e.site == site) and (modality is None or (e.modality and e.modality.value == modality))
    ]


@router.get("/practitioners", response_model=list[S.PractitionerOut], tags=["territory"])
def list_practitioners(
    request: Request,
    container: ContainerDep,
    user: Annotated[User, Depends(requires(*ANY_ROLE))],
    territory: str | None = None,
    profession: str | None = None,
) -> list[dict[str, Any]]:
    """Practitioners based at, or privileged on, the sites the caller may act on."""
    return [
        {"territory": t.id, **practitioner_document(p)}
        for t in _read(request, container, user, "practitioners", territory)
        for p in t.practitioners
        if profession is None or p.profession.value == profession
    ]


@router.get("/exams", response_model=list[S.ExamOut], tags=["territory"])
def list_exams(
    request: Request,
    container: ContainerDep,
    user: Annotated[User, Depends(requires(*ANY_ROLE))],
    territory: str | None = None,
    modality: str | None = None,
) -> list[S.ExamOut]:
    """The exam catalogue of the caller's territories."""
    return [
        S.ExamOut(
            territory=t.id,
            code=x.code,
            label=x.label,
            kind=x.kind.value,
            modality=x.modality.value if x.modality else None,
            duration_min=x.duration_min,
            ccam=x.ccam,
            radiologist_on_site=x.radiologist_on_site,
            preparation=x.preparation,
        )
        for t in _read(request, container, user, "exams", territory)
        for x in t.exams
        if modality is None or (x.modality and x.modality.value == modality)
    ]


@router.post("/users", response_model=S.Me, status_code=201, tags=["accounts"])
def add_user(
    body: S.UserIn, request: Request, container: ContainerDep, admin: Annotated[User, Depends(requires(Role.ADMIN))]
) -> S.Me:
    """Create an account (admins only; a territory's admin only in their territory)."""
    try:
        role = Role(body.role)
    except ValueError as exc:
        raise ValidationError(Problem("role", f"unknown role (one of {', '.join(Role)})")) from exc
    if admin.territory not in (None, body.territory):
        raise ValidationError(Problem("territory", f"you administer {admin.territory!r} only"))
    user = accounts.add_user(
        container.uow(),
        container.hasher,
        User(
            username=body.username,
            full_name=body.full_name,
            role=role,
            territory=body.territory,
            establishments=tuple(body.establishments),
            sites=tuple(body.sites),
            rpps=body.rpps,
        ),
        body.password,
        actor=admin.username,
        address=client_address(request),
        now=container.clock.now(),
    )
    return me(user)


@router.get("/audit", response_model=list[S.AuditOut], tags=["accounts"])
def audit(
    request: Request,
    container: ContainerDep,
    admin: Annotated[User, Depends(requires(Role.ADMIN))],
    actor: str | None = None,
    resource: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[S.AuditOut]:
    """The newest lines of the audit trail (admins only)."""
    events = accounts.audit_trail(
        container.uow(),
        actor=actor,
        resource=resource,
        limit=limit,
        reader=admin,
        address=client_address(request),
        now=container.clock.now(),
    )
    return [
        S.AuditOut(
            id=e.id,
            at=e.at.isoformat(),
            actor=e.actor,
            action=e.action.value,
            resource=e.resource,
            resource_id=e.resource_id,
            territory=e.territory,
            address=e.address,
            outcome=e.outcome,
            detail=e.detail,
        )
        for e in events
    ]
