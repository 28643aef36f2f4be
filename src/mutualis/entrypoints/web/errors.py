"""Every Mutualis error becomes an HTTP answer here, and only here."""

from __future__ import annotations

from urllib.parse import urlencode

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

HTML_MESSAGES = {
    403: "Votre rôle ne permet pas d'ouvrir cette page.",
    404: "Cette page n'existe pas, ou elle ne fait pas partie de votre périmètre.",
    409: "Cette demande entre en conflit avec les données enregistrées.",
    503: "La base de données est momentanément indisponible. Réessayez dans un instant.",
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api", "/fhir")) and request.method == "GET"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MutualisError)
    async def mutualis_error(request: Request, exc: MutualisError) -> Response:
        if isinstance(exc, AuthenticationError):
            if _wants_html(request):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/connexion?{urlencode({'suite': target})}", status_code=303)
            return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if isinstance(exc, ValidationError):
            detail = [{"loc": p.location.split("."), "msg": p.reason, "type": "value_error"} for p in exc.problems]
            return JSONResponse({"detail": detail}, status_code=422)
        status = next((code for kind, code in ((PermissionDenied, 403), (NotFound, 404), (Conflict, 409),
                                               (StorageUnavailable, 503)) if isinstance(exc, kind)), 400)
        if _wants_html(request):
            from mutualis.entrypoints.web.pages import error_page

            return error_page(request, status, HTML_MESSAGES.get(status, "La demande n'a pas pu aboutir."))
        return JSONResponse({"detail": str(exc)}, status_code=status)
