"""The one place that reads settings and wires adapters to use cases. Called at start-up by
the entry points (and by tests), never at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from mutualis.adapters.communes import load_communes
from mutualis.adapters.db.engine import make_engine
from mutualis.adapters.db.uow import SqlUnitOfWork
from mutualis.adapters.security import Argon2Hasher, TokenCodec
from mutualis.config import Settings
from mutualis.domain.territory import Commune
from mutualis.services.ports import UnitOfWork


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    hasher: Argon2Hasher = field(default_factory=Argon2Hasher)
    clock: SystemClock = field(default_factory=SystemClock)

    def uow(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine)

    @property
    def communes(self) -> dict[str, Commune]:
        return load_communes()

    @property
    def tokens(self) -> TokenCodec:
        return TokenCodec(self.settings.require_secret(), self.settings.token_minutes)


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or Settings.from_env()
    return Container(settings=settings, engine=make_engine(settings.database_url))
