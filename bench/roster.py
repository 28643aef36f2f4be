"""`bench roster`: the staff-roster engine on the Curtois & Qu shift scheduling benchmark, Instance1–12.

Each instance (shipped in ``src/mutualis/data/curtois/``, or read from ``instances_dir``) is
solved by :func:`mutualis.engines.roster.solve.solve` with a time limit per instance (60 s by
default, everything included: parsing, model building, search) on two CP-SAT threads. The roster
is checked by the solver-free validator and its objective recomputed from the instance (never
taken from the solver), then compared with the best known value — every one of them proven
optimal — as the gap (value − best) ÷ best.

The goal of the engine is every instance within 1 % of the best known value in 60 s.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mutualis.engines.roster.curtois import load
from mutualis.engines.roster.solve import solve
from mutualis.engines.roster.validate import objective, roster_problems

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=160)
BEST_KNOWN = {1: 607, 2: 828, 3: 1001, 4: 1716, 5: 1143, 6: 1950, 7: 1056, 8: 1300, 9: 439, 10: 4631, 11: 3443,
              12: 4040}  # fmt: skip
GOAL_GAP = 0.01


def shipped_dir() -> Path:
    return Path(str(resources.files("mutualis").joinpath("data/curtois")))


def _number(path: Path) -> int | None:
    digits = "".join(c for c in path.stem if c.isdigit())
    return int(digits) if digits else None


def run_instance(path: Path, time_limit_s: float = 60.0, json_path: Path | None = None, *,
                 progress: Progress | None = None, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Solve one instance file; the result as a dict (``objective``, ``valid``, ``problems``, ``seconds``…)."""
    t0 = time.monotonic()
    inst = load(path)
    task = progress.add_task(f"{path.stem}: start", total=100) if progress is not None else None

    def report(stage: str, fraction: float) -> None:
        if progress is not None and task is not None:
            progress.update(task, description=f"{path.stem}: {stage}", completed=round(100 * fraction))

    sol = solve(inst, max(0.5, time_limit_s - (time.monotonic() - t0)), report, seed=seed)
    seconds = time.monotonic() - t0
    problems = roster_problems(inst, sol.roster) if sol.roster is not None else ["no roster"]
    value = objective(inst, sol.roster) if sol.roster is not None else None
    n = _number(path)
    best = BEST_KNOWN.get(n) if n is not None else None
    gap = (value - best) / best if value is not None and best else None
    if progress is not None and task is not None:
        progress.update(task, description=f"{path.stem}: {value}", completed=100)
    result: dict[str, Any] = {
        "instance": path.stem, "weeks": inst.weeks, "staff": len(inst.staff), "shift_types": len(inst.shifts),
        "objective": value, "best_known": best, "gap": None if gap is None else round(gap, 5),
        "within_goal": gap is not None and gap <= GOAL_GAP, "bound": sol.bound, "status": sol.status,
        "valid": not problems, "problems": problems[:20], "seconds": round(seconds, 2),
        "time_limit_s": time_limit_s, "solver_objective": sol.objective, "stats": sol.stats,
    }  # fmt: skip
    if json_path is not None:  # one instance: its result at the top level (``objective``, ``valid``)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"run_at": datetime.now(UTC).isoformat(), **result}, indent=2, default=str,
                                        ensure_ascii=False) + "\n")  # fmt: skip
        console.print(f"written {json_path}")
    return result


def _write(json_path: Path, results: Sequence[dict[str, Any]]) -> None:
    run_at = datetime.now(UTC).isoformat()
    report = {"run_at": run_at, "results": list(results)}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
    console.print(f"written {json_path}")


def table(results: Sequence[dict[str, Any]]) -> Table:
    t = Table(title="Roster engine on the Curtois & Qu benchmark (best known values are proven optima)")
    for col in ("instance", "weeks × staff × types", "value", "best known", "gap", "bound", "time (s)", "valid"):
        t.add_column(col, justify="left" if col == "instance" else "right")
    for r in results:
        gap = "" if r["gap"] is None else f"{100 * r['gap']:.2f} %"
        t.add_row(r["instance"], f"{r['weeks']} × {r['staff']} × {r['shift_types']}", str(r["objective"]),
                  str(r["best_known"]), gap, str(r["bound"]), f"{r['seconds']:.1f}",
                  "yes" if r["valid"] else "NO")  # fmt: skip
    return t


def run_all(time_limit_s: float = 60.0, json_path: Path | None = None, instances_dir: Path | None = None,
            numbers: Sequence[int] = tuple(range(1, 13))) -> list[dict[str, Any]]:  # fmt: skip
    folder = instances_dir if instances_dir is not None else shipped_dir()
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
                  TimeElapsedColumn(), console=console, refresh_per_second=4) as progress:  # fmt: skip
        for n in numbers:
            results.append(run_instance(folder / f"Instance{n}.txt", time_limit_s, progress=progress))
    console.print(table(results))
    within = sum(r["within_goal"] for r in results)
    console.print(f"{within}/{len(results)} instances within {100 * GOAL_GAP:.0f} % of the best known value; "
                  f"all rosters valid: {all(r['valid'] for r in results)}")  # fmt: skip
    if json_path is not None:
        _write(json_path, results)
    return results


if __name__ == "__main__":  # python bench/roster.py [seconds] [instance numbers…]
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    chosen = tuple(int(a) for a in sys.argv[2:]) or tuple(range(1, 13))
    run_all(limit, ROOT / "bench" / "results" / "roster.json" if chosen == tuple(range(1, 13)) else None,
            numbers=chosen)  # fmt: skip
