"""`mutualis bench mwl`: our Modality Worklist provider beside Orthanc's worklists plugin, on
the same items, with dcmtk's ``findscu`` as the modality for both.

For each size (100 and 10,000 scheduled items by default) a fresh database is filled in bulk
(the shipped Aveyron territory, appointments back to back on its 7 machines over enough days);
our service builds its worklist items from it, and the very same items are written as dcmtk
dumps and converted with ``dump2dcm`` to the ``.wl`` files Orthanc's sample plugin reads (it
parses every ``*.wl`` file of its folder on every query; ``FilterIssuerAet`` and
``LimitAnswers`` keep their defaults: no extra filtering, no limit).

The query is what a modality sends in the morning: its own ScheduledStationAETitle, today's
date and its Modality, with the usual return keys. The calling machine is the Rodez MRI
(RDZ_IRM1), whose day is full: ~20 matches at both sizes. Before timing, both servers are
asked once and must return the same items (same accession numbers, same return values).

Two modes, both with ``TCP_NODELAY=1`` in the environment of Orthanc and of findscu:
(a) one association per query: a findscu process per query, wall time of the process;
(b) many queries per association: one findscu process with the query file given K times
    (findscu sends each file as a C-FIND over one association); the latency of each query is
    read from findscu's log (millisecond.microsecond stamps), from sending the request to the
    final response.

Then our side alone: the use case ``services.dicom.worklist`` timed and profiled (cProfile)
with the same query against the same database, to say where our time goes.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pydicom
from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from tests.support.dcmtk import dcmtk

from bench.booking import pct
from bench.mwl_items import Book, dump2dcm, dump_text, fill, plan, today_in, worklist_items, write_worklists
from mutualis.adapters.communes import load_communes
from mutualis.adapters.dicom import wire
from mutualis.adapters.dicom.scp import DicomService, to_item
from mutualis.adapters.territory_file import read_territory_file
from mutualis.bootstrap import Container
from mutualis.domain.territory import Equipment, Territory
from mutualis.services import dicom

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=160)
CALLED = "MUTUALIS"
HOST = "127.0.0.1"
ENV = {**os.environ, "TCP_NODELAY": "1"}
SPS = "ScheduledProcedureStepSequence"
# findscu's log: only its own lines (requests, responses), each stamped HH:MM:SS.mmm.uuu
LOG_CONFIG = """\
log4cplus.rootLogger = INFO, console
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.ImmediateFlush = true
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %D{%H:%M:%S.%Q} %m%n
log4cplus.logger.dcmtk.dcmnet.responses = WARN
"""
STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3})\.(\d{3}) (.*)$")
# the use case's parts, as cProfile names them (file suffix, function)
PARTS = (
    ("calling AE to territory (territory_of)", "adapters/db/dicom.py", "territory_of"),
    ("territory load (territories.get)", "adapters/db/repositories.py", "get"),
    ("SQL: scheduled rows (worklist.scheduled)", "adapters/db/dicom.py", "scheduled"),
    ("item building (worklist_item)", "domain/worklist.py", "worklist_item"),
    ("matching (mwl.search)", "engines/mwl.py", "search"),
    ("audit append", "adapters/db/repositories.py", "append"),
    ("commit", "adapters/db/uow.py", "commit"),
)


@dataclass(frozen=True)
class Peer:
    name: str
    called: str
    port: int


def query_item(caller: Equipment, day: date) -> dict[str, Any]:
    """The C-FIND identifier a modality sends: its station, today, its modality, the usual return keys."""
    assert caller.ae_title and caller.modality
    return {"PatientName": "", "PatientID": "", "PatientBirthDate": "", "PatientSex": "", "AccessionNumber": "",
            "StudyInstanceUID": "", "RequestedProcedureDescription": "",
            SPS: [{"ScheduledStationAETitle": caller.ae_title,
                   "ScheduledProcedureStepStartDate": day.strftime("%Y%m%d"),
                   "ScheduledProcedureStepStartTime": "", "Modality": caller.modality.value,
                   "ScheduledProcedureStepID": "", "ScheduledStationName": ""}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _findscu(peer: Peer, aet: str, files: Sequence[Path], *options: str) -> subprocess.CompletedProcess[str]:
    args = [dcmtk("findscu"), "-W", "-aet", aet, "-aec", peer.called, *options, HOST, str(peer.port), *map(str, files)]
    r = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=900, env=ENV)
    if r.returncode != 0:
        raise RuntimeError(f"findscu against {peer.name} failed ({r.returncode}): {r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r


def answers(peer: Peer, aet: str, query_file: Path, folder: Path) -> dict[str, dict[str, Any]]:
    """The items a server answers, by accession number, as plain values (findscu -X)."""
    folder.mkdir(parents=True)
    _findscu(peer, aet, [query_file], "-X", "-od", str(folder))
    out = {}
    for path in sorted(folder.glob("rsp*.dcm")):
        item = to_item(pydicom.dcmread(path))
        out[str(item.get("AccessionNumber", ""))] = item
    return out


def _seconds(m: re.Match[str]) -> float:
    h, mi, s, ms, us = (int(g) for g in m.groups()[:5])
    return h * 3600 + mi * 60 + s + ms / 1e3 + us / 1e6


def per_query_latencies(log: str) -> list[tuple[float, int]]:
    """(seconds from sending the request to the final response, pending responses) of each C-FIND in a log."""
    out: list[tuple[float, int]] = []
    sent: float | None = None
    pending = 0
    for line in log.splitlines():
        m = STAMP.match(line)
        if not m:
            continue
        message = m.group(6)
        if message.startswith("Sending Find Request"):
            sent, pending = _seconds(m), 0
        elif message.startswith("Received Final Find Response"):
            if sent is None or "Success" not in message:
                raise RuntimeError(f"unexpected findscu log line: {line}")
            out.append(((_seconds(m) - sent) % 86400, pending))  # % 86400: a run across midnight
            sent = None
        elif message.startswith("Received Find Response"):
            pending += 1
    return out


def _stats(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "median_ms": round(pct(ms, 0.5), 2), "p95_ms": round(pct(ms, 0.95), 2),
            "mean_ms": round(statistics.fmean(ms), 2), "min_ms": round(min(ms), 2), "max_ms": round(max(ms), 2)}


def one_query_per_association(peers: Sequence[Peer], aet: str, query_file: Path, n: int,
                              advance: Callable[[], None]) -> dict[str, list[float]]:
    """Wall seconds of a findscu process (associate, one C-FIND, release), the peers interleaved."""
    out: dict[str, list[float]] = {p.name: [] for p in peers}
    for _ in range(n):
        for p in peers:
            t0 = time.perf_counter()
            _findscu(p, aet, [query_file])
            out[p.name].append(time.perf_counter() - t0)
        advance()
    return out


def many_queries_per_association(peers: Sequence[Peer], aet: str, query_file: Path, per_association: int,
                                 associations: int, log_config: Path, expected: int,
                                 advance: Callable[[], None]) -> dict[str, dict[str, list[float]]]:
    """Per-query seconds from findscu's log, and wall seconds per process, the peers interleaved."""
    out: dict[str, dict[str, list[float]]] = {p.name: {"queries": [], "process": []} for p in peers}
    for _ in range(associations):
        for p in peers:
            t0 = time.perf_counter()
            r = _findscu(p, aet, [query_file] * per_association, "-lc", str(log_config))
            out[p.name]["process"].append(time.perf_counter() - t0)
            found = per_query_latencies(r.stdout + r.stderr)
            if len(found) != per_association or any(k != expected for _, k in found):
                raise RuntimeError(f"{p.name}: expected {per_association} queries of {expected} matches, "
                                   f"got {[k for _, k in found]}")
            out[p.name]["queries"].extend(s for s, _ in found)
        advance()
    return out


def profile_ours(c: Container, aet: str, query: dict[str, Any], n: int) -> dict[str, Any]:
    """The use case alone (same query, same database): timings, its parts per cProfile, encoding."""
    for _ in range(3):
        dicom.worklist(c.uow(), aet, query, now=datetime.now(UTC))
    plain = []
    for _ in range(n):
        t0 = time.perf_counter()
        found = dicom.worklist(c.uow(), aet, query, now=datetime.now(UTC))
        plain.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n):
        wire.pending_responses(found, message_id=1, sop_class_uid=ModalityWorklistInformationFind,
                               context_id=1, charset="ISO_IR 192", implicit=False, max_pdu=16384)
    encoding = (time.perf_counter() - t0) / n
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        dicom.worklist(c.uow(), aet, query, now=datetime.now(UTC))
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in raw.values()) / n
    parts = {}
    for label, suffix, func in PARTS:
        cum = [ct for (file, _, name), (_, _, _, ct, _) in raw.items() if name == func and file.endswith(suffix)]
        parts[label] = round(max(cum, default=0.0) / n * 1000, 3)
    top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
    own = [{"function": f"{Path(file).name}:{line} {name}", "calls_per_query": round(nc / n, 1),
            "own_ms": round(tt / n * 1000, 3), "cumulative_ms": round(ct / n * 1000, 3)}
           for (file, line, name), (_, nc, tt, ct, _) in top]
    return {"use_case": _stats(plain), "matches": len(found), "encode_ms": round(encoding * 1000, 3),
            "profiled_ms_per_query": round(total * 1000, 3), "parts_ms": parts, "top_own_time": own}


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'mutualis.db'}"
        return
    from tests.support.postgres import create_database, drop_database, postgres_admin_url

    url = create_database(postgres_admin_url())
    try:
        yield url
    finally:
        drop_database(url)


def bench_size(t: Territory, caller: Equipment, size: int, *, queries: int, per_association: int,
               associations: int, seed: int, backend: str, progress: Progress) -> dict[str, Any]:
    from tests.support.orthanc import start_orthanc

    assert caller.ae_title
    aet = caller.ae_title
    today = today_in(t)
    book: Book = plan(t, size, caller, today)
    report: dict[str, Any] = {"size": size, "days": book.days, "expected_matches": book.caller_today}
    work = Path(tempfile.mkdtemp(prefix=f"mutualis-bench-mwl-{size}-"))
    try:
        with _database(backend, work) as url:
            t0 = time.perf_counter()
            task = progress.add_task(f"{size}: storing {size} booked appointments ({backend})", total=None)
            c = fill(t, url, book, seed, datetime.now(UTC))
            items = worklist_items(c, t)
            progress.update(task, total=1, completed=1)
            assert len(items) == size, f"{len(items)} worklist items for {size} appointments"
            report["store_s"] = round(time.perf_counter() - t0, 2)

            t0 = time.perf_counter()
            task = progress.add_task(f"{size}: .wl files (dump2dcm)", total=size)
            write_worklists(items, work / "worklists", lambda k: progress.advance(task, k))
            report["wl_files_s"] = round(time.perf_counter() - t0, 2)
            query = query_item(caller, today)
            query_file = work / "query.dcm"
            dump2dcm(dump_text(query), query_file)
            log_config = work / "findscu-log.cfg"
            log_config.write_text(LOG_CONFIG)

            service = DicomService(c, CALLED)
            port = _free_port()
            server = service.start(HOST, port)
            orthanc = start_orthanc(worklists_dir=work / "worklists")
            try:
                peers = [Peer("ours", CALLED, port), Peer("orthanc", orthanc.aet, orthanc.dicom_port)]
                ours = answers(peers[0], aet, query_file, work / "answers-ours")
                theirs = answers(peers[1], aet, query_file, work / "answers-orthanc")
                assert len(ours) == len(theirs) == book.caller_today, (len(ours), len(theirs), book.caller_today)
                assert set(ours) == set(theirs), "not the same accession numbers"
                differ = sorted(a for a in ours if ours[a] != theirs[a])
                report["matches"] = len(ours)
                report["answers_differ"] = differ
                if differ:
                    console.print(f"[yellow]{len(differ)} answers differ in their values, e.g. {differ[0]}:"
                                  f"\n ours    {ours[differ[0]]}\n orthanc {theirs[differ[0]]}[/yellow]")
                for p in peers:  # warm-up, not counted
                    for _ in range(3):
                        _findscu(p, aet, [query_file])

                task = progress.add_task(f"{size}: one association per query", total=queries)
                a = one_query_per_association(peers, aet, query_file, queries, lambda: progress.advance(task))
                task = progress.add_task(f"{size}: {per_association} queries per association", total=associations)
                b = many_queries_per_association(peers, aet, query_file, per_association, associations, log_config,
                                                 book.caller_today, lambda: progress.advance(task))
            finally:
                orthanc.stop()
                assert server is not None
                server.shutdown()
            report["one_per_association"] = {name: _stats(s) for name, s in a.items()}
            report["many_per_association"] = {
                name: {**_stats(v["queries"]), "per_association": per_association, "associations": associations,
                       "process_mean_ms": round(statistics.fmean(v["process"]) * 1000, 2),
                       "process_per_query_ms": round(statistics.fmean(v["process"]) * 1000 / per_association, 2)}
                for name, v in b.items()}
            with progress.console.status(f"{size}: profiling our use case"):
                report["ours_use_case"] = profile_ours(c, aet, query, queries)
            c.engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _ratio(theirs: float, ours: float) -> str:
    return f"{theirs / ours:.2f}" if ours else "–"


def results_table(reports: Sequence[dict[str, Any]], per_association: int) -> Table:
    table = Table(title="Modality Worklist C-FIND, findscu as the modality: ours beside Orthanc's worklists plugin "
                        "(ratio > 1: we are faster)")
    table.add_column("items", justify="right")
    table.add_column("mode", no_wrap=True)
    for col in ("ours\nmedian", "ours\np95", "ours\nmean", "Orthanc\nmedian", "Orthanc\np95", "Orthanc\nmean",
                "ratio\n(median)", "ratio\n(mean)", "matches"):
        table.add_column(col, justify="right")
    for r in reports:
        for key, label in (("one_per_association", "(a) 1 query per association,\n    findscu process wall (ms)"),
                           ("many_per_association", f"(b) {per_association} queries per association,\n"
                                                    "    per query (ms)")):
            o, t = r[key]["ours"], r[key]["orthanc"]
            table.add_row(f"{r['size']:,}", label, f"{o['median_ms']:.1f}", f"{o['p95_ms']:.1f}", f"{o['mean_ms']:.1f}",
                          f"{t['median_ms']:.1f}", f"{t['p95_ms']:.1f}", f"{t['mean_ms']:.1f}",
                          _ratio(t["median_ms"], o["median_ms"]), _ratio(t["mean_ms"], o["mean_ms"]),
                          str(r["matches"]))
    return table


def ours_table(reports: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Our side alone: the use case services.dicom.worklist (same query, same database), "
                        "ms per query; parts per cProfile (inflated by the profiler)")
    table.add_column("part")
    for r in reports:
        table.add_column(f"{r['size']:,} items", justify="right")
    table.add_row("use case, median (no profiler)", *(f"{r['ours_use_case']['use_case']['median_ms']:.2f}"
                                                      for r in reports))
    table.add_row("use case, profiled", *(f"{r['ours_use_case']['profiled_ms_per_query']:.2f}" for r in reports))
    for label, _, _ in PARTS:
        table.add_row(f"  {label}", *(f"{r['ours_use_case']['parts_ms'][label]:.2f}" for r in reports))
    table.add_row("encoding and framing of the answers, wire.py (no profiler)",
                  *(f"{r['ours_use_case']['encode_ms']:.2f}" for r in reports))
    table.add_row("end to end, per query in an association (median)",
                  *(f"{r['many_per_association']['ours']['median_ms']:.2f}" for r in reports))
    return table


def run(json_path: Path | None = None, *, sizes: Sequence[int] = (100, 10_000), queries: int = 30,
        per_association: int = 50, associations: int = 4, seed: int = 1, caller_ae: str = "RDZ_IRM1",
        territory: str = "aveyron-pimm", backend: str = "sqlite") -> dict[str, Any]:
    from tests.support.orthanc import ORTHANC_BINARY

    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"backend must be sqlite or postgresql, not {backend!r}")
    for tool in ("findscu", "dump2dcm"):
        dcmtk(tool)  # Debian's dcmtk, not pynetdicom's same-named scripts
    t = read_territory_file(ROOT / "territories" / f"{territory}.toml", load_communes())
    caller = next((e for e in t.equipment if e.ae_title == caller_ae), None)
    if caller is None:
        raise ValueError(f"no machine with AE title {caller_ae!r} in {territory}")
    report: dict[str, Any] = {
        "territory": territory, "run_at": datetime.now(UTC).isoformat(), "database": backend, "caller": caller_ae,
        "query": query_item(caller, today_in(t)), "queries_one_per_association": queries,
        "per_association": per_association, "associations": associations,
        "tools": {"findscu": _version([dcmtk("findscu"), "--version"]),
                  "orthanc": _version([str(ORTHANC_BINARY), "--version"])},
        "sizes": []}
    console.print(f"[bold]MWL benchmark[/bold]: {territory}, caller {caller_ae}, database {backend}, "
                  f"sizes {', '.join(f'{s:,}' for s in sizes)}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, refresh_per_second=4) as progress:
        for size in sizes:
            report["sizes"].append(bench_size(t, caller, size, queries=queries, per_association=per_association,
                                              associations=associations, seed=seed, backend=backend,
                                              progress=progress))
    console.print(results_table(report["sizes"], per_association))
    console.print(ours_table(report["sizes"]))
    for r in report["sizes"]:
        console.print(f"{r['size']:,} items over {r['days']} days: {r['matches']} matches on both sides "
                      f"(expected {r['expected_matches']}); answers with differing values: {len(r['answers_differ'])}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
        console.print(f"written {json_path}")
    return report


def _version(args: list[str]) -> str:
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    lines = (r.stdout + r.stderr).strip().splitlines()
    return lines[0] if lines else "?"
