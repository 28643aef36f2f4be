"""Rosters: contracts, solved rosters (runs) and their entries, leave and swap requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from mutualis.adapters.db import tables as T
from mutualis.adapters.db.booking import utc
from mutualis.domain.rosters import Contract, Leave, LeaveStatus, RosterEntry


def _opt(v: datetime | None) -> datetime | None:
    return None if v is None else utc(v)


def _run(r: Any) -> dict[str, Any]:
    return {**r, "created_at": utc(r["created_at"]), "published_at": _opt(r["published_at"])}


def _leave(r: Any) -> Leave:
    return Leave(r["rpps"], r["first_day"], r["last_day"], r["reason"], LeaveStatus(r["status"]), r["id"])


class RosterRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # contracts
    def contracts(self, territory: str) -> dict[str, Contract]:
        c = T.roster_contracts
        return {r["rpps"]: Contract(r["rpps"], r["share"], r["weekends"], r["on_call"])
                for r in self.conn.execute(select(c).where(c.c.territory_id == territory)).mappings()}  # fmt: skip

    def set_contract(self, territory: str, contract: Contract) -> None:
        c = T.roster_contracts
        self.conn.execute(delete(c).where(c.c.territory_id == territory, c.c.rpps == contract.rpps))
        self.conn.execute(insert(c).values(territory_id=territory, rpps=contract.rpps, share=contract.share,
                                           weekends=contract.weekends, on_call=contract.on_call))  # fmt: skip

    # runs
    def add_run(self, territory: str, header: Mapping[str, Any], entries: Sequence[RosterEntry]) -> int:
        rid: int = self.conn.execute(insert(T.roster_runs).values(territory_id=territory, **header)
                                     ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        if entries:
            self.conn.execute(insert(T.roster_entries), [{"run_id": rid, "day": e.day, "rpps": e.rpps,
                                                          "shift": e.shift} for e in entries])  # fmt: skip
        return rid

    def run(self, run_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
        q = select(T.roster_runs).where(T.roster_runs.c.id == run_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).mappings().first()
        return None if row is None else _run(row)

    def runs(self, territory: str, limit: int = 20) -> list[dict[str, Any]]:
        r = T.roster_runs
        q = select(r).where(r.c.territory_id == territory).order_by(r.c.created_at.desc(), r.c.id.desc()).limit(limit)
        return [_run(x) for x in self.conn.execute(q).mappings()]

    def published_over(self, territory: str, first: date, last: date) -> list[dict[str, Any]]:
        """Published runs overlapping ``first``..``last`` (newest first)."""
        r = T.roster_runs
        q = select(r).where(r.c.territory_id == territory, r.c.status == "published",
                            r.c.start_day <= last).order_by(r.c.published_at.desc())  # fmt: skip
        return [_run(x) for x in self.conn.execute(q).mappings()
                if x["start_day"].toordinal() + x["days"] > first.toordinal()]  # fmt: skip

    def entries(self, run_id: int) -> list[RosterEntry]:
        e = T.roster_entries
        q = select(e.c.day, e.c.rpps, e.c.shift).where(e.c.run_id == run_id).order_by(e.c.day, e.c.rpps)
        return [RosterEntry(r[0], r[1], r[2]) for r in self.conn.execute(q)]

    def set_entry(self, run_id: int, day: date, rpps: str, shift: str | None) -> None:
        e = T.roster_entries
        self.conn.execute(delete(e).where(e.c.run_id == run_id, e.c.day == day, e.c.rpps == rpps))
        if shift is not None:
            self.conn.execute(insert(e).values(run_id=run_id, day=day, rpps=rpps, shift=shift))

    def set_status(self, run_id: int, status: str, at: datetime | None = None) -> None:
        values: dict[str, Any] = {"status": status}
        if at is not None:
            values["published_at"] = at
        self.conn.execute(update(T.roster_runs).where(T.roster_runs.c.id == run_id).values(**values))

    # leave
    def add_leave(self, territory: str, leave: Leave, by: str, now: datetime) -> int:
        lid: int = self.conn.execute(insert(T.roster_leave).values(
            territory_id=territory, rpps=leave.rpps, first_day=leave.first, last_day=leave.last, reason=leave.reason,
            status=leave.status.value, requested_by=by, created_at=now)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return lid

    def leave(self, territory: str, first: date | None = None, last: date | None = None) -> list[Leave]:
        lv = T.roster_leave
        q = select(lv).where(lv.c.territory_id == territory)
        if first is not None:
            q = q.where(lv.c.last_day >= first)
        if last is not None:
            q = q.where(lv.c.first_day <= last)
        return [_leave(r) for r in self.conn.execute(q.order_by(lv.c.first_day, lv.c.id)).mappings()]

    def leave_territory(self, leave_id: int) -> str | None:
        lv = T.roster_leave
        return self.conn.execute(select(lv.c.territory_id).where(lv.c.id == leave_id)).scalar()

    def get_leave(self, leave_id: int) -> Leave | None:
        row = self.conn.execute(select(T.roster_leave).where(T.roster_leave.c.id == leave_id)).mappings().first()
        return None if row is None else _leave(row)

    def decide_leave(self, leave_id: int, status: LeaveStatus, by: str, at: datetime) -> None:
        self.conn.execute(update(T.roster_leave).where(T.roster_leave.c.id == leave_id)
                          .values(status=status.value, decided_by=by, decided_at=at))  # fmt: skip

    # swaps
    def add_swap(self, run_id: int, day: date, from_rpps: str, to_rpps: str, by: str, now: datetime) -> int:
        sid: int = self.conn.execute(insert(T.roster_swaps).values(
            run_id=run_id, day=day, from_rpps=from_rpps, to_rpps=to_rpps, status="requested", requested_by=by,
            created_at=now)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return sid

    def swaps(self, run_id: int) -> list[dict[str, Any]]:
        s = T.roster_swaps
        return [dict(r) for r in self.conn.execute(select(s).where(s.c.run_id == run_id).order_by(s.c.id)).mappings()]

    def swap(self, swap_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(T.roster_swaps).where(T.roster_swaps.c.id == swap_id)).mappings().first()
        return None if row is None else dict(row)

    def decide_swap(self, swap_id: int, status: str, by: str, at: datetime) -> None:
        self.conn.execute(update(T.roster_swaps).where(T.roster_swaps.c.id == swap_id)
                          .values(status=status, decided_by=by, decided_at=at))  # fmt: skip
