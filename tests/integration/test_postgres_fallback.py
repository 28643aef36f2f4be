"""Where no PostgreSQL server runs, the tests start a throwaway cluster from Debian's binaries:
prove that path works here too, whatever this machine happens to run."""

from datetime import UTC, datetime

from mutualis.adapters.db.engine import upgrade
from mutualis.bootstrap import bootstrap
from mutualis.config import Settings
from mutualis.domain.territory import Territory
from mutualis.services.territories import all_territories, load_territory
from tests.conftest import TEST_SECRET
from tests.support.postgres import _start_throwaway_cluster, create_database, drop_database


def test_throwaway_cluster_serves_the_whole_schema(mini: Territory) -> None:
    admin = _start_throwaway_cluster()
    assert ":5432/" not in admin
    url = create_database(admin)
    container = bootstrap(Settings(database_url=url, secret_key=TEST_SECRET))
    try:
        upgrade(container.engine)
        load_territory(container.uow(), mini, source="t", actor="t", address=None, now=datetime.now(UTC))
        assert all_territories(container.uow()) == [mini]
    finally:
        container.engine.dispose()
        drop_database(url)
