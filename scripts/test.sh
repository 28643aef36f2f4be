#!/usr/bin/env bash
# The one command that prepares everything and runs the whole test suite:
# Debian packages, .venv, then ruff, mypy and pytest. Extra arguments go to pytest.
set -euo pipefail

# shellcheck source=scripts/_setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"   # also cd's to the repository root

# Required: PostgreSQL binaries (throwaway cluster when no server runs) and Chromium (e2e tests).
# DCMTK (findscu, storescu, dump2dcm) and Orthanc with its DICOMweb plugin: the DICOM tests talk to them.
mutualis_ensure_debs postgresql chromium dcmtk orthanc orthanc-dicomweb --
mutualis_ensure_venv

export PATH="$MUTUALIS_ROOT/.venv/bin:$PATH"

mutualis_log "ruff check"
.venv/bin/ruff check .

mutualis_log "mypy"
.venv/bin/mypy

mutualis_log "pytest $*"
.venv/bin/pytest "$@"
