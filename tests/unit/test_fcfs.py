"""First-come first-served serving, pooled or in silos."""

from datetime import date, timedelta
from itertools import pairwise

from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.demand import generate_demand
from mutualis.engines.fcfs import Access, allowed_machines, serve
from mutualis.engines.presence import default_presence
from mutualis.engines.slots import Busy
from tests.conftest import ROOT

START = date(2026, 11, 23)


def _aveyron(communes: dict[str, Commune]) -> Territory:
    return read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)


def test_silo_keeps_to_its_own_machines_or_the_nearest_holder(communes: dict[str, Commune]) -> None:
    t = _aveyron(communes)
    exams = {x.code: x for x in t.exams}
    us = next(x for x in t.exams if x.modality and x.modality.value == "US")
    pooled = allowed_machines(t, exams[us.code], "espalion", Access.POOLED, communes)
    assert len(pooled) == 2  # Rodez and Decazeville
    silo = allowed_machines(t, exams[us.code], "espalion", Access.SILO, communes)
    assert len(silo) == 1 and next(e.site for e in t.equipment if e.id == silo[0]) == "rodez"  # nearest holder
    dx = next(x for x in t.exams if x.modality and x.modality.value == "DX")
    own = allowed_machines(t, dx, "espalion", Access.SILO, communes)
    assert [next(e.site for e in t.equipment if e.id == m) for m in own] == ["espalion"]


def test_serving_never_double_books_and_pooling_cuts_waits(communes: dict[str, Commune]) -> None:
    t = _aveyron(communes)
    orders = generate_demand(t, communes, START, 14, 3)
    shifts = default_presence(t, START, 14 + t.booking.horizon_days + 2)
    results = {a: serve(t, orders, shifts, communes, a) for a in Access}
    for outcomes in results.values():
        by_machine: dict[str, list[Busy]] = {}
        for o in outcomes:
            if o.start and o.equipment:
                duration = next(x.duration_min for x in t.exams if x.code == o.order.exam)
                by_machine.setdefault(o.equipment, []).append(Busy(o.start, o.start + timedelta(minutes=duration)))
        for items in by_machine.values():
            items.sort(key=lambda b: b.start)
            assert all(a.end <= b.start for a, b in pairwise(items))

    def mean_wait(access: Access, modality: str) -> float:
        waits = [o.wait_days for o in results[access] if o.modality == modality and o.wait_days is not None]
        return sum(waits) / len(waits)

    for modality in ("DX", "US"):  # the modalities with two machines
        assert mean_wait(Access.POOLED, modality) < mean_wait(Access.SILO, modality)
    assert all(o.start is None or o.start.date() >= o.order.not_before for o in results[Access.POOLED])
