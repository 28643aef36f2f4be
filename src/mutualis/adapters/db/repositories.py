"""Repositories: domain values in, domain values out, over one SQLAlchemy connection (the
unit of work's). No business rule lives here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update

from mutualis.adapters.db import tables as T
from mutualis.adapters.territory_file import reading_document, reading_settings
from mutualis.domain.accounts import Role, User
from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.reading_settings import ReadingSettings
from mutualis.domain.territory import (
    BookingSettings,
    Closure,
    Convention,
    ConventionKind,
    Equipment,
    EquipmentKind,
    Establishment,
    Exam,
    Modality,
    Platform,
    Practitioner,
    Privilege,
    Profession,
    Site,
    Territory,
    TimeRange,
    TravelSettings,
)


def _hours_to_json(hours: Any) -> dict[str, list[list[int]]]:
    return {day: [[r.start, r.end] for r in ranges] for day, ranges in hours.items()}


def _closures_to_json(closures: Iterable[Closure]) -> list[dict[str, str]]:
    return [{"start": c.start.isoformat(), "end": c.end.isoformat(), "reason": c.reason} for c in closures]


def _upsert(
    conn: Connection, table: Table, territory_id: str, key: str, rows: Sequence[dict[str, Any]]
) -> tuple[dict[str, int], list[int]]:
    """Insert or update ``rows`` of the territory in ``table`` (matched on ``key``), keeping the
    ids of rows that stay. Returns key → id, and the ids of stored rows absent from ``rows``
    (the caller deletes those once nothing it still writes refers to them)."""
    existing = {
        r[0]: r[1] for r in conn.execute(select(table.c[key], table.c.id).where(table.c.territory_id == territory_id))
    }
    ids: dict[str, int] = {}
    for row in rows:
        values = {**row, "territory_id": territory_id}
        if row[key] in existing:
            ids[row[key]] = existing[row[key]]
            conn.execute(update(table).where(table.c.id == existing[row[key]]).values(values))
        else:
            ids[row[key]] = conn.execute(insert(table).values(values)).inserted_primary_key[0]  # type: ignore[index]
    return ids, [i for k, i in existing.items() if k not in ids]


_TERRITORY_CACHE: dict[tuple[str, str], tuple[datetime, Territory]] = {}


class TerritoryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def exists(self, territory_id: str) -> bool:
        return (
            self.conn.execute(select(T.territories.c.id).where(T.territories.c.id == territory_id)).first() is not None
        )

    def ids(self) -> list[str]:
        return list(self.conn.scalars(select(T.territories.c.id).order_by(T.territories.c.id)))

    def ae_title_owner(self, ae_title: str) -> str | None:
        """The territory whose equipment uses this AE title, if any."""
        return self.conn.scalar(select(T.equipment.c.territory_id).where(T.equipment.c.ae_title == ae_title))

    def save(self, t: Territory, source: str | None, now: datetime) -> None:
        """Store ``t``, updating in place what is already there (ids of kept rows are stable)."""
        c = self.conn
        head = {
            "name": t.name,
            "timezone": t.timezone,
            "detour_factor": t.travel.detour_factor,
            "road_speed_kmh": t.travel.road_speed_kmh,
            "source": source,
            "loaded_at": now,
            "booking": asdict(t.booking),
            "reading": reading_document(t.reading),
        }
        _TERRITORY_CACHE.pop((c.engine.url.render_as_string(hide_password=False), t.id), None)
        if self.exists(t.id):
            c.execute(update(T.territories).where(T.territories.c.id == t.id).values(head))
        else:
            c.execute(insert(T.territories).values(id=t.id, **head))
        # children of conventions are rebuilt; they are owned by their convention alone
        conv_ids = select(T.conventions.c.id).where(T.conventions.c.territory_id == t.id)
        c.execute(
            delete(T.privilege_sites).where(
                T.privilege_sites.c.privilege_id.in_(
                    select(T.privileges.c.id).where(T.privileges.c.convention_id.in_(conv_ids))
                )
            )
        )
        c.execute(delete(T.privileges).where(T.privileges.c.convention_id.in_(conv_ids)))
        c.execute(delete(T.convention_members).where(T.convention_members.c.convention_id.in_(conv_ids)))

        est, est_gone = _upsert(
            c,
            T.establishments,
            t.id,
            "finess",
            [{"finess": e.finess, "name": e.name, "kind": e.kind} for e in t.establishments],
        )
        sites, sites_gone = _upsert(
            c,
            T.sites,
            t.id,
            "code",
            [
                {"code": s.id, "establishment_id": est[s.establishment], "name": s.name, "insee": s.insee,
             "pacs_url": s.pacs_url}
                for s in t.sites
            ],
        )
        _, eq_gone = _upsert(
            c,
            T.equipment,
            t.id,
            "code",
            [
                {
                    "code": e.id,
                    "site_id": sites[e.site],
                    "name": e.name,
                    "kind": e.kind.value,
                    "modality": e.modality.value if e.modality else None,
                    "ae_title": e.ae_title,
                    "station_name": e.station_name,
                    "opening_hours": _hours_to_json(e.opening_hours),
                    "closures": _closures_to_json(e.closures),
                    "exams": list(e.exams),
                }
                for e in t.equipment
            ],
        )
        pract, pract_gone = _upsert(
            c,
            T.practitioners,
            t.id,
            "rpps",
            [
                {
                    "rpps": p.rpps,
                    "last_name": p.last_name,
                    "first_name": p.first_name,
                    "profession": p.profession.value,
                    "establishment_id": est[p.establishment],
                    "qualifications": list(p.qualifications),
                    "subspecialties": list(p.subspecialties),
                }
                for p in t.practitioners
            ],
        )
        convs, convs_gone = _upsert(
            c,
            T.conventions,
            t.id,
            "code",
            [
                {
                    "code": v.id,
                    "kind": v.kind.value,
                    "name": v.name,
                    "start": v.start,
                    "end": v.end,
                    "coordinator_rpps": v.coordinator,
                    "remote_reading": [m.value for m in v.remote_reading],
                }
                for v in t.conventions
            ],
        )
        for v in t.conventions:
            for pos, finess in enumerate(v.members):
                c.execute(
                    insert(T.convention_members).values(
                        convention_id=convs[v.id],
                        establishment_id=est[finess],
                        position=pos,
                        contribution_key=v.contribution_keys.get(finess),
                    )
                )
            for pos, pv in enumerate(v.privileges):
                pid = c.execute(
                    insert(T.privileges).values(
                        convention_id=convs[v.id],
                        practitioner_id=pract[pv.rpps],
                        position=pos,
                        platforms=[x.value for x in pv.platforms],
                        start=pv.start,
                        end=pv.end,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                for spos, sid in enumerate(pv.sites):
                    c.execute(insert(T.privilege_sites).values(privilege_id=pid, site_id=sites[sid], position=spos))
        _, exams_gone = _upsert(
            c,
            T.exams,
            t.id,
            "code",
            [
                {
                    "code": x.code,
                    "label": x.label,
                    "kind": x.kind.value,
                    "modality": x.modality.value if x.modality else None,
                    "duration_min": x.duration_min,
                    "ccam": x.ccam,
                    "radiologist_on_site": x.radiologist_on_site,
                    "preparation": x.preparation,
                    "report_template": dict(x.report_template) or None,
                }
                for x in t.exams
            ],
        )
        # what the file no longer has goes last, dependants first
        for table, gone in (
            (T.exams, exams_gone),
            (T.conventions, convs_gone),
            (T.practitioners, pract_gone),
            (T.equipment, eq_gone),
            (T.sites, sites_gone),
            (T.establishments, est_gone),
        ):
            if gone:
                c.execute(delete(table).where(table.c.id.in_(gone)))

    def get(self, territory_id: str) -> Territory | None:
        """The stored territory. A territory changes only when a file is loaded, so the assembled
        value is kept per database and reused while its ``loaded_at`` stays the same (one query)."""
        loaded_at = self.conn.scalar(select(T.territories.c.loaded_at).where(T.territories.c.id == territory_id))
        if loaded_at is None:
            return None
        key = (self.conn.engine.url.render_as_string(hide_password=False), territory_id)
        cached = _TERRITORY_CACHE.get(key)
        if cached is not None and cached[0] == loaded_at:
            return cached[1]
        territory = self._assemble(territory_id)
        if territory is not None:
            _TERRITORY_CACHE[key] = (loaded_at, territory)
        return territory

    def _assemble(self, territory_id: str) -> Territory | None:
        c = self.conn
        head = c.execute(select(T.territories).where(T.territories.c.id == territory_id)).mappings().first()
        if head is None:
            return None

        def rows(table: Table) -> list[Any]:
            return list(
                c.execute(select(table).where(table.c.territory_id == territory_id).order_by(table.c.id)).mappings()
            )

        est_rows = rows(T.establishments)
        finess = {r["id"]: r["finess"] for r in est_rows}
        site_rows = rows(T.sites)
        site_code = {r["id"]: r["code"] for r in site_rows}
        pract_rows = rows(T.practitioners)
        rpps = {r["id"]: r["rpps"] for r in pract_rows}
        conventions = []
        for v in rows(T.conventions):
            members = (
                c.execute(
                    select(T.convention_members)
                    .where(T.convention_members.c.convention_id == v["id"])
                    .order_by(T.convention_members.c.position)
                )
                .mappings()
                .all()
            )
            privileges = []
            for pv in c.execute(
                select(T.privileges).where(T.privileges.c.convention_id == v["id"]).order_by(T.privileges.c.position)
            ).mappings():
                psites = c.scalars(
                    select(T.privilege_sites.c.site_id)
                    .where(T.privilege_sites.c.privilege_id == pv["id"])
                    .order_by(T.privilege_sites.c.position)
                )
                privileges.append(
                    Privilege(
                        rpps[pv["practitioner_id"]],
                        tuple(site_code[s] for s in psites),
                        tuple(Platform(x) for x in pv["platforms"]),
                        pv["start"],
                        pv["end"],
                    )
                )
            conventions.append(
                Convention(
                    id=v["code"],
                    kind=ConventionKind(v["kind"]),
                    name=v["name"],
                    members=tuple(finess[m["establishment_id"]] for m in members),
                    start=v["start"],
                    end=v["end"],
                    coordinator=v["coordinator_rpps"],
                    remote_reading=tuple(Modality(m) for m in v["remote_reading"]),
                    contribution_keys={
                        finess[m["establishment_id"]]: m["contribution_key"]
                        for m in members
                        if m["contribution_key"] is not None
                    },
                    privileges=tuple(privileges),
                )
            )
        return Territory(
            id=head["id"],
            name=head["name"],
            timezone=head["timezone"],
            travel=TravelSettings(head["detour_factor"], head["road_speed_kmh"]),
            booking=BookingSettings(**head["booking"]) if head["booking"] else BookingSettings(),
            reading=reading_settings([], "reading", head["reading"]) if head["reading"] else ReadingSettings(),
            establishments=tuple(Establishment(r["finess"], r["name"], r["kind"]) for r in est_rows),
            sites=tuple(Site(r["code"], finess[r["establishment_id"]], r["name"], r["insee"], r["pacs_url"])
                        for r in site_rows),
            equipment=tuple(
                Equipment(
                    id=r["code"],
                    site=site_code[r["site_id"]],
                    name=r["name"],
                    kind=EquipmentKind(r["kind"]),
                    modality=Modality(r["modality"]) if r["modality"] else None,
                    ae_title=r["ae_title"],
                    station_name=r["station_name"],
                    opening_hours={d: tuple(TimeRange(a, b) for a, b in v) for d, v in r["opening_hours"].items()},
                    closures=tuple(
                        Closure(datetime.fromisoformat(x["start"]), datetime.fromisoformat(x["end"]), x["reason"])
                        for x in r["closures"]
                    ),
                    exams=tuple(r["exams"]),
                )
                for r in rows(T.equipment)
            ),
            practitioners=tuple(
                Practitioner(
                    r["rpps"],
                    r["last_name"],
                    r["first_name"],
                    Profession(r["profession"]),
                    finess[r["establishment_id"]],
                    tuple(r["qualifications"]),
                    tuple(r["subspecialties"]),
                )
                for r in pract_rows
            ),
            conventions=tuple(conventions),
            exams=tuple(
                Exam(
                    r["code"],
                    r["label"],
                    r["duration_min"],
                    EquipmentKind(r["kind"]),
                    Modality(r["modality"]) if r["modality"] else None,
                    r["ccam"],
                    r["radiologist_on_site"],
                    r["preparation"],
                    tuple((r["report_template"] or {}).items()),
                )
                for r in rows(T.exams)
            ),
        )


def _user(r: Any) -> User:
    return User(
        username=r["username"],
        full_name=r["full_name"],
        role=Role(r["role"]),
        territory=r["territory_id"],
        establishments=tuple(r["establishments"]),
        sites=tuple(r["sites"]),
        rpps=r["rpps"],
        active=r["active"],
        created_at=r["created_at"],
    )


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, username: str) -> User | None:
        row = self.conn.execute(select(T.users).where(T.users.c.username == username)).mappings().first()
        return None if row is None else _user(row)

    def password_hash(self, username: str) -> str | None:
        return self.conn.scalar(select(T.users.c.password_hash).where(T.users.c.username == username))

    def add(self, user: User, password_hash: str) -> None:
        self.conn.execute(
            insert(T.users).values(
                username=user.username,
                full_name=user.full_name,
                password_hash=password_hash,
                role=user.role.value,
                territory_id=user.territory,
                establishments=list(user.establishments),
                sites=list(user.sites),
                rpps=user.rpps,
                active=user.active,
                created_at=user.created_at or datetime.now(UTC),
            )
        )

    def set_password_hash(self, username: str, password_hash: str) -> None:
        self.conn.execute(update(T.users).where(T.users.c.username == username).values(password_hash=password_hash))

    def list(self) -> list[User]:
        return [_user(r) for r in self.conn.execute(select(T.users).order_by(T.users.c.username)).mappings()]


class AuditLog:
    """Append-only: there is no update or delete here, and the database refuses them too."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(self, e: AuditEvent) -> None:
        self.conn.execute(
            insert(T.audit_events).values(
                at=e.at,
                actor=e.actor,
                action=e.action.value,
                resource=e.resource,
                resource_id=e.resource_id,
                territory_id=e.territory,
                address=e.address,
                outcome=e.outcome,
                detail=e.detail,
            )
        )

    def query(
        self, *, actor: str | None = None, resource: str | None = None, since: date | None = None, limit: int = 200
    ) -> list[AuditEvent]:
        a = T.audit_events
        q = select(a).order_by(a.c.id.desc()).limit(limit)
        if actor:
            q = q.where(a.c.actor == actor)
        if resource:
            q = q.where(a.c.resource == resource)
        if since:
            q = q.where(a.c.at >= datetime.combine(since, datetime.min.time(), UTC))
        return [
            AuditEvent(
                at=r["at"],
                actor=r["actor"],
                action=Action(r["action"]),
                resource=r["resource"],
                resource_id=r["resource_id"],
                territory=r["territory_id"],
                address=r["address"],
                outcome=r["outcome"],
                detail=r["detail"],
                id=r["id"],
            )
            for r in self.conn.execute(q).mappings()
        ]
