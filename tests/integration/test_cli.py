"""The `mutualis` command, run as a user runs it (a subprocess), on SQLite and PostgreSQL."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, ROOT

MUTUALIS = [sys.executable, "-m", "mutualis.entrypoints.cli"]


def _run(database_url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MUTUALIS_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run([*MUTUALIS, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_load_then_list_the_aveyron_pimm(database_url: str) -> None:
    assert _run(database_url, "db", "upgrade").returncode == 0
    loaded = _run(database_url, "territory", "load", str(ROOT / "territories" / "aveyron-pimm.toml"))
    assert loaded.returncode == 0, loaded.stderr
    assert "aveyron-pimm created" in loaded.stdout
    listed = _run(database_url, "territory", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (territory,) = json.loads(listed.stdout)
    assert len(territory["sites"]) == 4
    by_modality: dict[str, list[str]] = {}
    for e in territory["equipment"]:
        by_modality.setdefault(e["modality"], []).append(e["site"])
    assert by_modality["MR"] == ["rodez"]
    assert by_modality["MG"] == ["decazeville"]
    assert len(by_modality["US"]) == 2 and len(by_modality["DX"]) == 2 and len(by_modality["CT"]) == 1
    site = territory["sites"][0]
    assert {"id", "establishment", "insee", "lat", "lon"} <= set(site)
    assert {"finess", "name", "kind"} == set(territory["establishments"][0])
    again = _run(database_url, "territory", "load", str(ROOT / "territories" / "aveyron-pimm.toml"))
    assert "aveyron-pimm updated" in again.stdout


def test_a_bad_file_is_refused_whole(database_url: str, tmp_path: Path) -> None:
    _run(database_url, "db", "upgrade")
    _run(database_url, "territory", "load", str(FIXTURES / "mini.toml"))
    before = _run(database_url, "territory", "list", "--format", "json").stdout
    bad = tmp_path / "bad.toml"
    bad.write_text((FIXTURES / "mini.toml").read_text(encoding="utf-8")
                   .replace('name = "Mini-territoire de test"', 'name = "Changé"')
                   .replace('finess = "120000013"', 'finess = "120000014"', 1)
                   .replace('site = "espalion"', 'site = "millau"', 1), encoding="utf-8")
    refused = _run(database_url, "territory", "load", str(bad))
    assert refused.returncode == 2
    assert f"{bad}: establishments[0].finess: '120000014': invalid FINESS key" in refused.stderr
    assert f"{bad}: equipment[1].site: unknown site 'millau'" in refused.stderr
    assert _run(database_url, "territory", "list", "--format", "json").stdout == before


def test_user_add(database_url: str) -> None:
    _run(database_url, "db", "upgrade")
    _run(database_url, "territory", "load", str(FIXTURES / "mini.toml"))
    ok = _run(database_url, "user", "add", "agent.espalion", "--role", "booking_agent", "--full-name", "Agent",
              "--territory", "mini", "--site", "espalion", "--password", "a long enough password")
    assert ok.returncode == 0, ok.stderr
    dup = _run(database_url, "user", "add", "agent.espalion", "--role", "booking_agent", "--full-name", "Agent",
               "--territory", "mini", "--site", "espalion", "--password", "a long enough password")
    assert dup.returncode == 1 and "already exists" in dup.stderr
    bad = _run(database_url, "user", "add", "x", "--role", "radiologist", "--full-name", "X", "--territory", "mini",
               "--site", "millau", "--password", "a long enough password")
    assert bad.returncode == 2 and "unknown site 'millau'" in bad.stderr


def test_schedule_optimize_writes_a_proposal_that_apply_applies(database_url: str) -> None:
    """Demand placed first-come first-served by a batch (not announced), then the week optimiser
    from the command line: a proposal with fewer patients past due, applied, then refused again."""
    assert _run(database_url, "db", "upgrade").returncode == 0
    assert _run(database_url, "territory", "load", str(ROOT / "territories" / "aveyron-pimm.toml")).returncode == 0
    assert _run(database_url, "presence", "generate", "--territory", "aveyron-pimm", "--days", "21").returncode == 0
    generated = _run(database_url, "demand", "generate", "--territory", "aveyron-pimm", "--days", "4", "--book")
    assert generated.returncode == 0, generated.stderr
    bad = _run(database_url, "schedule", "optimize", "--territory", "aveyron-pimm", "--days", "40")
    assert bad.returncode != 0 and "days" in bad.stderr
    run = _run(database_url, "schedule", "optimize", "--territory", "aveyron-pimm", "--time-limit", "8")
    assert run.returncode == 0, run.stderr
    assert "Proposal 1 for aveyron-pimm" in run.stdout and "orders to book or move" in run.stdout
    past_due = next(line for line in run.stdout.splitlines() if line.strip("│ ").startswith("past due"))
    before, after = (float(x.strip(" %│")) for x in past_due.split("│")[2:4])
    assert after <= before
    applied = _run(database_url, "schedule", "apply", "1")
    assert applied.returncode == 0, applied.stderr
    assert "proposal 1 applied" in applied.stdout
    again = _run(database_url, "schedule", "apply", "1")
    assert again.returncode != 0 and "already applied" in again.stderr


def test_bench_roster_on_one_instance_file_writes_objective_and_valid(tmp_path: Path) -> None:
    """The contract: `bench roster --instance FILE --json OUT` prints the objective and the
    validator's verdict, and writes them as the JSON keys ``objective`` and ``valid``."""
    out = tmp_path / "r.json"
    instance = ROOT / "src" / "mutualis" / "data" / "curtois" / "Instance1.txt"
    r = subprocess.run([*MUTUALIS, "bench", "roster", "--instance", str(instance), "--time-limit", "10",
                        "--json", str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["objective"] == 607 and doc["valid"] is True  # Instance1's optimum, proven in well under 10 s
    assert "607" in r.stdout
