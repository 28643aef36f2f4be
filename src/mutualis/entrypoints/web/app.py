"""The FastAPI application factory."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from mutualis import __version__
from mutualis.adapters.db.engine import ping
from mutualis.bootstrap import Container
from mutualis.entrypoints.web import (
    api,
    api_booking,
    api_federation,
    api_protocols,
    api_reading,
    api_rosters,
    api_schedule,
    pages,
    pages_booking,
    pages_federation,
    pages_protocols,
    pages_reading,
    pages_rosters,
    pages_schedule,
)
from mutualis.entrypoints.web.errors import install_error_handlers


def create_app(container: Container) -> FastAPI:
    container.settings.require_secret()  # refuse to start without a key to sign tokens
    app = FastAPI(
        title="Mutualis",
        version=__version__,
        description="Pooled hospital platform: territories, equipment, practitioners, accounts.",
    )
    app.state.container = container
    install_error_handlers(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """Liveness and database reachability, for load balancers and monitoring."""
        ok = ping(container.engine)
        return JSONResponse({"status": "ok" if ok else "degraded", "database": "ok" if ok else "unreachable",
                             "version": __version__}, status_code=200 if ok else 503)

    app.include_router(api.router)
    app.include_router(api_booking.router)
    app.include_router(pages.router)
    app.include_router(pages_booking.router)
    app.include_router(api_reading.router)
    app.include_router(pages_reading.router)
    app.include_router(api_schedule.router)
    app.include_router(api_rosters.router)
    app.include_router(pages_schedule.router)
    app.include_router(pages_rosters.router)
    app.include_router(pages_federation.router)
    app.include_router(api_protocols.router)
    app.include_router(pages_protocols.router)
    app.include_router(api_federation.router)
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("mutualis") / "entrypoints" / "web" / "static")),
        name="static",
    )
    return app


def app_from_environment() -> FastAPI:
    """The application as configured by the environment (for ``uvicorn --factory`` and worker processes)."""
    from mutualis.bootstrap import bootstrap

    return create_app(bootstrap())
