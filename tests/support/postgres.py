"""A PostgreSQL server for the tests, and throwaway databases on it.

`postgres_admin_url()` finds a server, in this order:

1. the SQLAlchemy URL in the environment variable ``MUTUALIS_TEST_POSTGRES_URL``, used as is;
2. a server on 127.0.0.1:5432 that lets the user ``postgres`` in (trust auth);
3. otherwise a throwaway cluster started from Debian's ``postgresql`` binaries
   (/usr/lib/postgresql/*/bin), on a free port, in a temporary directory, stopped and removed
   when the process exits.

The answer is cached, so at most one cluster is started per process.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ENV_VAR = "MUTUALIS_TEST_POSTGRES_URL"
LOCAL_HOST = "127.0.0.1"
LOCAL_PORT = 5432
SUPERUSER = "postgres"
DB_PREFIX = "mutualis_test_"

_lock = threading.Lock()
_admin_url: str | None = None


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be found or started."""


def postgres_admin_url() -> str:
    """SQLAlchemy URL (``postgresql+psycopg://...``) of the ``postgres`` database of a usable server."""
    global _admin_url
    with _lock:
        if _admin_url is None:
            _admin_url = _find_or_start_server()
        return _admin_url


def create_database(admin_url: str) -> str:
    """Create a fresh, uniquely named database on the server of `admin_url`; return its SQLAlchemy URL."""
    name = f"{DB_PREFIX}{uuid.uuid4().hex}"
    with psycopg.connect(_conninfo(make_url(admin_url)), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _render(make_url(admin_url).set(database=name))


def drop_database(url: str) -> None:
    """Drop the database of `url` (if it exists), first ending every other connection to it."""
    target = make_url(url)
    name = target.database
    if not name:
        raise ValueError(f"no database name in {target!r}")
    admin = target.set(database="postgres")
    with psycopg.connect(_conninfo(admin), autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


# --- internals -------------------------------------------------------------------------------------


def _find_or_start_server() -> str:
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return from_env
    if _local_server_accepts():
        return _render(_sqlalchemy_url(LOCAL_HOST, LOCAL_PORT))
    return _start_throwaway_cluster()


def _sqlalchemy_url(host: str, port: int, database: str = "postgres") -> URL:
    return URL.create("postgresql+psycopg", username=SUPERUSER, host=host, port=port, database=database)


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _conninfo(url: URL) -> str:
    """A libpq URI for psycopg from a SQLAlchemy URL (drops the ``+psycopg`` driver part)."""
    return _render(url.set(drivername="postgresql"))


def _local_server_accepts() -> bool:
    try:
        with psycopg.connect(
            f"host={LOCAL_HOST} port={LOCAL_PORT} user={SUPERUSER} dbname=postgres", connect_timeout=3
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _version_key(bindir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin
    version = Path(bindir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def _find_bindir() -> Path:
    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK)
    ]
    if not candidates:
        raise PostgresUnavailableError(
            "no PostgreSQL server is reachable and no initdb/pg_ctl under /usr/lib/postgresql/*/bin: "
            f"install Debian's 'postgresql' package (scripts/test.sh does) or set {ENV_VAR}"
        )
    return Path(max(candidates, key=_version_key))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCAL_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` system user then."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", SUPERUSER, "--", *cmd]
    return ["su", SUPERUSER, "-s", "/bin/sh", "-c", shlex.join(cmd)]


def _run(cmd: list[str], cwd: Path, log: Path | None = None) -> None:
    result = subprocess.run(
        _as_server_user(cmd),
        cwd=cwd,  # a directory the server user can enter (the caller's cwd may be /root)
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        details = result.stdout
        if log is not None and log.exists():
            details += "\n--- server log ---\n" + log.read_text(errors="replace")
        raise PostgresUnavailableError(f"{shlex.join(cmd)} failed ({result.returncode}):\n{details}")


def _start_throwaway_cluster() -> str:
    """Start a private cluster on a free port; it is stopped and removed at process exit."""
    bindir = _find_bindir()
    root = Path(tempfile.mkdtemp(prefix="mutualis-pg-"))
    data, sockdir, log = root / "data", root / "sock", root / "server.log"
    sockdir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, user=SUPERUSER)
        shutil.chown(sockdir, user=SUPERUSER)
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    started = False

    def cleanup() -> None:
        if started:
            with contextlib.suppress(Exception):
                _run([*pg_ctl, "-m", "immediate", "stop"], cwd=root)
        shutil.rmtree(root, ignore_errors=True)

    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER]
        _run([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"], cwd=root)
        last_error: PostgresUnavailableError | None = None
        for _attempt in range(3):  # the free port may be taken between finding and binding it
            port = _free_port()
            options = (
                f"-p {port} -k {sockdir} -c listen_addresses={LOCAL_HOST}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            started = True
            try:
                _run([*pg_ctl, "-l", str(log), "-w", "-t", "60", "-o", options, "start"], cwd=root, log=log)
            except PostgresUnavailableError as exc:
                last_error = exc
                with contextlib.suppress(Exception):
                    _run([*pg_ctl, "-m", "immediate", "stop"], cwd=root)
                started = False
                continue
            atexit.register(cleanup)
            return _render(_sqlalchemy_url(LOCAL_HOST, port))
        assert last_error is not None
        raise last_error
    except BaseException:
        cleanup()
        raise
