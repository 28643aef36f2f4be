"""Territories stored and updated in place; refused files change nothing; the audit trail is
append-only. Each test runs on SQLite and on PostgreSQL."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from mutualis.adapters.db import tables as T
from mutualis.bootstrap import Container
from mutualis.domain.audit import Action
from mutualis.domain.errors import Conflict, ValidationError
from mutualis.domain.territory import Territory
from mutualis.services.territories import all_territories, load_territory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _load(container: Container, t: Territory) -> bool:
    return load_territory(container.uow(), t, source="test", actor="tester", address="cli", now=NOW).created


def _counts(container: Container) -> dict[str, int]:
    with container.engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(table)) or 0
                for name, table in T.metadata.tables.items()}


def test_round_trip(container: Container, mini: Territory) -> None:
    assert _load(container, mini) is True
    (stored,) = all_territories(container.uow())
    assert stored == mini


def test_reload_updates_in_place(container: Container, mini: Territory) -> None:
    _load(container, mini)
    with container.engine.connect() as conn:
        ids_before = dict(conn.execute(select(T.equipment.c.code, T.equipment.c.id)).all())
    renamed = replace(mini, name="Nouveau nom", equipment=(replace(mini.equipment[0], name="IRM 3 T"),
                                                            *mini.equipment[1:2]))
    assert _load(container, renamed) is False
    (stored,) = all_territories(container.uow())
    assert stored.name == "Nouveau nom"
    assert [e.name for e in stored.equipment] == ["IRM 3 T", "Échographe"]
    with container.engine.connect() as conn:
        ids_after = dict(conn.execute(select(T.equipment.c.code, T.equipment.c.id)).all())
    assert ids_after == {k: v for k, v in ids_before.items() if k != "clinique-scanner"}  # stable ids
    _load(container, mini)
    assert all_territories(container.uow()) == [mini]


def test_ae_title_taken_by_another_territory_is_refused_and_nothing_is_written(
        container: Container, mini: Territory) -> None:
    _load(container, mini)
    before = _counts(container)
    other = replace(mini, id="autre", name="Autre territoire")
    with pytest.raises(ValidationError) as caught:
        _load(container, other)
    assert {p.location for p in caught.value.problems} == {"equipment[0].ae_title", "equipment[1].ae_title",
                                                          "equipment[2].ae_title"}
    assert _counts(container) == before


def test_a_failure_midway_rolls_everything_back(container: Container, mini: Territory) -> None:
    _load(container, mini)
    before = _counts(container)
    # the repository writes establishments, sites and equipment before it reaches this duplicate exam
    new = replace(mini.exams[0], code="NOUVEAU")
    broken = replace(mini, name="Changé", exams=(*mini.exams, new, new))
    with pytest.raises(Conflict, match="refused by the database"):
        _load(container, broken)
    assert _counts(container) == before
    assert all_territories(container.uow())[0].name == mini.name


def test_load_is_audited(container: Container, mini: Territory) -> None:
    _load(container, mini)
    _load(container, mini)
    with container.uow() as uow:
        events = uow.audit.query(resource="territory")
    assert [e.action for e in events] == [Action.UPDATE, Action.CREATE]
    assert events[0].actor == "tester" and events[0].detail["sites"] == 3


def test_audit_trail_is_append_only(container: Container, mini: Territory) -> None:
    _load(container, mini)
    for statement in ("UPDATE audit_events SET actor = 'someone-else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), container.engine.begin() as conn:
            conn.execute(text(statement))
    with container.uow() as uow:
        assert [e.actor for e in uow.audit.query()] == ["tester"]
