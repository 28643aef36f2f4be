"""How the pages say no, in one place: the HTTP status of a refused action, the French sentence
that explains it, and which territory a page shows."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from mutualis.bootstrap import Container
from mutualis.domain.accounts import User
from mutualis.domain.errors import Conflict, MutualisError, NotFound, PermissionDenied, ValidationError
from mutualis.entrypoints.web.errors import HTML_MESSAGES


def status_of(exc: MutualisError) -> int:
    return 409 if isinstance(exc, Conflict) else 404 if isinstance(exc, NotFound) else 403 \
        if isinstance(exc, PermissionDenied) else 422


def refusal_fr(exc: MutualisError, fields: Mapping[str, str] | None = None, *, bare: Collection[str] = ("roster",),
               most: int = 8) -> str:  # fmt: skip
    """« Refusé : … » with each problem's field (in French when ``fields`` names it) and reason;
    a problem located in ``bare`` is a whole sentence already."""
    names = fields or {}
    if isinstance(exc, ValidationError):
        return "Refusé : " + " ; ".join(p.reason if p.location in bare else f"{names.get(p.location, p.location)} : "
                                        f"{p.reason}" for p in exc.problems[:most])  # fmt: skip
    if isinstance(exc, NotFound):
        return HTML_MESSAGES[404]
    if isinstance(exc, PermissionDenied):
        return "Refusé : votre rôle ou votre périmètre ne le permet pas."
    return f"Refusé : {exc}"


def territory_for(c: Container, user: User, wanted: str = "", default: str = "") -> str:
    """The user's territory; an administrator's is the one asked for, else ``default``, else
    the first stored."""
    if user.territory:
        return user.territory
    with c.uow() as uow:
        ids = uow.territories.ids()
    return wanted if wanted in ids else default if default in ids else ids[0] if ids else ""
