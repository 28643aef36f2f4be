"""Reading: the territory's worklist of exams to read, who may read what, claims and escalation.

An exam whose images are available becomes a :class:`ReadingTask` with a due time from its
priority (:class:`ReadingSettings`). :func:`may_read` says whether a radiologist may read it
(``None``) or why not; :func:`claim`, :func:`release`, :func:`complete` and :func:`cancel` move
it through its states::

    waiting ──claim──► claimed ──complete──► done
       ▲ │               │
       │ └──cancel──►    └─release / lapse (idle) ─► waiting
       └──────────── cancelled ◄──cancel── claimed

Screening double reading lives in ``screening.py``, reports in ``reports.py``.
Pure: standard library and the domain only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from mutualis.domain.errors import Conflict, PermissionDenied, Problem, ValidationError
from mutualis.domain.orders import Priority
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Exam, Modality, Platform, Practitioner, Profession, Territory


class TaskStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"


PRIORITY_RANK: Mapping[Priority, int] = {
    Priority.URGENT: 0, Priority.INPATIENT: 1, Priority.OUTPATIENT: 2, Priority.SCREENING: 3,
}


@dataclass(frozen=True)
class ReadingTask:
    """One reading to do: an exam (or one of the two readings of a screening mammogram)."""

    order_id: int | None
    accession: str
    exam: str  # catalogue code
    modality: Modality
    site: str  # acquiring site
    priority: Priority
    kind: TaskKind
    ready_at: datetime  # images available
    due_at: datetime
    status: TaskStatus = TaskStatus.WAITING
    claimed_by: str | None = None  # RPPS
    claimed_at: datetime | None = None  # the claim, or the reader's last activity on it
    escalated: bool = False
    excluded: tuple[str, ...] = ()  # RPPS who may not read it (L2: the L1 reader)
    id: int | None = None


def task_kind(priority: Priority) -> TaskKind:
    return TaskKind.SCREENING_L1 if priority is Priority.SCREENING else TaskKind.SINGLE


def new_task(order_id: int | None, accession: str, exam: Exam, site: str, priority: Priority, ready_at: datetime,
             settings: ReadingSettings | None = None, id: int | None = None) -> ReadingTask:
    """The task an exam creates when its images are available (screening: the first reading)."""
    if exam.modality is None:
        raise ValidationError(Problem("exam", f"exam {exam.code!r} has no imaging modality to read"))
    s = settings or ReadingSettings()
    kind = task_kind(priority)
    return ReadingTask(order_id, accession, exam.code, exam.modality, site, priority, kind, ready_at,
                       ready_at + s.due_after(priority, kind), id=id)


def required_qualification(task: ReadingTask, settings: ReadingSettings | None = None) -> str | None:
    s = settings or ReadingSettings()
    if task.kind is TaskKind.SCREENING_L1:
        return s.l1_qualification
    if task.kind is TaskKind.SCREENING_L2:
        return s.l2_qualification
    return s.modality_qualifications.get(task.modality.value)


def may_read(reader: Practitioner, task: ReadingTask, territory: Territory, on_duty: Collection[str],
             on_site: str | None, settings: ReadingSettings | None = None, on: date | None = None) -> str | None:
    """``None`` when ``reader`` may read ``task``, else the reason (English, for a 403 message).

    ``on_duty``: the RPPS present or on call now; ``on_site``: the site where the reader is
    (``None``: elsewhere, e.g. at home on call); ``on``: the day (default: the task's).
    Rules: a radiologist; on duty; holding the qualification the exam needs; not excluded (the
    L1 reader of an L2); the reader's establishment owns the acquiring site, or a privilege in
    force on that site for imaging under a convention in force; when not on that site, the exam
    is not performed by the radiologist and a convention in force covering the site allows
    remote reading of the modality.
    """
    if reader.profession is not Profession.RADIOLOGIST:
        return "only a radiologist reads an exam"
    if reader.rpps not in on_duty:
        return "not on duty"
    need = required_qualification(task, settings)
    if need and need not in reader.qualifications:
        return f"the qualification {need} is required to read this exam"
    if reader.rpps in task.excluded:
        return "the first and second readings must be by two different radiologists"
    site = next((x for x in territory.sites if x.id == task.site), None)
    if site is None:
        return f"unknown site {task.site!r}"
    day = on or task.ready_at.date()
    conventions = [c for c in territory.conventions_in_force(day) if site.establishment in c.members]
    privileged = site.establishment == reader.establishment or any(
        pv.rpps == reader.rpps and task.site in pv.sites and Platform.IMAGING in pv.platforms and pv.in_force(day)
        for c in conventions for pv in c.privileges)
    if not privileged:
        return f"no privilege to read exams of site {task.site}"
    if on_site != task.site:
        exam = next((x for x in territory.exams if x.code == task.exam), None)
        if exam is not None and exam.radiologist_on_site:
            return "this exam is performed by the radiologist: it is read on site"
        if not any(task.modality in c.remote_reading for c in conventions):
            return f"no convention allows remote reading of {task.modality.value} for site {task.site}"
    return None


def worklist_key(task: ReadingTask) -> tuple[bool, int, datetime, datetime]:
    """Worklist order: escalated first, then priority, then due time, then age."""
    return (not task.escalated, PRIORITY_RANK[task.priority], task.due_at, task.ready_at)


def visible_worklist(tasks: Iterable[ReadingTask], reader: Practitioner, territory: Territory,
                     on_duty: Collection[str], on_site: str | None,
                     settings: ReadingSettings | None = None) -> list[ReadingTask]:
    """The open tasks ``reader`` may read (waiting, or claimed by them), in worklist order."""
    open_ = (t for t in tasks if t.status is TaskStatus.WAITING
             or (t.status is TaskStatus.CLAIMED and t.claimed_by == reader.rpps))
    return sorted((t for t in open_ if may_read(reader, t, territory, on_duty, on_site, settings) is None),
                  key=worklist_key)


# ---------------------------------------------------------------- claims


def claim_lapsed(task: ReadingTask, now: datetime, settings: ReadingSettings | None = None) -> bool:
    s = settings or ReadingSettings()
    return task.status is TaskStatus.CLAIMED and task.claimed_at is not None and now - task.claimed_at >= s.claim_lapse


def claim(task: ReadingTask, rpps: str, at: datetime, settings: ReadingSettings | None = None) -> ReadingTask:
    """``rpps`` holds the task from ``at``; a live claim by someone else is a :class:`Conflict`
    (eligibility is :func:`may_read`'s job, checked before)."""
    if task.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        raise Conflict(f"the reading is {task.status.value}")
    if task.status is TaskStatus.CLAIMED and task.claimed_by != rpps and not claim_lapsed(task, at, settings):
        raise Conflict("another radiologist holds this exam")
    return replace(task, status=TaskStatus.CLAIMED, claimed_by=rpps, claimed_at=at)


def touch(task: ReadingTask, rpps: str, at: datetime) -> ReadingTask:
    """The holder is active on the task: its idle time restarts."""
    _holder(task, rpps)
    return replace(task, claimed_at=at)


def release(task: ReadingTask, rpps: str) -> ReadingTask:
    _holder(task, rpps)
    return replace(task, status=TaskStatus.WAITING, claimed_by=None, claimed_at=None)


def lapse(task: ReadingTask, now: datetime, settings: ReadingSettings | None = None) -> ReadingTask:
    """The task back in the worklist when its claim has been idle too long; else unchanged."""
    if not claim_lapsed(task, now, settings):
        return task
    return replace(task, status=TaskStatus.WAITING, claimed_by=None, claimed_at=None)


def complete(task: ReadingTask, rpps: str) -> ReadingTask:
    _holder(task, rpps)
    return replace(task, status=TaskStatus.DONE)


def cancel(task: ReadingTask) -> ReadingTask:
    if task.status is TaskStatus.DONE:
        raise Conflict("the reading is done: it cannot be cancelled")
    return replace(task, status=TaskStatus.CANCELLED, claimed_by=None, claimed_at=None)


def _holder(task: ReadingTask, rpps: str) -> None:
    if task.status is not TaskStatus.CLAIMED:
        raise ValidationError(Problem("status", f"the reading is {task.status.value}, not claimed"))
    if task.claimed_by != rpps:
        raise PermissionDenied("another radiologist holds this exam")


# ---------------------------------------------------------------- escalation


def needs_escalation(task: ReadingTask, now: datetime, settings: ReadingSettings | None = None) -> bool:
    """Waiting (not claimed) with less than ``escalation_share`` of its due delay left."""
    s = settings or ReadingSettings()
    if task.status is not TaskStatus.WAITING:
        return False
    return task.due_at - now <= (task.due_at - task.ready_at) * s.escalation_share


def escalate(task: ReadingTask, now: datetime, settings: ReadingSettings | None = None) -> ReadingTask:
    """The task flagged (to be offered to the on-call radiologist) when it needs it; once flagged, it stays."""
    return replace(task, escalated=True) if not task.escalated and needs_escalation(task, now, settings) else task
