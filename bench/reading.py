"""`mutualis bench reading`: one generated day of reading for a territory under three policies —
each hospital reads its own exams (silo), one pooled FIFO queue, Mutualis dispatch — on the same
exams, reading times and radiologists (engines/reading_day.py, engines/reading_sim.py).

Printed: per policy and priority, median and 95th-percentile turnaround (images available →
reading done), share read within due time, late and carried-over exams, the workload spread
across radiologists and the decision time per event. Then a sensitivity run with every reading
time multiplied (the reading minutes are assumptions), and the dispatch decision time on a
larger state: 50 readers (the territory's radiologists, five times) × 200 waiting exams, and the
goal on more days, seeds 1–28 by default, each day and pooled (beside the three policies:
dispatch without pre-emption, dispatch with strict urgent-first order, FIFO with the same
pre-emption as dispatch, and dispatch and FIFO when an urgent exam may also take a radiologist
out of other work, ``SimSettings.urgent_stops_other_work``).

Beside them, the hindsight bounds of the day (engines/reading_hindsight.py): the lowest 95th
percentile, and the fewest urgent exams late, that a schedule without interruptions knowing
every arrival and reading time in advance could reach; with ``hindsight_days``, of every pooled
day too, and how far each policy is from them.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.booking import pct
from mutualis.adapters.communes import load_communes
from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.reading import may_read
from mutualis.domain.reading_settings import ReadingSettings
from mutualis.domain.territory import Commune, Modality, Profession, Territory
from mutualis.engines.dispatch import (
    STRICT,
    DispatchInstance,
    DispatchRules,
    Reader,
    dispatch_now,
    dispatch_task,
    solve,
)
from mutualis.engines.dispatch_validate import assignment_problems
from mutualis.engines.reading_day import SimDay, SimSettings, build_day
from mutualis.engines.reading_hindsight import Hindsight, hindsight
from mutualis.engines.reading_sim import ROWS, Policy, PolicyRun, simulate, summarise
from mutualis.engines.roster.solve import solve as solve_roster
from mutualis.engines.roster.territory import entries, presence_of, territory_problem, to_instance
from mutualis.engines.slots import Shift

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=240)
DAY = date(2026, 11, 24)  # a Tuesday with no machine closure: the same day on every run
LABELS = {"urgent": "urgent", "inpatient": "inpatient", "outpatient": "outpatient", "screening": "screening L1",
          "screening_l2": "screening L2", "all": "all (first readings)"}


def _minutes(v: float | None) -> str:
    return "unread" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def hindsight_said(bound: Hindsight, summaries: dict[str, dict[str, Any]]) -> str:
    """The day's hindsight bound beside what the policies reached (all first readings)."""
    reached = ", ".join(f"{p} {_tenths(summaries[p]['rows']['all']['p95_min'])}" for p in ("silo", "fifo", "dispatch"))
    if bound.p95_min is None and bound.lower_min is None:
        return f"hindsight bound of the day: p95 is an unread exam under any schedule ({bound.unreadable} unreadable)"
    value = (f"{bound.p95_min:.1f} (proven)" if bound.proven else
             f"between {_tenths(bound.lower_min)} and {_tenths(bound.p95_min)} (not proven in {bound.seconds:g} s)")
    late = ", ".join(f"{p} {summaries[p]['rows']['urgent']['late']}" for p in ("silo", "fifo", "dispatch"))
    return (f"hindsight bound of the day: knowing every arrival and reading time in advance, the best schedule "
            f"without interruptions reaches an all-exam p95 of {value}; reached: {reached}. Urgent exams late: at "
            f"least {bound.urgent_late_lower} of {bound.urgent}; under {late}")


def _tenths(v: float | None) -> str:
    return "unread" if v is None else f"{v:.1f}"


def scaled(day: SimDay, settings: ReadingSettings, factor: float) -> tuple[SimDay, ReadingSettings]:
    """The same day with every reading time (expected and actual) times ``factor``; exams
    performed by the radiologist keep their slot and report."""
    exams = tuple(x if x.report_at else replace(x, minutes=x.minutes * factor, l2_minutes=x.l2_minutes * factor)
                  for x in day.exams)
    minutes = {m: v * factor for m, v in settings.reading_minutes.items()}
    default = settings.default_reading_minutes * factor
    return replace(day, exams=exams), replace(settings, reading_minutes=minutes, default_reading_minutes=default)


def per_modality(settings: ReadingSettings) -> ReadingSettings:
    """``settings`` with the reading minutes of its modalities only: every exam read, and expected,
    in its modality's minutes (the world before exam-specific reading times)."""
    modalities = {m.value for m in Modality}
    return replace(settings, reading_minutes={k: v for k, v in settings.reading_minutes.items() if k in modalities})


def roster_presence(t: Territory, communes: Mapping[str, Commune], day: date, seed: int, s: ReadingSettings,
                    m: SimSettings, seconds: float) -> tuple[list[Shift], dict[str, Any]]:
    """The presence rows of a 28-day roster of the territory (engines/roster, the week before the
    day's week first), solved in ``seconds`` as `mutualis roster solve` would, with default
    contracts, and the demand of ``day`` from its exams under the default presence for ``seed``
    (what radiologists perform on each site, what the others take to read)."""
    start = day - timedelta(days=day.weekday() + 7)
    performed: dict[tuple[str, date], int] = {}
    reading = 0.0
    length = {x.code: x.duration_min for x in t.exams}
    for x in build_day(t, communes, day, seed, s, m).exams:
        if x.report_at is not None:
            key = (x.task.site, day)
            performed[key] = performed.get(key, 0) + length[x.task.exam] + round(x.minutes)
        else:
            reading += s.minutes_for(x.task.modality.value, x.task.exam)
    problem = territory_problem(t, start, 28, performed=performed, reading={day: reading})
    solution = solve_roster(to_instance(problem), seconds, seed=seed)
    if solution.roster is None:
        raise RuntimeError(f"no roster for {t.id} from {start}: {solution.status}")
    got = entries(problem, solution.roster)
    rows = presence_of(t, got, {x.code: x for x in problem.shifts}, problem.people)
    today = sorted((e.rpps, e.shift) for e in got if e.day == day)
    return rows, {"start": start.isoformat(), "days": 28, "status": solution.status, "objective": solution.objective,
                  "seconds": solution.seconds, "day": [f"{rpps} {code}" for rpps, code in today]}


def policy_table(title: str, summaries: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title)
    for col in ("policy", "priority", "exams", "median (min)", "p95 (min)", "within due", "late", "carried over",
                "workload min–max (min), CV", "decision / event (ms)\nmedian · p95"):
        table.add_column(col, justify="left" if col in ("policy", "priority") else "right")
    for policy, s in summaries.items():
        w, d = s["workload"], s["decision"]
        for i, name in enumerate(ROWS):
            r = s["rows"][name]
            if not r["exams"]:
                continue
            share = "–" if r["within_due"] is None else f"{100 * r['within_due']:.1f} %"
            table.add_row(policy if i == 0 else "", LABELS[name], str(r["exams"]), _minutes(r["median_min"]),
                          _minutes(r["p95_min"]), share, str(r["late"]), str(r["carried_over"]),
                          f"{w['min_min']:.0f}–{w['max_min']:.0f}, {w['cv']:.2f}" if i == 0 else "",
                          f"{d['median_ms']:.3f} · {d['p95_ms']:.3f}" if i == 0 and d["events"] else "")
        table.add_section()
    return table


def sensitivity_table(runs: dict[str, dict[str, dict[str, Any]]]) -> Table:
    table = Table(title="Sensitivity: every reading time × k, or every exam in its modality's minutes "
                        "(same exams and radiologists)")
    for col in ("reading times", "policy", "urgent p95", "urgent within due", "all p95", "all median", "all within due",
                "carried over", "workload CV"):
        table.add_column(col, justify="right")
    for k, summaries in runs.items():
        for i, (policy, s) in enumerate(summaries.items()):
            u, a = s["rows"]["urgent"], s["rows"]["all"]
            table.add_row(k if i == 0 else "", policy, _minutes(u["p95_min"]), f"{100 * (u['within_due'] or 0):.1f} %",
                          _minutes(a["p95_min"]), _minutes(a["median_min"]), f"{100 * (a['within_due'] or 0):.1f} %",
                          str(a["carried_over"]), f"{s['workload']['cv']:.2f}")
        table.add_section()
    return table


def _timed(fn: Callable[[], object], n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {"n": n, "median_ms": round(pct(samples, 0.5), 4), "p95_ms": round(pct(samples, 0.95), 4),
            "max_ms": round(max(samples), 4)}


def decision_stress(t: Territory, day: SimDay, settings: ReadingSettings, seed: int, n: int = 200,
                    copies: int = 5, waiting: int = 200) -> dict[str, Any]:
    """Dispatch on 50 readers (each radiologist ``copies`` times, on their day's site) × 200
    waiting exams of the day (repeated when fewer), eligibility by may_read: one reader freed
    (the usual event), all idle at once (the morning), and the full re-plan (solve)."""
    rng = random.Random(seed)
    radiologists = [p for p in t.practitioners if p.profession is Profession.RADIOLOGIST]
    site_of = {s.rpps: s.site for s in day.sessions if not s.on_call}
    now = day.start + timedelta(hours=10)
    readers = [Reader(f"{p.rpps}#{k}", now + timedelta(minutes=rng.randrange(1, 40)), now + timedelta(hours=8),
                      f"{p.rpps}#{k}", rng.uniform(0, 240)) for p in radiologists for k in range(copies)]
    sources = [x.task for x in day.exams if x.report_at is None]
    tasks = [replace(sources[i % len(sources)], id=i, ready_at=now - timedelta(minutes=rng.randrange(0, 120)))
             for i in range(waiting)]
    people = {p.rpps: p for p in radiologists}
    on_duty = frozenset(people)
    eligible = {task.id: frozenset(r.id for r in readers
                                   if may_read(people[r.id.split("#")[0]], task, t, on_duty,
                                               site_of.get(r.id.split("#")[0]), settings) is None)
                for task in tasks if task.id is not None}
    queue = [dispatch_task(x, settings) for x in tasks]
    one_idle = [replace(readers[0], free_at=now)]
    all_idle = [replace(r, free_at=now) for r in readers]
    plan = DispatchInstance(now, queue, readers, eligible)
    solution = solve(plan)
    return {"readers": len(readers), "waiting": len(queue),
            "mean_eligible_readers": round(sum(map(len, eligible.values())) / len(eligible), 1),
            "one_reader_freed": _timed(lambda: dispatch_now(now, queue, one_idle, eligible), n),
            "all_readers_idle": _timed(lambda: dispatch_now(now, queue, all_idle, eligible), n),
            "full_replan_solve": _timed(lambda: solve(plan), max(20, n // 10)),
            "solve_assigned": len(solution.assignments), "solve_unassigned": len(solution.unassigned),
            "validator_problems": [str(p) for p in assignment_problems(plan, solution)]}


def _p95(s: dict[str, Any], row: str) -> float:
    v = s["rows"][row]["p95_min"]
    return float("inf") if v is None else float(v)


def goal(summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    d, silo, fifo = summaries["dispatch"], summaries["silo"], summaries["fifo"]
    urgent = d["rows"]["urgent"]
    beats = {row: {"dispatch": d["rows"][row]["p95_min"], "silo": silo["rows"][row]["p95_min"],
                   "fifo": fifo["rows"][row]["p95_min"],
                   "beats_both": _p95(d, row) < min(_p95(silo, row), _p95(fifo, row)),
                   "at_least_as_good": _p95(d, row) <= min(_p95(silo, row), _p95(fifo, row))}
             for row in ("urgent", "all")}
    return {"every_urgent_within_due": urgent["late"] == 0 and urgent["carried_over"] == 0, "p95": beats}


def pooled(runs: Sequence[PolicyRun]) -> PolicyRun:
    """One policy's runs on several days of the same date (other seeds) as one run: the readings
    and decisions together, the minutes of each radiologist added up."""
    minutes: dict[str, float] = {}
    for r in runs:
        for who, m in r.minutes_by_reader.items():
            minutes[who] = minutes.get(who, 0.0) + m
    return replace(runs[0], readings=tuple(x for r in runs for x in r.readings),
                   decision_s=tuple(x for r in runs for x in r.decision_s), minutes_by_reader=minutes,
                   interruptions=sum(r.interruptions for r in runs),
                   other_work_stopped=sum(r.other_work_stopped for r in runs),
                   other_work_lost_min=round(sum(r.other_work_lost_min for r in runs), 1))


def seed_check(t: Territory, seeds: Sequence[int], day: date, s: ReadingSettings, m: SimSettings,
               progress: Callable[[], None] = lambda: None, roster: Sequence[Shift] | None = None,
               hindsight_limit: float | None = None) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The goal on several days (seeds: other exams and reading times, the same radiologists): per
    seed and policy, urgent p95, urgent late, all p95 and readings interrupted, the variants of
    :data:`VARIANTS` beside them, the goal that day and ``goal_other_work`` (the goal when urgent
    exams may also stop other work, under every policy that pre-empts); then every policy over
    all the days pooled (:func:`pooled`), the measure the goal is judged on: one day's 95th
    percentile is set by its ten longest waits, which change order from one policy to the next."""
    out: dict[str, dict[str, Any]] = {}
    communes = load_communes()
    other = replace(m, urgent_stops_other_work=True)
    base: dict[str, tuple[Policy, DispatchRules | None, bool | None, bool]] = {
        p.value: (p, None, None, False) for p in Policy}
    every: dict[str, list[PolicyRun]] = {name: [] for name in {**base, **VARIANTS}}
    last: SimDay | None = None
    for seed in seeds:
        d = last = build_day(t, communes, day, seed, s, m, roster)
        runs: dict[str, dict[str, Any]] = {}
        interrupted: dict[str, tuple[int, int]] = {}
        for name, (policy, rules, preempt, stops) in {**base, **VARIANTS}.items():
            run = simulate(t, d, policy, s, other if stops else m, rules, preempt)
            every[name].append(run)
            runs[name], interrupted[name] = summarise(run, d), (run.interruptions, run.other_work_stopped)
        rows = {k: {"urgent_p95": v["rows"]["urgent"]["p95_min"], "urgent_late": v["rows"]["urgent"]["late"],
                    "all_p95": v["rows"]["all"]["p95_min"], "interrupted": interrupted[k][0],
                    "other_work_stopped": interrupted[k][1]} for k, v in runs.items()}
        with_other = {"silo": runs["silo"], "fifo": runs["fifo"], "dispatch": runs["dispatch_other_work"]}
        out[str(seed)] = {"exams": len(d.exams), **rows, "goal": goal(runs), "goal_other_work": goal(with_other)}
        if hindsight_limit is not None:
            out[str(seed)]["hindsight"] = asdict(hindsight(t, d, s, m, hindsight_limit))
        progress()
    if last is None:
        return out, {}
    return out, {name: summarise(pooled(runs), last) for name, runs in every.items()}


def day_tally(check: dict[str, dict[str, Any]], policy: str = "dispatch", against: str = "fifo") -> dict[str, Any]:
    """On how many days ``policy``'s p95 is below, equal to or above ``against``'s (unread: ∞)."""
    def p95(c: dict[str, Any], row: str) -> float:
        v = c[row]
        return float("inf") if v is None else float(v)

    out: dict[str, Any] = {"days": len(check)}
    for row in ("urgent_p95", "all_p95"):
        pairs = [(p95(c[policy], row), p95(c[against], row)) for c in check.values()]
        out[row] = {"better": sum(a < b for a, b in pairs), "equal": sum(a == b for a, b in pairs),
                    "worse": sum(a > b for a, b in pairs)}
    out["both_better"] = sum(p95(c[policy], "urgent_p95") < p95(c[against], "urgent_p95")
                             and p95(c[policy], "all_p95") < p95(c[against], "all_p95") for c in check.values())
    out["days_with_urgent_late"] = {name: sum(c[name]["urgent_late"] > 0 for c in check.values())
                                    for name in (against, policy)}
    return out


# name → (policy, dispatch rules, pre-emption (None: the policy's own), urgent exams stop other work)
VARIANTS: dict[str, tuple[Policy, DispatchRules | None, bool | None, bool]] = {
    "dispatch_greedy": (Policy.DISPATCH, DispatchRules(lookahead=0), None, False),
    "dispatch_strict": (Policy.DISPATCH, STRICT, None, False),
    "dispatch_no_pause": (Policy.DISPATCH, DispatchRules(pause_urgent=False), None, False),
    "fifo_preemption": (Policy.FIFO, None, True, False),
    "dispatch_other_work": (Policy.DISPATCH, None, None, True),
    "fifo_preemption_other_work": (Policy.FIFO, None, True, True),
}


def hindsight_tally(check: dict[str, dict[str, Any]], policies: Sequence[str] = ("fifo", "dispatch")
                    ) -> dict[str, Any]:
    """Per policy, over the days whose bound is known (both finite): the mean gap of its all-exam p95
    above the day's hindsight bound, and the days within 0.5 minute of it; over every day, the
    urgent exams late under each policy beside the fewest a schedule knowing the day leaves late."""
    days = [c for c in check.values() if (c.get("hindsight") or {}).get("p95_min") is not None
            and all(c[p]["all_p95"] is not None for p in policies)]
    bounded = [c for c in check.values() if c.get("hindsight")]
    out: dict[str, Any] = {"days": len(days), "proven": sum(c["hindsight"]["proven"] for c in days),
                           "urgent_late_at_least": sum(c["hindsight"]["urgent_late_lower"] for c in bounded),
                           "urgent_late_best_found": sum(c["hindsight"]["urgent_late"] or 0 for c in bounded)}
    for p in policies:
        gaps = [c[p]["all_p95"] - c["hindsight"]["p95_min"] for c in days]
        out[p] = {"mean_gap_min": round(sum(gaps) / len(gaps), 1) if gaps else None,
                  "at_bound": sum(g <= 0.5 for g in gaps), "urgent_late": sum(c[p]["urgent_late"] for c in bounded)}
    return out


def _bound(h: dict[str, Any] | None) -> str:
    if not h:
        return "–"
    late = f" ({h['urgent_late_lower']})"
    if h["p95_min"] is None:
        return ("unread" if h["lower_min"] is None else f"≥ {h['lower_min']:.1f}") + late
    return (f"{h['p95_min']:.1f}" if h["proven"] else f"{h['lower_min']:.1f}–{h['p95_min']:.1f}") + late


def seeds_table(check: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="Other seeds: urgent p95 (late) · all p95, in minutes; [readings interrupted + other work "
                        "stopped]")
    names = ("silo", "fifo", "dispatch", *VARIANTS)
    bounds = any("hindsight" in c for c in check.values())
    hind = ("hindsight: all p95 (urgent late)",) if bounds else ()
    for col in ("seed", *(n.replace("_", " ") for n in names), *hind, "urgent in due",
                "beats both: urgent p95 · all p95", "the same, other work stops"):
        table.add_column(col, justify="right")

    def verdict(g: dict[str, Any]) -> str:
        return (f"{'yes' if g['every_urgent_within_due'] else 'no'} · "
                f"{'yes' if g['p95']['urgent']['beats_both'] else 'no'} · "
                f"{'yes' if g['p95']['all']['beats_both'] else 'no'}")

    for seed, c in check.items():
        g = c["goal"]
        cells = []
        for n in names:
            cell = f"{_minutes(c[n]['urgent_p95'])} ({c[n]['urgent_late']}) · {_minutes(c[n]['all_p95'])}"
            if c[n]["interrupted"] or c[n]["other_work_stopped"]:
                cell += f" [{c[n]['interrupted']}+{c[n]['other_work_stopped']}]"
            cells.append(cell)
        if bounds:
            cells.append(_bound(c.get("hindsight")))
        table.add_row(seed, *cells, "yes" if g["every_urgent_within_due"] else "no",
                      f"{'yes' if g['p95']['urgent']['beats_both'] else 'no'} · "
                      f"{'yes' if g['p95']['all']['beats_both'] else 'no'}", verdict(c["goal_other_work"]))
    return table


def run(json_path: Path | None = None, *, territory: str = "aveyron-pimm", seed: int = 1, day: date = DAY,
        scales: Sequence[float] = (0.5, 1.5), settings: ReadingSettings | None = None,
        sim: SimSettings | None = None, seeds: Sequence[int] = tuple(range(1, 29)),
        roster_seconds: float | None = None, hindsight_days: bool = False,
        hindsight_seconds: float = 60.0) -> dict[str, Any]:
    """The bench; ``roster_seconds``: take the radiologists from a roster solved in that time
    (:func:`roster_presence`) instead of the default presence; the day's hindsight bound, and with
    ``hindsight_days`` every pooled day's, in ``hindsight_seconds`` each at most."""
    s, m = settings or ReadingSettings(), sim or SimSettings()
    communes = load_communes()
    t = read_territory_file(ROOT / "territories" / f"{territory}.toml", communes)
    roster: list[Shift] | None = None
    roster_info: dict[str, Any] | None = None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, refresh_per_second=4) as progress:
        if roster_seconds is not None:
            step = progress.add_task(f"{t.id}: roster of 28 days around {day}, {roster_seconds:g} s", total=1)
            roster, roster_info = roster_presence(t, communes, day, seed, s, m, roster_seconds)
            progress.advance(step)
        step = progress.add_task(f"{t.id}: demand over {m.warmup_days} days before {day}, booked FCFS", total=1)
        the_day = build_day(t, communes, day, seed, s, m, roster)
        progress.advance(step)
        step = progress.add_task("simulating the policies (with the sensitivity runs)", total=3 * (2 + len(scales)))
        summaries: dict[str, dict[str, Any]] = {}
        for p in Policy:
            summaries[p.value] = summarise(simulate(t, the_day, p, s, m), the_day)
            progress.advance(step)
        sensitivity: dict[str, dict[str, dict[str, Any]]] = {}
        for k in scales:
            d, ks = scaled(the_day, s, k)
            sensitivity[f"×{k:g}"] = {p.value: summarise(simulate(t, d, p, ks, m), d) for p in Policy}
            progress.advance(step, 3)
        flat = per_modality(s)
        d = build_day(t, communes, day, seed, flat, m, roster)
        sensitivity["per modality"] = {p.value: summarise(simulate(t, d, p, flat, m), d) for p in Policy}
        progress.advance(step, 3)
        step = progress.add_task("the hindsight bound of the day (CP-SAT)", total=1)
        bound = hindsight(t, the_day, s, m, hindsight_seconds)
        progress.advance(step)
        step = progress.add_task("dispatch decision time, 50 readers × 200 waiting exams", total=1)
        stress = decision_stress(t, the_day, s, seed)
        progress.advance(step)
        step = progress.add_task(f"the goal over {len(seeds)} days (seeds {seeds[0]}–{seeds[-1]})"
                                 + (", with their hindsight bounds" if hindsight_days else ""), total=len(seeds))
        check, over_days = seed_check(t, seeds, day, s, m, lambda: progress.advance(step), roster,
                                      hindsight_seconds if hindsight_days else None)
    exams = [x.task for x in the_day.exams]
    title = (f"{t.name}: {len(exams)} exams ready on {day} (seed {seed}; "
             f"{sum(x.priority.value == 'urgent' for x in exams)} urgent), {len({x.rpps for x in the_day.sessions})} "
             f"radiologists; turnaround = images available → reading done")
    if roster_info is not None:
        console.print(f"radiologists from a roster ({roster_info['status']}, objective {roster_info['objective']}, "
                      f"{roster_info['seconds']} s) on {day}: {', '.join(roster_info['day'])}")
    console.print(policy_table(title, summaries))
    console.print(sensitivity_table(sensitivity))
    one, all_, full = stress["one_reader_freed"], stress["all_readers_idle"], stress["full_replan_solve"]
    console.print(f"dispatch decision, {stress['readers']} readers × {stress['waiting']} waiting exams "
                  f"({stress['mean_eligible_readers']} eligible readers per exam): one reader freed "
                  f"{one['median_ms']:.3f} ms (p95 {one['p95_ms']:.3f}); all idle {all_['median_ms']:.3f} ms "
                  f"(p95 {all_['p95_ms']:.3f}); full re-plan (solve) {full['median_ms']:.2f} ms; "
                  f"validator problems: {len(stress['validator_problems'])}")
    console.print(seeds_table(check))
    console.print(policy_table(f"The {len(seeds)} days pooled (seeds {seeds[0]}–{seeds[-1]}; the goal is judged here)",
                               over_days))
    g, g_days, tally = goal(summaries), goal(over_days), day_tally(check)

    def said(g: dict[str, Any]) -> str:
        return (f"every urgent exam within due under dispatch: {g['every_urgent_within_due']}; "
                + "; ".join(f"p95 {row}: dispatch {_tenths(v['dispatch'])} vs silo {_tenths(v['silo'])}, "
                            f"fifo {_tenths(v['fifo'])} (beats both: {v['beats_both']})"
                            for row, v in g["p95"].items()))

    console.print(f"goal on the day (seed {seed}): {said(g)}")
    console.print(f"goal over the {len(seeds)} days pooled: {said(g_days)}")
    console.print(hindsight_said(bound, summaries))
    gaps = hindsight_tally(check) if hindsight_days else None
    if gaps is not None:
        console.print(f"hindsight bounds of the {gaps['days']} days with a finite p95 ({gaps['proven']} proven): "
                      + "; ".join(f"{p} on average {gaps[p]['mean_gap_min']} min above, within 0.5 min of it on "
                                  f"{gaps[p]['at_bound']} days" for p in ("fifo", "dispatch"))
                      + f". Urgent exams late over the {len(seeds)} days: at least {gaps['urgent_late_at_least']} "
                        f"knowing the days; fifo {gaps['fifo']['urgent_late']}, dispatch "
                        f"{gaps['dispatch']['urgent_late']}")
    u, a = tally["urgent_p95"], tally["all_p95"]
    console.print(f"day by day, dispatch against fifo: urgent p95 better on {u['better']} days, equal on {u['equal']}, "
                  f"worse on {u['worse']}; all p95 better on {a['better']}, equal on {a['equal']}, worse on "
                  f"{a['worse']}; both better on {tally['both_better']}; days with an urgent exam late: fifo "
                  f"{tally['days_with_urgent_late']['fifo']}, dispatch {tally['days_with_urgent_late']['dispatch']}")
    report: dict[str, Any] = {
        "territory": t.id, "day": day.isoformat(), "seed": seed, "run_at": datetime.now(UTC).isoformat(),
        "exams": len(exams), "urgent": sum(x.priority.value == "urgent" for x in exams),
        "radiologists_on_duty": len({x.rpps for x in the_day.sessions}),
        "settings": {**{f"{k}_min" if isinstance(v, timedelta) else k: v / timedelta(minutes=1)
                        if isinstance(v, timedelta) else v for k, v in asdict(s).items()},
                     "simulation": {k: str(v) if isinstance(v, (date, datetime)) or hasattr(v, "isoformat") else v
                                    for k, v in asdict(m).items()}},
        "policies": summaries, "sensitivity": sensitivity, "decision_stress": stress, "goal": g,
        "presence": roster_info or "default", "seeds": check, "hindsight": asdict(bound),
        "hindsight_days": gaps,
        "days_pooled": {"seeds": list(seeds), "policies": over_days, "goal": g_days, "day_by_day": tally}}
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
        console.print(f"written {json_path}")
    return report
