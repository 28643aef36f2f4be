"""The week optimiser's reads and its proposals: the orders still to place, the appointments
of a horizon (with what decides whether they may move), and proposals with their changes.

Times are UTC-aware in and out (SQLite keeps them naive)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from mutualis.adapters.db import tables as T
from mutualis.adapters.db.booking import utc


def _opt(v: datetime | None) -> datetime | None:
    return None if v is None else utc(v)


_ORDER_COLUMNS = (T.orders.c.id.label("order_id"), T.orders.c.exam_code, T.orders.c.priority, T.orders.c.status,
                  T.orders.c.created_at, T.orders.c.not_before, T.orders.c.due_by, T.orders.c.requesting_site,
                  T.patients.c.insee)  # fmt: skip


class ScheduleRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def requested(self, territory: str, before: datetime) -> list[dict[str, Any]]:
        """Orders waiting for an appointment that may take place before ``before`` (their
        not-before date is earlier), with the patient's commune."""
        o, p = T.orders, T.patients
        q = (select(*_ORDER_COLUMNS).join(p, p.c.id == o.c.patient_id)
             .where(o.c.territory_id == territory, o.c.status == "requested", o.c.not_before < before.date())
             .order_by(o.c.id))  # fmt: skip
        return [{**r, "created_at": utc(r["created_at"])} for r in self.conn.execute(q).mappings()]

    def appointments(self, territory: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Live appointments overlapping [start, end), with their order, patient commune and
        whether they were announced."""
        a, e, o, p = T.appointments, T.equipment, T.orders, T.patients
        q = (select(a.c.id, e.c.code, a.c.start_at, a.c.end_at, a.c.announced_at, *_ORDER_COLUMNS)
             .join(e, e.c.id == a.c.equipment_id).join(o, o.c.id == a.c.order_id).join(p, p.c.id == o.c.patient_id)
             .where(e.c.territory_id == territory, a.c.active, a.c.start_at < utc(end), a.c.end_at > utc(start))
             .order_by(a.c.start_at))  # fmt: skip
        return [{**r, "start_at": utc(r["start_at"]), "end_at": utc(r["end_at"]), "created_at": utc(r["created_at"]),
                 "announced_at": _opt(r["announced_at"])} for r in self.conn.execute(q).mappings()]  # fmt: skip

    def add_proposal(self, territory: str, header: Mapping[str, Any], changes: Sequence[Mapping[str, Any]]) -> int:
        pid: int = self.conn.execute(
            insert(T.schedule_proposals).values(territory_id=territory, status="proposed", **header)
        ).inserted_primary_key[0]  # type: ignore[index]
        if changes:
            self.conn.execute(insert(T.schedule_changes), [{**c, "proposal_id": pid} for c in changes])
        return pid

    def proposal(self, proposal_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
        q = select(T.schedule_proposals).where(T.schedule_proposals.c.id == proposal_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).mappings().first()
        if row is None:
            return None
        return {**row, "created_at": utc(row["created_at"]), "decided_at": _opt(row["decided_at"])}

    def proposals(self, territory: str, limit: int = 20) -> list[dict[str, Any]]:
        sp, sc = T.schedule_proposals, T.schedule_changes
        count = select(func.count()).where(sc.c.proposal_id == sp.c.id).scalar_subquery()
        q = (select(sp, count.label("changes")).where(sp.c.territory_id == territory)
             .order_by(sp.c.created_at.desc(), sp.c.id.desc()).limit(limit))  # fmt: skip
        return [{**r, "created_at": utc(r["created_at"]), "decided_at": _opt(r["decided_at"])}
                for r in self.conn.execute(q).mappings()]  # fmt: skip

    def changes(self, proposal_id: int) -> list[dict[str, Any]]:
        """A proposal's changes, with the order's exam and priority and the patient's name."""
        c, o, p = T.schedule_changes, T.orders, T.patients
        q = (select(c, o.c.exam_code, o.c.priority, o.c.due_by, p.c.last_name, p.c.first_name,
                    p.c.id.label("patient_id")).join(o, o.c.id == c.c.order_id).join(p, p.c.id == o.c.patient_id)
             .where(c.c.proposal_id == proposal_id).order_by(c.c.after_start, c.c.id))  # fmt: skip
        return [{**r, "before_start": _opt(r["before_start"]), "after_start": _opt(r["after_start"]),
                 "after_end": _opt(r["after_end"])} for r in self.conn.execute(q).mappings()]  # fmt: skip

    def decide(self, proposal_id: int, status: str, by: str, at: datetime) -> None:
        self.conn.execute(update(T.schedule_proposals).where(T.schedule_proposals.c.id == proposal_id)
                          .values(status=status, decided_by=by, decided_at=at))  # fmt: skip

    def announce(self, territory: str, start: datetime, end: datetime, now: datetime) -> int:
        """Mark the live appointments starting in [start, end) as announced to their patients."""
        a, e = T.appointments, T.equipment
        ids = select(e.c.id).where(e.c.territory_id == territory).scalar_subquery()
        result = self.conn.execute(update(T.appointments).where(
            a.c.equipment_id.in_(ids), a.c.active, a.c.announced_at.is_(None), a.c.start_at >= utc(start),
            a.c.start_at < utc(end)).values(announced_at=now))  # fmt: skip
        return int(result.rowcount)
