"""The reading API: the radiologist's worklist, claims, reports, screening double reading, and
the signed report for the requesting site (also as a FHIR R4 DiagnosticReport). Handlers only
translate HTTP; the use cases audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from mutualis.adapters import fhir
from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.reading import ReadingTask
from mutualis.domain.reports import Report
from mutualis.domain.screening import MammogramReading, ScreeningCase
from mutualis.entrypoints.web.deps import client_address, get_container, requires
from mutualis.services import reading, reports

router = APIRouter(prefix="/api", tags=["reading"])
ContainerDep = Annotated[Container, Depends(get_container)]
Radiologist = Annotated[User, Depends(requires(Role.RADIOLOGIST))]
ReportReader = Annotated[User, Depends(requires(Role.RADIOLOGIST, Role.BOOKING_AGENT, Role.RADIOGRAPHER,
                                                Role.COORDINATOR, Role.ADMIN))]
Coordinator = Annotated[User, Depends(requires(Role.RADIOLOGIST, Role.COORDINATOR, Role.ADMIN))]


class TaskOut(BaseModel):
    id: int
    order_id: int | None
    accession: str
    exam: str
    modality: str
    site: str
    priority: str
    kind: str
    ready_at: datetime
    due_at: datetime
    status: str
    claimed_by: str | None
    escalated: bool


class WorklistOut(BaseModel):
    reader: str
    on_duty: bool
    on_site: str | None
    counters: dict[str, int]
    tasks: list[TaskOut]


class DoseIn(BaseModel):
    ctdi_vol_mgy: float | None = None
    dlp_mgy_cm: float | None = None
    dap_mgy_cm2: float | None = None
    mgd_mgy: float | None = None


class ReportIn(BaseModel):
    indication: str | None = Field(None, max_length=4000)
    technique: str | None = Field(None, max_length=4000)
    findings: str | None = Field(None, max_length=20000)
    conclusion: str | None = Field(None, max_length=4000)
    dose: DoseIn | None = None


class AddendumOut(BaseModel):
    text: str
    author: str
    at: datetime


class ReportOut(BaseModel):
    id: int | None
    accession: str
    exam: str
    modality: str
    author: str
    indication: str
    technique: str
    findings: str
    conclusion: str
    dose: dict[str, float | None]
    status: str
    signed_by: str | None
    signed_at: datetime | None
    addenda: list[AddendumOut]


class AddendumIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ScreeningIn(BaseModel):
    right: int | None = Field(None, description="ACR class of the right breast, 0 to 5")
    left: int | None = Field(None, description="ACR class of the left breast, 0 to 5")
    density: str | None = Field(None, description="breast density A to D")
    technically_insufficient: bool = False
    workup: str | None = Field(None, description="the L1 reader's immediate work-up: negative or positive")


class ScreeningOut(BaseModel):
    accession: str
    state: str
    l1: dict[str, Any] | None
    l2: dict[str, Any] | None
    workup_negative: bool | None


def task_out(x: ReadingTask) -> TaskOut:
    return TaskOut(id=x.id or 0, order_id=x.order_id, accession=x.accession, exam=x.exam, modality=x.modality.value,
                   site=x.site, priority=x.priority.value, kind=x.kind.value, ready_at=x.ready_at, due_at=x.due_at,
                   status=x.status.value, claimed_by=x.claimed_by, escalated=x.escalated)


def report_out(r: Report) -> ReportOut:
    return ReportOut(id=r.id, accession=r.accession, exam=r.exam, modality=r.modality.value, author=r.author,
                     indication=r.indication, technique=r.technique, findings=r.findings, conclusion=r.conclusion,
                     dose=dict(r.dose.__dict__), status=r.status.value, signed_by=r.signed_by, signed_at=r.signed_at,
                     addenda=[AddendumOut(text=a.text, author=a.author, at=a.at) for a in r.addenda])


def _reading_doc(m: MammogramReading | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"reader": m.reader, "at": m.at, "right": int(m.right), "left": int(m.left), "density": m.density.value,
            "technically_insufficient": m.technically_insufficient, "positive": m.positive}


def screening_out(c: ScreeningCase) -> ScreeningOut:
    return ScreeningOut(accession=c.accession, state=c.state.value, l1=_reading_doc(c.l1), l2=_reading_doc(c.l2),
                        workup_negative=c.workup_negative)


@router.get("/reading/worklist", response_model=WorklistOut)
def worklist(territory: str, request: Request, c: ContainerDep, user: Radiologist) -> WorklistOut:
    """The exams this radiologist may read now, escalated then most urgent first."""
    w = reading.worklist(c.uow(), user, territory, address=client_address(request), now=c.clock.now())
    return WorklistOut(reader=w.reader.rpps, on_duty=w.on_duty, on_site=w.on_site, counters=w.counters,
                       tasks=[task_out(x) for x in w.tasks])


@router.post("/reading/tasks/{task_id}/claim", response_model=TaskOut)
def claim(task_id: int, request: Request, c: ContainerDep, user: Radiologist) -> TaskOut:
    """Take the exam (409 when another radiologist holds it)."""
    return task_out(reading.claim(c.uow(), user, task_id, address=client_address(request), now=c.clock.now()))


@router.post("/reading/tasks/{task_id}/release", response_model=TaskOut)
def release(task_id: int, request: Request, c: ContainerDep, user: Radiologist) -> TaskOut:
    return task_out(reading.give_back(c.uow(), user, task_id, address=client_address(request), now=c.clock.now()))


@router.put("/reading/tasks/{task_id}/report", response_model=ReportOut)
def save_report(task_id: int, body: ReportIn, request: Request, c: ContainerDep, user: Radiologist) -> ReportOut:
    """Write the draft (only the sections given change)."""
    fields = body.model_dump(exclude_none=True)
    if body.dose is not None:
        fields["dose"] = body.dose.model_dump()
    return report_out(reports.save_draft(c.uow(), user, task_id, fields, address=client_address(request),
                                         now=c.clock.now()))


@router.post("/reading/tasks/{task_id}/sign", response_model=ReportOut)
def sign(task_id: int, request: Request, c: ContainerDep, user: Radiologist) -> ReportOut:
    """Sign the report (422 naming what is missing; 403 without the privilege for the site)."""
    return report_out(reports.sign_report(c.uow(), user, task_id, address=client_address(request), now=c.clock.now()))


@router.post("/reading/tasks/{task_id}/screening", response_model=ScreeningOut)
def screening(task_id: int, body: ScreeningIn, request: Request, c: ContainerDep, user: Radiologist) -> ScreeningOut:
    """Record a screening reading (L1 or L2) or the L1 reader's immediate work-up."""
    fields = body.model_dump(exclude_none=True)
    return screening_out(reports.record_screening(c.uow(), user, task_id, fields, address=client_address(request),
                                                  now=c.clock.now()))


@router.post("/orders/{order_id}/report/addenda", response_model=ReportOut, status_code=201)
def add_addendum(order_id: int, body: AddendumIn, request: Request, c: ContainerDep,
                 user: Radiologist) -> ReportOut:
    """Amend a signed report: the signed text stays, the addendum is appended."""
    return report_out(reports.add_addendum(c.uow(), user, order_id, body.text, address=client_address(request),
                                           now=c.clock.now()))


@router.get("/orders/{order_id}/report", response_model=ReportOut)
def order_report(order_id: int, request: Request, c: ContainerDep, user: ReportReader) -> ReportOut:
    """The report of an order, for the requesting site."""
    _, _, report, _ = reports.report_for_order(c.uow(), user, order_id, address=client_address(request),
                                               now=c.clock.now())
    return report_out(report)


@router.get("/fhir/DiagnosticReport/{order_id}")
def fhir_diagnostic_report(order_id: int, request: Request, c: ContainerDep, user: ReportReader) -> dict[str, Any]:
    """The signed report of an order as a FHIR R4 DiagnosticReport."""
    now = c.clock.now()
    order, patient, report, t = reports.report_for_order(c.uow(), user, order_id, address=client_address(request),
                                                         now=now)
    with c.uow() as uow:
        appointment = uow.appointments.active_for_order(order_id)
    return fhir.diagnostic_report(report, order, patient, t, appointment.start if appointment else None)


@router.get("/reading/indicators")
def screening_indicators(territory: str, year: int, request: Request, c: ContainerDep,
                         user: Coordinator) -> dict[str, Any]:
    """Per screening reader: volumes against the yearly thresholds, recall rate, L2-only positives."""
    found = reports.indicators(c.uow(), user, territory, year, address=client_address(request), now=c.clock.now())
    return {rpps: {**ind.__dict__, "l1_volume_met": ind.l1_volume_met, "l2_volume_met": ind.l2_volume_met,
                   "recall_rate": ind.recall_rate} for rpps, ind in found.items()}
