"""`mutualis bench booking`: what pooling gives over each hospital booking its own machines,
and how fast slot search is with a full year of appointments on the books.

Part 1 (in memory, engine only): the same generated demand is booked twice with the same
first-come first-served policy (each order, in request order, takes the best-ranked slot it is
allowed), once in silos (each hospital on its own machines; what it lacks, referred to the
nearest hospital that has it) and once pooled (any machine of the territory).

Part 2 (PostgreSQL): ≥ 50,000 appointments are stored (a year of demand served FCFS), then
1,000 slot searches are timed — the engine alone, and the whole use case with its queries —
and the HTTP endpoint under 20 concurrent clients.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mutualis.adapters.communes import load_communes
from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.territory import Territory
from mutualis.engines.demand import generate_demand
from mutualis.engines.fcfs import Access, Outcome, serve
from mutualis.engines.presence import default_presence

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=150)


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (0–1) by the nearest-rank method; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


@dataclass(frozen=True)
class Row:
    modality: str
    orders: int
    served: int
    wait_median: float
    wait_p90: float
    travel_mean: float
    travel_p90: float
    on_time: float


def summarise(outcomes: Sequence[Outcome]) -> list[Row]:
    by: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by[o.modality].append(o)
    rows = []
    for modality in sorted(by):
        os = by[modality]
        waits = [o.wait_days for o in os if o.wait_days is not None]
        travel = [o.travel_minutes for o in os if o.travel_minutes is not None]
        rows.append(Row(modality, len(os), len(waits), pct(waits, 0.5), pct(waits, 0.9),
                        statistics.fmean(travel) if travel else float("nan"), pct(travel, 0.9),
                        sum(o.on_time for o in os) / len(os)))
    return rows


def pooled_versus_silos(t: Territory, days: int, seed: int, start: date) -> dict[str, Any]:
    communes = load_communes()
    orders = generate_demand(t, communes, start, days, seed)
    shifts = default_presence(t, start, days + t.booking.horizon_days + 2)
    results: dict[str, list[Row]] = {}
    for access in (Access.SILO, Access.POOLED):
        results[access.value] = summarise(serve(t, orders, shifts, communes, access))
    table = Table(title=f"{t.name}: {len(orders)} orders over {days} days (seed {seed}), FCFS, silos → pooled")
    for col in ("modality", "orders", "served", "median wait (d)", "p90 wait (d)", "mean travel (min)",
                "p90 travel (min)", "within due date"):
        table.add_column(col, justify="right")
    for silo, pooled in zip(results["silo"], results["pooled"], strict=True):
        def pair(a: float, b: float, fmt: str = "{:.1f}") -> str:
            return f"{fmt.format(a)} → {fmt.format(b)}"
        table.add_row(silo.modality, str(silo.orders), f"{silo.served} → {pooled.served}",
                      pair(silo.wait_median, pooled.wait_median), pair(silo.wait_p90, pooled.wait_p90),
                      pair(silo.travel_mean, pooled.travel_mean), pair(silo.travel_p90, pooled.travel_p90),
                      pair(100 * silo.on_time, 100 * pooled.on_time, "{:.0f} %"))
    console.print(table)
    return {"orders": len(orders), "days": days, "seed": seed,
            **{k: [r.__dict__ for r in v] for k, v in results.items()}}


def _timings(label: str, samples: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    out = {"n": len(ms), "median_ms": round(pct(ms, 0.5), 2), "p95_ms": round(pct(ms, 0.95), 2),
           "max_ms": round(max(ms), 2)}
    console.print(f"{label}: median {out['median_ms']} ms, p95 {out['p95_ms']} ms over {out['n']}")
    return out


def slot_search_timings(t: Territory, database_url: str, searches: int, appointments_goal: int, seed: int,
                        http_clients: int) -> dict[str, Any]:
    from bench.booking_store import fill, http_load, time_searches

    console.print(f"[bold]Slot search on {database_url.split('@')[-1]}[/bold]")
    stored = fill(t, database_url, appointments_goal, seed, console)
    engine_s, usecase_s = time_searches(t, database_url, searches, seed, console)
    paced = http_load(t, database_url, http_clients, seed, console, think_s=0.5)
    saturated = http_load(t, database_url, http_clients, seed + 1, console, think_s=0.0)
    label = f"HTTP GET /api/orders/{{id}}/slots, {http_clients} clients"
    return {"appointments": stored, "engine": _timings("engine alone", engine_s),
            "use_case": _timings("use case (queries + engine)", usecase_s),
            "http_paced": {**_timings(f"{label}, ~0.5 s between a client's requests", paced["latencies"]),
                           "clients": http_clients, "requests_per_s": paced["rps"]},
            "http_saturated": {**_timings(f"{label}, no pause (saturation)", saturated["latencies"]),
                               "clients": http_clients, "requests_per_s": saturated["rps"]}}


def run(json_path: Path | None = None, *, territory: str = "aveyron-pimm", days: int = 28, seed: int = 1,
        database_url: str | None = None, searches: int = 1000, appointments: int = 50_000,
        http_clients: int = 20, timing: bool = True) -> dict[str, Any]:
    t = read_territory_file(ROOT / "territories" / f"{territory}.toml", load_communes())
    today = datetime.now(UTC).date()
    report: dict[str, Any] = {"territory": territory, "run_at": datetime.now(UTC).isoformat(),
                              "pooled_versus_silos": pooled_versus_silos(t, days, seed, today)}
    if timing:
        from tests.support.postgres import create_database, postgres_admin_url

        url = database_url or create_database(postgres_admin_url())
        report["slot_search"] = slot_search_timings(t, url, searches, appointments, seed, http_clients)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
        console.print(f"written {json_path}")
    return report

