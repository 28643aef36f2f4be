"""How the reading pages say things: French words for the reading domain, remaining times and
the due bar, worklist rows and filters, the patient's history, dose fields, screening views and
indicator bars, and the forms' parsing. Pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from mutualis.domain.errors import MutualisError, NotFound, Problem
from mutualis.domain.reading import ReadingTask, TaskStatus
from mutualis.domain.reading_settings import TaskKind
from mutualis.domain.reports import DOSE_FIELDS, Report, ReportStatus
from mutualis.domain.screening import MammogramReading, ReaderIndicators, ScreeningCase, ScreeningState
from mutualis.domain.territory import Modality, Territory
from mutualis.entrypoints.web.errors import HTML_MESSAGES
from mutualis.entrypoints.web.pages_booking import day_fr, num_fr
from mutualis.entrypoints.web.pages_booking import reason_fr as booking_reason_fr
from mutualis.services import booking
from mutualis.services.reports import PastExam

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
