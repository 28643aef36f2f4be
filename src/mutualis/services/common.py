"""What every use case needs: the territory it acts on, and the audit trail it writes."""

from __future__ import annotations

from datetime import datetime

from mutualis.domain.accounts import User
from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.errors import NotFound
from mutualis.domain.territory import Territory
from mutualis.services.ports import UnitOfWork


def territory(uow: UnitOfWork, territory_id: str) -> Territory:
    """The stored territory (inside the caller's unit of work), or NotFound."""
    t = uow.territories.get(territory_id)
    if t is None:
        raise NotFound("territory", territory_id)
    return t


def audit(uow: UnitOfWork, user: User, action: Action, resource: str, key: object, territory_id: str,
          address: str | None, now: datetime, **detail: object) -> None:  # fmt: skip
    """Append one audit event in the caller's transaction (it lands with the change, or not at all)."""
    uow.audit.append(AuditEvent(at=now, actor=user.username, action=action, resource=resource,
                                resource_id=None if key is None else str(key), territory=territory_id,
                                address=address, detail=dict(detail)))  # fmt: skip
