"""A real Orthanc server for the tests, reachable on loopback only.

`start_orthanc()` writes a JSON configuration into a fresh temporary directory (storage and
SQLite index inside it, HTTP and DICOM on free ports), starts Debian's ``/usr/sbin/Orthanc``
with the DICOMweb plugin (and the modality worklists plugin when a worklists folder is given),
and waits until ``GET /system`` answers. Use the result as a context manager, or call
``stop()``: the process is ended and the temporary directory removed.

Orthanc 1.10 has no option to choose the listening interface: its HTTP and DICOM servers bind
every interface. What keeps it local: ``"RemoteAccessAllowed": false`` (the HTTP server answers
loopback clients only), random high ports, and a lifetime of one test module. The DICOM side has
no such guard (``DicomAlwaysAllow*`` lets any peer that reaches the port echo/store/find); that is
acceptable for a throwaway test archive with synthetic data only.

The packages come from ``scripts/test.sh`` (Debian ``orthanc``, ``orthanc-dicomweb``, ``dcmtk``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

ORTHANC_BINARY = Path("/usr/sbin/Orthanc")
PLUGIN_DIR = Path("/usr/share/orthanc/plugins")
DICOMWEB_PLUGIN = PLUGIN_DIR / "libOrthancDicomWeb.so"
WORKLISTS_PLUGIN = PLUGIN_DIR / "libModalityWorklists.so"
LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT = 30.0
_START_ATTEMPTS = 3  # a free port may be taken between probing and Orthanc binding it
_LOG_TAIL_LINES = 40


class OrthancUnavailableError(RuntimeError):
    """Orthanc is not installed, or did not start."""


def orthanc_env() -> dict[str, str]:
    """Environment for Orthanc and the DCMTK tools (``TCP_NODELAY=1``, as the issue asks)."""
    return {**os.environ, "TCP_NODELAY": "1"}


class OrthancServer:
    """One running Orthanc process and its temporary directory."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        workdir: Path,
        http_port: int,
        dicom_port: int,
        aet: str,
        log_path: Path,
        startup_seconds: float,
    ) -> None:
        self._process = process
        self.workdir = workdir
        self.http_port = http_port
        self.dicom_port = dicom_port
        self.aet = aet
        self.log_path = log_path
        self.startup_seconds = startup_seconds
        self.host = LOOPBACK

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.http_url}/dicom-web"

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL after 15 s) and remove the temporary directory."""
        _end_process(self._process)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"OrthancServer(http_url={self.http_url!r}, dicom_port={self.dicom_port}, aet={self.aet!r})"


def start_orthanc(*, worklists_dir: Path | None = None, aet: str = "ORTHANC") -> OrthancServer:
    """Start a throwaway Orthanc on free loopback ports; return once its REST API answers."""
    missing = [p for p in (ORTHANC_BINARY, DICOMWEB_PLUGIN) if not p.exists()]
    if worklists_dir is not None and not WORKLISTS_PLUGIN.exists():
        missing.append(WORKLISTS_PLUGIN)
    if missing:
        raise OrthancUnavailableError(
            f"Orthanc is not installed ({', '.join(map(str, missing))} missing): run scripts/test.sh, "
            "which installs the Debian packages orthanc, orthanc-dicomweb and dcmtk"
        )
    if worklists_dir is not None and not worklists_dir.is_dir():
        raise OrthancUnavailableError(f"worklists folder {worklists_dir} does not exist")

    last_error: OrthancUnavailableError | None = None
    for _ in range(_START_ATTEMPTS):
        try:
            return _start_once(worklists_dir=worklists_dir, aet=aet)
        except _ExitedEarly as exc:  # most likely a port taken meanwhile: try new ports
            last_error = OrthancUnavailableError(str(exc))
    assert last_error is not None
    raise last_error


def orthanc_config(
    *, workdir: Path, http_port: int, dicom_port: int, aet: str, worklists_dir: Path | None
) -> dict[str, Any]:
    """The configuration `start_orthanc` writes (options checked against Orthanc 1.10.1 and DICOMweb 1.7)."""
    storage = workdir / "storage"
    plugins = [str(DICOMWEB_PLUGIN)]
    config: dict[str, Any] = {
        "Name": "mutualis-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        "DicomServerEnabled": True,
        "DicomPort": dicom_port,
        "DicomAet": aet,
        "DicomCheckCalledAet": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomModalities": {},
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "UnknownSopClassAccepted": True,
        "DefaultEncoding": "Utf8",
        "TcpNoDelay": True,
        "SaveJobs": False,
        "HttpThreadsCount": 8,
        "DicomThreadsCount": 2,
        "Plugins": plugins,
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "EnableWado": True,
            "Ssl": False,
            "StudiesMetadata": "Full",
        },
    }
    if worklists_dir is not None:
        plugins.append(str(WORKLISTS_PLUGIN))
        config["Worklists"] = {"Enable": True, "Database": str(worklists_dir)}
        # Orthanc >= 1.8 guards worklist C-FIND with its own switch, apart from DicomAlwaysAllowFind.
        config["DicomAlwaysAllowFindWorklist"] = True
    return config


# --- internals -------------------------------------------------------------------------------------


class _ExitedEarly(Exception):
    pass


def _start_once(*, worklists_dir: Path | None, aet: str) -> OrthancServer:
    workdir = Path(tempfile.mkdtemp(prefix="mutualis-orthanc-"))
    http_port, dicom_port = _free_ports(2)
    config = orthanc_config(
        workdir=workdir, http_port=http_port, dicom_port=dicom_port, aet=aet, worklists_dir=worklists_dir
    )
    config_path = workdir / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    log_path = workdir / "orthanc.log"

    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ORTHANC_BINARY), str(config_path)],
            cwd=workdir,
            env=orthanc_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(process, f"http://{LOOPBACK}:{http_port}/system", log_path)
    except BaseException:
        _end_process(process)
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return OrthancServer(
        process=process,
        workdir=workdir,
        http_port=http_port,
        dicom_port=dicom_port,
        aet=aet,
        log_path=log_path,
        startup_seconds=time.monotonic() - started,
    )


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last: str = "no answer yet"
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            code = process.poll()
            if code is not None:
                raise _ExitedEarly(f"Orthanc exited with status {code} while starting; log tail:\n{_tail(log_path)}")
            try:
                response = client.get(url)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise OrthancUnavailableError(
                    f"Orthanc did not answer GET {url} within {STARTUP_TIMEOUT:.0f} s ({last}); "
                    f"log tail:\n{_tail(log_path)}"
                )
            time.sleep(0.05)


def _end_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _free_ports(count: int) -> list[int]:
    """`count` distinct ports free on loopback right now (held open together so they differ)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"
