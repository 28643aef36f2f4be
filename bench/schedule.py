"""`mutualis bench schedule`: the appointment optimiser against first-come first-served, on the same
seeded instances, at three sizes (engines/schedule/).

- **pimm**: the Aveyron PIMM (territories/aveyron-pimm.toml), one week of demand;
- **ght**: a 12-site hospital group on the real communes of Aveyron and Tarn, two weeks;
- **region**: a 40-site region over eight departments, four weeks.

Each instance is what a planner sees on Monday 23 November 2026 at midnight: the demand of the
period (engines/demand.py, the seed), and a running platform before it — the demand of the week
before, booked first-available; those of its appointments that fall in the horizon are fixed
(announced) when requested more than two days before, movable otherwise (not yet announced).
Appointments may be placed up to two weeks after the period.

For each size: the **first-available** plan (what a RIS does: each order in request order
takes the earliest lawful slot on any capable machine), the **best-slot** plan (Mutualis's
booking desk today: each order takes its cheapest slot under the same weights, one at a time),
the **optimiser** (engines/schedule/solve.py, first-available as the incumbent), and the
**proven lower bound** of the objective. The optimiser sees the whole period's orders at once
(a batch re-plan of appointments not yet announced); the baselines book them one at a time in
request order: an upper bound of what a nightly re-plan gives, not an online policy.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mutualis.adapters.communes import load_communes
from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.demand import GeneratedOrder, generate_demand
from mutualis.engines.presence import default_presence
from mutualis.engines.schedule.baseline import best_slot, first_available
from mutualis.engines.schedule.build import Booked, OrderRequest, from_territory, to_json
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import ScheduleInstance
from mutualis.engines.schedule.solve import solve
from mutualis.engines.schedule.synthetic import ght, region
from mutualis.engines.schedule.validate import Metrics, evaluate, plan_problems

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=160)
START = date(2026, 11, 23)  # a Monday
WARMUP_DAYS = 7
UNANNOUNCED_DAYS = 2
EXTRA_DAYS = 14  # appointments may go this far past the period


@dataclass(frozen=True)
class Size:
    label: str
    days: int  # days of demand
    time_limit_s: float


SIZES: Mapping[str, Size] = {
    "pimm": Size("Aveyron PIMM, 1 week", 7, 30.0),
    "ght": Size("12-site GHT, 2 weeks", 14, 120.0),
    "region": Size("40-site region, 4 weeks", 28, 240.0),
}


def territory(size: str, communes: Mapping[str, Commune]) -> Territory:
    pimm = read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)
    if size == "pimm":
        return pimm
    make = ght if size == "ght" else region
    return make(communes, pimm.exams, START)


def _request(t: Territory, oid: str, o: GeneratedOrder, current: tuple[str, datetime] | None = None) -> OrderRequest:
    outside = o.priority.value in ("outpatient", "screening")  # inpatients travel from the requesting site
    origin = o.patient.insee if outside else t.site(o.requesting_site).insee
    return OrderRequest(oid, o.exam, o.priority.value, o.requested_at, o.not_before, o.due_by, origin, current)


def make_instance(size: str, seed: int, communes: Mapping[str, Commune]) -> ScheduleInstance:
    """The seeded instance of ``size`` (see the module's docstring)."""
    t = territory(size, communes)
    days = SIZES[size].days
    warm_start = START - timedelta(days=WARMUP_DAYS)
    horizon = days + EXTRA_DAYS
    shifts = default_presence(t, warm_start, WARMUP_DAYS + horizon)
    warm = generate_demand(t, communes, warm_start, WARMUP_DAYS, seed + 7919)
    period = generate_demand(t, communes, START, days, seed)
    warm_inst = from_territory(t, [_request(t, f"w{n}", o) for n, o in enumerate(warm)], [], shifts, communes,
                               warm_start, WARMUP_DAYS + horizon)  # fmt: skip
    booked_then = {p.order: p for p in first_available(Calendar(warm_inst))}
    exams = {x.code: x for x in t.exams}
    announced_before = datetime.combine(START - timedelta(days=UNANNOUNCED_DAYS), clock())
    orders, booked = [], []
    for n, o in enumerate(warm):
        p = booked_then.get(f"w{n}")
        if p is None or p.day < WARMUP_DAYS:
            continue  # done before the horizon
        at = warm_inst.instant(p.day, p.minute)
        if o.requested_at >= announced_before:
            orders.append(_request(t, f"w{n}", o, (p.machine, at)))
        else:
            exam = exams[o.exam]
            booked.append(Booked(f"w{n}", p.machine, at, at + timedelta(minutes=exam.duration_min),
                                 exam.radiologist_on_site))  # fmt: skip
    orders += [_request(t, f"o{n}", o) for n, o in enumerate(period)]
    return from_territory(t, orders, booked, shifts, communes, START, horizon)


def _metrics(m: Metrics) -> dict[str, Any]:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(m).items()}


def run_size(size: str, seed: int, time_limit_s: float, communes: Mapping[str, Commune],
             progress: Progress, instance_dir: Path | None = None) -> dict[str, Any]:  # fmt: skip
    label = SIZES[size].label
    task = progress.add_task(f"{label}: instance", total=100)
    inst = make_instance(size, seed, communes)
    if instance_dir is not None:
        instance_dir.mkdir(parents=True, exist_ok=True)
        (instance_dir / f"schedule-{size}-seed{seed}.json").write_text(json.dumps(to_json(inst)) + "\n")
    cal = Calendar(inst)

    def report(stage: str, fraction: float) -> None:
        progress.update(task, description=f"{label}: {stage}", completed=round(100 * fraction))

    t0 = time.monotonic()
    fa = first_available(cal, report)
    fa_s = time.monotonic() - t0
    t0 = time.monotonic()
    bs = best_slot(cal, report)
    bs_s = time.monotonic() - t0
    sol = solve(inst, time_limit_s, report, reference=fa)
    seconds = sol.wall_s + fa_s  # the incumbent is part of the optimiser's work
    progress.update(task, description=f"{label}: done", completed=100)
    m_fa, m_bs, m_opt = evaluate(cal, fa), evaluate(cal, bs), evaluate(cal, sol.plan)
    problems = plan_problems(cal, sol.plan)
    return {
        "size": size, "label": label, "territory": inst.name, "seed": seed, "start": START.isoformat(),
        "days": SIZES[size].days, "horizon_days": inst.days, "sites": len({m.site for m in inst.machines}),
        "machines": len(inst.machines), "orders": len(inst.orders),
        "movable": sum(o.current is not None for o in inst.orders), "fixed": len(inst.fixed),
        "time_limit_s": time_limit_s, "seconds": round(seconds, 1), "solve_seconds": round(sol.wall_s, 1),
        "baseline_seconds": round(fa_s, 1), "best_slot_seconds": round(bs_s, 1),
        "status": sol.status, "objective": sol.objective, "bound": sol.bound, "bound_source": sol.bound_source,
        "gap": round(sol.gap, 5), "past_due_baseline": round(m_fa.past_due, 4),
        "past_due_best_slot": round(m_bs.past_due, 4), "past_due_optimised": round(m_opt.past_due, 4),
        "objective_baseline": m_fa.objective, "objective_best_slot": m_bs.objective,
        "valid": not problems, "problems": [str(p) for p in problems[:20]],
        "changes": len(sol.changes), "explanations": dict(Counter(c.explanation.code for c in sol.changes)),
        "example_explanations": [f"{c.order}: {c.explanation.text}"
                                 for c in sol.changes[:: max(1, len(sol.changes) // 5)][:5]],
        "baseline": _metrics(m_fa), "best_slot": _metrics(m_bs), "optimised": _metrics(m_opt), "stats": sol.stats,
    }  # fmt: skip


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def table(results: Sequence[dict[str, Any]]) -> Table:
    t = Table(title="Appointment optimiser vs first-come first-served (same instances, same run)")
    for col in ("instance", "plan", "past due", "urgent past due", "mean wait (d)", "p90 wait (d)",
                "mean travel (min)", "utilisation", "objective", "gap", "time (s)"):
        t.add_column(col, justify="left" if col in ("instance", "plan") else "right")
    for r in results:
        head = f"{r['label']}\n{r['orders']} orders, {r['machines']} machines"
        rows: list[tuple[str, dict[str, Any], str, str]] = [
            ("first available (RIS)", r["baseline"], "", f"{r['baseline_seconds']}"),
            ("best slot, one at a time", r["best_slot"], "", f"{r['best_slot_seconds']}"),
            ("optimiser", r["optimised"], _pct(r["gap"]), f"{r['seconds']}"),
        ]
        for n, (name, m, gap, secs) in enumerate(rows):
            t.add_row(head if n == 0 else "", name, _pct(m["past_due"]), _pct(m["past_due_urgent"]),
                      f"{m['wait_mean_days']:.2f}", f"{m['wait_p90_days']:.2f}", f"{m['travel_mean_min']:.1f}",
                      _pct(m["utilisation"]), f"{m['objective']:,}", gap, secs)  # fmt: skip
        t.add_row("", "proven lower bound", "", "", "", "", "", "", f"{r['bound']:,}", "", "")
        t.add_section()
    return t


def growth(results: Sequence[dict[str, Any]]) -> Table:
    t = Table(title="Run time with size (optimiser, incumbent included)")
    for col in ("instance", "orders", "machines × days", "options", "seconds", "ms per order", "time limit"):
        t.add_column(col, justify="left" if col == "instance" else "right")
    for r in results:
        t.add_row(r["label"], str(r["orders"]), f"{r['machines']} × {r['horizon_days']}",
                  f"{r['stats'].get('options_max', 0):,}", str(r["seconds"]),
                  f"{1000 * r['seconds'] / max(1, r['orders']):.1f}", str(r["time_limit_s"]))  # fmt: skip
    return t


def run(json_path: Path | None = None, *, sizes: Sequence[str] = ("pimm", "ght", "region"), seed: int = 1,
        time_limits: Mapping[str, float] | None = None, instance_dir: Path | None = None,
        on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise ValueError(f"unknown size(s) {unknown} (available: {', '.join(SIZES)})")
    communes = load_communes()
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
                  TimeElapsedColumn(), console=console, refresh_per_second=4) as progress:  # fmt: skip
        for size in sizes:
            limit = (time_limits or {}).get(size, SIZES[size].time_limit_s)
            results.append(run_size(size, seed, limit, communes, progress, instance_dir))
            if on_result is not None:
                on_result(results[-1])
    console.print(table(results))
    console.print(growth(results))
    for r in results:
        console.print(f"{r['label']}: {r['status']}, valid plan: {r['valid']}, bound: {r['bound_source']}; "
                      f"{r['changes']} appointments changed — " + ", ".join(f"{k} {v}" for k, v in
                                                                             sorted(r["explanations"].items())))
        for line in r["example_explanations"]:
            console.print(f"    {line}", highlight=False)
    run_at = datetime.now(UTC).isoformat()
    report = {r["size"]: {**r, "run_at": run_at} for r in results}  # one object per size
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
        console.print(f"written {json_path}")
    return results

