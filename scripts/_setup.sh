# shellcheck shell=bash
# Shared setup for scripts/test.sh and scripts/demo.sh. Source it, do not run it.
#
# After sourcing, the current directory is the repository root and these functions exist:
#   mutualis_ensure_debs REQUIRED... [-- OPTIONAL...]   install missing Debian packages
#   mutualis_ensure_venv                               create .venv and install '.[dev]' if stale

MUTUALIS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$MUTUALIS_ROOT"

_mutualis_apt_updated=0

mutualis_log() {
  printf '==> %s\n' "$*" >&2
}

mutualis_warn() {
  printf 'WARNING: %s\n' "$*" >&2
}

# Is the Debian package installed (not merely known to dpkg)?
_mutualis_deb_installed() {
  local status
  status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == "install ok installed" ]]
}

# Is what the package provides already present? Checks the command it brings first, dpkg second.
mutualis_have_deb() {
  case "$1" in
    postgresql)
      compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
        && compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null ;;
    chromium) [[ -x /usr/bin/chromium ]] ;;
    dcmtk) command -v storescu >/dev/null 2>&1 && command -v dcmdump >/dev/null 2>&1 ;;
    orthanc) command -v Orthanc >/dev/null 2>&1 || _mutualis_deb_installed orthanc ;;
    python3-venv) _mutualis_deb_installed python3-venv ;;
    *) _mutualis_deb_installed "$1" ;;
  esac
}

# Runs a command as root: directly, or through sudo when we are not root.
_mutualis_as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [[ -t 0 ]]; then
      sudo "$@"
    else
      sudo -n "$@"   # no terminal (CI): never wait for a password
    fi
  else
    mutualis_warn "not root and no sudo: cannot run: $*"
    return 1
  fi
}

_mutualis_apt_install() {
  if [[ "$_mutualis_apt_updated" -eq 0 ]]; then
    mutualis_log "apt-get update"
    _mutualis_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    _mutualis_apt_updated=1
  fi
  mutualis_log "apt-get install $*"
  _mutualis_as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@"
}

# mutualis_ensure_debs REQUIRED... [-- OPTIONAL...]
# Required packages that are missing are installed and a failure aborts (non-zero return).
# Optional ones are installed after the required ones; a failure only prints a warning.
mutualis_ensure_debs() {
  local -a required=() optional=() missing_req=() missing_opt=()
  local pkg in_optional=0
  for pkg in "$@"; do
    if [[ "$pkg" == "--" ]]; then in_optional=1; continue; fi
    if [[ "$in_optional" -eq 1 ]]; then optional+=("$pkg"); else required+=("$pkg"); fi
  done
  for pkg in ${required[@]+"${required[@]}"}; do
    mutualis_have_deb "$pkg" || missing_req+=("$pkg")
  done
  for pkg in ${optional[@]+"${optional[@]}"}; do
    mutualis_have_deb "$pkg" || missing_opt+=("$pkg")
  done
  if [[ "${#missing_req[@]}" -gt 0 ]]; then
    if ! _mutualis_apt_install "${missing_req[@]}"; then
      printf 'ERROR: could not install required Debian packages: %s\n' "${missing_req[*]}" >&2
      return 1
    fi
  fi
  # Optional packages go in a separate transaction so that one of them failing (a service that
  # cannot start in a container, say) never leaves the required ones uninstalled.
  if [[ "${#missing_opt[@]}" -gt 0 ]]; then
    if ! _mutualis_apt_install "${missing_opt[@]}"; then
      mutualis_warn "could not install optional Debian packages: ${missing_opt[*]} (continuing)"
    fi
  fi
  return 0
}

# Creates .venv when missing (or broken) and installs the project with its dev extra, unless the
# stamp file says the install is newer than pyproject.toml.
mutualis_ensure_venv() {
  local venv="$MUTUALIS_ROOT/.venv"
  local stamp="$venv/.mutualis-installed"
  if [[ ! -x "$venv/bin/python" || ! -x "$venv/bin/pip" ]]; then
    if [[ -e "$venv" ]]; then
      mutualis_warn ".venv is incomplete: recreating it"
      rm -rf "$venv"
    fi
    mutualis_log "creating .venv"
    if ! python3 -m venv "$venv"; then
      # Debian's own python3 needs python3-venv (ensurepip) for this.
      rm -rf "$venv"
      mutualis_ensure_debs python3-venv
      python3 -m venv "$venv"
    fi
  fi
  if [[ -f "$stamp" && "$stamp" -nt "$MUTUALIS_ROOT/pyproject.toml" ]]; then
    return 0
  fi
  mutualis_log "installing mutualis with its dev extra into .venv"
  "$venv/bin/pip" install -q -e "$MUTUALIS_ROOT[dev]"
  touch "$stamp"
}
