# Shared by scripts/up and scripts/test (sourced, not run): install what Veche needs, skipping what is done.
# Every step is idempotent; a stamp file keyed on the hash of its inputs makes the second run quick.

VECHE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$VECHE_ROOT/.venv"
FRONTEND="$VECHE_ROOT/frontend"
FRONTEND_OUT="$VECHE_ROOT/src/veche/web/static/build"
_APT_UPDATED=""
# shellcheck source=janus.sh
source "$VECHE_ROOT/scripts/lib/janus.sh"

say() {
  if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi
}
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: install the Debian packages that are not installed yet.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  if [ -z "$_APT_UPDATED" ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _APT_UPDATED=1
  fi
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# system_packages PKG...: the given packages, plus python3-venv and Node.js/npm when they are missing.
system_packages() {
  local extra=()
  local python
  python="$(pick_python || true)"
  if [ -z "$python" ] || ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    extra+=(python3 python3-venv)
  fi
  if ! command -v npm >/dev/null; then
    if command -v node >/dev/null; then extra+=(npm); else extra+=(nodejs npm); fi
  fi
  apt_install "$@" "${extra[@]}"
}

# pick_python: the first python3 (>= 3.11) on PATH, or Debian's.
pick_python() {
  local candidate
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# _hash FILE...: one hash over the files that exist.
_hash() {
  local file
  for file in "$@"; do
    if [ -f "$file" ]; then cat "$file"; fi
  done | sha256sum | cut -c1-64
}

# ensure_venv EXTRAS: .venv with `pip install -e .[EXTRAS]`; EXTRAS is "" (server only) or "test".
ensure_venv() {
  local extras="$1" stamp="$VENV/.veche-installed" want spec
  want="$(_hash "$VECHE_ROOT/pyproject.toml") ${extras:-base}"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ]; then
    local have
    have="$(cat "$stamp")"
    # A test install is a superset of the base one.
    if [ "$have" = "$want" ] || { [ -z "$extras" ] && [ "${have% *}" = "${want% *}" ]; }; then
      say "python: .venv up to date"
      return 0
    fi
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    local python
    python="$(pick_python)" || die "Python >= 3.11 not found"
    say "python: creating .venv with $python"
    "$python" -m venv "$VENV"
  fi
  spec="$VECHE_ROOT"
  [ -n "$extras" ] && spec="$VECHE_ROOT[$extras]"
  say "python: pip install -e ${spec#"$VECHE_ROOT"}"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$spec"
  printf '%s\n' "$want" >"$stamp"
}

# build_frontend: npm ci (when package-lock.json changed) and the esbuild bundle (when a source changed).
build_frontend() {
  if [ ! -f "$FRONTEND/package.json" ]; then
    say "frontend: no frontend/package.json, skipping"
    return 0
  fi
  local lock_stamp="$FRONTEND/node_modules/.veche-ci-stamp" build_stamp="$FRONTEND_OUT/.veche-build-stamp"
  local lock_hash src_hash
  lock_hash="$(_hash "$FRONTEND/package.json" "$FRONTEND/package-lock.json")"
  if [ ! -f "$lock_stamp" ] || [ "$(cat "$lock_stamp")" != "$lock_hash" ]; then
    say "frontend: npm ci"
    if [ -f "$FRONTEND/package-lock.json" ]; then
      npm --prefix "$FRONTEND" ci --no-audit --no-fund --loglevel=error
    else
      npm --prefix "$FRONTEND" install --no-audit --no-fund --loglevel=error
    fi
    printf '%s\n' "$lock_hash" >"$lock_stamp"
  fi
  src_hash="$(cd "$FRONTEND" && find . -path ./node_modules -prune -o -path ./build-test -prune -o -type f -print |
    LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-64)"
  if [ -f "$build_stamp" ] && [ "$(cat "$build_stamp")" = "$src_hash" ]; then
    say "frontend: build up to date"
    return 0
  fi
  say "frontend: npm run build"
  npm --prefix "$FRONTEND" run build --silent
  mkdir -p "$FRONTEND_OUT"
  printf '%s\n' "$src_hash" >"$build_stamp"
}
