"""Repositories of the booking side: patients, orders, appointments, presence, offers.

Times are stored in UTC; SQLite keeps them naive, so every read gives them back UTC-aware.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from mutualis.adapters.db import cache
from mutualis.adapters.db import tables as T
from mutualis.domain.orders import Appointment, Order, OrderStatus, Patient, Priority, Sex
from mutualis.engines.slots import Busy, Shift


def utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt if dt.tzinfo is UTC else dt.astimezone(UTC)


def _patient(r: Any) -> Patient:
    return Patient(
        nir=r["nir"],
        last_name=r["last_name"],
        first_name=r["first_name"],
        birth_date=r["birth_date"],
        sex=Sex(r["sex"]),
        insee=r["insee"],
        phone=r["phone"],
        id=r["id"],
    )


def _order(r: Any) -> Order:
    return Order(
        territory=r["territory_id"],
        patient_id=r["patient_id"],
        exam=r["exam_code"],
        requester=r["requester_rpps"],
        requesting_site=r["requesting_site"],
        priority=Priority(r["priority"]),
        not_before=r["not_before"],
        due_by=r["due_by"],
        clinical_info=r["clinical_info"],
        status=OrderStatus(r["status"]),
        created_at=utc(r["created_at"]),
        accession_number=r["accession_number"],
        id=r["id"],
    )


class PatientRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, territory: str, p: Patient, now: datetime) -> Patient:
        pid = self.conn.execute(
            insert(T.patients).values(
                territory_id=territory,
                nir=p.nir,
                last_name=p.last_name,
                first_name=p.first_name,
                birth_date=p.birth_date,
                sex=p.sex.value,
                insee=p.insee,
                phone=p.phone,
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        return Patient(**{**p.__dict__, "id": pid})


    def get(self, territory: str, patient_id: int) -> Patient | None:
        row = (
            self.conn.execute(
                select(T.patients).where(T.patients.c.id == patient_id, T.patients.c.territory_id == territory)
            )
            .mappings()
            .first()
        )
        return None if row is None else _patient(row)

    def many(self, territory: str, ids: Iterable[int]) -> dict[int, Patient]:
        """The territory's patients among ``ids``, in one query."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        q = select(T.patients).where(T.patients.c.territory_id == territory, T.patients.c.id.in_(wanted))
        return {r["id"]: _patient(r) for r in self.conn.execute(q).mappings()}

    def by_nir(self, territory: str, nir: str) -> Patient | None:
        row = (
            self.conn.execute(select(T.patients).where(T.patients.c.nir == nir, T.patients.c.territory_id == territory))
            .mappings()
            .first()
        )
        return None if row is None else _patient(row)

    def search(self, territory: str, text: str, limit: int = 20) -> list[Patient]:
        words = text.strip().split()
        q = select(T.patients).where(T.patients.c.territory_id == territory)
        for w in words:
            like = f"{w.lower()}%"
            q = q.where(
                or_(
                    func.lower(T.patients.c.last_name).like(like),
                    func.lower(T.patients.c.first_name).like(like),
                    T.patients.c.nir.like(f"{w}%"),
                )
            )
        q = q.order_by(T.patients.c.last_name, T.patients.c.first_name).limit(limit)
        return [_patient(r) for r in self.conn.execute(q).mappings()]


class OrderRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, o: Order, now: datetime) -> Order:
        oid = self.conn.execute(
            insert(T.orders).values(
                territory_id=o.territory,
                patient_id=o.patient_id,
                exam_code=o.exam,
                requester_rpps=o.requester,
                requesting_site=o.requesting_site,
                priority=o.priority.value,
                clinical_info=o.clinical_info,
                not_before=o.not_before,
                due_by=o.due_by,
                status=o.status.value,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        accession = f"MUT{oid:010d}"
        self.conn.execute(update(T.orders).where(T.orders.c.id == oid).values(accession_number=accession))
        return Order(**{**o.__dict__, "id": oid, "accession_number": accession, "created_at": now})

    def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        q = select(T.orders).where(T.orders.c.id == order_id)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).mappings().first()
        return None if row is None else _order(row)

    def set_status(self, order_id: int, status: OrderStatus, now: datetime) -> None:
        self.conn.execute(update(T.orders).where(T.orders.c.id == order_id).values(status=status.value, updated_at=now))

    def set_waiting(self, order_id: int, since: datetime | None) -> None:
        self.conn.execute(update(T.orders).where(T.orders.c.id == order_id).values(waiting_since=since))

    def waiting(self, territory: str, exam_codes: Iterable[str], on: date) -> list[Order]:
        """Orders of the waiting list that could take a slot for one of these exams on day ``on``."""
        q = (
            select(T.orders)
            .where(
                T.orders.c.territory_id == territory,
                T.orders.c.waiting_since.is_not(None),
                T.orders.c.status == OrderStatus.REQUESTED.value,
                T.orders.c.exam_code.in_(list(exam_codes)),
                T.orders.c.not_before <= on,
            )
            .order_by(T.orders.c.waiting_since)
        )
        return [_order(r) for r in self.conn.execute(q).mappings()]

    def list(
        self, territory: str, *, status: OrderStatus | None = None, patient_id: int | None = None, limit: int = 200
    ) -> list[Order]:
        q = select(T.orders).where(T.orders.c.territory_id == territory).order_by(T.orders.c.id.desc()).limit(limit)
        if status:
            q = q.where(T.orders.c.status == status.value)
        if patient_id:
            q = q.where(T.orders.c.patient_id == patient_id)
        return [_order(r) for r in self.conn.execute(q).mappings()]


def _appointment(r: Any) -> Appointment:
    return Appointment(
        order_id=r["order_id"],
        equipment=r["code"],
        start=utc(r["start_at"]),
        end=utc(r["end_at"]),
        active=r["active"],
        id=r["id"],
        announced_at=None if r["announced_at"] is None else utc(r["announced_at"]),
    )


class AppointmentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def equipment_ids(self, territory: str) -> dict[str, int]:
        return {
            r[0]: r[1]
            for r in self.conn.execute(
                select(T.equipment.c.code, T.equipment.c.id).where(T.equipment.c.territory_id == territory)
            )
        }

    def add(self, territory: str, a: Appointment, now: datetime) -> Appointment:
        eq_id = self.equipment_ids(territory)[a.equipment]
        aid = self.conn.execute(
            insert(T.appointments).values(
                order_id=a.order_id,
                equipment_id=eq_id,
                start_at=utc(a.start),
                end_at=utc(a.end),
                active=True,
                created_at=now,
                announced_at=None if a.announced_at is None else utc(a.announced_at),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        self._touch(T.equipment.c.id == eq_id)
        return Appointment(**{**a.__dict__, "id": aid})

    def _touch(self, which: Any) -> None:
        """Bump the bookings version of the machines ``which`` selects (same transaction as the change)."""
        self.conn.execute(update(T.equipment).where(which).values(bookings_version=T.equipment.c.bookings_version + 1))

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Bulk insert (benchmarks): rows with order_id, equipment_id, start_at, end_at, active, created_at."""
        if rows:
            self.conn.execute(insert(T.appointments), list(rows))
            self._touch(T.equipment.c.id.in_({r["equipment_id"] for r in rows}))

    def _select(self) -> Any:
        a, e = T.appointments, T.equipment
        return select(a.c.id, a.c.order_id, a.c.start_at, a.c.end_at, a.c.active, a.c.announced_at, e.c.code).join(
            e, e.c.id == a.c.equipment_id
        )

    def active_for_order(self, order_id: int) -> Appointment | None:
        a = T.appointments
        row = self.conn.execute(self._select().where(a.c.order_id == order_id, a.c.active)).mappings().first()
        return None if row is None else _appointment(row)

    def deactivate(self, appointment_id: int, now: datetime) -> None:
        self.conn.execute(
            update(T.appointments).where(T.appointments.c.id == appointment_id).values(active=False, cancelled_at=now)
        )
        self._touch(T.equipment.c.id == select(T.appointments.c.equipment_id).where(
            T.appointments.c.id == appointment_id).scalar_subquery())

    def booked(self, territory: str, codes: Sequence[str], start: datetime, end: datetime, tz: str
               ) -> dict[str, list[Busy]]:
        """Per machine, its live bookings starting in [start − 1 day, end) (naive local time of
        ``tz``), sorted by start. The hot path of slot search: each machine's future book is kept
        per process (adapters/db/cache.py) and re-read only when its version stamp moved."""
        zone = ZoneInfo(tz)
        e = T.equipment
        versions = dict(self.conn.execute(select(e.c.code, e.c.bookings_version).where(
            e.c.territory_id == territory, e.c.code.in_(list(codes)))).all())
        database = self.conn.engine.url.render_as_string(hide_password=False)
        out: dict[str, list[Busy]] = {}
        for code, version in versions.items():
            key = (database, territory, code)
            book = cache.MACHINES.get(key)
            if book is None or book.version != version or start - timedelta(days=1) < book.floor:
                floor = min(start, datetime.now(zone).replace(tzinfo=None)) - timedelta(days=2)
                book = cache.MachineBook(version, floor, self._read_book(territory, code, floor, zone))
                cache.MACHINES[key] = book
            out[code] = book.between(start, end)
        return out

    def _read_book(self, territory: str, code: str, floor: datetime, zone: ZoneInfo) -> list[Busy]:
        """A machine's live bookings starting from ``floor`` (local) on, sorted by start."""
        a, e, o, x = T.appointments, T.equipment, T.orders, T.exams
        since = floor.replace(tzinfo=zone).astimezone(UTC)
        q = (
            select(a.c.start_at, a.c.end_at, x.c.radiologist_on_site)
            .join(e, e.c.id == a.c.equipment_id)
            .join(o, o.c.id == a.c.order_id)
            .outerjoin(x, (x.c.territory_id == o.c.territory_id) & (x.c.code == o.c.exam_code))
            .where(e.c.territory_id == territory, e.c.code == code, a.c.active, a.c.start_at >= since)
            .order_by(a.c.start_at)
        )
        return [Busy(utc(r[0]).astimezone(zone).replace(tzinfo=None), utc(r[1]).astimezone(zone).replace(tzinfo=None),
                     bool(r[2])) for r in self.conn.execute(q).all()]

    def calendar(self, territory: str, code: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """A machine's live appointments in [start, end) with order and patient, for its calendar."""
        a, e, o, p = T.appointments, T.equipment, T.orders, T.patients
        q = (
            select(
                a.c.id,
                a.c.start_at,
                a.c.end_at,
                o.c.id.label("order_id"),
                o.c.exam_code,
                o.c.priority,
                o.c.status,
                o.c.accession_number,
                p.c.last_name,
                p.c.first_name,
                p.c.id.label("patient_id"),
            )
            .join(e, e.c.id == a.c.equipment_id)
            .join(o, o.c.id == a.c.order_id)
            .join(p, p.c.id == o.c.patient_id)
            .where(
                e.c.territory_id == territory,
                e.c.code == code,
                a.c.active,
                a.c.start_at < utc(end),
                a.c.end_at > utc(start),
            )
            .order_by(a.c.start_at)
        )
        return [
            {**r, "start_at": utc(r["start_at"]), "end_at": utc(r["end_at"])} for r in self.conn.execute(q).mappings()
        ]


class PresenceRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def replace(self, territory: str, first: date, last: date, shifts: Sequence[Shift]) -> int:
        site_ids = {
            r[0]: r[1]
            for r in self.conn.execute(select(T.sites.c.code, T.sites.c.id).where(T.sites.c.territory_id == territory))
        }
        self.conn.execute(
            delete(T.presence).where(
                T.presence.c.territory_id == territory, T.presence.c.day >= first, T.presence.c.day <= last
            )
        )
        rows = [
            {
                "territory_id": territory,
                "day": s.day,
                "site_id": site_ids[s.site],
                "rpps": s.rpps,
                "role": s.role,
                "start_min": s.start_min,
                "end_min": s.end_min,
            }
            for s in shifts
        ]
        if rows:
            self.conn.execute(insert(T.presence), rows)
        self.conn.execute(update(T.territories).where(T.territories.c.id == territory).values(
            presence_version=T.territories.c.presence_version + 1))
        return len(rows)

    def shifts(self, territory: str, sites: Sequence[str], first: date, last: date) -> list[Shift]:
        """Presence on these sites and days; the territory's presence from two days ago on is kept
        per process and re-read only when its version stamp moved."""
        version = self.conn.scalar(select(T.territories.c.presence_version).where(T.territories.c.id == territory))
        key = (self.conn.engine.url.render_as_string(hide_password=False), territory)
        book = cache.PRESENCE.get(key)
        if book is None or book.version != version or first < book.floor:
            floor = min(first, date.today() - timedelta(days=2))
            book = cache.PresenceBook(version or 0, floor)
            p, s = T.presence, T.sites
            q = (select(s.c.code, p.c.day, p.c.role, p.c.start_min, p.c.end_min, p.c.rpps)
                 .join(s, s.c.id == p.c.site_id).where(p.c.territory_id == territory, p.c.day >= floor))
            for r in self.conn.execute(q).all():
                book.by_site_day.setdefault((r[0], r[1]), []).append((r[2], r[3], r[4], r[5]))
            cache.PRESENCE[key] = book
        out = []
        for site in sites:
            day = first
            while day <= last:
                out += [Shift(site, day, role, a, b, rpps)
                        for role, a, b, rpps in book.by_site_day.get((site, day), ())]
                day += timedelta(days=1)
        return out


class OfferRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, order_id: int, equipment_id: int, start: datetime, end: datetime, now: datetime) -> int:
        return int(
            self.conn.execute(
                insert(T.offers).values(
                    order_id=order_id,
                    equipment_id=equipment_id,
                    start_at=utc(start),
                    end_at=utc(end),
                    status="offered",
                    created_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )

    def get(self, offer_id: int) -> dict[str, Any] | None:
        f, e = T.offers, T.equipment
        row = (
            self.conn.execute(select(f, e.c.code).join(e, e.c.id == f.c.equipment_id).where(f.c.id == offer_id))
            .mappings()
            .first()
        )
        return None if row is None else {**row, "start_at": utc(row["start_at"]), "end_at": utc(row["end_at"])}

    def for_order(self, order_id: int) -> list[dict[str, Any]]:
        f, e = T.offers, T.equipment
        return [
            {**r, "start_at": utc(r["start_at"]), "end_at": utc(r["end_at"])}
            for r in self.conn.execute(
                select(f, e.c.code).join(e, e.c.id == f.c.equipment_id).where(f.c.order_id == order_id).order_by(f.c.id)
            ).mappings()
        ]

    def set_status(self, offer_id: int, status: str) -> None:
        self.conn.execute(update(T.offers).where(T.offers.c.id == offer_id).values(status=status))
