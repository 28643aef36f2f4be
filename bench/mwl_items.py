"""The data half of the worklist benchmark: booked appointments stored in bulk, the worklist
items our service builds from them, and the same items as dcmtk dumps and ``.wl`` files for
Orthanc's worklists plugin.

Layout of the book (deterministic for a seed): days from today on, every machine of the
territory working a weekday's opening hours each day, exams back to back from opening time
(never overlapping on a machine). The calling machine's day today is full — what a modality
asks for in the morning — and the other items are spread over the other (machine, day) cells
in proportion to each cell's capacity.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from tests.support.dcmtk import dcmtk

from bench.booking_store import _insert_orders
from mutualis.adapters.communes import load_communes
from mutualis.adapters.db.engine import upgrade
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.orders import OrderStatus
from mutualis.domain.territory import Equipment, Exam, Modality, Territory
from mutualis.domain.worklist import person_name, worklist_item
from mutualis.engines.demand import GeneratedOrder, generate_demand
from mutualis.services.booking import to_local, to_utc
from mutualis.services.territories import load_territory

SECRET = "bench-secret-key-not-for-production-0123456789"
CHARSET = "ISO_IR 192"  # UTF-8 in the files and in the query: no transcoding on either side
WEEKDAY = "mon"  # every day of the bench works a Monday's opening hours


@dataclass(frozen=True)
class Cell:
    equipment: Equipment
    day: date
    count: int


@dataclass(frozen=True)
class Book:
    size: int
    days: int
    cells: tuple[Cell, ...]
    caller_today: int  # the calling machine's items today: the expected matches


def _open_minutes(e: Equipment) -> int:
    return sum(r.end - r.start for r in e.opening_hours.get(WEEKDAY, ()))


def _exams_of(t: Territory, e: Equipment) -> list[Exam]:
    return [x for x in t.exams if x.modality == e.modality and (not e.exams or x.code in e.exams)]


def day_capacity(t: Territory, e: Equipment) -> int:
    """Exams of mean duration that fit in a weekday's opening hours."""
    exams = _exams_of(t, e)
    return int(_open_minutes(e) / (sum(x.duration_min for x in exams) / len(exams))) if exams else 0


def plan(t: Territory, size: int, caller: Equipment, today: date) -> Book:
    """How many items each (machine, day) cell gets: the caller's today full, the rest in proportion."""
    machines = [e for e in t.equipment if e.ae_title and _exams_of(t, e)]
    capacity = {e.id: day_capacity(t, e) for e in machines}
    first = min(capacity[caller.id], size)
    days = max(3, math.ceil(size / sum(capacity.values())))
    others = [(e, today + timedelta(days=d)) for d in range(days) for e in machines
              if not (d == 0 and e.id == caller.id)]
    rest = size - first
    total = sum(capacity[e.id] for e, _ in others)
    shares = [rest * capacity[e.id] / total for e, _ in others]
    counts = [int(s) for s in shares]
    # largest remainders get the items left over
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[:rest - sum(counts)]:
        counts[i] += 1
    cells = [Cell(caller, today, first), *(Cell(e, d, n) for (e, d), n in zip(others, counts, strict=True) if n)]
    return Book(size, days, tuple(cells), first)


def _orders_by_modality(t: Territory, need: Mapping[Modality, int], today: date,
                        seed: int) -> dict[Modality, list[GeneratedOrder]]:
    """Generated orders (patients, requesters, clinical texts, priorities), enough of each modality."""
    communes = load_communes()
    exams = {x.code: x for x in t.exams}
    days = 30
    while True:
        pools: dict[Modality, list[GeneratedOrder]] = {m: [] for m in need}
        for o in generate_demand(t, communes, today - timedelta(days=days + 30), days, seed):
            m = exams[o.exam].modality
            if m in pools:
                pools[m].append(o)
        if all(len(pools[m]) >= n for m, n in need.items()):
            return pools
        days *= 2


def fill(t: Territory, url: str, book: Book, seed: int, now: datetime) -> Container:
    """A fresh database at ``url``: the territory, its patients, orders and appointments (bulk inserts)."""
    c = bootstrap(Settings(database_url=url, secret_key=SECRET))
    upgrade(c.engine)
    load_territory(c.uow(), t, source="bench", actor="bench", address=None, now=now)
    need: dict[Modality, int] = {}
    for cell in book.cells:
        assert cell.equipment.modality is not None
        need[cell.equipment.modality] = need.get(cell.equipment.modality, 0) + cell.count
    pools = _orders_by_modality(t, need, book.cells[0].day, seed)
    exams = {x.code: x for x in t.exams}
    placed: list[tuple[GeneratedOrder, Equipment, datetime]] = []
    for cell in book.cells:
        assert cell.equipment.modality is not None
        pool = pools[cell.equipment.modality]
        ranges = list(cell.equipment.opening_hours.get(WEEKDAY, ()))
        minute, r = ranges[0].start, 0
        for _ in range(cell.count):
            o = pool.pop()
            duration = exams[o.exam].duration_min
            while r + 1 < len(ranges) and minute + duration > ranges[r].end:  # next opening range
                r += 1
                minute = max(minute, ranges[r].start)
            placed.append((o, cell.equipment, datetime.combine(cell.day, datetime.min.time())
                           + timedelta(minutes=minute)))
            minute += duration  # back to back: a late cell may run past closing, never overlaps
    stored = _insert_orders(c, t, [o for o, _, _ in placed], OrderStatus.SCHEDULED, 1, set(), now)
    with c.uow() as uow:
        equipment_ids = uow.appointments.equipment_ids(t.id)
    rows = [{"order_id": oid, "equipment_id": equipment_ids[e.id], "start_at": to_utc(start, t),
             "end_at": to_utc(start, t) + timedelta(minutes=exams[o.exam].duration_min), "active": True,
             "created_at": now}
            for (oid, _), (o, e, start) in zip(stored, placed, strict=True)]
    with c.uow() as uow:  # add_many bumps the machines' version stamps
        for chunk in range(0, len(rows), 5000):
            uow.appointments.add_many(rows[chunk:chunk + 5000])
        uow.commit()
    return c


def worklist_items(c: Container, t: Territory) -> list[dict[str, Any]]:
    """Every worklist item of the territory, built as :func:`mutualis.services.dicom.worklist` builds them."""
    with c.uow() as uow:
        stored = uow.territories.get(t.id)
        assert stored is not None
        rows = uow.worklist.scheduled(t.id, start=None, end=None, modality=None, ae_title=None)
    equipment = {e.id: e for e in stored.equipment}
    exams = {x.code: x for x in stored.exams}
    names = {p.rpps: person_name(p.last_name, p.first_name) for p in stored.practitioners}
    return [worklist_item(stored, r.order, r.patient, equipment[r.equipment], exams[r.order.exam],
                          to_local(r.start, stored), names.get(r.order.requester, r.order.requester))
            for r in rows if r.order.exam in exams]


# --- dcmtk dumps -----------------------------------------------------------------------------------


def _tag(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise ValueError(f"no DICOM tag for {keyword!r}")
    return f"({tag >> 16:04x},{tag & 0xFFFF:04x})"


def _dump_lines(item: Mapping[str, Any], depth: int) -> list[str]:
    pad = "  " * depth
    lines = []
    for keyword, value in item.items():
        if isinstance(value, str):
            vr = dictionary_VR(keyword)
            if "]" in value or "\n" in value:
                raise ValueError(f"{keyword} = {value!r} cannot be written in a dump")
            lines.append(f"{pad}{_tag(keyword)} {vr} [{value}]" if value else f"{pad}{_tag(keyword)} {vr}")
        else:
            lines.append(f"{pad}{_tag(keyword)} SQ")
            for child in value:
                lines.append(f"{pad}  (fffe,e000) -")
                lines.extend(_dump_lines(child, depth + 2))
                lines.append(f"{pad}  (fffe,e00d) -")
            lines.append(f"{pad}(fffe,e0dd) -")
    return lines


def dump_text(item: Mapping[str, Any], charset: str = CHARSET) -> str:
    """A dcmtk ``dump2dcm`` text of a worklist item (keywords → tags, nested sequences)."""
    return "\n".join([f"(0008,0005) CS [{charset}]", *_dump_lines(item, 0)]) + "\n"


def dump2dcm(text: str, out: Path) -> None:
    """Write ``text`` through ``dump2dcm`` (DICOM file format, meta header) to ``out``."""
    with tempfile.NamedTemporaryFile("w", suffix=".dump", encoding="utf-8", delete=False) as f:
        f.write(text)
    try:
        r = subprocess.run([dcmtk("dump2dcm"), "--write-file", f.name, str(out)], capture_output=True, text=True,
                           timeout=60)
    finally:
        os.unlink(f.name)
    if r.returncode != 0 or not out.exists():
        raise RuntimeError(f"dump2dcm failed for {out.name}: {r.stdout}{r.stderr}")


def write_worklists(items: Sequence[Mapping[str, Any]], folder: Path,
                    advance: Callable[[int], None] = lambda n: None) -> None:
    """One ``<accession>.wl`` file per item (the extension Orthanc's sample plugin looks for)."""
    folder.mkdir(parents=True, exist_ok=True)

    def one(item: Mapping[str, Any]) -> None:
        dump2dcm(dump_text(item), folder / f"{item['AccessionNumber']}.wl")
        advance(1)

    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as pool:
        list(pool.map(one, items))


def today_in(t: Territory) -> date:
    return to_local(datetime.now(UTC), t).date()
