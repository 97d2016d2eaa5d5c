# Sourced by scripts/lib/bootstrap.sh: Veche's media engine, Janus built from Debian's source package.
#
# ensure_janus: make sure a Janus >= JANUS_MIN_VERSION is installed under $VECHE_ENGINE_ROOT and export
# VECHE_JANUS__BINARY / VECHE_JANUS__SOURCE_CONFIG_DIR for the Veche started afterwards.
#   - An engine already built here is reused as it is (no network, no apt): a second run builds nothing.
#   - Otherwise the newest `janus` source package among Debian's unstable, testing and stable suites is
#     fetched with apt from the machine's own configured Debian mirror (a private apt state: the machine's
#     sources are not changed), built with Debian's -dev packages into $VECHE_ENGINE_ROOT/janus-<version>,
#     and `janus` there points at it. apt verifies the files against the archive's signed index; their
#     sha256 sums are kept in <prefix>/veche-engine.txt.
#   - The build packages that the build installed are removed again; the libraries Janus runs with are
#     marked as manually installed, so that `apt autoremove` keeps them.
# Knobs (environment):
#   VECHE_JANUS__BINARY     a Janus of your own: nothing is built (VECHE_JANUS__SOURCE_CONFIG_DIR: its etc/janus)
#   VECHE_ENGINE_ROOT       where engines live (default /opt/veche/engine)
#   VECHE_JANUS_VERSION     build exactly this Debian version (e.g. 1.4.1+ds-4) instead of reusing/newest
#   VECHE_JANUS_UPDATE=1    look for a newer source package and build it if there is one
#   VECHE_DEBIAN_MIRROR     the Debian mirror to fetch from (default: derived from /etc/apt/sources*)

JANUS_MIN_VERSION="1.4.0"
VECHE_ENGINE_ROOT="${VECHE_ENGINE_ROOT:-/opt/veche/engine}"
# Debian 12's and 13's names for what configure looks for (PEERS.md: the measured build).
JANUS_BUILD_PACKAGES=(
  autoconf automake libtool pkg-config gengetopt make gcc dpkg-dev
  libnice-dev libsrtp2-dev libwebsockets-dev libmicrohttpd-dev libjansson-dev libconfig-dev libglib2.0-dev
  libssl-dev libopus-dev libogg-dev libcurl4-openssl-dev libsofia-sip-ua-dev libusrsctp-dev
  libavcodec-dev libavformat-dev libavutil-dev
)
JANUS_CONFIGURE_FLAGS=(
  --disable-docs --disable-rabbitmq --disable-mqtt --disable-nanomsg --disable-unix-sockets
  --enable-websockets --enable-rest --enable-post-processing
  --enable-plugin-videoroom --enable-plugin-audiobridge --enable-plugin-streaming --enable-plugin-sip
  --enable-plugin-recordplay
)

_janus_use() {
  local prefix="$1"
  export VECHE_JANUS__BINARY="$prefix/bin/janus"
  export VECHE_JANUS__SOURCE_CONFIG_DIR="$prefix/etc/janus"
  say "media engine: Janus $(_janus_manifest_get "$prefix" version) in $prefix"
}

_janus_manifest_get() {
  sed -n "s/^$2=//p" "$1/veche-engine.txt" 2>/dev/null | head -1
}

# _janus_debian_mirror: the URI of the machine's configured Debian archive (not -security, not a third party).
_janus_debian_mirror() {
  if [ -n "${VECHE_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "${VECHE_DEBIAN_MIRROR%/}"
    return 0
  fi
  local file
  # One-line entries: "deb [opts] URI suite comp...". deb822 stanzas: "Types: deb" with "URIs: ...".
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    case "$file" in
      *.sources) awk '
          function flush() { if (types ~ /(^|[ \t])deb([ \t]|$)/) printf "%s", uris; uris = ""; types = "" }
          /^[ \t]*$/ { flush(); next }
          tolower($1) == "types:" { types = $0; sub(/^[^:]*:/, "", types) }
          tolower($1) == "uris:" { for (i = 2; i <= NF; i++) uris = uris $i "\n" }
          END { flush() }' "$file" ;;
      *) awk '/^[ \t]*deb[ \t]/ { n = 2; if ($2 ~ /^\[/) { while (n <= NF && $n !~ /\]$/) n++; n++ } print $n }' "$file" ;;
    esac
  done | sed 's#/*$##' | grep -E '/debian$' | grep -v -i security | head -1 | grep .
}

_janus_keyring() {
  local keyring
  for keyring in /usr/share/keyrings/debian-archive-keyring.gpg /usr/share/keyrings/debian-archive-keyring.pgp; do
    if [ -f "$keyring" ]; then
      printf '%s\n' "$keyring"
      return 0
    fi
  done
  return 1
}

# _janus_apt ARGS...: apt-get/apt-cache over a private state that knows only Debian's janus source suites.
_janus_apt() {
  local tool="$1"
  shift
  as_root env DEBIAN_FRONTEND=noninteractive "$tool" -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$_JANUS_APT/sources.list.d" \
    -o Dir::State::Lists="$_JANUS_APT/lists" -o Dir::Cache="$_JANUS_APT/cache" \
    -o APT::Sandbox::User=root "$@"
}

_janus_prepare_apt() {
  local mirror keyring work_log="${TMPDIR:-/tmp}/veche-janus-apt-update.log"
  mirror="$(_janus_debian_mirror)" || true
  if [ -z "$mirror" ]; then
    die "cannot build Janus: no Debian mirror is configured in /etc/apt/sources.list or /etc/apt/sources.list.d
  (an Ubuntu machine, or a mirror whose path does not end in /debian). Name one and run again:
    VECHE_DEBIAN_MIRROR=http://deb.debian.org/debian $0
  or use a Janus >= $JANUS_MIN_VERSION you built yourself: VECHE_JANUS__BINARY=/path/to/bin/janus (docs/operations.md)."
  fi
  keyring="$(_janus_keyring)" || {
    apt_install debian-archive-keyring
    keyring="$(_janus_keyring)" || die "cannot build Janus: Debian's archive keyring is missing (package debian-archive-keyring)"
  }
  _JANUS_APT="$VECHE_ENGINE_ROOT/.apt"
  as_root mkdir -p "$_JANUS_APT/sources.list.d" "$_JANUS_APT/lists/partial" "$_JANUS_APT/cache/archives/partial"
  printf 'Types: deb-src\nURIs: %s\nSuites: unstable testing stable\nComponents: main\nSigned-By: %s\n' \
    "$mirror" "$keyring" | as_root tee "$_JANUS_APT/sources.list.d/veche-janus.sources" >/dev/null
  say "media engine: reading Debian's janus source packages from $mirror (unstable, testing, stable)"
  if ! _janus_apt apt-get update -qq >"$work_log" 2>&1; then
    die "cannot build Janus: apt-get update against $mirror failed:
$(tail -5 "$work_log")
  Check the machine's network and mirror, set VECHE_DEBIAN_MIRROR to a reachable Debian mirror, or use a Janus
  you built yourself (VECHE_JANUS__BINARY, docs/operations.md)."
  fi
  _JANUS_MIRROR="$mirror"
}

# _janus_newest_version: the highest janus source version the private apt state knows.
_janus_newest_version() {
  local best="" version
  while read -r version; do
    if [ -z "$best" ] || dpkg --compare-versions "$version" gt "$best"; then best="$version"; fi
  done < <(_janus_apt apt-cache showsrc janus 2>/dev/null | sed -n 's/^Version: //p')
  printf '%s\n' "$best"
}

_janus_upstream() {
  local version="${1#*:}"
  version="${version%-*}"
  printf '%s\n' "${version%%+*}"
}

_janus_installed_packages() {
  dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk '$1 == "ii" { print $2 }' | LC_ALL=C sort
}

# _janus_runtime_packages PREFIX: the Debian packages of the shared libraries Janus and its modules link
# directly (their own dependencies are apt's business).
_janus_runtime_packages() {
  local prefix="$1" file lib
  find "$prefix/bin" "$prefix/lib" -type f \( -name '*.so' -o -perm -u+x \) | while read -r file; do
    ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
      grep -F -f <(readelf -d "$file" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1 /p') |
      cut -d' ' -f2
  done | LC_ALL=C sort -u | while read -r lib; do
    dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null
  done | cut -d: -f1 | LC_ALL=C sort -u
}

# _janus_build VERSION: fetch, build and install Janus VERSION into $VECHE_ENGINE_ROOT/janus-VERSION.
_janus_build() {
  local version="$1" prefix="$VECHE_ENGINE_ROOT/janus-$1" work before after
  work="$(mktemp -d "${TMPDIR:-/tmp}/veche-janus-build.XXXXXX")"
  chmod 755 "$work"
  say "media engine: building Janus $version from Debian's source package (4-7 minutes, once)"
  before="$work/packages.before"
  _janus_installed_packages >"$before"
  apt_install "${JANUS_BUILD_PACKAGES[@]}"
  (
    set -euo pipefail
    cd "$work"
    _janus_apt apt-get source -qq --download-only "janus=$version" >download.log 2>&1 || { cat download.log >&2; exit 1; }
    dsc="$(ls ./*.dsc)"
    dpkg-source -x "$dsc" src >extract.log 2>&1 || { cat extract.log >&2; exit 1; }
    cd src
    { sh autogen.sh && ./configure --prefix="$prefix" "${JANUS_CONFIGURE_FLAGS[@]}"; } >"$work/configure.log" 2>&1 ||
      { tail -40 "$work/configure.log" >&2; exit 1; }
    make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -60 "$work/make.log" >&2; exit 1; }
    make install DESTDIR="$work/stage" >>"$work/make.log" 2>&1 && make configs DESTDIR="$work/stage" >>"$work/make.log" 2>&1 ||
      { tail -40 "$work/make.log" >&2; exit 1; }
  ) || die "building Janus $version failed (logs in $work)"
  # No logger plugins are built; an empty folder keeps Janus from warning at every start that it has none.
  mkdir -p "$work/stage$prefix/lib/janus/loggers"
  {
    printf 'version=%s\n' "$version"
    printf 'upstream=%s\n' "$(_janus_upstream "$version")"
    printf 'mirror=%s\n' "$_JANUS_MIRROR"
    printf 'built=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'built_on=%s\n' "$(. /etc/os-release && printf '%s' "$PRETTY_NAME")"
    printf 'configure=%s\n' "${JANUS_CONFIGURE_FLAGS[*]}"
    (cd "$work" && for file in *.dsc *.tar.*; do printf 'sha256 %s=%s\n' "$file" "$(sha256sum "$file" | cut -c1-64)"; done)
  } >"$work/stage$prefix/veche-engine.txt"
  as_root mkdir -p "$VECHE_ENGINE_ROOT"
  as_root rm -rf "$prefix"
  as_root mv "$work/stage$prefix" "$prefix"
  as_root ln -sfn "janus-$version" "$VECHE_ENGINE_ROOT/janus"

  # Keep what Janus runs with, remove what only the build needed (and only what this build installed).
  local runtime
  runtime="$(_janus_runtime_packages "$prefix")"
  printf '%s\n' "$runtime" | sed 's/^/runtime_package=/' | as_root tee -a "$prefix/veche-engine.txt" >/dev/null
  # shellcheck disable=SC2086
  [ -n "$runtime" ] && as_root apt-mark manual $runtime >/dev/null
  after="$work/packages.after"
  _janus_installed_packages >"$after"
  local added
  added="$(LC_ALL=C comm -13 "$before" "$after")"
  if [ -n "$added" ]; then
    # shellcheck disable=SC2086
    as_root apt-mark auto $(LC_ALL=C comm -23 <(printf '%s\n' $added) <(printf '%s\n' $runtime | LC_ALL=C sort)) >/dev/null 2>&1 || true
    local removable
    removable="$(as_root apt-get -s -o APT::AutoRemove::SuggestsImportant=false autoremove 2>/dev/null | awk '$1 == "Remv" { print $2 }' | LC_ALL=C sort |
      LC_ALL=C comm -12 - <(printf '%s\n' $added))"
    if [ -n "$removable" ]; then
      say "media engine: removing the $(printf '%s\n' $removable | wc -l) build packages the build installed"
      # shellcheck disable=SC2086
      as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $removable >/dev/null
    fi
  fi
  rm -rf "$work"
}

ensure_janus() {
  if [ -n "${VECHE_JANUS__BINARY:-}" ]; then
    say "media engine: using VECHE_JANUS__BINARY=$VECHE_JANUS__BINARY (not built here)"
    return 0
  fi
  local current="$VECHE_ENGINE_ROOT/janus" want="${VECHE_JANUS_VERSION:-}"
  if [ -z "$want" ] && [ -z "${VECHE_JANUS_UPDATE:-}" ] && [ -x "$current/bin/janus" ] && [ -f "$current/veche-engine.txt" ]; then
    _janus_use "$(readlink -f "$current")"
    return 0
  fi
  if [ -n "$want" ] && [ -x "$VECHE_ENGINE_ROOT/janus-$want/bin/janus" ] && [ -f "$VECHE_ENGINE_ROOT/janus-$want/veche-engine.txt" ]; then
    as_root ln -sfn "janus-$want" "$current"
    _janus_use "$VECHE_ENGINE_ROOT/janus-$want"
    return 0
  fi
  command -v apt-get >/dev/null || die "cannot build Janus without apt; use a Janus >= $JANUS_MIN_VERSION of your own: VECHE_JANUS__BINARY=/path/to/bin/janus"
  apt_install ca-certificates
  _janus_prepare_apt
  if [ -z "$want" ]; then
    want="$(_janus_newest_version)"
    [ -n "$want" ] || die "cannot build Janus: $_JANUS_MIRROR carries no janus source package in unstable, testing or stable.
  Set VECHE_DEBIAN_MIRROR to a full Debian mirror, or use a Janus you built yourself (VECHE_JANUS__BINARY)."
    if dpkg --compare-versions "$(_janus_upstream "$want")" lt "$JANUS_MIN_VERSION"; then
      die "cannot build Janus: the newest source package on $_JANUS_MIRROR is $want, older than $JANUS_MIN_VERSION which Veche needs"
    fi
  fi
  if [ -x "$VECHE_ENGINE_ROOT/janus-$want/bin/janus" ] && [ -f "$VECHE_ENGINE_ROOT/janus-$want/veche-engine.txt" ]; then
    as_root ln -sfn "janus-$want" "$current"
  else
    _janus_build "$want"
  fi
  _janus_use "$VECHE_ENGINE_ROOT/janus-$want"
}
