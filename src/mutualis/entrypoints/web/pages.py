"""HTML pages, in French, for the people who run the platform."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mutualis.bootstrap import Container
from mutualis.domain.accounts import ANY_ROLE, User
from mutualis.domain.errors import AuthenticationError
from mutualis.domain.territory import EquipmentKind
from mutualis.entrypoints.web.deps import SESSION_COOKIE, client_address, get_container, page_user
from mutualis.entrypoints.web.maps import site_map, week_bars
from mutualis.services import accounts, territories

templates = Jinja2Templates(directory=str(resources.files("mutualis") / "entrypoints" / "web" / "templates"))
router = APIRouter(include_in_schema=False)
ContainerDep = Annotated[Container, Depends(get_container)]
ROLE_FR = {
    "booking_agent": "secrétariat / prise de rendez-vous",
    "radiographer": "manipulateur (MERM)",
    "radiologist": "radiologue",
    "coordinator": "coordination",
    "federation_surgeon": "chirurgien de la fédération",
    "admin": "administration",
}
KIND_FR = {
    EquipmentKind.IMAGING: "imagerie",
    EquipmentKind.THEATRE: "bloc opératoire",
    EquipmentKind.ENDOSCOPY: "endoscopie",
}


def error_page(request: Request, status: int, message: str) -> Response:
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message, "user": None},
                                      status_code=status)


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/connexion", response_class=HTMLResponse)
def login_form(request: Request, suite: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"suite": _safe_next(suite), "error": None})


@router.post("/connexion")
def login(
    request: Request,
    container: ContainerDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    suite: Annotated[str, Form()] = "/",
) -> Response:
    try:
        user = accounts.authenticate(
            container.uow(),
            container.hasher,
            username,
            password,
            address=client_address(request),
            now=container.clock.now(),
        )
    except AuthenticationError:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"suite": _safe_next(suite), "error": "Identifiant ou mot de passe incorrect."},
            status_code=401,
        )
    codec = container.tokens
    response = RedirectResponse(_safe_next(suite), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        codec.issue(user.username, user.role.value),
        max_age=codec.minutes * 60,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/deconnexion")
def logout() -> Response:
    response = RedirectResponse("/connexion", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, container: ContainerDep, user: Annotated[User, Depends(page_user(*ANY_ROLE))]) -> Response:
    seen = territories.read_territories(
        container.uow(), user, resource="territory", now=container.clock.now(), address=client_address(request)
    )
    if len(seen) == 1:
        return RedirectResponse(f"/territoires/{seen[0].id}", status_code=303)
    return templates.TemplateResponse(request, "home.html", {"user": user, "territories": seen, "role_fr": ROLE_FR})


@router.get("/territoires/{territory_id}", response_class=HTMLResponse)
def territory_page(
    territory_id: str, request: Request, container: ContainerDep, user: Annotated[User, Depends(page_user(*ANY_ROLE))]
) -> Response:
    (t,) = territories.read_territories(
        container.uow(),
        user,
        resource="territory",
        now=container.clock.now(),
        address=client_address(request),
        territory_id=territory_id,
    )
    communes = container.communes
    establishments = {e.finess: e for e in t.establishments}
    the_map = site_map(t, communes)
    colours = {m.site_id: m.colour for m in the_map.markers}
    sites = [
        {
            "site": s,
            "establishment": establishments[s.establishment],
            "commune": communes.get(s.insee),
            "colour": colours.get(s.id, "#6e7781"),
            "equipment": [
                {"e": e, "week": week_bars(e), "kind": KIND_FR[e.kind]} for e in t.equipment if e.site == s.id
            ],
        }
        for s in t.sites
    ]
    today = container.clock.now().date()
    return templates.TemplateResponse(
        request,
        "territory.html",
        {
            "user": user,
            "role_fr": ROLE_FR,
            "t": t,
            "map": the_map,
            "sites": sites,
            "establishments": establishments,
            "today": today,
            "practitioner_count": len(t.practitioners),
            "exam_count": len(t.exams),
        },
    )
