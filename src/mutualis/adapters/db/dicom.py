"""Repositories of the DICOM side: worklist rows, performed procedure steps, PACS arrival."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, select, update

from mutualis.adapters.db import tables as T
from mutualis.adapters.db.booking import _order, _patient, utc
from mutualis.domain.orders import Order, OrderStatus, Patient
from mutualis.domain.worklist import Mpps, MppsStatus, PerformedSeries

SCHEDULED_STATES = (OrderStatus.SCHEDULED.value, OrderStatus.ARRIVED.value)


@dataclass(frozen=True)
class WorklistRow:
    order: Order
    patient: Patient
    equipment: str
    start: datetime  # UTC


_TERRITORY_OF = select(T.equipment.c.territory_id).where(T.equipment.c.ae_title == bindparam("ae"))


@lru_cache(maxsize=16)
def _scheduled_query(start: bool, end: bool, modality: bool, ae_title: bool) -> Select[Any]:
    """The worklist query with the filters a C-FIND pins down, built once per combination."""
    a, e, o, p = T.appointments, T.equipment, T.orders, T.patients
    patient_cols = [c.label(f"p_{c.name}") for c in p.c]
    q = (select(o, *patient_cols, e.c.code, a.c.start_at).join(e, e.c.id == a.c.equipment_id)
         .join(o, o.c.id == a.c.order_id).join(p, p.c.id == o.c.patient_id)
         .where(e.c.territory_id == bindparam("territory"), a.c.active, o.c.status.in_(SCHEDULED_STATES))
         .order_by(a.c.start_at))
    if start:
        q = q.where(a.c.start_at >= bindparam("start"))
    if end:
        q = q.where(a.c.start_at < bindparam("end"))
    if modality:
        q = q.where(e.c.modality == bindparam("modality"))
    if ae_title:
        q = q.where(e.c.ae_title == bindparam("ae"))
    return q


class WorklistRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def ae_titles(self) -> dict[str, str]:
        """Every imaging AE title known, with its territory."""
        e = T.equipment
        return dict(self.conn.execute(select(e.c.ae_title, e.c.territory_id).where(e.c.ae_title.is_not(None))).all())

    def territory_of(self, ae_title: str) -> str | None:
        """The territory of the machine with this AE title."""
        return self.conn.scalar(_TERRITORY_OF, {"ae": ae_title})

    def scheduled(self, territory: str, *, start: datetime | None, end: datetime | None,
                  modality: str | None, ae_title: str | None) -> list[WorklistRow]:
        """Live appointments of scheduled or arrived orders, narrowed by what the query pins down."""
        q = _scheduled_query(start is not None, end is not None, bool(modality), bool(ae_title))
        params = {"territory": territory, "start": start and utc(start), "end": end and utc(end),
                  "modality": modality, "ae": ae_title}
        names = [c.name for c in T.patients.c]
        out = []
        for r in self.conn.execute(q, params).mappings():
            patient = _patient({n: r[f"p_{n}"] for n in names})
            out.append(WorklistRow(_order(r), patient, r["code"], utc(r["start_at"])))
        return out

    def order_by_accession(self, accession_number: str) -> int | None:
        return self.conn.scalar(select(T.orders.c.id).where(T.orders.c.accession_number == accession_number))

    def mark_images_available(self, order_id: int, when: datetime) -> None:
        self.conn.execute(update(T.orders).where(T.orders.c.id == order_id).values(images_available_at=when))

    def images_available_at(self, order_id: int) -> datetime | None:
        value = self.conn.scalar(select(T.orders.c.images_available_at).where(T.orders.c.id == order_id))
        return None if value is None else utc(value)

    def awaiting_images(self, territory: str, limit: int = 500) -> list[tuple[int, str, str]]:
        """(order id, accession number, site of the machine) of acquired orders not yet seen in a PACS."""
        a, e, o = T.appointments, T.equipment, T.orders
        q = (select(o.c.id, o.c.accession_number, T.sites.c.code).join(a, a.c.order_id == o.c.id)
             .join(e, e.c.id == a.c.equipment_id).join(T.sites, T.sites.c.id == e.c.site_id)
             .where(o.c.territory_id == territory, o.c.status == OrderStatus.ACQUIRED.value,
                    o.c.images_available_at.is_(None), a.c.active).limit(limit))
        return [(r[0], r[1], r[2]) for r in self.conn.execute(q).all()]


def _mpps(r: Any) -> Mpps:
    return Mpps(r["sop_instance_uid"], r["order_id"], MppsStatus(r["status"]), r["station_ae"],
                tuple(PerformedSeries(**s) for s in r["series"]))


class MppsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, sop_instance_uid: str, *, for_update: bool = False) -> Mpps | None:
        q = select(T.mpps).where(T.mpps.c.sop_instance_uid == sop_instance_uid)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).mappings().first()
        return None if row is None else _mpps(row)

    def add(self, m: Mpps, now: datetime) -> None:
        self.conn.execute(insert(T.mpps).values(
            sop_instance_uid=m.sop_instance_uid, order_id=m.order_id, status=m.status.value, station_ae=m.station_ae,
            series=[s.__dict__ for s in m.series], created_at=now, updated_at=now))

    def update(self, sop_instance_uid: str, status: MppsStatus, series: Sequence[PerformedSeries],
               now: datetime) -> None:
        self.conn.execute(update(T.mpps).where(T.mpps.c.sop_instance_uid == sop_instance_uid).values(
            status=status.value, series=[s.__dict__ for s in series], updated_at=now))

    def for_order(self, order_id: int) -> list[Mpps]:
        return [_mpps(r) for r in self.conn.execute(
            select(T.mpps).where(T.mpps.c.order_id == order_id).order_by(T.mpps.c.created_at)).mappings()]
