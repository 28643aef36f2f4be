"""dcmtk's command-line tools from Debian's package, by absolute path: pynetdicom installs
same-named scripts (findscu, storescu, echoscu…) into the virtual environment, which is first
on PATH when the tests run."""

from __future__ import annotations

from pathlib import Path

DCMTK_BIN = Path("/usr/bin")


def dcmtk(tool: str) -> str:
    path = DCMTK_BIN / tool
    if not path.exists():
        raise RuntimeError(f"{path} is missing: scripts/test.sh installs Debian's dcmtk")
    return str(path)
