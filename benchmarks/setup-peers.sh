#!/usr/bin/env bash
# Create the peers' own virtualenvs (never orgscan's venv): Cloud Custodian + c7n-org, and
# Prowler. Pinned versions; pip's resolver must not backtrack (the log is kept beside each venv).
# Usage: bash benchmarks/setup-peers.sh [DIR]   venvs DIR/c7n and DIR/prowler; DIR defaults to
#   $BENCH_PEER_VENVS, else benchmarks/.venvs in this checkout (ignored by git), where
#   benchmarks/peers.py looks for them. Base interpreter: $PEER_PYTHON, else python3.11.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX="${1:-${BENCH_PEER_VENVS:-$HERE/.venvs}}"
mkdir -p "$PREFIX"
PREFIX="$(cd "$PREFIX" && pwd)"
PY="${PEER_PYTHON:-python3.11}"
C7N_VERSION=0.9.53
C7N_ORG_VERSION=0.6.52
PROWLER_VERSION=5.46.0

make_venv() {  # name, packages...  (constraints: benchmarks/constraints/<name>.txt, the set
  # resolved once and frozen, so that pip never backtracks: unconstrained, Prowler's Azure
  # dependencies (microsoft-kiota-*) made it backtrack for minutes)
  local name="$1"; shift
  local dir="$PREFIX/$name"
  if [ -x "$dir/bin/python" ] && [ -f "$dir/.installed" ]; then
    echo "$dir: already installed"; return 0
  fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install --quiet --upgrade pip
  local t0=$SECONDS
  "$dir/bin/pip" install --progress-bar off -c "$HERE/constraints/$name.txt" "$@" >"$dir/install.log" 2>&1 || {
    echo "$dir: pip install failed; tail of $dir/install.log:"; tail -30 "$dir/install.log"; return 1; }
  echo "$dir: installed $* in $((SECONDS - t0)) s"
  if grep -qi "backtracking\|is looking at multiple versions" "$dir/install.log"; then
    echo "$dir: WARNING pip backtracked (see install.log)"
  fi
  "$dir/bin/pip" freeze >"$dir/freeze.txt"
  touch "$dir/.installed"
}

make_venv c7n "c7n==$C7N_VERSION" "c7n-org==$C7N_ORG_VERSION" &
p1=$!
make_venv prowler "prowler==$PROWLER_VERSION" &
p2=$!
rc=0
wait $p1 || rc=1
wait $p2 || rc=1
exit $rc
