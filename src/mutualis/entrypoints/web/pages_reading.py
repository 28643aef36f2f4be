"""Reading pages, in French: the radiologist's worklist (counters, filters, a bar per exam showing
how much of its due delay has gone), the reading page (order, patient, the patient's previous
exams at any site, the structured report or the screening double-reading form), and the
double-reading queue with the reader's yearly indicators.

Handlers only translate HTTP: the use cases of :mod:`mutualis.services.reading` and
:mod:`mutualis.services.reports` do the work and the auditing. Presentation (French words,
remaining times, the due bar, form parsing) is in small pure functions at the top of the module."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import Conflict, MutualisError, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.reading import ReadingTask, TaskStatus
from mutualis.domain.reading_settings import TaskKind
from mutualis.domain.reports import DOSE_FIELDS, Report, ReportStatus
from mutualis.domain.screening import MammogramReading, ReaderIndicators, ScreeningCase, ScreeningState
from mutualis.domain.territory import Modality, Territory
from mutualis.entrypoints.web.deps import client_address, get_container, page_user
from mutualis.entrypoints.web.errors import HTML_MESSAGES
from mutualis.entrypoints.web.pages import ROLE_FR, error_page, templates
from mutualis.entrypoints.web.pages_booking import day_fr, num_fr
from mutualis.entrypoints.web.pages_booking import reason_fr as booking_reason_fr
from mutualis.services import booking, reading, reports
from mutualis.services.reports import PastExam

router = APIRouter(include_in_schema=False)
ContainerDep = Annotated[Container, Depends(get_container)]
Radiologist = Annotated[User, Depends(page_user(Role.RADIOLOGIST))]

# --- French words ---------------------------------------------------------------------------------

KIND_FR = {TaskKind.SINGLE: "lecture", TaskKind.SCREENING_L1: "1re lecture", TaskKind.SCREENING_L2: "2e lecture"}
STATE_FR = {
    ScreeningState.AWAITING_L1: "en attente de première lecture",
    ScreeningState.WORKUP: "première lecture positive : bilan immédiat à faire",
    ScreeningState.AWAITING_L2: "en attente de seconde lecture",
    ScreeningState.RECALL: "seconde lecture positive : rappel de la patiente pour bilan différé",
    ScreeningState.NEW_IMAGES: "clichés techniquement insuffisants : nouveaux clichés à faire",
    ScreeningState.POSITIVE: "positif après bilan immédiat : suivi, pas de seconde lecture",
    ScreeningState.CLOSED: "négatif aux deux lectures : dossier clos",
}
ACR_FR = {0: "ACR 0 — bilan incomplet", 1: "ACR 1 — normal", 2: "ACR 2 — bénin", 3: "ACR 3 — probablement bénin",
          4: "ACR 4 — suspect", 5: "ACR 5 — très évocateur"}
DENSITY_FR = {"A": "A — presque entièrement graisseux", "B": "B — densités fibroglandulaires éparses",
              "C": "C — dense et hétérogène", "D": "D — extrêmement dense"}
DOSE_FR = {  # form field → (French name, unit)
    "ctdi_vol_mgy": ("CTDIvol", "mGy"),
    "dlp_mgy_cm": ("PDL", "mGy·cm"),
    "dap_mgy_cm2": ("PDS", "mGy·cm²"),
    "mgd_mgy": ("DGM", "mGy"),
}
FIELD_FR = {
    "indication": "Indication", "technique": "Technique", "findings": "Résultats", "conclusion": "Conclusion",
    **{f"dose.{k}": f"{name} ({unit})" for k, (name, unit) in DOSE_FR.items()},
    "right": "Sein droit", "left": "Sein gauche", "density": "Densité mammaire", "workup": "Bilan immédiat",
    "text": "Addendum", "task": "Examen", "report": "Compte rendu", "status": "Compte rendu",
    "state": "Dossier de dépistage", "reader": "Lecteur", "dose": "Dose",
}
REASONS_FR: tuple[tuple[str, str], ...] = (  # what the use cases say (English) → what the page says
    (r"^required to sign a \w+ report$", "obligatoire pour signer le compte rendu"),
    (r"^required to sign$", "obligatoire pour signer le compte rendu"),
    (r"^must be a number, zero or more$", "un nombre positif ou nul"),
    (r"^not a dose field of", "cette dose ne concerne pas cette modalité"),
    (r"^unknown dose field", "champ de dose inconnu"),
    (r"^claim the exam before", "prenez l'examen avant d'en rédiger le compte rendu"),
    (r"^write the report before signing", "rédigez le compte rendu avant de le signer"),
    (r"^a signed report is never edited", "un compte rendu signé ne se modifie plus : ajoutez un addendum"),
    (r"^a draft is edited", "un brouillon se modifie directement : signez-le d'abord"),
    (r"^an addendum needs a text", "l'addendum est vide"),
    (r"^an addendum cannot predate", "l'addendum ne peut pas précéder la signature"),
    (r"^an ACR class from 0 to 5", "une classe ACR de 0 à 5, à choisir"),
    (r"^a breast density", "une densité A, B, C ou D, à choisir"),
    (r"^negative or positive$", "négatif ou positif, à choisir"),
    (r"^cannot record .*: the case is (\w+)", "ce dossier de dépistage n'attend pas cette lecture (état : \\1)"),
    (r"two different radiologists", "la première et la seconde lecture sont faites par deux radiologues différents"),
    (r"^the reading names another", "la lecture est au nom d'un autre radiologue"),
    (r"^not a screening reading", "cet examen n'est pas une lecture de dépistage"),
    (r"^not on duty$", "vous n'êtes ni de garde ni présent en ce moment"),
    (r"^the qualification (\S+) is required", r"la qualification \1 est nécessaire pour lire cet examen"),
    (r"^no privilege to read exams of site (\S+)", r"vous n'avez pas de privilège sur le site \1"),
    (r"it is read on site$", "cet examen est réalisé par le radiologue : il se lit sur place"),
    (r"^no convention allows remote reading", "aucune convention n'autorise la lecture à distance de cet examen"),
    (r"^another radiologist holds this exam", "Un autre radiologue a pris cet examen."),
    (r"^this exam is done$", "Cet examen a déjà été lu."),
    (r"^this exam is cancelled$", "Cette lecture a été annulée."),
    (r"changed meanwhile", "Cet examen a changé entre-temps : la page a été rechargée."),
    (r"^the reading is \w+, not claimed", "Cet examen n'est plus pris : reprenez-le dans la liste."),
    (r"^only the radiologist who signed", "Seul le radiologue signataire ajoute un addendum."),
    (r"^only the radiologist who wrote", "Seul l'auteur du compte rendu peut le signer."),
    (r"^the immediate work-up is done by the first reader", "Le bilan immédiat est fait par le premier lecteur."),
    (r"^the reading worklist is for radiologists", "La liste de lecture est réservée aux radiologues."),
    (r"is not a practitioner of territory", "Votre numéro RPPS ne figure pas parmi les praticiens du territoire."),
)
COUNTERS_FR = (("total", "à lire"), ("urgent", "urgents"), ("late", "en retard"), ("escalated", "escaladés"),
               ("second_readings", "secondes lectures"), ("mine", "mes examens"))
DUE_FILTERS_FR = (("", "toutes"), ("retard", "en retard"), ("1h", "dans moins d'1 h"), ("4h", "dans moins de 4 h"),
                  ("24h", "dans moins de 24 h"))
DUE_LIMITS = {"retard": timedelta(0), "1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}


def reason_fr(reason: str) -> str:
    """A use case's reason in French (the booking pages' words as a fallback)."""
    for pattern, french in REASONS_FR:
        if m := re.search(pattern, reason):
            return m.expand(french)
    return booking_reason_fr(reason)


def problems_fr(problems: Sequence[Problem]) -> list[dict[str, str]]:
    """Each problem as field, French field name and French reason; the templates show them."""
    return [{"field": p.location, "label": FIELD_FR.get(p.location, p.location), "reason": reason_fr(p.reason)}
            for p in problems]


def refusal_fr(exc: MutualisError) -> str:
    """What the page says when an action is refused outright (not a field's problem)."""
    if isinstance(exc, NotFound):
        return HTML_MESSAGES[404]
    text = reason_fr(str(exc))
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def duration_fr(delta: timedelta) -> str:
    """``12 min``, ``3 h 05``, ``2 j 4 h`` (absolute value)."""
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h" if hours else f"{days} j"


def when_short(local: datetime, today: date) -> str:
    """``14:05`` today, ``hier 14:05``, else ``mar. 24/11 14:05`` (territory time)."""
    if local.date() == today:
        return f"{local:%H:%M}"
    if local.date() == today - timedelta(days=1):
        return f"hier {local:%H:%M}"
    if local.date() == today + timedelta(days=1):
        return f"demain {local:%H:%M}"
    return f"{day_fr(local.date())[:3]}. {local:%d/%m %H:%M}"


@dataclass(frozen=True)
class DueGauge:
    """How much of the due delay has gone, as a bar: ``share`` in %, ``level`` for its colour."""

    share: float
    level: str  # ok, attention, alerte, retard
    text: str


def due_gauge(ready_at: datetime, due_at: datetime, now: datetime) -> DueGauge:
    total = (due_at - ready_at).total_seconds()
    share = 1.0 if total <= 0 else min(1.0, max(0.0, (now - ready_at).total_seconds() / total))
    if now >= due_at:
        return DueGauge(100.0, "retard", f"en retard de {duration_fr(now - due_at)}")
    level = "alerte" if share >= 0.75 else "attention" if share >= 0.5 else "ok"
    return DueGauge(round(share * 100, 1), level, f"reste {duration_fr(due_at - now)}")


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True)
class Filters:
    site: str = ""
    modality: str = ""
    priority: str = ""
    due: str = ""

    @property
    def active(self) -> bool:
        return any((self.site, self.modality, self.priority, self.due))


def filter_tasks(tasks: Iterable[ReadingTask], f: Filters, now: datetime) -> list[ReadingTask]:
    """The tasks that match every filter given (due: due within that time from now, or late)."""
    limit = DUE_LIMITS.get(f.due)
    return [x for x in tasks
            if (not f.site or x.site == f.site) and (not f.modality or x.modality.value == f.modality)
            and (not f.priority or x.priority.value == f.priority)
            and (limit is None or x.due_at - now <= limit)]


def task_row(task: ReadingTask, t: Territory, now: datetime, names: Mapping[int, str], me: str) -> dict[str, Any]:
    """One worklist row: what the templates show of a task."""
    exam = next((x for x in t.exams if x.code == task.exam), None)
    today = booking.to_local(now, t).date()
    return {
        "id": task.id, "accession": task.accession, "priority": task.priority.value, "kind": task.kind.value,
        "kind_fr": KIND_FR[task.kind], "exam": exam.label if exam else task.exam, "modality": task.modality.value,
        "site": next((s.name for s in t.sites if s.id == task.site), task.site),
        "patient": names.get(task.order_id or 0, "—"),
        "ready": when_short(booking.to_local(task.ready_at, t), today),
        "due": when_short(booking.to_local(task.due_at, t), today), "gauge": due_gauge(task.ready_at, task.due_at, now),
        "mine": task.status is TaskStatus.CLAIMED and task.claimed_by == me, "escalated": task.escalated,
    }


def filter_options(tasks: Sequence[ReadingTask], t: Territory, f: Filters) -> dict[str, list[tuple[str, str]]]:
    """The choices of each filter: the sites and modalities of the worklist (and the chosen one)."""
    sites = {s.id: s.name for s in t.sites}
    site_ids = sorted({x.site for x in tasks} | ({f.site} if f.site else set()), key=lambda s: sites.get(s, s))
    modalities = sorted({x.modality.value for x in tasks} | ({f.modality} if f.modality else set()))
    return {"sites": [(s, sites.get(s, s)) for s in site_ids], "modalities": [(m, m) for m in modalities],
            "dues": list(DUE_FILTERS_FR)}


def history_rows(history: Sequence[PastExam], t: Territory, sites: Mapping[str, str]) -> list[dict[str, Any]]:
    """The patient's other exams, newest first: when and where each was done (else when and by
    which site it was requested), with the conclusion of each signed report."""
    exams = {x.code: x for x in t.exams}
    rows = []
    for past in history:
        order, report = past.order, past.report
        stamp = past.performed_at or order.created_at
        when = booking.to_local(stamp, t).date() if stamp else order.not_before
        signed = report is not None and report.status is ReportStatus.SIGNED
        rows.append({"date": when.strftime("%d/%m/%Y"), "exam": exams[order.exam].label if order.exam in exams
                     else order.exam, "modality": exams[order.exam].modality if order.exam in exams else None,
                     "site": sites.get(past.site or order.requesting_site, past.site or order.requesting_site),
                     "status": order.status.value,
                     "conclusion": report.conclusion if report is not None and signed else "",
                     "signed_at": (booking.to_local(report.signed_at, t).strftime("%d/%m/%Y")
                                   if report is not None and report.signed_at else "")})
    return rows


def dose_inputs(modality: Modality, report: Report, form: Mapping[str, Any]) -> list[dict[str, str]]:
    """The dose fields of this modality, with the value typed (or stored)."""
    fields = []
    for name in DOSE_FIELDS.get(modality, ()):
        stored = getattr(report.dose, name)
        value = form.get(name) if name in form else ("" if stored is None else num_fr(stored))
        label, unit = DOSE_FR[name]
        fields.append({"name": name, "label": label, "unit": unit, "value": str(value or "")})
    return fields


def parse_number(text: str) -> float | None:
    """``12,5`` or ``12.5`` → 12.5; empty → None; anything else raises ValueError."""
    text = text.strip().replace(" ", "").replace(",", ".")
    return float(text) if text else None


def reading_view(case: ScreeningCase | None, task: ReadingTask, me: str) -> dict[str, Any] | None:
    """The screening case as the page shows it. A second reader does not see the first reading
    before recording theirs (the two readings are independent)."""
    if case is None:
        return None

    def one(r: MammogramReading | None) -> dict[str, Any] | None:
        if r is None:
            return None
        return {"right": ACR_FR[int(r.right)], "left": ACR_FR[int(r.left)], "density": DENSITY_FR[r.density.value],
                "insufficient": r.technically_insufficient, "positive": r.positive, "mine": r.reader == me}

    blind = task.kind is TaskKind.SCREENING_L2 and case.state is ScreeningState.AWAITING_L2
    return {"state": case.state.value, "state_fr": STATE_FR[case.state], "l1": None if blind else one(case.l1),
            "l2": one(case.l2), "blind": blind, "workup_negative": case.workup_negative}


def screening_form(task: ReadingTask, case: ScreeningCase | None, mine: bool) -> str | None:
    """Which screening form the holder fills now: ``lecture`` (L1 or L2), ``bilan`` (work-up) or none."""
    if not mine or task.status is not TaskStatus.CLAIMED or task.kind is TaskKind.SINGLE:
        return None
    state = case.state if case is not None else ScreeningState.AWAITING_L1
    if task.kind is TaskKind.SCREENING_L1:
        return {ScreeningState.AWAITING_L1: "lecture", ScreeningState.WORKUP: "bilan"}.get(state)
    return "lecture" if state is ScreeningState.AWAITING_L2 else None


def indicator_view(ind: ReaderIndicators, qualifications: Iterable[str], l1: str, l2: str) -> dict[str, Any]:
    """A reader's screening year: volumes against the yearly minimums (as bars), rates in %."""
    held = set(qualifications)

    def bar(count: int, minimum: int, qualification: str) -> dict[str, Any]:
        share = 100.0 if minimum <= 0 else min(100.0, count / minimum * 100)
        return {"count": count, "minimum": minimum, "share": round(share, 1), "met": count >= minimum,
                "qualified": qualification in held, "qualification": qualification,
                "count_fr": f"{count:,}".replace(",", " "), "minimum_fr": f"{minimum:,}".replace(",", " ")}

    def rate(x: float | None) -> str:
        return "—" if x is None else f"{num_fr(x * 100)} %"

    return {"year": ind.year, "l1": bar(ind.l1_readings, ind.l1_minimum, l1),
            "l2": bar(ind.l2_readings, ind.l2_minimum, l2), "recall_rate": rate(ind.recall_rate),
            "l1_positive_rate": rate(ind.l1_positive_rate), "l2_only_positives": ind.l2_only_positives,
            "missed_at_l1": ind.missed_at_l1, "technically_insufficient": ind.technically_insufficient}


# --- forms ---------------------------------------------------------------------------------------


class ReportForm(BaseModel):
    indication: str = ""
    technique: str = ""
    findings: str = ""
    conclusion: str = ""
    ctdi_vol_mgy: str | None = None  # a dose field is sent only by the pages of its modality
    dlp_mgy_cm: str | None = None
    dap_mgy_cm2: str | None = None
    mgd_mgy: str | None = None


class ScreeningForm(BaseModel):
    formulaire: str = "lecture"  # lecture (an L1 or L2 reading) or bilan (the L1 reader's work-up)
    right: str = ""
    left: str = ""
    density: str = ""
    insuffisant: str = ""
    workup: str = ""


def report_fields(f: ReportForm) -> tuple[dict[str, Any], list[Problem]]:
    """What :func:`reports.save_draft` takes, from the form (numbers with a comma or a point)."""
    fields: dict[str, Any] = {k: getattr(f, k).strip() for k in ("indication", "technique", "findings", "conclusion")}
    dose: dict[str, float | None] = {}
    problems = []
    for name in DOSE_FR:
        text = getattr(f, name)
        if text is None:
            continue
        try:
            dose[name] = parse_number(text)
        except ValueError:
            problems.append(Problem(f"dose.{name}", "un nombre est attendu (ex. 12,5)"))
    if dose or problems:
        fields["dose"] = dose
    return fields, problems


def screening_fields(f: ScreeningForm) -> dict[str, Any]:
    """What :func:`reports.record_screening` takes, from the form."""
    if f.formulaire == "bilan":
        return {"workup": f.workup}
    return {"right": f.right, "left": f.left, "density": f.density, "technically_insufficient": bool(f.insuffisant)}


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


@router.post("/lecture/{task_id}/brouillon")
def save_draft(task_id: int, request: Request, c: ContainerDep, user: Radiologist,
               f: Annotated[ReportForm, Form()]) -> Response:
    fields, problems = report_fields(f)
    typed = f.model_dump(exclude_none=True)
    try:
        if problems:
            raise ValidationError(problems)
        reports.save_draft(c.uow(), user, task_id, fields, address=client_address(request), now=c.clock.now())
    except ValidationError as exc:
        return _exam_view(request, c, user, task_id, form=typed, problems=exc.problems,
                          heading="Le brouillon n'a pas été enregistré :", status=422)
    except (Conflict, PermissionDenied, NotFound) as exc:
        return _refused(request, c, user, task_id, exc)
    return RedirectResponse(f"/lecture/{task_id}?info=brouillon", status_code=303)


@router.post("/lecture/{task_id}/signer")
def sign(task_id: int, request: Request, c: ContainerDep, user: Radiologist,
         f: Annotated[ReportForm, Form()]) -> Response:
    """Save what the form holds, then sign: a refused signature keeps the draft as typed."""
    fields, problems = report_fields(f)
    typed = f.model_dump(exclude_none=True)
    address = client_address(request)
    try:
        if problems:
            raise ValidationError(problems)
        reports.save_draft(c.uow(), user, task_id, fields, address=address, now=c.clock.now())
    except ValidationError as exc:
        return _exam_view(request, c, user, task_id, form=typed, problems=exc.problems,
                          heading="Le compte rendu n'a pas été enregistré :", status=422)
    except (Conflict, PermissionDenied, NotFound) as exc:
        return _refused(request, c, user, task_id, exc)
    try:
        reports.sign_report(c.uow(), user, task_id, address=address, now=c.clock.now())
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
