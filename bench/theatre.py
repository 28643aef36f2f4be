"""`mutualis bench theatre`: the theatre planner against first-come first-served, on the same
seeded cases, in one run (engines/theatre/).

The instance is the Vienne FMIH (territories/vienne-fmih.toml): the six visceral theatres of the
CHU de Poitiers and the CH de Montmorillon from Monday 23 November 2026, their sessions and the
default block schedule (engines/theatre/block.py: CHU room 4 open, every other session given
to one federation surgeon privileged at its site), and a waiting list drawn with the seed
(engines/theatre/synthetic.py: about 15 % more in-room minutes than the sessions hold; urgent
cases keep coming during the week). Two sizes: ``weeks`` weeks (1 by default), and four weeks
to show how the planner scales (twice the time limit).

For each size: **first-come first-served** (cases in referral order, each in the first session
of its surgeon's block, else the first open session, where it fits without overtime), a
**priority list** (the most pressing case first, each in its cheapest session, one at a time:
what a careful booking desk does), and the **planner** (CP-SAT over every case and session at
once, from the better of the two as a start; never worse than first-come first-served), with
CP-SAT's proven lower bound of the objective. Every plan is checked by the validator.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mutualis.adapters.communes import load_communes
from mutualis.adapters.territory_file import read_territory_file
from mutualis.engines.theatre.baseline import fcfs_assignment, plan_of, priority_assignment
from mutualis.engines.theatre.instance import TheatreInstance
from mutualis.engines.theatre.solve import solve
from mutualis.engines.theatre.synthetic import week
from mutualis.engines.theatre.validate import Metrics, evaluate, plan_problems

ROOT = Path(__file__).resolve().parents[1]
TERRITORY = ROOT / "territories" / "vienne-fmih.toml"
RESULTS = ROOT / "bench" / "results" / "theatre.json"
START = date(2026, 11, 23)  # a Monday
SCALE_WEEKS = 4


def _metrics(m: Metrics) -> dict[str, Any]:
    out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(m).items()}
    out["done_urgent_cancer"] = m.done_urgent_cancer
    out["past_due_urgent_cancer"] = m.past_due_urgent_cancer
    return out


def run_size(inst: TheatreInstance, weeks: int, seed: int, time_limit_s: float, progress: Progress) -> dict[str, Any]:
    label = f"Vienne FMIH, {weeks} week{'s' if weeks > 1 else ''}"
    task = progress.add_task(f"{label}: baselines", total=100)
    t0 = time.monotonic()
    fcfs = fcfs_assignment(inst)
    fcfs_s = time.monotonic() - t0
    t0 = time.monotonic()
    greedy = priority_assignment(inst)
    greedy_s = time.monotonic() - t0

    def report(stage: str, fraction: float) -> None:
        progress.update(task, description=f"{label}: {stage}", completed=round(100 * fraction))

    sol = solve(inst, time_limit_s, report, reference=fcfs)
    progress.update(task, description=f"{label}: done", completed=100)
    plans = {"fcfs": plan_of(inst, fcfs), "priority": plan_of(inst, greedy), "planner": sol.plan}
    metrics = {name: evaluate(inst, plan) for name, plan in plans.items()}
    problems = {name: [str(p) for p in plan_problems(inst, plan)] for name, plan in plans.items()}
    return {
        "label": label, "territory": inst.name, "seed": seed, "start": inst.start.isoformat(), "weeks": weeks,
        "sites": len({s.site for s in inst.sessions}), "theatres": len({s.theatre for s in inst.sessions}),
        "sessions": len(inst.sessions), "open_sessions": sum(s.is_open for s in inst.sessions),
        "session_minutes": sum(s.length for s in inst.sessions), "cases": len(inst.cases),
        "case_minutes": sum(c.expected_min for c in inst.cases),
        "cases_by_priority": {p: sum(c.priority == p for c in inst.cases) for p in ("urgent", "cancer", "standard")},
        "overdue_at_start": sum(c.due < inst.start for c in inst.cases),
        "overdue_at_start_urgent_cancer": sum(c.due < inst.start and c.priority != "standard" for c in inst.cases),
        "time_limit_s": time_limit_s, "status": sol.status, "objective": sol.objective, "bound": sol.bound,
        "gap": round(sol.gap, 5), "seconds": round(sol.seconds, 1), "fcfs_seconds": round(fcfs_s, 3),
        "priority_seconds": round(greedy_s, 3), "stats": sol.stats,
        "valid": {name: not p for name, p in problems.items()},
        "problems": {name: p[:10] for name, p in problems.items() if p},
        **{name: _metrics(m) for name, m in metrics.items()},
    }  # fmt: skip


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _ratio(a: float, b: float) -> str:
    if b == 0:
        return "=" if a == 0 else "n/a"
    return f"{a / b:.2f}"


COLUMNS = ("instance", "plan", "done", "urgent+cancer done", "waiting", "past due (urg.+canc.)", "overtime (min)",
           "idle (min)", "idle sessions", "utilisation", "objective", "gap", "time (s)")  # fmt: skip


def table(results: Sequence[dict[str, Any]]) -> Table:
    t = Table(title="Theatre planner vs first-come first-served (same cases, same run)")
    for col in COLUMNS:
        t.add_column(col, justify="left" if col in ("instance", "plan") else "right")
    for r in results:
        head = (f"{r['label']}\n{r['cases']} cases, {r['sessions']} sessions\n"
                f"({r['case_minutes']:,} case min for {r['session_minutes']:,} session min;\n"
                f"{r['overdue_at_start']} ({r['overdue_at_start_urgent_cancer']}) past due already)")  # fmt: skip
        rows = [("first-come first-served", "fcfs", "", f"{r['fcfs_seconds']:.2f}"),
                ("priority list, one at a time", "priority", "", f"{r['priority_seconds']:.2f}"),
                (f"planner ({r['status']})", "planner", _pct(r["gap"]), f"{r['seconds']}")]  # fmt: skip
        for n, (name, key, gap, secs) in enumerate(rows):
            m = r[key]
            t.add_row(head if n == 0 else "", name, str(m["done"]), str(m["done_urgent_cancer"]), str(m["waiting"]),
                      f"{m['past_due']} ({m['past_due_urgent_cancer']})", f"{m['overtime_min']:,}",
                      f"{m['idle_min']:,}", str(m["sessions_idle"]), _pct(m["utilisation"]), f"{m['objective']:,}",
                      gap, secs)  # fmt: skip
        f, p = r["fcfs"], r["planner"]
        late = _ratio(p["past_due"], f["past_due"])
        late_uc = _ratio(p["past_due_urgent_cancer"], f["past_due_urgent_cancer"])
        t.add_row("", "planner ÷ FCFS", _ratio(p["done"], f["done"]),
                  _ratio(p["done_urgent_cancer"], f["done_urgent_cancer"]), _ratio(p["waiting"], f["waiting"]),
                  f"{late} ({late_uc})",
                  _ratio(p["overtime_min"], f["overtime_min"]), _ratio(p["idle_min"], f["idle_min"]),
                  _ratio(p["sessions_idle"], f["sessions_idle"]), _ratio(p["utilisation"], f["utilisation"]),
                  _ratio(p["objective"], f["objective"]), "", "")  # fmt: skip
        t.add_row("", "proven lower bound", "", "", "", "", "", "", "", "", f"{r['bound']:,}", "", "")
        t.add_section()
    return t


def run(seed: int = 1, time_limit_s: float = 30, weeks: int = 1, json_path: Path | None = None,
        console: Console | None = None, *, scale_weeks: int | None = SCALE_WEEKS) -> list[dict[str, Any]]:
    """Both plans on the Vienne FMIH at ``weeks`` weeks, then at ``scale_weeks`` weeks (twice
    the time limit; ``None`` or not more than ``weeks``: skipped); prints the table, writes
    ``json_path`` when given, returns one dict per size."""
    out = console or Console(width=180)
    t = read_territory_file(TERRITORY, load_communes())
    sizes = [(weeks, time_limit_s)]
    if scale_weeks is not None and scale_weeks > weeks:
        sizes.append((scale_weeks, 2 * time_limit_s))
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
                  TimeElapsedColumn(), console=out, refresh_per_second=4) as progress:  # fmt: skip
        for n_weeks, limit in sizes:
            inst = week(t, START, seed, weeks=n_weeks)
            results.append(run_size(inst, n_weeks, seed, limit, progress))
    out.print(table(results))
    for r in results:
        f, p = r["fcfs"], r["planner"]
        out.print(f"{r['label']}: plans valid {r['valid']}; planner {r['status']}, bound {r['bound']:,} "
                  f"(gap {_pct(r['gap'])}); {p['done'] - f['done']:+d} cases done, "
                  f"{p['done_urgent_cancer'] - f['done_urgent_cancer']:+d} urgent or cancer, "
                  f"{p['past_due'] - f['past_due']:+d} past due, {p['overtime_min'] - f['overtime_min']:+,} min "
                  f"overtime, {p['idle_min'] - f['idle_min']:+,} min idle; sessions at risk of overrunning "
                  f"(90th percentile past the allowance): {f['overrun_risk_sessions']} → "
                  f"{p['overrun_risk_sessions']}", highlight=False)  # fmt: skip
    if json_path is not None:
        run_at = datetime.now(UTC).isoformat()
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps([{**r, "run_at": run_at} for r in results], indent=2, default=str,
                                        ensure_ascii=False) + "\n")  # fmt: skip
        out.print(f"written {json_path}")
    return results


if __name__ == "__main__":
    run(json_path=RESULTS)
