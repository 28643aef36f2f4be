"""The one exception hierarchy of Mutualis.

Every error a user can cause is a :class:`MutualisError`; entry points turn it into a
protocol answer in one place (HTTP 422/401/403/404/409, a CLI message, later an HL7 NAK or
a DICOM status). Foreign exceptions (SQLAlchemy, tomllib, jwt…) are translated where they
enter, never leaked past an adapter.

    MutualisError
    ├── ValidationError            bad input; carries a list of Problem(location, reason)
    │   └── TerritoryFileError     a territory file refused whole (location = file:key.path)
    ├── NotFound                   an entity the caller named does not exist (or is out of scope)
    ├── Conflict                   the request clashes with what is stored
    ├── AuthenticationError        no, expired or wrong credentials
    └── PermissionDenied           authenticated, but the role or scope does not allow it
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (a field or key path) and why."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class MutualisError(Exception):
    """Root of every error Mutualis raises on purpose."""


class ValidationError(MutualisError):
    """Input refused; ``problems`` lists every reason, each with its location."""

    def __init__(self, problems: list[Problem] | Problem, message: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        head = message or f"{len(self.problems)} problem(s)"
        super().__init__(head + "".join(f"\n  - {p}" for p in self.problems))


class TerritoryFileError(ValidationError):
    """A territory file was refused whole; nothing of it was stored."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        super().__init__(problems, f"territory file {source} refused: {len(problems)} error(s)")


class NotFound(MutualisError):
    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} {key!r} not found")


class Conflict(MutualisError):
    """The request clashes with what is stored (duplicate, still referenced…)."""


class AuthenticationError(MutualisError):
    """Missing, expired or wrong credentials."""


class PermissionDenied(MutualisError):
    """The caller's role or scope does not allow this."""
