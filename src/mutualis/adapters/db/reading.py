"""Repositories of the reading side: reading tasks (with the atomic claim), reports and their
addenda, screening double-reading cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from mutualis.adapters.db import tables as T
from mutualis.adapters.db.booking import _patient, utc
from mutualis.domain.errors import Conflict
from mutualis.domain.orders import Patient, Priority
from mutualis.domain.reading import ReadingTask, TaskStatus
from mutualis.domain.reading_settings import TaskKind
from mutualis.domain.reports import Addendum, Dose, Report, ReportStatus
from mutualis.domain.screening import Acr, Density, MammogramReading, ScreeningCase, ScreeningState
from mutualis.domain.territory import Modality


def _opt(dt: datetime | None) -> datetime | None:
    return None if dt is None else utc(dt)


def _task(r: Any) -> ReadingTask:
    return ReadingTask(
        order_id=r["order_id"], accession=r["accession"], exam=r["exam"], modality=Modality(r["modality"]),
        site=r["site"], priority=Priority(r["priority"]), kind=TaskKind(r["kind"]), ready_at=utc(r["ready_at"]),
        due_at=utc(r["due_at"]), status=TaskStatus(r["status"]), claimed_by=r["claimed_by"],
        claimed_at=_opt(r["claimed_at"]), escalated=bool(r["escalated"]), excluded=tuple(r["excluded"] or ()),
        id=r["id"])


def _task_values(t: ReadingTask) -> dict[str, Any]:
    return {"order_id": t.order_id, "accession": t.accession, "exam": t.exam, "modality": t.modality.value,
            "site": t.site, "priority": t.priority.value, "kind": t.kind.value, "ready_at": t.ready_at,
            "due_at": t.due_at, "status": t.status.value, "claimed_by": t.claimed_by, "claimed_at": t.claimed_at,
            "escalated": t.escalated, "excluded": list(t.excluded)}


class ReadingTaskRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, territory: str, task: ReadingTask) -> ReadingTask | None:
        """Store a new task; ``None`` when this order already has a task of this kind."""
        try:
            with self.conn.begin_nested():
                new_id = self.conn.execute(insert(T.reading_tasks).values(
                    territory_id=territory, **_task_values(task)).returning(T.reading_tasks.c.id)).scalar_one()
        except IntegrityError:
            return None
        return replace(task, id=new_id)

    def get(self, task_id: int) -> ReadingTask | None:
        row = self.conn.execute(select(T.reading_tasks).where(T.reading_tasks.c.id == task_id)).mappings().first()
        return None if row is None else _task(row)

    def territory_of(self, task_id: int) -> str | None:
        return self.conn.scalar(select(T.reading_tasks.c.territory_id).where(T.reading_tasks.c.id == task_id))

    def open(self, territory: str) -> list[ReadingTask]:
        """Waiting and claimed tasks, soonest due first."""
        rt = T.reading_tasks
        q = (select(rt).where(rt.c.territory_id == territory,
                              rt.c.status.in_((TaskStatus.WAITING.value, TaskStatus.CLAIMED.value)))
             .order_by(rt.c.due_at, rt.c.id))
        return [_task(r) for r in self.conn.execute(q).mappings()]

    def for_order(self, order_id: int) -> list[ReadingTask]:
        rt = T.reading_tasks
        return [_task(r) for r in self.conn.execute(
            select(rt).where(rt.c.order_id == order_id).order_by(rt.c.id)).mappings()]

    def patients(self, order_ids: Sequence[int]) -> dict[int, Patient]:
        """The patient of each order, in one query (for the worklist's rows)."""
        if not order_ids:
            return {}
        o, p = T.orders, T.patients
        q = select(o.c.id.label("order_id"), p).join(p, p.c.id == o.c.patient_id).where(o.c.id.in_(order_ids))
        return {r["order_id"]: _patient(r) for r in self.conn.execute(q).mappings()}

    def done_by(self, territory: str, rpps: str, since: datetime) -> list[ReadingTask]:
        rt = T.reading_tasks
        return [_task(r) for r in self.conn.execute(
            select(rt).where(rt.c.territory_id == territory, rt.c.done_by == rpps, rt.c.done_at >= since)
            .order_by(rt.c.done_at.desc())).mappings()]

    def claim(self, task_id: int, rpps: str, now: datetime, lapsed_before: datetime, *, assigned: bool = False) -> bool:
        """Take the task if it is waiting, or held by a claim idle since before ``lapsed_before``,
        in one conditional UPDATE: of two concurrent claims, exactly one changes the row."""
        rt = T.reading_tasks
        free = or_(rt.c.status == TaskStatus.WAITING.value,
                   and_(rt.c.status == TaskStatus.CLAIMED.value, rt.c.claimed_at < lapsed_before))
        result = self.conn.execute(update(rt).where(rt.c.id == task_id, free).values(
            status=TaskStatus.CLAIMED.value, claimed_by=rpps, claimed_at=now, assigned=assigned))
        return result.rowcount == 1

    def save(self, task: ReadingTask, *, expected: TaskStatus, holder: str | None = None,
             done_at: datetime | None = None) -> None:
        """Write ``task`` over the stored one if that one is still ``expected`` (and held by
        ``holder`` when given); otherwise somebody else changed it first: :class:`Conflict`."""
        assert task.id is not None
        rt = T.reading_tasks
        cond = [rt.c.id == task.id, rt.c.status == expected.value]
        if holder is not None:
            cond.append(rt.c.claimed_by == holder)
        values = _task_values(task)
        if task.status is TaskStatus.DONE:
            values |= {"done_by": holder or task.claimed_by, "done_at": done_at}
        if task.status is TaskStatus.WAITING:
            values["assigned"] = False
        if self.conn.execute(update(rt).where(*cond).values(values)).rowcount != 1:
            raise Conflict(f"reading task {task.id} changed meanwhile: reload it")


def _report(r: Any, addenda: Sequence[Addendum]) -> Report:
    return Report(
        accession=r["accession"], exam=r["exam"], modality=Modality(r["modality"]), author=r["author"],
        indication=r["indication"], technique=r["technique"], findings=r["findings"], conclusion=r["conclusion"],
        dose=Dose(**r["dose"]), status=ReportStatus(r["status"]), signed_by=r["signed_by"],
        signed_at=_opt(r["signed_at"]), addenda=tuple(addenda), id=r["id"])


class ReportRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def for_order(self, order_id: int) -> Report | None:
        row = self.conn.execute(select(T.reports).where(T.reports.c.order_id == order_id)).mappings().first()
        if row is None:
            return None
        ad = T.report_addenda
        addenda = [Addendum(r["text"], r["author"], utc(r["at"])) for r in self.conn.execute(
            select(ad).where(ad.c.report_id == row["id"]).order_by(ad.c.id)).mappings()]
        return _report(row, addenda)

    def order_of(self, report_id: int) -> int | None:
        return self.conn.scalar(select(T.reports.c.order_id).where(T.reports.c.id == report_id))

    def save(self, order_id: int, report: Report, now: datetime) -> Report:
        """Insert or update the report's own fields (never its addenda, see :meth:`add_addendum`).
        The database refuses any change to a signed report."""
        values = {"accession": report.accession, "exam": report.exam, "modality": report.modality.value,
                  "author": report.author, "indication": report.indication, "technique": report.technique,
                  "findings": report.findings, "conclusion": report.conclusion, "dose": asdict(report.dose),
                  "status": report.status.value, "signed_by": report.signed_by, "signed_at": report.signed_at,
                  "updated_at": now}
        if report.id is None:
            try:
                with self.conn.begin_nested():
                    new_id = self.conn.execute(insert(T.reports).values(order_id=order_id, **values)
                                               .returning(T.reports.c.id)).scalar_one()
            except IntegrityError as exc:
                raise Conflict("this exam's report was started meanwhile: reload it") from exc
            return replace(report, id=new_id)
        self.conn.execute(update(T.reports).where(T.reports.c.id == report.id).values(values))
        return report

    def add_addendum(self, report_id: int, addendum: Addendum) -> None:
        self.conn.execute(insert(T.report_addenda).values(
            report_id=report_id, text=addendum.text, author=addendum.author, at=addendum.at))


def _reading_doc(m: MammogramReading | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"reader": m.reader, "at": utc(m.at).isoformat(), "right": int(m.right), "left": int(m.left),
            "density": m.density.value, "technically_insufficient": m.technically_insufficient}


def _reading(d: dict[str, Any] | None) -> MammogramReading | None:
    if not d:
        return None
    return MammogramReading(d["reader"], datetime.fromisoformat(d["at"]), Acr(d["right"]), Acr(d["left"]),
                            Density(d["density"]), bool(d["technically_insufficient"]))


def _case(r: Any) -> ScreeningCase:
    return ScreeningCase(r["accession"], ScreeningState(r["state"]), _reading(r["l1"]), r["workup_negative"],
                         _opt(r["workup_at"]), _reading(r["l2"]))


class ScreeningRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, order_id: int) -> ScreeningCase | None:
        row = self.conn.execute(
            select(T.screening_cases).where(T.screening_cases.c.order_id == order_id)).mappings().first()
        return None if row is None else _case(row)

    def save(self, order_id: int, case: ScreeningCase, now: datetime) -> None:
        values = {"accession": case.accession, "state": case.state.value, "l1": _reading_doc(case.l1),
                  "workup_negative": case.workup_negative, "workup_at": case.workup_at, "l2": _reading_doc(case.l2),
                  "updated_at": now}
        sc = T.screening_cases
        if self.conn.scalar(select(sc.c.order_id).where(sc.c.order_id == order_id)) is None:
            self.conn.execute(insert(sc).values(order_id=order_id, **values))
        else:
            self.conn.execute(update(sc).where(sc.c.order_id == order_id).values(values))

    def all(self, territory: str) -> list[ScreeningCase]:
        sc, o = T.screening_cases, T.orders
        rows = self.conn.execute(select(sc).join(o, o.c.id == sc.c.order_id).where(o.c.territory_id == territory)
                                 ).mappings()
        return [_case(r) for r in rows]
