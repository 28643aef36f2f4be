"""Use cases of the territory's reading worklist: exams enter it when their images are in the
PACS, radiologists see what they may read, claim it (or are assigned it in push mode), and
claims lapse; waiting exams near their due time escalate.

Who is on duty and where comes from the presence table (rosters later). Reports and screening
double reading are in ``services/reports.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from mutualis.domain.accounts import Role, User
from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.orders import Order, Priority
from mutualis.domain.reading import (
    ReadingTask,
    TaskStatus,
    escalate,
    lapse,
    may_read,
    new_task,
    release,
    visible_worklist,
)
from mutualis.domain.reading_settings import ReadingMode, TaskKind
from mutualis.domain.screening import ScreeningCase
from mutualis.domain.territory import Practitioner, Profession, Territory
from mutualis.engines import dispatch
from mutualis.services.common import audit as _audit
from mutualis.services.common import territory as _territory
from mutualis.services.ports import UnitOfWork

PUSH_HORIZON = timedelta(minutes=15)  # push mode hands out what each reader will start within this


@dataclass(frozen=True)
class Duty:
    """Radiologists present now, and where (``None``: on duty away from any site); ``until``: when
    each one's duty ends (their presence rows run on, across midnight too)."""

    on_duty: frozenset[str]
    site_of: dict[str, str | None]
    until: dict[str, datetime] = field(default_factory=dict)


AWAY_ROLES = ("remote", "on_call")  # presence rows of a published roster: on duty, away from the site
_DAY_MIN = 24 * 60


def duty_now(uow: UnitOfWork, t: Territory, now: datetime) -> Duty:
    tz = ZoneInfo(t.timezone)
    local = now.astimezone(tz)
    today = local.date()
    minute = local.hour * 60 + local.minute
    rows = [s for s in uow.presence.shifts(t.id, [s.id for s in t.sites], today, today + timedelta(days=1))
            if s.rpps and (s.role in AWAY_ROLES or s.role == Profession.RADIOLOGIST.value)]
    now_on = [s for s in rows if s.day == today and s.start_min <= minute < s.end_min]
    here: dict[str, str | None] = {s.rpps: None for s in now_on if s.role in AWAY_ROLES}
    here |= {s.rpps: s.site for s in now_on if s.role == Profession.RADIOLOGIST.value}
    # each one's rows in minutes from today's midnight; the duty runs on while a row starts by its end
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for s in rows:
        offset = (s.day - today).days * _DAY_MIN
        spans[s.rpps].append((offset + s.start_min, offset + s.end_min))
    midnight = datetime.combine(today, time(), tz)
    until: dict[str, datetime] = {}
    for rpps in here:
        end = max(b for a, b in spans[rpps] if a <= minute < b)
        while (longer := max((b for a, b in spans[rpps] if a <= end < b), default=end)) > end:
            end = longer
        until[rpps] = midnight + timedelta(minutes=end)
    return Duty(frozenset(here), here, until)


def reader_of(user: User, t: Territory) -> Practitioner:
    if user.role is not Role.RADIOLOGIST or not user.rpps:
        raise PermissionDenied("the reading worklist is for radiologists")
    p = next((x for x in t.practitioners if x.rpps == user.rpps), None)
    if p is None:
        raise PermissionDenied(f"RPPS {user.rpps} is not a practitioner of territory {t.id}")
    return p


def enqueue(uow: UnitOfWork, t: Territory, order: Order, site: str, now: datetime) -> ReadingTask | None:
    """The exam's images are available: it enters the reading worklist (screening: first
    reading, and its double-reading case opens). Inside the caller's transaction; ``None`` when
    it is there already."""
    exam = next((x for x in t.exams if x.code == order.exam), None)
    if exam is None or exam.modality is None or order.id is None or not order.accession_number:
        return None
    task = uow.reading.add(t.id, new_task(order.id, order.accession_number, exam, site, order.priority, now,
                                          t.reading))
    if task is not None and task.kind is TaskKind.SCREENING_L1 and uow.screening.get(order.id) is None:
        uow.screening.save(order.id, ScreeningCase(order.accession_number), now)
    return task


def sweep(uow: UnitOfWork, t: Territory, now: datetime) -> dict[str, int]:
    """Idle claims lapse, waiting exams near their due time escalate, and in push mode the
    waiting exams are assigned. Inside the caller's transaction."""
    counts: Counter[str] = Counter()
    for task in uow.reading.open(t.id):
        changed = escalate(lapse(task, now, t.reading), now, t.reading)
        if changed != task:
            try:
                uow.reading.save(changed, expected=task.status, holder=task.claimed_by)
            except Conflict:
                continue  # a radiologist acted on it meanwhile: theirs stands
            counts["lapsed" if changed.status is not task.status else "escalated"] += 1
    if t.reading.mode is ReadingMode.PUSH:
        counts["assigned"], counts["preempted"] = _push(uow, t, now)
    return dict(counts)


def _push(uow: UnitOfWork, t: Territory, now: datetime) -> tuple[int, int]:
    """Each waiting exam to the eligible radiologist on duty who will finish it soonest, before
    their duty ends (engines/dispatch.py); those they will start within :data:`PUSH_HORIZON` are
    claimed for them.
    An urgent exam that would miss its due time pre-empts: it is claimed at once for an eligible
    radiologist reading a routine exam (the first claim they hold), who resumes that one after.
    Returns the exams assigned and the pre-emptions."""
    duty = duty_now(uow, t, now)
    tasks = uow.reading.open(t.id)
    waiting = [x for x in tasks if x.status is TaskStatus.WAITING]
    if not waiting or not duty.on_duty:
        return 0, 0
    people = {p.rpps: p for p in t.practitioners if p.rpps in duty.on_duty}
    held: Counter[str] = Counter()
    holding: dict[str, list[ReadingTask]] = defaultdict(list)
    for x in tasks:
        if x.status is TaskStatus.CLAIMED and x.claimed_by:
            held[x.claimed_by] += int(t.reading.minutes_for(x.modality.value, x.exam))
            holding[x.claimed_by].append(x)
    # free after what they hold; a reading must end before their duty does
    readers = [dispatch.Reader(rpps, now + timedelta(minutes=held[rpps]), duty.until.get(rpps), person=rpps,
                               minutes_today=held[rpps]) for rpps in sorted(people)]
    running = []  # what each reader is reading now: the claim they took first (an urgent exam may interrupt it)
    for rpps, xs in sorted(holding.items()):
        if rpps in people:
            first = min(xs, key=lambda x: (x.claimed_at or now, x.id or 0))
            running.append(dispatch.InProgress(dispatch.dispatch_task(first, t.reading), rpps, first.claimed_at or now))
    by_id = {x.id: x for x in waiting if x.id is not None}
    eligible = {tid: {r for r in people if may_read(people[r], x, t, duty.on_duty, duty.site_of.get(r),
                                                    t.reading, now.date()) is None}
                for tid, x in by_id.items()}
    instance = dispatch.DispatchInstance(now, tuple(dispatch.dispatch_task(x, t.reading) for x in by_id.values()),
                                         tuple(readers), eligible, tuple(running))
    solution = dispatch.solve(instance)
    claimed: set[tuple[int, str]] = set()
    for a in solution.assignments:
        # only still-waiting exams: a claim taken meanwhile is live, not lapsed
        if a.start <= now + PUSH_HORIZON and a.task in by_id and uow.reading.claim(
                a.task, a.reader, now, now - t.reading.claim_lapse, assigned=True):
            claimed.add((a.task, a.reader))
    cuts = [cut for cut in solution.interruptions if (cut.by, cut.reader) in claimed]
    for cut in cuts:  # the reading interrupted stays with its reader, to resume after the urgent one
        uow.audit.append(AuditEvent(at=now, actor="dispatch", action=Action.UPDATE, resource="reading_task",
                                    resource_id=str(cut.by), territory=t.id, address=None,
                                    detail={"preempts": cut.task, "reader": cut.reader}))  # fmt: skip
    return len(claimed), len(cuts)


@dataclass(frozen=True)
class ReaderWorklist:
    territory: Territory  # the whole territory: sites and exams outside the reader's own are named too
    reader: Practitioner
    on_site: str | None
    on_duty: bool
    tasks: list[ReadingTask]
    counters: dict[str, int]
    patients: dict[int, str]  # order id → patient's display name


def worklist(uow: UnitOfWork, user: User, territory_id: str, *, address: str | None, now: datetime) -> ReaderWorklist:
    """What this radiologist may read now, escalated then most urgent first, with counters."""
    with uow:
        t = _territory(uow, territory_id)
        me = reader_of(user, t)
        sweep(uow, t, now)
        duty = duty_now(uow, t, now)
        on_site = duty.site_of.get(me.rpps)
        tasks = visible_worklist(uow.reading.open(t.id), me, t, duty.on_duty, on_site, t.reading)
        counters = {
            "total": len(tasks),
            "mine": sum(x.claimed_by == me.rpps for x in tasks),
            "urgent": sum(x.priority is Priority.URGENT for x in tasks),
            "late": sum(x.due_at < now for x in tasks),
            "escalated": sum(x.escalated for x in tasks),
            "second_readings": sum(x.kind is TaskKind.SCREENING_L2 for x in tasks),
        }
        found = uow.reading.patients([x.order_id for x in tasks if x.order_id is not None])
        patients = {order_id: p.display_name for order_id, p in found.items()}
        _audit(uow, user, Action.READ, "reading_worklist", None, t.id, address, now, items=len(tasks),
               accessions=[x.accession for x in tasks[:50]])
        uow.commit()
    return ReaderWorklist(t, me, on_site, me.rpps in duty.on_duty, tasks, counters, patients)


def task_in_scope(uow: UnitOfWork, user: User, task_id: int, now: datetime) -> tuple[ReadingTask, Territory,
                                                                                       Practitioner, Duty]:
    """The task, if it exists and this radiologist's territory holds it."""
    territory_id = uow.reading.territory_of(task_id)
    task = uow.reading.get(task_id)
    if task is None or territory_id is None or (user.territory and user.territory != territory_id):
        raise NotFound("reading task", str(task_id))
    t = _territory(uow, territory_id)
    return task, t, reader_of(user, t), duty_now(uow, t, now)


def check_may_read(task: ReadingTask, t: Territory, me: Practitioner, duty: Duty, now: datetime) -> None:
    reason = may_read(me, task, t, duty.on_duty, duty.site_of.get(me.rpps), t.reading, now.date())
    if reason is not None:
        raise PermissionDenied(reason)


def claim(uow: UnitOfWork, user: User, task_id: int, *, address: str | None, now: datetime) -> ReadingTask:
    """Take the exam: atomic, so that two radiologists never hold the same one."""
    with uow:
        task, t, me, duty = task_in_scope(uow, user, task_id, now)
        check_may_read(task, t, me, duty, now)
        if task.status is TaskStatus.CLAIMED and task.claimed_by == me.rpps:
            return task
        if task.status not in (TaskStatus.WAITING, TaskStatus.CLAIMED):
            raise Conflict(f"this exam is {task.status.value}")
        if not uow.reading.claim(task_id, me.rpps, now, now - t.reading.claim_lapse):
            raise Conflict("another radiologist holds this exam")
        _audit(uow, user, Action.UPDATE, "reading_task", task_id, t.id, address, now, claimed=task.accession)
        uow.commit()
    return replace(task, status=TaskStatus.CLAIMED, claimed_by=me.rpps, claimed_at=now)


def give_back(uow: UnitOfWork, user: User, task_id: int, *, address: str | None, now: datetime) -> ReadingTask:
    """Release a claimed exam to the worklist."""
    with uow:
        task, t, me, _ = task_in_scope(uow, user, task_id, now)
        freed = release(task, me.rpps)
        uow.reading.save(freed, expected=TaskStatus.CLAIMED, holder=me.rpps)
        _audit(uow, user, Action.UPDATE, "reading_task", task_id, t.id, address, now, released=task.accession)
        uow.commit()
    return freed


def require_holder(task: ReadingTask, me: Practitioner) -> None:
    if task.status is TaskStatus.CLAIMED and task.claimed_by != me.rpps:
        raise PermissionDenied("another radiologist holds this exam")
    if task.status is not TaskStatus.CLAIMED:
        raise ValidationError(Problem("task", "claim the exam before reporting it"))
