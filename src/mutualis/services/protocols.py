"""Use cases of the federation's protocol library: create a protocol, add an approved version,
list, read one with its history, find the version in force on any day, acknowledge a version,
and see who has and has not acknowledged it.

Who may do what: every account of the territory reads the library (an administrator reads
every territory's); coordinators and administrators create protocols and approve versions,
for establishments within their scope; a practitioner (an account linked to an RPPS)
acknowledges a version for themselves only. Every change is audited.

Who must acknowledge a version (:func:`concerned`): the territory's practitioners whose home
establishment is one the protocol applies to, and those holding a privilege in force on a
site of one of those establishments (the federation's practitioners work on both
establishments' platforms, under the same protocols).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mutualis.domain.accounts import PRACTITIONER_ROLES, Role, User, visible_sites
from mutualis.domain.audit import Action
from mutualis.domain.errors import NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.protocols import (
    Protocol,
    ProtocolKind,
    ProtocolVersion,
    protocol_problems,
    version_problems,
)
from mutualis.domain.territory import Platform, Practitioner, Territory
from mutualis.services.common import audit as _audit
from mutualis.services.common import territory as _territory
from mutualis.services.ports import UnitOfWork

APPROVERS = (Role.COORDINATOR, Role.ADMIN)


@dataclass(frozen=True)
class NewVersion:
    """What a coordinator approves: the text and the day it takes effect."""

    text: str
    effective_from: date | None


@dataclass(frozen=True)
class Acknowledgements:
    """Who of the concerned practitioners has acknowledged one version, and who has not."""

    version: ProtocolVersion
    acknowledged: tuple[tuple[Practitioner, datetime], ...]
    pending: tuple[Practitioner, ...]

    @property
    def count(self) -> int:
        return len(self.acknowledged)

    @property
    def expected(self) -> int:
        return len(self.acknowledged) + len(self.pending)


@dataclass(frozen=True)
class ProtocolSummary:
    """A line of the library: the protocol, the version in force today, its acknowledgements."""

    protocol: Protocol
    current: ProtocolVersion | None
    acknowledged: int
    expected: int



def _member(user: User, t: Territory) -> None:
    """Anyone of the territory reads; others do not even learn that it exists."""
    if user.role is Role.ADMIN and user.territory in (None, t.id):
        return
    if user.territory != t.id or not user.active:
        raise NotFound("territory", t.id)


def _approver(user: User, t: Territory, establishments: tuple[str, ...], now: datetime) -> None:
    _member(user, t)
    if user.role not in APPROVERS:
        raise PermissionDenied("only coordinators approve protocols")
    scope = {t.establishment_of(s) for s in visible_sites(user, t, today(t, now))}
    outside = [f for f in establishments if f not in scope]
    if outside:
        raise PermissionDenied(f"establishments outside your scope: {', '.join(outside)}")



def today(t: Territory, now: datetime) -> date:
    return now.astimezone(ZoneInfo(t.timezone)).date()


def activities(t: Territory) -> list[str]:
    """What a protocol may apply to: the platforms, then the catalogue's codes."""
    return [p.value for p in Platform] + [x.code for x in t.exams]


def concerned(t: Territory, p: Protocol, on: date) -> tuple[Practitioner, ...]:
    """The practitioners who must acknowledge ``p``'s versions (see the module's docstring)."""
    sites = {s.id for s in t.sites if s.establishment in p.establishments}
    privileged = {pr.rpps for c in t.conventions_in_force(on) for pr in c.privileges
                  if pr.in_force(on) and sites & set(pr.sites)}  # fmt: skip
    return tuple(sorted((x for x in t.practitioners if x.establishment in p.establishments or x.rpps in privileged),
                        key=lambda x: (x.last_name, x.first_name)))  # fmt: skip


def _problems_of_version(new: NewVersion, previous: tuple[ProtocolVersion, ...]) -> None:
    problems = version_problems(new.text, new.effective_from, previous)
    if problems:
        raise ValidationError(problems, "version refused")


def create(uow: UnitOfWork, user: User, territory_id: str, *, code: str, title: str, kind: str,
           activities_: tuple[str, ...], establishments: tuple[str, ...], first: NewVersion | None = None,
           address: str | None, now: datetime) -> Protocol:  # fmt: skip
    """A new protocol, with its first approved version when ``first`` is given (one transaction)."""
    with uow:
        t = _territory(uow, territory_id)
        _member(user, t)
        if user.role not in APPROVERS:
            raise PermissionDenied("only coordinators create protocols")
        try:
            kind_ = ProtocolKind(kind)
        except ValueError:
            raise ValidationError(Problem("kind", f"one of {', '.join(ProtocolKind)} (got {kind!r})")) from None
        p = Protocol(t.id, code.strip(), title.strip(), kind_, tuple(activities_), tuple(establishments))
        problems = protocol_problems(p, {e.finess for e in t.establishments}, set(activities(t)))
        if first is not None:
            problems += version_problems(first.text, first.effective_from)
        if problems:
            raise ValidationError(problems, "protocol refused")
        _approver(user, t, p.establishments, now)
        if uow.protocols.by_code(t.id, p.code) is not None:
            raise ValidationError(Problem("code", f"a protocol {p.code!r} already exists"))
        pid = uow.protocols.add(p, now)
        _audit(uow, user, Action.CREATE, "protocol", pid, t.id, address, now, code=p.code, kind=p.kind.value,
               establishments=list(p.establishments), activities=list(p.activities))  # fmt: skip
        if first is not None:
            _add_version(uow, user, t, replace(p, id=pid), first, address, now)
        stored = uow.protocols.get(pid)
        uow.commit()
    assert stored is not None
    return stored


def _add_version(uow: UnitOfWork, user: User, t: Territory, p: Protocol, new: NewVersion, address: str | None,
                 now: datetime) -> ProtocolVersion:  # fmt: skip
    assert p.id is not None and new.effective_from is not None
    latest = p.latest
    v = ProtocolVersion((latest.version if latest else 0) + 1, new.text.strip(), user.username, now,
                        new.effective_from)  # fmt: skip
    vid = uow.protocols.add_version(p.id, v)
    _audit(uow, user, Action.CREATE, "protocol_version", vid, t.id, address, now, protocol=p.code, version=v.version,
           effective_from=v.effective_from.isoformat())  # fmt: skip
    return replace(v, id=vid)


def add_version(uow: UnitOfWork, user: User, protocol_id: int, new: NewVersion, *, address: str | None,
                now: datetime) -> ProtocolVersion:  # fmt: skip
    """Approve a new version (numbered after the last one); earlier versions stay as they were."""
    with uow:
        p = uow.protocols.get(protocol_id, for_update=True)
        if p is None:
            raise NotFound("protocol", str(protocol_id))
        t = _territory(uow, p.territory)
        _member(user, t)
        if user.role not in APPROVERS:
            raise PermissionDenied("only coordinators approve protocol versions")
        _problems_of_version(new, p.versions)
        _approver(user, t, p.establishments, now)
        v = _add_version(uow, user, t, p, new, address, now)
        uow.commit()
    return v


def _acks(uow: UnitOfWork, t: Territory, p: Protocol, now: datetime) -> dict[int, Acknowledgements]:
    people = concerned(t, p, today(t, now))
    seen = uow.protocols.acknowledgements([v.id for v in p.versions if v.id is not None])
    out = {}
    for v in p.versions:
        got = seen.get(v.id or 0, {})
        out[v.version] = Acknowledgements(v, tuple((x, got[x.rpps]) for x in people if x.rpps in got),
                                          tuple(x for x in people if x.rpps not in got))  # fmt: skip
    return out


def library(uow: UnitOfWork, user: User, territory_id: str, *, now: datetime
            ) -> tuple[Territory, list[ProtocolSummary]]:  # fmt: skip
    """The territory's protocols, each with its version in force today and how many of the
    concerned practitioners acknowledged that version."""
    with uow:
        t = _territory(uow, territory_id)
        _member(user, t)
        return t, [summarise(t, p, _acks(uow, t, p, now), now) for p in uow.protocols.of_territory(t.id)]


def summarise(t: Territory, p: Protocol, acks: dict[int, Acknowledgements], now: datetime) -> ProtocolSummary:
    """``p``'s version in force today and how many acknowledged it (``acks``: per version number)."""
    day = today(t, now)
    current = p.in_force(day, ZoneInfo(t.timezone))
    a = acks.get(current.version) if current else None
    return ProtocolSummary(p, current, a.count if a else 0, a.expected if a else len(concerned(t, p, day)))


def get(uow: UnitOfWork, user: User, protocol_id: int, *, now: datetime
        ) -> tuple[Territory, Protocol, dict[int, Acknowledgements]]:  # fmt: skip
    """One protocol, its whole history (oldest first) and each version's acknowledgements."""
    with uow:
        p = uow.protocols.get(protocol_id)
        if p is None:
            raise NotFound("protocol", str(protocol_id))
        t = _territory(uow, p.territory)
        _member(user, t)
        return t, p, _acks(uow, t, p, now)


def in_force_on(uow: UnitOfWork, user: User, protocol_id: int, on: date, *, now: datetime) -> ProtocolVersion | None:
    """The version people had to follow on day ``on`` (not today's, unless ``on`` is today)."""
    t, p, _ = get(uow, user, protocol_id, now=now)
    return p.in_force(on, ZoneInfo(t.timezone))


def acknowledge(uow: UnitOfWork, user: User, protocol_id: int, version: int, *, address: str | None,
                now: datetime) -> bool:  # fmt: skip
    """The practitioner ``user`` acknowledges version ``version``; ``False`` if they already had
    (the first acknowledgement is kept, and only it is audited)."""
    with uow:
        p = uow.protocols.get(protocol_id)
        if p is None:
            raise NotFound("protocol", str(protocol_id))
        t = _territory(uow, p.territory)
        _member(user, t)
        if user.role not in PRACTITIONER_ROLES or not user.rpps:
            raise PermissionDenied("only a practitioner acknowledges a protocol, for themselves")
        if user.rpps not in {x.rpps for x in concerned(t, p, today(t, now))}:
            raise PermissionDenied("this protocol does not apply to your establishments")
        v = p.version(version)
        if v is None or v.id is None:
            raise NotFound("protocol version", f"{p.code} v{version}")
        new = uow.protocols.acknowledge(v.id, user.rpps, now)
        if new:
            _audit(uow, user, Action.CREATE, "protocol_ack", v.id, t.id, address, now, protocol=p.code,
                   version=v.version, rpps=user.rpps)  # fmt: skip
        uow.commit()
    return new
