"""The federation's protocol library and its oncological surgery volumes, in French: the list
of protocols (kind, establishments, version in force, acknowledgements), one protocol with its
version history as a timeline, the version in force on a chosen day, « J'ai pris connaissance »
for practitioners, new protocols and versions for coordinators; the volumes page as a bar
chart per site against the minimum thresholds.

Handlers only translate HTTP; :mod:`mutualis.services.protocols` and
:mod:`mutualis.services.volumes` do the work and the auditing; :mod:`.protocols_fr` the French
presentation."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mutualis.bootstrap import Container
from mutualis.domain.accounts import ANY_ROLE, Role, User
from mutualis.domain.errors import MutualisError, NotFound, PermissionDenied, ValidationError
from mutualis.domain.territory import Platform
from mutualis.entrypoints.web.deps import client_address, get_container, page_user
from mutualis.entrypoints.web.errors import HTML_MESSAGES
from mutualis.entrypoints.web.pages import ROLE_FR, error_page, templates
from mutualis.entrypoints.web.protocols_fr import (
    CATEGORY_FR,
    KIND_FR,
    PLATFORM_FR,
    STATE_FR,
    activity_fr,
    date_fr,
    establishment_fr,
    site_chart,
    timeline,
    when_fr,
)
from mutualis.entrypoints.web.refusals import refusal_fr, status_of, territory_for
from mutualis.services import protocols, volumes
from mutualis.services.protocols import NewVersion

router = APIRouter(include_in_schema=False)
ContainerDep = Annotated[Container, Depends(get_container)]
Member = Annotated[User, Depends(page_user(*ANY_ROLE))]
VolumeReader = Annotated[User, Depends(page_user(*volumes.READERS))]
APPROVERS = (Role.COORDINATOR, Role.ADMIN)
NOTICES = {"cree": "Le protocole est créé.", "version": "La nouvelle version est approuvée et enregistrée.",
           "lu": "Votre prise de connaissance est enregistrée."}  # fmt: skip
FIELDS_FR = {"code": "code", "title": "titre", "kind": "type", "establishments": "établissements",
             "activities": "activités", "text": "texte", "effective_from": "date d'application"}  # fmt: skip






def _home(c: Container, user: User, wanted: str = "") -> str:
    return territory_for(c, user, wanted, default="vienne-fmih")

def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _common(user: User) -> dict[str, Any]:
    return {"user": user, "role_fr": ROLE_FR, "kind_fr": KIND_FR, "state_fr": STATE_FR, "date_fr": date_fr,
            "approver": user.role in APPROVERS}  # fmt: skip


def _library(request: Request, c: Container, user: User, *, territoire: str = "", message: str | None = None,
             notice: str | None = None, status: int = 200, form: dict[str, Any] | None = None) -> Response:  # fmt: skip
    now = c.clock.now()
    try:
        t, lib = protocols.library(c.uow(), user, _home(c, user, territoire), now=now)
    except (NotFound, PermissionDenied) as exc:
        return error_page(request, status_of(exc), HTML_MESSAGES[status_of(exc)])
    today = protocols.today(t, now)
    upcoming = {s.protocol.id: v for s in lib for v in s.protocol.versions
                if s.current is None or v.version > s.current.version}  # fmt: skip
    return templates.TemplateResponse(request, "protocoles.html", {
        **_common(user), "t": t, "lib": lib, "upcoming": upcoming, "today": today,
        "activity_fr": lambda code: activity_fr(t, code), "establishment_fr": lambda f: establishment_fr(t, f),
        "platforms": [(p.value, PLATFORM_FR[p.value]) for p in Platform],
        "exams": [x for x in t.exams if x.kind.value in ("theatre", "endoscopy", "imaging")],
        "message": message, "notice": notice,
        "form": form or {"kind": "care", "effective_from": today.isoformat(), "establishments": [],
                         "activities": []},
    }, status_code=status)


@router.get("/protocoles", response_class=HTMLResponse)
def library_page(request: Request, c: ContainerDep, user: Member, territoire: str = "", info: str = "") -> Response:
    return _library(request, c, user, territoire=territoire, notice=NOTICES.get(info))


@router.post("/protocoles")
async def create_protocol(request: Request, c: ContainerDep, user: Member) -> Response:
    data = await request.form()
    form: dict[str, Any] = {k: str(data.get(k, "")) for k in ("code", "title", "kind", "text", "effective_from",
                                                               "territoire")}  # fmt: skip
    form["establishments"] = [str(x) for x in data.getlist("establishments")]
    form["activities"] = [str(x) for x in data.getlist("activities")]
    territory_id = territory_for(c, user, form["territoire"], default="vienne-fmih")
    try:
        p = protocols.create(c.uow(), user, territory_id, code=form["code"], title=form["title"], kind=form["kind"],
                             activities_=tuple(form["activities"]), establishments=tuple(form["establishments"]),
                             first=NewVersion(form["text"], _date(form["effective_from"])),
                             address=client_address(request), now=c.clock.now())  # fmt: skip
    except MutualisError as exc:
        return _library(request, c, user, territoire=territory_id, message=refusal_fr(exc, FIELDS_FR),
                        status=status_of(exc), form=form)
    return RedirectResponse(f"/protocoles/{p.id}?info=cree", status_code=303)


def _protocol(request: Request, c: Container, user: User, pid: int, *, le: str = "", message: str | None = None,
              notice: str | None = None, status: int = 200,
              form: dict[str, Any] | None = None) -> Response:  # fmt: skip
    now = c.clock.now()
    try:
        t, p, acks = protocols.get(c.uow(), user, pid, now=now)
    except (NotFound, PermissionDenied) as exc:
        return error_page(request, status_of(exc), HTML_MESSAGES[status_of(exc)])
    today = protocols.today(t, now)
    on = _date(le) or today
    tz = ZoneInfo(t.timezone)
    items = timeline(t, p, acks, today, user.rpps)
    current = p.in_force(today, tz)
    return templates.TemplateResponse(request, "protocole.html", {
        **_common(user), "t": t, "p": p, "items": items, "on": on, "today": today,
        "chosen": p.in_force(on, tz), "current": current, "bad_date": bool(le) and _date(le) is None,
        "activity_fr": lambda code: activity_fr(t, code), "establishment_fr": lambda f: establishment_fr(t, f),
        "when_fr": lambda dt: when_fr(dt, t), "message": message, "notice": notice,
        "form": form or {"text": p.latest.text if p.latest else "", "effective_from": today.isoformat()},
    }, status_code=status)


@router.get("/protocoles/{pid}", response_class=HTMLResponse)
def protocol_page(pid: int, request: Request, c: ContainerDep, user: Member, le: str = "", info: str = "") -> Response:
    return _protocol(request, c, user, pid, le=le, notice=NOTICES.get(info))


@router.post("/protocoles/{pid}/versions")
def add_version(pid: int, request: Request, c: ContainerDep, user: Member, texte: Annotated[str, Form()] = "",
                applicable: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    try:
        protocols.add_version(c.uow(), user, pid, NewVersion(texte, _date(applicable)),
                              address=client_address(request), now=c.clock.now())  # fmt: skip
    except MutualisError as exc:
        return _protocol(request, c, user, pid, message=refusal_fr(exc, FIELDS_FR), status=status_of(exc),
                         form={"text": texte, "effective_from": applicable})  # fmt: skip
    return RedirectResponse(f"/protocoles/{pid}?info=version", status_code=303)


@router.post("/protocoles/{pid}/versions/{version}/prise-de-connaissance")
def acknowledge(pid: int, version: int, request: Request, c: ContainerDep, user: Member) -> Response:
    try:
        protocols.acknowledge(c.uow(), user, pid, version, address=client_address(request), now=c.clock.now())
    except MutualisError as exc:
        return _protocol(request, c, user, pid, message=refusal_fr(exc, FIELDS_FR), status=status_of(exc))
    return RedirectResponse(f"/protocoles/{pid}?info=lu", status_code=303)


@router.get("/volumes", response_class=HTMLResponse)
def volumes_page(request: Request, c: ContainerDep, user: VolumeReader, annee: str = "",
                 territoire: str = "") -> Response:  # fmt: skip
    year = int(annee) if annee.isdigit() else None
    try:
        r = volumes.report(c.uow(), user, _home(c, user, territoire), year, now=c.clock.now())
    except (NotFound, PermissionDenied) as exc:
        return error_page(request, status_of(exc), HTML_MESSAGES[status_of(exc)])
    except ValidationError:
        return error_page(request, 422, "Année invalide : choisissez une année entre 2000 et 2100.")
    with c.uow() as uow:
        t = uow.territories.get(r.territory)
    return templates.TemplateResponse(request, "volumes.html", {
        **_common(user), "t": t, "r": r, "charts": [site_chart(s) for s in r.sites], "category_fr": CATEGORY_FR,
        "beyond": (date(r.year, 12, 31) - r.horizon).days, "thresholds": volumes.THRESHOLDS,
    })
