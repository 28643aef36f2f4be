"""Accounts, roles and scopes: who may act on which sites.

A user has one role and, unless a territory-wide admin, a home scope in one territory: some
establishments (all their sites) and/or some sites. What they may act on follows the
conventions in force:

- a practitioner (radiologist, radiographer, federation surgeon linked to an RPPS) acts on
  their home scope and on the sites where a convention in force grants them a privilege;
- other staff (booking agents, coordinators, and practitioners without RPPS) act on every
  site of every establishment that shares a convention in force with their home scope —
  that is the point of a pooled platform: a booking agent at Espalion books at Rodez;
- an admin acts on their territory, or on all territories when they have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from mutualis.domain.territory import Territory


class Role(StrEnum):
    BOOKING_AGENT = "booking_agent"
    RADIOGRAPHER = "radiographer"
    RADIOLOGIST = "radiologist"
    COORDINATOR = "coordinator"
    FEDERATION_SURGEON = "federation_surgeon"
    ADMIN = "admin"


ANY_ROLE: tuple[Role, ...] = tuple(Role)
PRACTITIONER_ROLES = frozenset({Role.RADIOGRAPHER, Role.RADIOLOGIST, Role.FEDERATION_SURGEON})


@dataclass(frozen=True)
class User:
    username: str
    full_name: str
    role: Role
    territory: str | None = None
    establishments: tuple[str, ...] = ()  # FINESS
    sites: tuple[str, ...] = ()
    rpps: str | None = None
    active: bool = True
    created_at: datetime | None = None


def home_sites(user: User, territory: Territory) -> frozenset[str]:
    return frozenset(s.id for s in territory.sites if s.id in user.sites or s.establishment in user.establishments)


def visible_sites(user: User, territory: Territory, on: date) -> frozenset[str]:
    """The sites of ``territory`` that ``user`` may see and act on, on day ``on``."""
    if user.role is Role.ADMIN:
        return frozenset(s.id for s in territory.sites) if user.territory in (None, territory.id) else frozenset()
    if user.territory != territory.id or not user.active:
        return frozenset()
    home = home_sites(user, territory)
    conventions = territory.conventions_in_force(on)
    if user.role in PRACTITIONER_ROLES and user.rpps:
        granted = {
            site
            for c in conventions
            for p in c.privileges
            if p.rpps == user.rpps and p.in_force(on)
            for site in p.sites
        }
        return home | granted
    home_establishments = {territory.establishment_of(s) for s in home} | set(user.establishments)
    pooled = {m for c in conventions if home_establishments & set(c.members) for m in c.members}
    return home | {s.id for s in territory.sites if s.establishment in pooled}


def scope_problems(user: User, territory: Territory | None) -> list[str]:
    """Why a user's scope does not fit the territory (empty when it does)."""
    if user.role is not Role.ADMIN and territory is None:
        return ["every role but admin needs a territory"]
    if territory is None:
        return []
    problems = [
        f"unknown establishment {f!r}"
        for f in user.establishments
        if f not in {e.finess for e in territory.establishments}
    ]
    problems += [f"unknown site {s!r}" for s in user.sites if s not in {x.id for x in territory.sites}]
    if user.rpps and user.rpps not in {p.rpps for p in territory.practitioners}:
        problems.append(f"unknown practitioner RPPS {user.rpps!r}")
    if user.role is not Role.ADMIN and not (user.establishments or user.sites):
        problems.append("give at least one establishment or site as home scope")
    return problems
