"""Harmonised protocols of a federation: care and imaging protocols that the member
establishments apply identically (the FMIH convention: "identical protocols").

A protocol names what it applies to — establishments (FINESS) and activities (a platform such
as ``theatre`` or a catalogue code such as ``colectomie-droite-coelio``) — and carries a
history of **versions**. A version is approved once (by whom, when) and never edited: a change
is a new version, with the date it takes effect.

**Which version is in force on a day** (:func:`in_force`): among the versions that had taken
effect (``effective_from`` ≤ day) *and* had been approved (approval day ≤ day), the one with
the highest number — a later approval supersedes earlier ones. So the answer for a past day is
the version people had to follow then, never today's; a version approved later but dated to
take effect earlier is in force only from the day of its approval.

Pure data and rules: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum

from mutualis.domain.errors import Problem

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
MAX_TITLE = 200
MIN_TEXT = 20


class ProtocolKind(StrEnum):
    CARE = "care"
    IMAGING = "imaging"


@dataclass(frozen=True)
class ProtocolVersion:
    version: int
    text: str
    approved_by: str  # username of the coordinator who approved it
    approved_at: datetime  # aware (UTC in storage)
    effective_from: date
    id: int | None = None

    def approval_day(self, tz: tzinfo | None = None) -> date:
        """The day of approval, in ``tz`` (the territory's time zone) when given."""
        return (self.approved_at.astimezone(tz) if tz is not None else self.approved_at).date()

    def starts(self, tz: tzinfo | None = None) -> date:
        """The first day it may be in force: its effective date, or its approval day if later."""
        return max(self.effective_from, self.approval_day(tz))


@dataclass(frozen=True)
class Protocol:
    territory: str
    code: str
    title: str
    kind: ProtocolKind
    activities: tuple[str, ...]
    establishments: tuple[str, ...]  # FINESS
    created_at: datetime | None = None
    id: int | None = None
    versions: tuple[ProtocolVersion, ...] = ()  # oldest first

    def in_force(self, on: date, tz: tzinfo | None = None) -> ProtocolVersion | None:
        return in_force(self.versions, on, tz)

    def version(self, number: int) -> ProtocolVersion | None:
        return next((v for v in self.versions if v.version == number), None)

    @property
    def latest(self) -> ProtocolVersion | None:
        return max(self.versions, key=lambda v: v.version, default=None)


def in_force(versions: Iterable[ProtocolVersion], on: date, tz: tzinfo | None = None) -> ProtocolVersion | None:
    """The version in force on day ``on``: the highest-numbered one effective and approved by then
    (approval days taken in ``tz`` when given); ``None`` before the first one."""
    eligible = [v for v in versions if v.effective_from <= on and v.approval_day(tz) <= on]
    return max(eligible, key=lambda v: v.version, default=None)


def version_state(v: ProtocolVersion, current: ProtocolVersion | None, today: date, tz: tzinfo | None = None) -> str:
    """``in_force`` (the one in force today), ``upcoming`` (starts after today) or ``superseded``."""
    if current is not None and v.version == current.version:
        return "in_force"
    if v.starts(tz) > today and (current is None or v.version > current.version):
        return "upcoming"
    return "superseded"


def protocol_problems(p: Protocol, establishments: Collection[str], activities: Collection[str]) -> list[Problem]:
    """What is wrong with a new protocol, each problem naming its field; ``establishments`` are
    the territory's FINESS numbers, ``activities`` the platforms and catalogue codes it knows."""
    problems: list[Problem] = []
    if not CODE_RE.match(p.code):
        problems.append(Problem("code", "2 to 64 lower-case letters, digits or '-' (e.g. raac-colectomie)"))
    if not p.title.strip():
        problems.append(Problem("title", "give the protocol a title"))
    elif len(p.title) > MAX_TITLE:
        problems.append(Problem("title", f"at most {MAX_TITLE} characters"))
    if p.kind not in tuple(ProtocolKind):
        problems.append(Problem("kind", f"one of {', '.join(ProtocolKind)}"))
    if not p.establishments:
        problems.append(Problem("establishments", "name at least one establishment (FINESS)"))
    problems += [Problem("establishments", f"unknown establishment {f!r}") for f in p.establishments
                 if f not in establishments]  # fmt: skip
    if len(set(p.establishments)) != len(p.establishments):
        problems.append(Problem("establishments", "an establishment is listed twice"))
    if not p.activities:
        problems.append(Problem("activities", "name at least one activity (a platform or a catalogue code)"))
    problems += [Problem("activities", f"unknown activity {a!r}") for a in p.activities if a not in activities]
    return problems


def version_problems(text: str, effective_from: date | None, previous: Iterable[ProtocolVersion] = ()) -> list[Problem]:
    """What is wrong with a new version's text and effective date."""
    problems: list[Problem] = []
    if len(text.strip()) < MIN_TEXT:
        problems.append(Problem("text", f"write the protocol ({MIN_TEXT} characters at least)"))
    if effective_from is None:
        problems.append(Problem("effective_from", "give the date the version takes effect"))
    if any(v.text.strip() == text.strip() for v in previous):
        problems.append(Problem("text", "identical to an earlier version: nothing to approve"))
    return problems
