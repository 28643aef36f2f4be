#!/usr/bin/env bash
# Prepares .venv (no Debian package needed) and runs the demo. Arguments go to `mutualis demo`.
set -euo pipefail

# shellcheck source=scripts/_setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"   # also cd's to the repository root

mutualis_ensure_venv

exec .venv/bin/mutualis demo "$@"
