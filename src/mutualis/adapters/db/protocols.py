"""The protocol library's storage (protocols, their approved versions, practitioners'
acknowledgements) and the theatre activity the federation's volumes are measured on.

Versions are insert-only: there is no method to change or delete one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from mutualis.adapters.db import tables as T
from mutualis.adapters.db.booking import utc
from mutualis.domain.protocols import Protocol, ProtocolKind, ProtocolVersion


def _version(r: Any) -> ProtocolVersion:
    return ProtocolVersion(r["version"], r["text"], r["approved_by"], utc(r["approved_at"]), r["effective_from"],
                           r["id"])  # fmt: skip


def _protocol(r: Any, versions: Sequence[ProtocolVersion]) -> Protocol:
    return Protocol(r["territory_id"], r["code"], r["title"], ProtocolKind(r["kind"]), tuple(r["activities"]),
                    tuple(r["establishments"]), utc(r["created_at"]), r["id"], tuple(versions))  # fmt: skip


class ProtocolRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # protocols
    def add(self, p: Protocol, at: datetime) -> int:
        pid: int = self.conn.execute(insert(T.protocols).values(
            territory_id=p.territory, code=p.code, title=p.title, kind=p.kind.value, activities=list(p.activities),
            establishments=list(p.establishments), created_at=at)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return pid

    def _versions(self, protocol_ids: Sequence[int]) -> dict[int, list[ProtocolVersion]]:
        v = T.protocol_versions
        out: dict[int, list[ProtocolVersion]] = defaultdict(list)
        if protocol_ids:
            q = select(v).where(v.c.protocol_id.in_(protocol_ids)).order_by(v.c.protocol_id, v.c.version)
            for r in self.conn.execute(q).mappings():
                out[r["protocol_id"]].append(_version(r))
        return out

    def get(self, protocol_id: int, *, for_update: bool = False) -> Protocol | None:
        """One protocol with its versions (``for_update`` locks it: versions are numbered under the lock)."""
        q = select(T.protocols).where(T.protocols.c.id == protocol_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).mappings().first()
        return None if row is None else _protocol(row, self._versions([row["id"]])[row["id"]])

    def by_code(self, territory: str, code: str) -> Protocol | None:
        p = T.protocols
        row = self.conn.execute(select(p.c.id).where(p.c.territory_id == territory, p.c.code == code)).first()
        return None if row is None else self.get(row[0])

    def of_territory(self, territory: str) -> list[Protocol]:
        p = T.protocols
        rows = list(self.conn.execute(select(p).where(p.c.territory_id == territory).order_by(p.c.title)).mappings())
        versions = self._versions([r["id"] for r in rows])
        return [_protocol(r, versions[r["id"]]) for r in rows]

    # versions (insert-only)
    def add_version(self, protocol_id: int, v: ProtocolVersion) -> int:
        vid: int = self.conn.execute(insert(T.protocol_versions).values(
            protocol_id=protocol_id, version=v.version, text=v.text, approved_by=v.approved_by,
            approved_at=v.approved_at, effective_from=v.effective_from)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return vid

    # acknowledgements
    def acknowledgements(self, version_ids: Sequence[int]) -> dict[int, dict[str, datetime]]:
        """version id → {RPPS: when they acknowledged it}."""
        a = T.protocol_acks
        out: dict[int, dict[str, datetime]] = defaultdict(dict)
        if version_ids:
            for r in self.conn.execute(select(a).where(a.c.version_id.in_(version_ids))).mappings():
                out[r["version_id"]][r["rpps"]] = utc(r["at"])
        return dict(out)

    def acknowledge(self, version_id: int, rpps: str, at: datetime) -> bool:
        """Record it once; ``False`` when it was already recorded (the first time is kept)."""
        a = T.protocol_acks
        seen = self.conn.execute(select(func.count()).select_from(a).where(a.c.version_id == version_id,
                                                                          a.c.rpps == rpps)).scalar_one()  # fmt: skip
        if seen:
            return False
        self.conn.execute(insert(a).values(version_id=version_id, rpps=rpps, at=at))
        return True

    # theatre activity, for the volumes against the minimum thresholds
    def cancer_theatre_activity(self, territory: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Active theatre bookings starting in [start, end) of digestive-cancer cases booked or done:
        one row per case (its earliest active booking) with ``case_id``, ``procedure``, ``status``,
        ``site`` (site code), ``start_at`` (UTC)."""
        b, c, e, s = T.theatre_bookings, T.surgical_cases, T.equipment, T.sites
        q = (select(c.c.id.label("case_id"), c.c.procedure, c.c.status, s.c.code.label("site"), b.c.start_at)
             .select_from(b.join(c, c.c.id == b.c.case_id).join(e, e.c.id == b.c.equipment_id)
                          .join(s, s.c.id == e.c.site_id))
             .where(c.c.territory_id == territory, c.c.cancer.is_(True), b.c.active.is_(True),
                    e.c.kind == "theatre", c.c.status.in_(("booked", "done")),
                    b.c.start_at >= start, b.c.start_at < end)
             .order_by(b.c.start_at, b.c.id))  # fmt: skip
        out: dict[int, dict[str, Any]] = {}
        for r in self.conn.execute(q).mappings():
            out.setdefault(r["case_id"], {**r, "start_at": utc(r["start_at"])})
        return list(out.values())
