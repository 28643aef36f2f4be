"""Reading pages, in French: the radiologist's worklist (counters, filters, a bar per exam showing
how much of its due delay has gone), the reading page (order, patient, the patient's previous
exams at any site, the structured report or the screening double-reading form), and the
double-reading queue with the reader's yearly indicators.

Handlers only translate HTTP: the use cases of :mod:`mutualis.services.reading` and
:mod:`mutualis.services.reports` do the work and the auditing. Presentation (French words,
remaining times, the due bar, form parsing) is in :mod:`.reading_fr`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import Conflict, MutualisError, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.reading import TaskStatus
from mutualis.domain.reading_settings import TaskKind
from mutualis.domain.reports import Report, ReportStatus
from mutualis.domain.screening import ReaderIndicators
from mutualis.domain.territory import Territory
from mutualis.entrypoints.web.deps import client_address, get_container, page_user
from mutualis.entrypoints.web.errors import HTML_MESSAGES
from mutualis.entrypoints.web.pages import ROLE_FR, error_page, templates
from mutualis.entrypoints.web.reading_fr import (
    ACR_FR,
    COUNTERS_FR,
    DENSITY_FR,
    KIND_FR,
    Filters,
    ReportForm,
    ScreeningForm,
    age_on,
    dose_inputs,
    due_gauge,
    filter_options,
    filter_tasks,
    history_rows,
    indicator_view,
    problems_fr,
    reading_view,
    refusal_fr,
    report_fields,
    screening_fields,
    screening_form,
    task_row,
    when_short,
)
from mutualis.services import booking, reading, reports

router = APIRouter(include_in_schema=False)
ContainerDep = Annotated[Container, Depends(get_container)]
Radiologist = Annotated[User, Depends(page_user(Role.RADIOLOGIST))]

# --- views ---------------------------------------------------------------------------------------


def _worklist_view(request: Request, c: Container, user: User, *, f: Filters = Filters(), double: bool = False,
                   message: str | None = None, notice: str | None = None, status: int = 200) -> Response:
    address, now = client_address(request), c.clock.now()
    wl = reading.worklist(c.uow(), user, user.territory or "", address=address, now=now)
    t, names = wl.territory, wl.patients
    tasks = [x for x in wl.tasks if x.kind is not TaskKind.SINGLE] if double else wl.tasks
    shown = filter_tasks(tasks, f, now)
    context: dict[str, Any] = {
        "user": user, "role_fr": ROLE_FR, "t": t, "wl": wl, "f": f, "message": message, "notice": notice,
        "rows": [task_row(x, t, now, names, wl.reader.rpps) for x in shown], "hidden": len(tasks) - len(shown),
        "counters": [(key, label, wl.counters.get(key, 0)) for key, label in COUNTERS_FR],
        "options": filter_options(tasks, t, f), "here": "/lecture/double-lecture" if double else "/lecture",
        "on_site": next((s.name for s in t.sites if s.id == wl.on_site), wl.on_site),
        "now": f"{booking.to_local(now, t):%H:%M}",
    }
    if not double:
        return templates.TemplateResponse(request, "lecture.html", context, status_code=status)
    year = booking.to_local(now, t).year
    found = reports.indicators(c.uow(), user, t.id, year, address=address, now=now)
    mine = found.get(wl.reader.rpps) or ReaderIndicators(
        wl.reader.rpps, year, l1_minimum=t.reading.l1_yearly_minimum, l2_minimum=t.reading.l2_yearly_minimum)
    context["ind"] = indicator_view(mine, wl.reader.qualifications, t.reading.l1_qualification,
                                    t.reading.l2_qualification)
    return templates.TemplateResponse(request, "lecture_double.html", context, status_code=status)


def report_context(report: Report, t: Territory, form: Mapping[str, Any], me: str,
                   person: Callable[[str | None], str]) -> dict[str, Any]:
    """The report as the page shows it: the sections (typed values over stored ones), the dose
    fields of its modality, and once signed, who signed when and the addenda."""
    def at(dt: datetime) -> str:
        return booking.to_local(dt, t).strftime("%d/%m/%Y à %H:%M")

    return {
        "values": {k: getattr(report, k) for k in ("indication", "technique", "findings", "conclusion")} | dict(form),
        "doses": dose_inputs(report.modality, report, form), "signed": report.status is ReportStatus.SIGNED,
        "signed_by": person(report.signed_by) if report.signed_by else "",
        "signed_at": at(report.signed_at) if report.signed_at else "",
        "addenda": [{"text": a.text, "author": person(a.author), "at": at(a.at)} for a in report.addenda],
        "may_amend": me in {report.author, report.signed_by},
    }


def _exam_view(request: Request, c: Container, user: User, task_id: int, *, form: Mapping[str, Any] | None = None,
               problems: Sequence[Problem] = (), heading: str = "", message: str | None = None,
               notice: str | None = None, status: int = 200) -> Response:
    address, now = client_address(request), c.clock.now()
    page = reports.reading_page(c.uow(), user, task_id, address=address, now=now)
    t = page.territory
    task, order = page.task, page.order
    me, today = user.rpps or "", booking.to_local(now, t).date()
    mine = task.claimed_by == me and task.status is TaskStatus.CLAIMED
    people = {p.rpps: p for p in t.practitioners}
    sites = {s.id: s.name for s in t.sites}

    def person(rpps: str | None) -> str:
        p = people.get(rpps or "")
        return f"Dr {p.first_name} {p.last_name.upper()}" if p else f"RPPS {rpps}"

    listed = problems_fr(problems)
    return templates.TemplateResponse(request, "lecture_examen.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "task": task, "order": order, "patient": page.patient,
        "report": page.report, "exam": next((x for x in t.exams if x.code == task.exam), None), "mine": mine,
        "done": task.status is TaskStatus.DONE, "kind_fr": KIND_FR[task.kind],
        "holder": person(task.claimed_by) if task.claimed_by and not mine else None,
        "age": age_on(page.patient.birth_date, today), "requester": person(order.requester),
        "site": sites.get(task.site, task.site),
        "requesting_site": sites.get(order.requesting_site, order.requesting_site),
        "ready": when_short(booking.to_local(task.ready_at, t), today),
        "due": when_short(booking.to_local(task.due_at, t), today), "gauge": due_gauge(task.ready_at, task.due_at, now),
        "history": history_rows(page.history, t, sites),
        **report_context(page.report, t, form or {}, me, person),
        "screening": reading_view(page.screening, task, me),
        "screening_form": screening_form(task, page.screening, mine),
        "acr_fr": ACR_FR, "density_fr": DENSITY_FR, "problems": listed, "invalid": {p["field"] for p in listed},
        "heading": heading, "message": message, "notice": notice, "form": dict(form or {}),
    }, status_code=status)


def _refused(request: Request, c: Container, user: User, task_id: int, exc: MutualisError) -> Response:
    """An action refused outright: said on the reading page, or on the worklist when that page
    is no longer open to this radiologist."""
    status = 409 if isinstance(exc, Conflict) else 404 if isinstance(exc, NotFound) else 403
    try:
        return _exam_view(request, c, user, task_id, message=refusal_fr(exc), status=status)
    except NotFound:
        return error_page(request, 404, HTML_MESSAGES[404])
    except (PermissionDenied, Conflict):
        return _worklist_view(request, c, user, message=refusal_fr(exc), status=status)


# --- the worklist and the double-reading queue -----------------------------------------------------

NOTICES = {"rendu": "L'examen est rendu à la liste de lecture."}


@router.get("/lecture", response_class=HTMLResponse)
def worklist_page(request: Request, c: ContainerDep, user: Radiologist, site: str = "", modalite: str = "",
                  priorite: str = "", echeance: str = "", info: str = "") -> Response:
    if not user.territory:
        return RedirectResponse("/", status_code=303)
    return _worklist_view(request, c, user, f=Filters(site, modalite, priorite, echeance), notice=NOTICES.get(info))


@router.get("/lecture/double-lecture", response_class=HTMLResponse)
def double_reading_page(request: Request, c: ContainerDep, user: Radiologist, site: str = "", modalite: str = "",
                        priorite: str = "", echeance: str = "") -> Response:
    if not user.territory:
        return RedirectResponse("/", status_code=303)
    return _worklist_view(request, c, user, f=Filters(site, modalite, priorite, echeance), double=True)


@router.post("/lecture/{task_id}/prendre")
def claim(task_id: int, request: Request, c: ContainerDep, user: Radiologist) -> Response:
    try:
        reading.claim(c.uow(), user, task_id, address=client_address(request), now=c.clock.now())
    except (Conflict, PermissionDenied) as exc:
        return _worklist_view(request, c, user, message=refusal_fr(exc),
                              status=409 if isinstance(exc, Conflict) else 403)
    except NotFound:
        return error_page(request, 404, HTML_MESSAGES[404])
    return RedirectResponse(f"/lecture/{task_id}", status_code=303)


@router.post("/lecture/{task_id}/rendre")
def give_back(task_id: int, request: Request, c: ContainerDep, user: Radiologist) -> Response:
    try:
        reading.give_back(c.uow(), user, task_id, address=client_address(request), now=c.clock.now())
    except ValidationError as exc:  # not (or no longer) claimed
        return _refused(request, c, user, task_id, Conflict(exc.problems[0].reason))
    except (Conflict, PermissionDenied, NotFound) as exc:
        return _refused(request, c, user, task_id, exc)
    return RedirectResponse("/lecture?info=rendu", status_code=303)


# --- the reading page ---------------------------------------------------------------------------------

EXAM_NOTICES = {
    "brouillon": "Brouillon enregistré.",
    "signe": "Compte rendu signé : il est transmis au site demandeur.",
    "lecture": "Lecture de dépistage enregistrée.",
    "addendum": "Addendum ajouté au compte rendu signé.",
}


@router.get("/lecture/{task_id}", response_class=HTMLResponse)
def exam_page(task_id: int, request: Request, c: ContainerDep, user: Radiologist, info: str = "") -> Response:
    try:
        return _exam_view(request, c, user, task_id, notice=EXAM_NOTICES.get(info))
    except PermissionDenied as exc:  # e.g. no longer on duty: the worklist says why
        return _worklist_view(request, c, user, message=refusal_fr(exc), status=403)


def _save_form(request: Request, c: Container, user: User, task_id: int, f: ReportForm,
               heading: str) -> Response | None:
    """Save the report form as the draft; the page to answer with when that is refused, else None."""
    fields, problems = report_fields(f)
    try:
        if problems:
            raise ValidationError(problems)
        reports.save_draft(c.uow(), user, task_id, fields, address=client_address(request), now=c.clock.now())
    except ValidationError as exc:
        return _exam_view(request, c, user, task_id, form=f.model_dump(exclude_none=True), problems=exc.problems,
                          heading=heading, status=422)
    except (Conflict, PermissionDenied, NotFound) as exc:
        return _refused(request, c, user, task_id, exc)
    return None


@router.post("/lecture/{task_id}/brouillon")
def save_draft(task_id: int, request: Request, c: ContainerDep, user: Radiologist,
               f: Annotated[ReportForm, Form()]) -> Response:
    refused = _save_form(request, c, user, task_id, f, "Le brouillon n'a pas été enregistré :")
    if refused is not None:
        return refused
    return RedirectResponse(f"/lecture/{task_id}?info=brouillon", status_code=303)


@router.post("/lecture/{task_id}/signer")
def sign(task_id: int, request: Request, c: ContainerDep, user: Radiologist,
         f: Annotated[ReportForm, Form()]) -> Response:
    """Save what the form holds, then sign: a refused signature keeps the draft as typed."""
    refused = _save_form(request, c, user, task_id, f, "Le compte rendu n'a pas été enregistré :")
    if refused is not None:
        return refused
    typed = f.model_dump(exclude_none=True)
    try:
        reports.sign_report(c.uow(), user, task_id, address=client_address(request), now=c.clock.now())
    except ValidationError as exc:
        return _exam_view(request, c, user, task_id, form=typed, problems=exc.problems,
                          heading="Le compte rendu n'a pas été signé (le brouillon est enregistré) :", status=422)
    except (Conflict, PermissionDenied, NotFound) as exc:
        return _refused(request, c, user, task_id, exc)
    return RedirectResponse(f"/lecture/{task_id}?info=signe", status_code=303)


@router.post("/lecture/{task_id}/depistage")
def record_screening(task_id: int, request: Request, c: ContainerDep, user: Radiologist,
                     f: Annotated[ScreeningForm, Form()]) -> Response:
    try:
        reports.record_screening(c.uow(), user, task_id, screening_fields(f), address=client_address(request),
                                 now=c.clock.now())
    except ValidationError as exc:
        return _exam_view(request, c, user, task_id, form=f.model_dump(), problems=exc.problems,
                          heading="La lecture n'a pas été enregistrée :", status=422)
    except (Conflict, PermissionDenied, NotFound) as exc:
        return _refused(request, c, user, task_id, exc)
    return RedirectResponse(f"/lecture/{task_id}?info=lecture", status_code=303)


@router.post("/lecture/compte-rendu/{order_id}/addendum")
def add_addendum(order_id: int, request: Request, c: ContainerDep, user: Radiologist,
                 texte: Annotated[str, Form()] = "", tache: Annotated[int, Form()] = 0) -> Response:
    try:
        reports.add_addendum(c.uow(), user, order_id, texte, address=client_address(request), now=c.clock.now())
    except ValidationError as exc:
        return _exam_view(request, c, user, tache, form={"texte": texte}, problems=exc.problems,
                          heading="L'addendum n'a pas été ajouté :", status=422)
    except (PermissionDenied, NotFound) as exc:
        return _refused(request, c, user, tache, exc)
    return RedirectResponse(f"/lecture/{tache}?info=addendum", status_code=303)
