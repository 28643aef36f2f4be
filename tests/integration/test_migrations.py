"""The migrations build exactly the schema the code uses, on SQLite and PostgreSQL, and go
back down cleanly."""

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from mutualis.adapters.db.engine import alembic_config, upgrade
from mutualis.adapters.db.tables import metadata
from mutualis.bootstrap import Container


def _structural(diff: list[Any]) -> list[Any]:
    """Tables, columns, types and nullability; constraint names differ by dialect and are not compared."""
    flat = [d for group in diff for d in (group if isinstance(group, list) else [group])]
    return [d for d in flat if d[0] in {"add_table", "remove_table", "add_column", "remove_column",
                                        "modify_type", "modify_nullable"}]


def test_schema_matches_the_tables(container: Container) -> None:
    with container.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert _structural(diff) == []


def test_upgrade_is_idempotent_and_downgrade_empties(container: Container) -> None:
    upgrade(container.engine)  # already at head: nothing to do
    cfg = alembic_config(container.engine)
    with container.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(container.engine).get_table_names()) <= {"alembic_version"}
    upgrade(container.engine)
    assert "audit_events" in inspect(container.engine).get_table_names()
