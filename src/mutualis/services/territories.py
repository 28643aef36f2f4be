"""Use cases on territories: load a file's territory, read what a user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mutualis.domain.accounts import User, visible_sites
from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.errors import NotFound, Problem, ValidationError
from mutualis.domain.territory import Territory, restricted_to
from mutualis.services.ports import UnitOfWork


@dataclass(frozen=True)
class LoadReport:
    territory: str
    created: bool
    counts: dict[str, int]


def load_territory(
    uow: UnitOfWork, territory: Territory, *, source: str | None, actor: str, address: str | None, now: datetime
) -> LoadReport:
    """Store ``territory`` (already validated), creating it or updating it in place, in one transaction."""
    with uow:
        clashes = [
            Problem(f"equipment[{i}].ae_title", f"AE title {e.ae_title!r} is already used by territory {owner!r}")
            for i, e in enumerate(territory.equipment)
            if e.ae_title and (owner := uow.territories.ae_title_owner(e.ae_title)) not in (None, territory.id)
        ]
        if clashes:
            raise ValidationError(clashes, f"territory {territory.id} refused")
        created = not uow.territories.exists(territory.id)
        uow.territories.save(territory, source, now)
        counts = {
            "establishments": len(territory.establishments),
            "sites": len(territory.sites),
            "equipment": len(territory.equipment),
            "practitioners": len(territory.practitioners),
            "conventions": len(territory.conventions),
            "exams": len(territory.exams),
        }
        uow.audit.append(
            AuditEvent(
                at=now,
                actor=actor,
                action=Action.CREATE if created else Action.UPDATE,
                resource="territory",
                resource_id=territory.id,
                territory=territory.id,
                address=address,
                detail={"source": source, **counts},
            )
        )
        uow.commit()
    return LoadReport(territory.id, created, counts)


def all_territories(uow: UnitOfWork) -> list[Territory]:
    """Every stored territory, whole (for the command line and admin work)."""
    with uow:
        return [t for tid in uow.territories.ids() if (t := uow.territories.get(tid)) is not None]


def read_territories(
    uow: UnitOfWork, user: User, *, resource: str, now: datetime, address: str | None, territory_id: str | None = None
) -> list[Territory]:
    """The territories ``user`` may see, each cut to the sites they may act on; the read is audited."""
    with uow:
        ids = [territory_id] if territory_id else uow.territories.ids()
        seen: list[Territory] = []
        for tid in ids:
            t = uow.territories.get(tid)
            sites = visible_sites(user, t, now.date()) if t else frozenset()
            if t is not None and sites:
                seen.append(restricted_to(t, sites))
        if territory_id and not seen:
            raise NotFound("territory", territory_id)  # absent and out of scope look the same
        uow.audit.append(
            AuditEvent(
                at=now,
                actor=user.username,
                action=Action.READ,
                resource=resource,
                resource_id=territory_id,
                territory=territory_id,
                address=address,
                detail={"territories": [t.id for t in seen]},
            )
        )
        uow.commit()
    return seen
