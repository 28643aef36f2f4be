"""The federation's pages, in French, for its surgeons and coordinator: the two-site theatre
week (with the cancer cases booked without a tumour-board decision flagged), the referrals
board and each referral's path, the tumour boards' agenda and decisions.

Handlers only translate HTTP; :mod:`mutualis.services.federation` does the work and audits;
:mod:`.federation_fr` the French presentation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import MutualisError, NotFound, PermissionDenied
from mutualis.domain.federation import (
    REFERRAL_STEPS,
    Attendee,
    BoardCase,
    Referral,
    ReferralReason,
    ReferralStatus,
    SurgicalCase,
    TumourBoard,
    Urgency,
)
from mutualis.domain.territory import EquipmentKind
from mutualis.entrypoints.web.deps import client_address, get_container, page_user
from mutualis.entrypoints.web.errors import HTML_MESSAGES
from mutualis.entrypoints.web.federation_fr import (
    DAYS_FR,
    NEXT_FR,
    PRIORITY_FR,
    REASON_FR,
    STATUS_FR,
    URGENCY_FR,
    board_columns,
    due_fr,
    week_grid,
)
from mutualis.entrypoints.web.pages import ROLE_FR, error_page, templates
from mutualis.entrypoints.web.refusals import refusal_fr, status_of, territory_for
from mutualis.services import booking, federation, theatres

router = APIRouter(include_in_schema=False)
ContainerDep = Annotated[Container, Depends(get_container)]
Member = Annotated[User, Depends(page_user(Role.FEDERATION_SURGEON, Role.COORDINATOR, Role.ADMIN))]
NOTICES = {"envoye": "L'adressage est envoyé à l'équipe receveuse.", "etape": "L'adressage avance d'une étape.",
           "programme": "L'intervention est programmée.", "decision": "La décision de RCP est enregistrée et "
           "transmise au médecin adressant.", "rcp": "La RCP est ajoutée à l'agenda.",
           "presente": "Le dossier est inscrit à la RCP.",
           "planifie": "Les interventions proposées par le planificateur sont programmées."}  # fmt: skip






def _home(c: Container, user: User, wanted: str = "") -> str:
    return territory_for(c, user, wanted, default="vienne-fmih")

def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _page(request: Request, c: Container, user: User, *, vue: str = "blocs", semaine: str = "",
          message: str | None = None, notice: str | None = None, status: int = 200) -> Response:  # fmt: skip
    now = c.clock.now()
    territory_id = _home(c, user)
    with c.uow() as uow:
        t = uow.territories.get(territory_id)
    if t is None:
        return error_page(request, 404, HTML_MESSAGES[404])
    today = booking.to_local(now, t).date()
    try:
        week = _monday(date.fromisoformat(semaine)) if semaine else _monday(today)
    except ValueError:
        week = _monday(today)
    try:
        o = federation.overview(c.uow(), user, t.id, week, address=client_address(request), now=now)
        patients = federation.known_patients(c.uow(), user, t.id, address=client_address(request), now=now) \
            if vue == "adressages" else []
    except (PermissionDenied, NotFound) as exc:
        return error_page(request, status_of(exc), HTML_MESSAGES[status_of(exc)])
    days, rooms = week_grid(o)
    sites = {s.id: s.name for s in t.sites}
    people = {p.rpps: f"Dr {p.first_name} {p.last_name}" for p in t.practitioners}
    surgeons = [p for p in t.practitioners if p.profession.value == "surgeon"]
    context: dict[str, Any] = {
        "user": user, "role_fr": ROLE_FR, "t": t, "o": o, "vue": vue, "days": days, "rooms": rooms,
        "semaine": week.isoformat(), "prev": (week - timedelta(days=7)).isoformat(),
        "next": (week + timedelta(days=7)).isoformat(), "columns": board_columns(o), "sites": sites,
        "people": people, "surgeons": surgeons, "patients": patients, "status_fr": STATUS_FR,
        "reason_fr": REASON_FR, "urgency_fr": URGENCY_FR, "priority_fr": PRIORITY_FR,
        "due": lambda r: due_fr(r, now), "now": now,
        "flagged": [x for x, flag in o.week.waiting if flag] + [x for _, x, flag in o.week.bookings if flag],
        "message": message, "notice": notice, "my_sites": sorted(o.sites), "today": today.isoformat(),
        "exams": {x.code: x.label for x in t.exams},
    }
    return templates.TemplateResponse(request, "federation.html", context, status_code=status)


@router.get("/federation", response_class=HTMLResponse)
def federation_page(request: Request, c: ContainerDep, user: Member, vue: str = "blocs", semaine: str = "",
                    info: str = "") -> Response:  # fmt: skip
    return _page(request, c, user, vue=vue, semaine=semaine, notice=NOTICES.get(info))


@router.post("/federation/adressages")
def send(request: Request, c: ContainerDep, user: Member, patient_id: Annotated[int, Form()],
         vers: Annotated[str, Form()], motif: Annotated[str, Form()], urgence: Annotated[str, Form()],
         resume: Annotated[str, Form()], documents: Annotated[str, Form()] = "",
         de: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    tid = _home(c, user)
    try:
        with c.uow() as uow:
            t = uow.territories.get(tid)
        assert t is not None
        from_site = de or next((s.id for s in t.sites if s.id != vers), "")
        r = Referral(tid, patient_id, from_site, vers, user.rpps or "", ReferralReason(motif), Urgency(urgence),
                     resume, tuple(d.strip() for d in documents.split(",") if d.strip()))  # fmt: skip
        rid = federation.send_referral(c.uow(), user, r, address=client_address(request), now=c.clock.now())
    except ValueError:
        return _page(request, c, user, vue="adressages", message="Refusé : motif ou urgence inconnus.", status=422)
    except MutualisError as exc:
        return _page(request, c, user, vue="adressages", message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/federation/adressages/{rid}?info=envoye", status_code=303)


def _referral_page(request: Request, c: Container, user: User, rid: int, *, message: str | None = None,
                   notice: str | None = None, status: int = 200) -> Response:  # fmt: skip
    now = c.clock.now()
    try:
        page = federation.referral_page(c.uow(), user, rid, address=client_address(request), now=now)
    except (NotFound, PermissionDenied) as exc:
        return error_page(request, status_of(exc), HTML_MESSAGES[status_of(exc)])
    t, r, patient, receiving = page.territory, page.referral, page.patient, page.receiving
    cases = [x for x, _ in page.cases]
    bookings = {x.id: b for x, b in page.cases}
    theatres = [e for e in t.equipment if e.kind is EquipmentKind.THEATRE and e.site == r.to_site]
    return templates.TemplateResponse(request, "federation_adressage.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "r": r, "patient": patient, "cases": cases, "bookings": bookings,
        "theatres": theatres, "sites": {s.id: s.name for s in t.sites}, "status_fr": STATUS_FR, "next_fr": NEXT_FR,
        "reason_fr": REASON_FR, "urgency_fr": URGENCY_FR, "priority_fr": PRIORITY_FR,
        "steps": [s.value for s in REFERRAL_STEPS[r.status] if s is not ReferralStatus.SURGERY],
        "receiving": receiving, "due": due_fr(r, now), "overdue": r.overdue(now),
        "surgeons": [p for p in t.practitioners if p.profession.value == "surgeon"],
        "procedures": [x for x in t.exams if x.kind is EquipmentKind.THEATRE],
        "people": {p.rpps: f"Dr {p.first_name} {p.last_name}" for p in t.practitioners},
        "local": lambda dt: booking.to_local(dt, t), "message": message, "notice": notice,
        "today": booking.to_local(now, t).date().isoformat(),
    }, status_code=status)


@router.get("/federation/adressages/{rid}", response_class=HTMLResponse)
def referral_page(rid: int, request: Request, c: ContainerDep, user: Member, info: str = "") -> Response:
    return _referral_page(request, c, user, rid, notice=NOTICES.get(info))


@router.post("/federation/adressages/{rid}/etape")
def advance(rid: int, request: Request, c: ContainerDep, user: Member, statut: Annotated[str, Form()],
            note: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    try:
        federation.advance_referral(c.uow(), user, rid, ReferralStatus(statut), note,
                                    address=client_address(request), now=c.clock.now())  # fmt: skip
    except ValueError:
        return _referral_page(request, c, user, rid, message="Refusé : étape inconnue.", status=422)
    except MutualisError as exc:
        return _referral_page(request, c, user, rid, message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/federation/adressages/{rid}?info=etape", status_code=303)


@router.post("/federation/adressages/{rid}/intervention")
def schedule_surgery(rid: int, request: Request, c: ContainerDep, user: Member, procedure: Annotated[str, Form()],
                     chirurgien: Annotated[str, Form()], salle: Annotated[str, Form()], jour: Annotated[str, Form()],
                     heure: Annotated[str, Form()], cancer: Annotated[bool, Form()] = False) -> Response:  # fmt: skip
    now = c.clock.now()
    try:
        r = federation.referral(c.uow(), user, rid, address=client_address(request), now=now)
        day = date.fromisoformat(jour)
        start = datetime.combine(day, datetime.strptime(heure, "%H:%M").time())
        with c.uow() as uow:
            t = uow.territories.get(r.territory)
        assert t is not None
        today = booking.to_local(now, t).date()
        case = theatres.create_case(c.uow(), user, SurgicalCase(
            r.territory, r.patient_id, procedure, chirurgien, "cancer" if cancer else "standard", cancer, 0, today,
            max(day, today) + timedelta(days=60), referral_id=rid), address=client_address(request), now=now)
        theatres.book_case(c.uow(), user, case, salle, start, address=client_address(request), now=now)
    except ValueError:
        return _referral_page(request, c, user, rid, message="Refusé : jour ou heure invalides.", status=422)
    except MutualisError as exc:
        return _referral_page(request, c, user, rid, message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/federation/adressages/{rid}?info=programme", status_code=303)


@router.post("/federation/rcp")
def new_board(request: Request, c: ContainerDep, user: Member, titre: Annotated[str, Form()],
              site: Annotated[str, Form()], jour: Annotated[str, Form()],
              semaine: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    try:
        federation.create_board(c.uow(), user, TumourBoard(_home(c, user), titre, site,
                                                           date.fromisoformat(jour)),
                                address=client_address(request), now=c.clock.now())  # fmt: skip
    except ValueError:
        return _page(request, c, user, vue="rcp", message="Refusé : date invalide.", status=422)
    except MutualisError as exc:
        return _page(request, c, user, vue="rcp", message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/federation?vue=rcp&semaine={semaine}&info=rcp", status_code=303)


@router.post("/federation/rcp/{board_id}/dossiers")
def present(board_id: int, request: Request, c: ContainerDep, user: Member, patient_id: Annotated[int, Form()],
            question: Annotated[str, Form()], standard: Annotated[bool, Form()] = False,
            adressage: Annotated[str, Form()] = "", semaine: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    try:
        federation.present_case(c.uow(), user, board_id, BoardCase(board_id, patient_id, question, standard,
                                                                   int(adressage) if adressage else None),
                                address=client_address(request), now=c.clock.now())  # fmt: skip
    except ValueError:
        return _page(request, c, user, vue="rcp", message="Refusé : adressage invalide.", status=422)
    except MutualisError as exc:
        return _page(request, c, user, vue="rcp", message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/federation?vue=rcp&semaine={semaine}&info=presente", status_code=303)


@router.post("/federation/rcp/dossiers/{case_id}/decision")
async def decide(case_id: int, request: Request, c: ContainerDep, user: Member) -> Response:
    form = await request.form()
    attendees = [Attendee(str(form.get(f"rpps{i}", "")), str(form.get(f"specialite{i}", "")))
                 for i in range(6) if str(form.get(f"specialite{i}", "")).strip()]  # fmt: skip
    try:
        federation.record_decision(c.uow(), user, case_id, attendees, str(form.get("decision", "")),
                                   address=client_address(request), now=c.clock.now())  # fmt: skip
    except MutualisError as exc:
        return _page(request, c, user, vue="rcp", semaine=str(form.get("semaine", "")), message=refusal_fr(exc),
                     status=status_of(exc))  # fmt: skip
    return RedirectResponse(f"/federation?vue=rcp&semaine={form.get('semaine', '')}&info=decision", status_code=303)


@router.post("/federation/planifier", response_class=HTMLResponse)
def plan(request: Request, c: ContainerDep, user: Member, semaine: Annotated[str, Form()],
         duree: Annotated[float, Form()] = 20) -> Response:  # fmt: skip
    """The planner's proposal for the week: shown, not booked until the coordinator confirms."""
    try:
        start = _monday(date.fromisoformat(semaine))
        p = theatres.plan_week(c.uow(), user, _home(c, user), start, time_limit_s=max(2.0, min(duree, 120.0)),
                               now=c.clock.now())  # fmt: skip
    except ValueError:
        return _page(request, c, user, message="Refusé : semaine invalide.", status=422)
    except MutualisError as exc:
        return _page(request, c, user, semaine=semaine, message=refusal_fr(exc), status=status_of(exc))
    t = p.territory
    rooms = {e.id: e.name for e in t.equipment}
    return templates.TemplateResponse(request, "federation_plan.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "p": p, "rooms": rooms, "semaine": start.isoformat(),
        "people": {x.rpps: f"Dr {x.last_name}" for x in t.practitioners}, "priority_fr": PRIORITY_FR,
        "exams": {x.code: x.label for x in t.exams}, "days_fr": DAYS_FR,
    })


@router.post("/federation/planifier/programmer")
async def book_plan(request: Request, c: ContainerDep, user: Member) -> Response:
    form = await request.form()
    semaine = str(form.get("semaine", ""))
    try:
        items = [(int(str(x).split("|")[0]), str(x).split("|")[1], datetime.fromisoformat(str(x).split("|")[2]))
                 for x in form.getlist("item")]  # fmt: skip
        n = theatres.book_week(c.uow(), user, _home(c, user), items, address=client_address(request),
                               now=c.clock.now())  # fmt: skip
    except (ValueError, IndexError):
        return _page(request, c, user, semaine=semaine, message="Refusé : proposition illisible.", status=422)
    except MutualisError as exc:
        return _page(request, c, user, semaine=semaine, message=refusal_fr(exc), status=status_of(exc))
    return RedirectResponse(f"/federation?vue=blocs&semaine={semaine}&info=planifie&n={n}", status_code=303)
