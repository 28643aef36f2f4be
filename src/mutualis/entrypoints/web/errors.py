"""Every Mutualis error becomes an HTTP answer here, and only here."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from mutualis.adapters.db.uow import StorageUnavailable
from mutualis.domain.errors import (
    AuthenticationError,
    Conflict,
    MutualisError,
    NotFound,
    PermissionDenied,
    ValidationError,
)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api", "/fhir")) and request.method == "GET"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MutualisError)
    async def mutualis_error(request: Request, exc: MutualisError) -> Response:
        if isinstance(exc, AuthenticationError):
            if _wants_html(request):
                return RedirectResponse(f"/connexion?suite={request.url.path}", status_code=303)
            return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if isinstance(exc, ValidationError):
            detail = [{"loc": p.location.split("."), "msg": p.reason, "type": "value_error"} for p in exc.problems]
            return JSONResponse({"detail": detail}, status_code=422)
        status = {PermissionDenied: 403, NotFound: 404, Conflict: 409, StorageUnavailable: 503}.get(type(exc), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)
