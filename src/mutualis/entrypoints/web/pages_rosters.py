"""Roster pages, in French: the month by person (grid and counters), by site, the on-call rota,
one person's month with their iCalendar, leave and swap requests with the coordinator's
approval, and, for coordinators, building and publishing a roster.

Handlers only translate HTTP; :mod:`mutualis.services.rosters` does the work and the auditing;
:mod:`.rosters_fr` the French presentation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import MutualisError, NotFound, PermissionDenied
from mutualis.domain.rosters import Leave, LeaveStatus
from mutualis.entrypoints.web.deps import client_address, get_container, page_user
from mutualis.entrypoints.web.errors import HTML_MESSAGES
from mutualis.entrypoints.web.pages import ROLE_FR, error_page, templates
from mutualis.entrypoints.web.refusals import refusal_fr, status_of, territory_for
from mutualis.entrypoints.web.rosters_fr import (
    DAYS_FR,
    grid,
    month_days,
    month_fr,
    month_of,
    on_call_calendar,
    person_calendar,
    site_calendar,
)
from mutualis.services import booking, rosters

router = APIRouter(include_in_schema=False)
ContainerDep = Annotated[Container, Depends(get_container)]
Member = Annotated[User, Depends(page_user(Role.COORDINATOR, Role.ADMIN, Role.RADIOLOGIST, Role.RADIOGRAPHER))]
Planner = Annotated[User, Depends(page_user(Role.COORDINATOR, Role.ADMIN))]
VIEWS = ("personnes", "site", "gardes", "demandes")
NOTICES = {"publie": "Le planning est publié : il devient le tableau de présence (réservation et lecture le suivent).",
           "conge": "La demande de congé est enregistrée.", "echange": "La demande d'échange est enregistrée.",
           "decide": "La décision est enregistrée."}  # fmt: skip






def _home(c: Container, user: User, wanted: str = "") -> str:
    return territory_for(c, user, wanted, default="aveyron-pimm")

def _page(request: Request, c: Container, user: User, *, mois: str = "", vue: str = "personnes", site: str = "",
          roster: int | None = None, message: str | None = None, notice: str | None = None,
          status: int = 200) -> Response:  # fmt: skip
    territory_id = _home(c, user)
    now = c.clock.now()
    with c.uow() as uow:
        t = uow.territories.get(territory_id)
    if t is None:
        return error_page(request, 404, HTML_MESSAGES[404])
    today = booking.to_local(now, t).date()
    first = month_of(mois, today)
    try:
        if roster is not None:
            with c.uow() as uow:
                run = uow.rosters.run(roster)
            if run is None or run["territory_id"] != t.id:
                return error_page(request, 404, HTML_MESSAGES[404])
            v = rosters.view(c.uow(), user, t.id, run["start_day"], run["days"], run_id=roster)
        else:
            v = rosters.view(c.uow(), user, t.id, first, month_days(first))
    except (PermissionDenied, NotFound) as exc:
        return error_page(request, status_of(exc), HTML_MESSAGES[status_of(exc)])
    planner = user.role in (Role.COORDINATOR, Role.ADMIN)
    imaging = [s for s in t.sites if any(e.site == s.id and e.modality for e in t.equipment)]
    site = site if site in {s.id for s in imaging} else (imaging[0].id if imaging else "")
    run_id = int(str(v.run["id"])) if v.run else None
    names = {p.rpps: p.name for p in v.people}
    context: dict[str, Any] = {
        "user": user, "role_fr": ROLE_FR, "t": t, "v": v, "vue": vue if vue in VIEWS else "personnes",
        "grid": grid(v), "mois": f"{first:%Y-%m}", "mois_fr": month_fr(first),
        "prev": f"{(first - timedelta(days=1)):%Y-%m}", "next": f"{(first + timedelta(days=31)):%Y-%m}",
        "draft": roster is not None and v.run is not None and v.run["status"] == "draft", "planner": planner,
        "sites": imaging, "site": site, "days_fr": DAYS_FR, "names": names, "run_id": run_id,
        "site_weeks": site_calendar(v, site) if roster is None else [],
        "garde_weeks": on_call_calendar(v) if roster is None else [],
        "leave": [x for x in v.leave], "swaps": rosters.swaps(c.uow(), user, run_id) if run_id else [],
        "people": sorted(v.people, key=lambda p: p.name.split()[-1]), "me": user.rpps,
        "message": message, "notice": notice, "today": today.isoformat(),
        "next_month": (first + timedelta(days=month_days(first))).isoformat(),
        "runs": rosters.runs(c.uow(), user, t.id)[:8] if planner else [],
    }
    return templates.TemplateResponse(request, "equipes.html", context, status_code=status)


@router.get("/equipes", response_class=HTMLResponse)
def rosters_page(request: Request, c: ContainerDep, user: Member, mois: str = "", vue: str = "personnes",
                 site: str = "", roster: int | None = None, info: str = "") -> Response:  # fmt: skip
    return _page(request, c, user, mois=mois, vue=vue, site=site, roster=roster, notice=NOTICES.get(info))


@router.get("/equipes/personne/{rpps}", response_class=HTMLResponse)
def person_page(rpps: str, request: Request, c: ContainerDep, user: Member, mois: str = "") -> Response:
    territory_id = _home(c, user)
    with c.uow() as uow:
        t = uow.territories.get(territory_id)
    if t is None:
        return error_page(request, 404, HTML_MESSAGES[404])
    first = month_of(mois, booking.to_local(c.clock.now(), t).date())
    v = rosters.view(c.uow(), user, t.id, first, month_days(first))
    person = next((p for p in v.people if p.rpps == rpps), None)
    if person is None:
        return error_page(request, 404, HTML_MESSAGES[404])
    c_ = v.counters.get(rpps)
    return templates.TemplateResponse(request, "equipes_personne.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "p": person, "weeks": person_calendar(v, rpps),
        "days_fr": DAYS_FR, "mois": f"{first:%Y-%m}", "mois_fr": month_fr(first), "c": c_,
        "prev": f"{(first - timedelta(days=1)):%Y-%m}", "next": f"{(first + timedelta(days=31)):%Y-%m}",
        "hours_pct": min(100, round(100 * (c_.weekly_hours if c_ else 0) / 48)),
    })


@router.get("/equipes/personne/{rpps}/planning.ics")
def person_ical(rpps: str, c: ContainerDep, user: Member, mois: str = "") -> Response:
    territory_id = _home(c, user)
    if user.role not in (Role.COORDINATOR, Role.ADMIN) and user.rpps != rpps:
        return Response("Votre propre planning seulement.", status_code=403)
    with c.uow() as uow:
        t = uow.territories.get(territory_id)
    if t is None:
        return Response(status_code=404)
    first = month_of(mois, booking.to_local(c.clock.now(), t).date())
    v = rosters.view(c.uow(), user, t.id, first, 62)
    return Response(rosters.ical(v, rpps), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="planning-{rpps}.ics"'})  # fmt: skip


@router.post("/equipes/construire")
def build(request: Request, c: ContainerDep, user: Planner, debut: Annotated[str, Form()],
          jours: Annotated[int, Form()] = 28, duree: Annotated[float, Form()] = 30) -> Response:  # fmt: skip
    try:
        start = date.fromisoformat(debut)
    except ValueError:
        return _page(request, c, user, vue="personnes", message="Refusé : la date de début n'est pas une date.",
                     status=422)  # fmt: skip
    try:
        rid = rosters.solve_roster(c.uow(), user, _home(c, user), start, jours,
                                   time_limit_s=max(5.0, min(duree, 300.0)), address=client_address(request),
                                   now=c.clock.now())  # fmt: skip
    except MutualisError as exc:
        return _page(request, c, user, mois=f"{start:%Y-%m}", message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/equipes?roster={rid}", status_code=303)


@router.post("/equipes/{rid}/publier")
def publish(rid: int, request: Request, c: ContainerDep, user: Planner) -> Response:
    try:
        rosters.publish(c.uow(), user, rid, address=client_address(request), now=c.clock.now())
        with c.uow() as uow:
            run = uow.rosters.run(rid)
    except MutualisError as exc:
        return _page(request, c, user, roster=rid, message=refusal_fr(exc), status=status_of(exc))
    month = f"{run['start_day']:%Y-%m}" if run else ""
    return RedirectResponse(f"/equipes?mois={month}&info=publie", status_code=303)


@router.post("/equipes/conges")
def ask_leave(request: Request, c: ContainerDep, user: Member, debut: Annotated[str, Form()],
              fin: Annotated[str, Form()], motif: Annotated[str, Form()] = "",
              rpps: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    who = rpps if user.role in (Role.COORDINATOR, Role.ADMIN) and rpps else (user.rpps or "")
    try:
        leave = Leave(who, date.fromisoformat(debut), date.fromisoformat(fin), motif, LeaveStatus.REQUESTED)
        rosters.request_leave(c.uow(), user, _home(c, user), leave, address=client_address(request),
                              now=c.clock.now())  # fmt: skip
    except ValueError:
        return _page(request, c, user, vue="demandes", message="Refusé : dates invalides.", status=422)
    except MutualisError as exc:
        return _page(request, c, user, vue="demandes", message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/equipes?vue=demandes&mois={debut[:7]}&info=conge", status_code=303)


@router.post("/equipes/conges/{lid}/{decision}")
def decide_leave(lid: int, decision: str, request: Request, c: ContainerDep, user: Planner,
                 mois: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    return _decide(request, c, user, decision, mois, lambda approve, address: rosters.decide_leave(
        c.uow(), user, lid, approve, address=address, now=c.clock.now()))  # fmt: skip


def _decide(request: Request, c: Container, user: User, decision: str, mois: str,
            act: Callable[[bool, str | None], None]) -> Response:  # fmt: skip
    """A coordinator's « accorder » or « refuser » on a leave or swap request."""
    if decision not in ("accorder", "refuser"):
        return error_page(request, 404, HTML_MESSAGES[404])
    try:
        act(decision == "accorder", client_address(request))
    except MutualisError as exc:
        return _page(request, c, user, mois=mois, vue="demandes", message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/equipes?vue=demandes&mois={mois}&info=decide", status_code=303)


@router.post("/equipes/echanges")
def ask_swap(request: Request, c: ContainerDep, user: Member, roster: Annotated[int, Form()],
             jour: Annotated[str, Form()], avec: Annotated[str, Form()],
             rpps: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    who = rpps if user.role in (Role.COORDINATOR, Role.ADMIN) and rpps else (user.rpps or "")
    try:
        rosters.request_swap(c.uow(), user, roster, date.fromisoformat(jour), who, avec,
                             address=client_address(request), now=c.clock.now())  # fmt: skip
    except ValueError:
        return _page(request, c, user, vue="demandes", message="Refusé : date invalide.", status=422)
    except MutualisError as exc:
        return _page(request, c, user, vue="demandes", message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/equipes?vue=demandes&mois={jour[:7]}&info=echange", status_code=303)


@router.post("/equipes/echanges/{sid}/{decision}")
def decide_swap(sid: int, decision: str, request: Request, c: ContainerDep, user: Planner,
                mois: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    return _decide(request, c, user, decision, mois, lambda approve, address: rosters.decide_swap(
        c.uow(), user, sid, approve, address=address, now=c.clock.now()))  # fmt: skip
