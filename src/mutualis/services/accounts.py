"""Use cases on accounts: add a user, log in, resolve a token's user."""

from __future__ import annotations

import re
from datetime import datetime

from mutualis.domain.accounts import User, scope_problems
from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.errors import AuthenticationError, Conflict, Problem, ValidationError
from mutualis.services.ports import PasswordHasher, UnitOfWork

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


def add_user(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    user: User,
    password: str,
    *,
    actor: str,
    address: str | None,
    now: datetime,
) -> User:
    problems = []
    if not _USERNAME_RE.match(user.username):
        problems.append(Problem("username", "2 to 64 lower-case letters, digits, '.', '_' or '-'"))
    if len(password) < MIN_PASSWORD:
        problems.append(Problem("password", f"at least {MIN_PASSWORD} characters"))
    with uow:
        territory = uow.territories.get(user.territory) if user.territory else None
        if user.territory and territory is None:
            problems.append(Problem("territory", f"unknown territory {user.territory!r}"))
        else:
            problems += [Problem("scope", p) for p in scope_problems(user, territory)]
        if problems:
            raise ValidationError(problems, f"user {user.username!r} refused")
        if uow.users.get(user.username) is not None:
            raise Conflict(f"user {user.username!r} already exists")
        stored = User(**{**user.__dict__, "created_at": now})
        uow.users.add(stored, hasher.hash(password))
        uow.audit.append(
            AuditEvent(
                at=now,
                actor=actor,
                action=Action.CREATE,
                resource="user",
                resource_id=user.username,
                territory=user.territory,
                address=address,
                detail={"role": user.role.value},
            )
        )
        uow.commit()
    return stored


def authenticate(
    uow: UnitOfWork, hasher: PasswordHasher, username: str, password: str, *, address: str | None, now: datetime
) -> User:
    """The user these credentials prove, or :class:`AuthenticationError`; every try is audited."""
    with uow:
        user = uow.users.get(username)
        stored = uow.users.password_hash(username)
        ok = user is not None and user.active and stored is not None and hasher.verify(stored, password)
        uow.audit.append(
            AuditEvent(
                at=now,
                actor=username,
                action=Action.LOGIN,
                resource="session",
                territory=user.territory if user else None,
                address=address,
                outcome="ok" if ok else "failed",
            )
        )
        if ok and stored is not None and hasher.needs_rehash(stored):
            uow.users.set_password_hash(username, hasher.hash(password))
        uow.commit()
    if not ok or user is None:
        raise AuthenticationError("wrong username or password")
    return user


def active_user(uow: UnitOfWork, username: str) -> User:
    with uow:
        user = uow.users.get(username)
    if user is None or not user.active:
        raise AuthenticationError("unknown or disabled account")
    return user


def audit_trail(
    uow: UnitOfWork,
    *,
    actor: str | None,
    resource: str | None,
    limit: int,
    reader: User,
    address: str | None,
    now: datetime,
) -> list[AuditEvent]:
    """The newest audit lines (reading the trail is itself audited)."""
    with uow:
        events = uow.audit.query(actor=actor, resource=resource, limit=limit)
        uow.audit.append(
            AuditEvent(
                at=now,
                actor=reader.username,
                action=Action.READ,
                resource="audit",
                address=address,
                detail={"actor": actor, "resource": resource},
            )
        )
        uow.commit()
    return events
