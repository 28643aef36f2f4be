"""The audit trail: who read or changed what, when, from where. Append-only (the database
refuses updates and deletes of ``audit_events``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LOGIN = "login"


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    actor: str  # username, or "cli:<os user>" for the command line
    action: Action
    resource: str  # e.g. "territory", "site", "user"
    resource_id: str | None = None
    territory: str | None = None
    address: str | None = None  # client IP, or "cli"
    outcome: str = "ok"  # ok | denied | failed
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
