"""`mutualis demo`, as the README runs it: a fresh folder, the embedded default, a live server."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mutualis.adapters.dicom.simulator import Modality
from mutualis.entrypoints.demo import DEMO_PASSWORD
from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_prepares_everything_and_serves(tmp_path: Path) -> None:
    (tmp_path / "territories").symlink_to(ROOT / "territories")
    port, dicom_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUALIS_")}
    proc = subprocess.Popen([sys.executable, "-m", "mutualis.entrypoints.cli", "demo", "--port", str(port),
                             "--dicom-port", str(dicom_port)],
                            cwd=tmp_path, env={**env, "COLUMNS": "200"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "demo did not come up"
            time.sleep(0.3)
        assert (tmp_path / "var" / "mutualis.db").exists()
        token = httpx.post(f"{base}/api/token", data={"username": "secretariat.espalion",
                                                       "password": DEMO_PASSWORD}).json()["access_token"]
        sites = httpx.get(f"{base}/api/sites", headers={"Authorization": f"Bearer {token}"}).json()
        assert sorted(s["id"] for s in sites) == ["decazeville", "espalion", "rodez", "saint-geniez"]
        # the MRI pulls its worklist: the generated demand was booked on it
        mri = Modality("RDZ_IRM1", "127.0.0.1", dicom_port)
        items = mri.worklist(None)
        assert items and {i.ScheduledProcedureStepSequence[0].Modality for i in items} == {"MR"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "secretariat.espalion" in out and DEMO_PASSWORD in out
    assert f"http://127.0.0.1:{port}/" in out
    # a second start reuses the same database and key
    again = subprocess.run([sys.executable, "-m", "mutualis.entrypoints.cli", "demo", "--no-serve"], cwd=tmp_path,
                           env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "territory aveyron-pimm loaded" in again.stdout
