"""The coordinator's planning pages, in French: run the week optimiser, see a proposal as a
diff against the current plan (figures and their gains, a site × day calendar of what moves,
each change with its reason), apply it in one transaction or reject it.

Handlers only translate HTTP; :mod:`mutualis.services.schedule` does the work and the
auditing; :mod:`.schedule_fr` the French presentation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import MutualisError, NotFound, PermissionDenied
from mutualis.entrypoints.web.deps import client_address, get_container, page_user
from mutualis.entrypoints.web.errors import HTML_MESSAGES
from mutualis.entrypoints.web.pages import ROLE_FR, error_page, templates
from mutualis.entrypoints.web.refusals import refusal_fr, status_of, territory_for
from mutualis.entrypoints.web.schedule_fr import SOLVER_FR, STATUS_FR, changes_view, day_fr, gains
from mutualis.services import booking, schedule

router = APIRouter(include_in_schema=False)
ContainerDep = Annotated[Container, Depends(get_container)]
Planner = Annotated[User, Depends(page_user(Role.COORDINATOR, Role.ADMIN))]
NOTICES = {"appliquee": "La proposition est appliquée : les rendez-vous sont déplacés et réservés.",
           "rejetee": "La proposition est rejetée : le plan reste tel quel."}  # fmt: skip





def _index(request: Request, c: Container, user: User, *, message: str | None = None, status: int = 200,
           form: dict[str, Any] | None = None) -> Response:  # fmt: skip
    now = c.clock.now()
    territory_id = territory_for(c, user)
    with c.uow() as uow:
        t = uow.territories.get(territory_id)
    if t is None:
        return error_page(request, 404, HTML_MESSAGES[404])
    history = schedule.proposals(c.uow(), user, t.id, now=now)
    today = booking.to_local(now, t).date()
    return templates.TemplateResponse(request, "planification.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "history": history, "status_fr": STATUS_FR,
        "solver_fr": SOLVER_FR, "day_fr": day_fr, "message": message,
        "form": form or {"debut": today.isoformat(), "jours": 7, "duree": 20},
        "announce_until": (today + timedelta(days=6)).isoformat(), "today": today.isoformat(),
    }, status_code=status)


@router.get("/planification", response_class=HTMLResponse)
def planning_page(request: Request, c: ContainerDep, user: Planner) -> Response:
    return _index(request, c, user)


@router.post("/planification")
def run_optimiser(request: Request, c: ContainerDep, user: Planner, debut: Annotated[str, Form()],
                  jours: Annotated[int, Form()] = 7, duree: Annotated[float, Form()] = 20) -> Response:  # fmt: skip
    form = {"debut": debut, "jours": jours, "duree": duree}
    try:
        start = date.fromisoformat(debut)
    except ValueError:
        return _index(request, c, user, message="Refusé : la date de début n'est pas une date.", status=422, form=form)
    if not 1 <= duree <= 300:
        return _index(request, c, user, message="Refusé : la durée de calcul va de 1 à 300 secondes.", status=422,
                      form=form)
    try:
        pid = schedule.optimize(c.uow(), user, territory_for(c, user), c.communes, start, jours, time_limit_s=duree,
                                address=client_address(request), now=c.clock.now())  # fmt: skip
    except MutualisError as exc:
        return _index(request, c, user, message=refusal_fr(exc), status=status_of(exc), form=form)
    return RedirectResponse(f"/planification/{pid}", status_code=303)


@router.post("/planification/annoncer")
def announce(request: Request, c: ContainerDep, user: Planner, debut: Annotated[str, Form()],
             fin: Annotated[str, Form()]) -> Response:  # fmt: skip
    try:
        n = schedule.announce(c.uow(), user, territory_for(c, user), date.fromisoformat(debut),
                              date.fromisoformat(fin), address=client_address(request), now=c.clock.now())  # fmt: skip
    except ValueError:
        return _index(request, c, user, message="Refusé : dates invalides.", status=422)
    except MutualisError as exc:
        return _index(request, c, user, message=refusal_fr(exc), status=status_of(exc))
    return _index(request, c, user, message=f"{n} rendez-vous marqués comme annoncés aux patients : l'optimiseur ne "
                                            "les déplacera plus.")


def _proposal(request: Request, c: Container, user: User, pid: int, *, message: str | None = None,
              notice: str | None = None, status: int = 200) -> Response:  # fmt: skip
    try:
        t, p, changes = schedule.proposal(c.uow(), user, pid, address=client_address(request), now=c.clock.now())
    except (NotFound, PermissionDenied) as exc:
        return error_page(request, status_of(exc), HTML_MESSAGES[status_of(exc)])
    calendar, groups = changes_view(t, p, changes)
    return templates.TemplateResponse(request, "planification_proposition.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "p": p, "gains": gains(p), "calendar": calendar,
        "groups": groups, "count": len(changes), "day_fr": day_fr, "status_fr": STATUS_FR, "solver_fr": SOLVER_FR,
        "moved_site": sum(r.moved_site for _, rows in groups for r in rows),
        "new": sum(1 for c in changes if c["before_equipment"] is None),
        "message": message, "notice": notice,
        "end": p.start + timedelta(days=p.days - 1),
    }, status_code=status)


@router.get("/planification/{pid}", response_class=HTMLResponse)
def proposal_page(pid: int, request: Request, c: ContainerDep, user: Planner, info: str = "") -> Response:
    return _proposal(request, c, user, pid, notice=NOTICES.get(info))


@router.post("/planification/{pid}/appliquer")
def apply(pid: int, request: Request, c: ContainerDep, user: Planner) -> Response:
    try:
        schedule.apply(c.uow(), user, pid, c.communes, address=client_address(request), now=c.clock.now())
    except MutualisError as exc:
        return _proposal(request, c, user, pid, message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/planification/{pid}?info=appliquee", status_code=303)


@router.post("/planification/{pid}/rejeter")
def reject(pid: int, request: Request, c: ContainerDep, user: Planner) -> Response:
    try:
        schedule.reject(c.uow(), user, pid, address=client_address(request), now=c.clock.now())
    except MutualisError as exc:
        return _proposal(request, c, user, pid, message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/planification/{pid}?info=rejetee", status_code=303)
