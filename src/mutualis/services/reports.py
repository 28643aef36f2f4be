"""Use cases of reporting: the reading page (order, the patient's previous exams at any site,
the report draft), drafting and signing a structured report, addenda, screening double
reading, and the signed report delivered back to the requesting site."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mutualis.domain.accounts import User, visible_sites
from mutualis.domain.audit import Action
from mutualis.domain.errors import NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.orders import Order, OrderStatus, Patient
from mutualis.domain.reading import ReadingTask, TaskStatus, complete
from mutualis.domain.reading_settings import TaskKind
from mutualis.domain.reports import Dose, Report, addendum, edit, sign
from mutualis.domain.screening import (
    Acr,
    Density,
    MammogramReading,
    ReaderIndicators,
    ScreeningCase,
    ScreeningState,
    reader_indicators,
    record_l1,
    record_l2,
    record_workup,
    second_reading_task,
)
from mutualis.domain.territory import Modality, Territory
from mutualis.services.common import audit as _audit
from mutualis.services.common import territory as _territory
from mutualis.services.ports import UnitOfWork
from mutualis.services.reading import check_may_read, require_holder, task_in_scope

TECHNIQUE = {  # the template's technique line per modality, for the radiologist to adjust
    Modality.CT: "Acquisition hélicoïdale, sans puis avec injection de produit de contraste iodé.",
    Modality.MR: "Séquences pondérées T1, T2 et diffusion.",
    Modality.DX: "Clichés de face et de profil.",
    Modality.CR: "Clichés de face et de profil.",
    Modality.US: "Échographie par voie externe.",
    Modality.MG: "Incidences face et oblique externe bilatérales.",
}
FINAL_SCREENING = frozenset({ScreeningState.CLOSED, ScreeningState.RECALL, ScreeningState.POSITIVE,
                             ScreeningState.NEW_IMAGES})


@dataclass(frozen=True)
class PastExam:
    order: Order
    report: Report | None
    site: str | None  # where it was done (its machine's site), when it was booked
    performed_at: datetime | None  # its appointment


@dataclass(frozen=True)
class ReadingPage:
    territory: Territory  # the whole territory, to name sites outside the reader's own
    task: ReadingTask
    order: Order
    patient: Patient
    report: Report
    history: list[PastExam]  # the patient's other exams, any site, newest first
    screening: ScreeningCase | None


def _template(t: Territory, task: ReadingTask, order: Order, author: str) -> Report:
    """A new draft: the catalogue's template for the exam, over the modality's technique line;
    the indication from the order."""
    exam = next((x for x in t.exams if x.code == task.exam), None)
    sections = {"technique": TECHNIQUE.get(task.modality, ""), **dict(exam.report_template if exam else ())}
    if order.clinical_info:
        sections["indication"] = order.clinical_info
    return Report(task.accession, task.exam, task.modality, author, indication=sections.get("indication", ""),
                  technique=sections.get("technique", ""), findings=sections.get("findings", ""),
                  conclusion=sections.get("conclusion", ""))


def _order_and_patient(uow: UnitOfWork, t: Territory, task: ReadingTask) -> tuple[Order, Patient]:
    order = uow.orders.get(task.order_id) if task.order_id is not None else None
    patient = uow.patients.get(t.id, order.patient_id) if order is not None else None
    if order is None or patient is None:
        raise NotFound("order", str(task.order_id))
    return order, patient


def reading_page(uow: UnitOfWork, user: User, task_id: int, *, address: str | None, now: datetime) -> ReadingPage:
    with uow:
        task, t, me, duty = task_in_scope(uow, user, task_id, now)
        if task.claimed_by != me.rpps:
            check_may_read(task, t, me, duty, now)
        order, patient = _order_and_patient(uow, t, task)
        assert order.id is not None
        report = uow.reports.for_order(order.id) or _template(t, task, order, me.rpps)
        history = [_past(uow, t, o) for o in uow.orders.list(t.id, patient_id=patient.id, limit=50)
                   if o.id is not None and o.id != order.id]
        case = uow.screening.get(order.id) if task.kind is not TaskKind.SINGLE else None
        _audit(uow, user, Action.READ, "reading_task", task_id, t.id, address, now, accession=task.accession)
        uow.commit()
    return ReadingPage(t, task, order, patient, report, history, case)


def _past(uow: UnitOfWork, t: Territory, o: Order) -> PastExam:
    assert o.id is not None
    appointment = uow.appointments.active_for_order(o.id)
    machine = next((m for m in t.equipment if appointment is not None and m.id == appointment.equipment), None)
    return PastExam(o, uow.reports.for_order(o.id), machine.site if machine else None,
                    appointment.start if appointment else None)


def _dose(fields: dict[str, Any]) -> Dose | None:
    values = fields.get("dose")
    if values is None:
        return None
    if not isinstance(values, dict):
        raise ValidationError(Problem("dose", "expected an object"))
    unknown = set(values) - {"ctdi_vol_mgy", "dlp_mgy_cm", "dap_mgy_cm2", "mgd_mgy"}
    if unknown:
        raise ValidationError([Problem(f"dose.{k}", "unknown dose field") for k in sorted(unknown)])
    return Dose(**values)


def save_draft(uow: UnitOfWork, user: User, task_id: int, fields: dict[str, Any], *, address: str | None,
               now: datetime) -> Report:
    """Write the report's sections (and dose) while holding the exam."""
    with uow:
        task, t, me, _ = task_in_scope(uow, user, task_id, now)
        require_holder(task, me)
        order, _ = _order_and_patient(uow, t, task)
        assert order.id is not None
        current = uow.reports.for_order(order.id) or _template(t, task, order, me.rpps)
        draft = edit(replace(current, author=me.rpps), dose=_dose(fields),
                     **{k: fields[k] for k in ("indication", "technique", "findings", "conclusion") if k in fields})
        saved = uow.reports.save(order.id, draft, now)
        uow.reading.save(replace(task, claimed_at=now), expected=TaskStatus.CLAIMED, holder=me.rpps)
        uow.commit()
    return saved


def sign_report(uow: UnitOfWork, user: User, task_id: int, *, address: str | None, now: datetime) -> Report:
    """Sign: the signer must still be allowed to read this exam (privilege on the site…); the
    reading is done and the order reported, in one transaction."""
    with uow:
        task, t, me, duty = task_in_scope(uow, user, task_id, now)
        check_may_read(task, t, me, duty, now)
        require_holder(task, me)
        order, _ = _order_and_patient(uow, t, task)
        assert order.id is not None
        draft = uow.reports.for_order(order.id)
        if draft is None:
            raise ValidationError(Problem("report", "write the report before signing it"))
        signed = uow.reports.save(order.id, sign(replace(draft, author=me.rpps), me.rpps, now), now)
        uow.reading.save(complete(task, me.rpps), expected=TaskStatus.CLAIMED, holder=me.rpps, done_at=now)
        if task.kind is TaskKind.SINGLE and order.status in (OrderStatus.ACQUIRED, OrderStatus.READ):
            uow.orders.set_status(order.id, OrderStatus.REPORTED, now)
        _audit(uow, user, Action.UPDATE, "report", signed.id, t.id, address, now, signed=task.accession,
               order=order.id, requesting_site=order.requesting_site)
        uow.commit()
    return signed


def add_addendum(uow: UnitOfWork, user: User, order_id: int, text: str, *, address: str | None,
                 now: datetime) -> Report:
    """Amend a signed report: the original stays as signed, the addendum is appended."""
    with uow:
        order = uow.orders.get(order_id)
        report = uow.reports.for_order(order_id) if order is not None else None
        if order is None or report is None or report.id is None:
            raise NotFound("report", str(order_id))
        t = _territory(uow, order.territory)
        if not user.rpps or user.rpps not in {report.author, report.signed_by}:
            raise PermissionDenied("only the radiologist who signed the report adds an addendum")
        amended = addendum(report, text, user.rpps, now)
        uow.reports.add_addendum(report.id, amended.addenda[-1])
        _audit(uow, user, Action.UPDATE, "report", report.id, t.id, address, now, addendum=True, order=order_id)
        uow.commit()
    return amended


def report_for_order(uow: UnitOfWork, user: User, order_id: int, *, address: str | None,
                     now: datetime) -> tuple[Order, Patient, Report, Territory]:
    """The signed report of an order, for the requesting site (and the FHIR export)."""
    with uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("order", str(order_id))
        t = _territory(uow, order.territory)
        if order.requesting_site not in visible_sites(user, t, now.date()) and user.rpps is None:
            raise NotFound("order", str(order_id))
        report = uow.reports.for_order(order_id)
        patient = uow.patients.get(t.id, order.patient_id)
        if report is None or patient is None:
            raise NotFound("report", str(order_id))
        _audit(uow, user, Action.READ, "report", report.id, t.id, address, now, order=order_id)
        uow.commit()
    return order, patient, report, t


def _reading(user: User, fields: dict[str, Any], now: datetime) -> MammogramReading:
    problems = []
    acr: dict[str, Acr] = {}
    for side in ("right", "left"):
        try:
            acr[side] = Acr(int(fields.get(side, -1)))
        except (TypeError, ValueError):
            problems.append(Problem(side, "an ACR class from 0 to 5"))
    try:
        density = Density(str(fields.get("density", "")).upper())
    except ValueError:
        problems.append(Problem("density", "a breast density A, B, C or D"))
    if problems:
        raise ValidationError(problems)
    return MammogramReading(user.rpps or "", now, acr["right"], acr["left"], density,
                            bool(fields.get("technically_insufficient", False)))


def record_screening(uow: UnitOfWork, user: User, task_id: int, fields: dict[str, Any], *, address: str | None,
                     now: datetime) -> ScreeningCase:
    """A screening reading (L1 or L2), or the L1 reader's immediate work-up (``workup`` =
    "negative"/"positive"). A negative L1 sends the exam to a second reader."""
    with uow:
        task, t, me, duty = task_in_scope(uow, user, task_id, now)
        check_may_read(task, t, me, duty, now)
        require_holder(task, me)
        if task.order_id is None or task.kind is TaskKind.SINGLE:
            raise ValidationError(Problem("task", "not a screening reading"))
        case = uow.screening.get(task.order_id) or ScreeningCase(task.accession)
        if "workup" in fields:
            if fields["workup"] not in ("negative", "positive"):
                raise ValidationError(Problem("workup", "negative or positive"))
            case = record_workup(case, me.rpps, fields["workup"] == "negative", now)
        elif task.kind is TaskKind.SCREENING_L1:
            case = record_l1(case, _reading(user, fields, now), me, t.reading)
        else:
            case = record_l2(case, _reading(user, fields, now), me, t.reading)
        uow.screening.save(task.order_id, case, now)
        if case.state is not ScreeningState.WORKUP:
            uow.reading.save(complete(task, me.rpps), expected=TaskStatus.CLAIMED, holder=me.rpps, done_at=now)
        if case.state is ScreeningState.AWAITING_L2:
            uow.reading.add(t.id, second_reading_task(case, task, now, t.reading))
        order = uow.orders.get(task.order_id)
        if case.state in FINAL_SCREENING and order is not None and order.status is OrderStatus.ACQUIRED:
            uow.orders.set_status(task.order_id, OrderStatus.REPORTED, now)
        _audit(uow, user, Action.UPDATE, "screening", task.order_id, t.id, address, now, kind=task.kind.value,
               state=case.state.value)
        uow.commit()
    return case


def indicators(uow: UnitOfWork, user: User, territory_id: str, year: int, *, address: str | None,
               now: datetime) -> dict[str, ReaderIndicators]:
    """Screening indicators per reader for a year (the territory's own people only)."""
    with uow:
        t = _territory(uow, territory_id)
        if user.territory and user.territory != t.id:
            raise NotFound("territory", territory_id)
        found = reader_indicators(uow.screening.all(t.id), year, t.reading)
        _audit(uow, user, Action.READ, "screening_indicators", year, t.id, address, now)
        uow.commit()
    return found
