"""Shared fixtures. Integration tests run on SQLite and on PostgreSQL (the local server, or a
throwaway cluster started by tests/support/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mutualis.adapters.communes import load_communes
from mutualis.adapters.db.engine import upgrade
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.territory import Commune, Territory
from tests.support.postgres import create_database, drop_database, postgres_admin_url

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEST_SECRET = "test-secret-key-not-for-production-0123456789"


@pytest.fixture(scope="session")
def communes() -> dict[str, Commune]:
    return load_communes()


@pytest.fixture(scope="session")
def mini(communes: dict[str, Commune]) -> Territory:
    return read_territory_file(FIXTURES / "mini.toml", communes)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mutualis.db'}"
        return
    url = create_database(postgres_admin_url())
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    c = bootstrap(Settings(database_url=database_url, secret_key=TEST_SECRET))
    upgrade(c.engine)
    yield c
    c.engine.dispose()
