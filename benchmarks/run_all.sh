#!/usr/bin/env bash
# One run of every benchmark in this directory, in sequence (they share the machine's 2 cores:
# never run two at once, nor beside a test suite). Results: JSON + log per benchmark in OUT.
#   bash benchmarks/run_all.sh [OUT]            (default OUT=benchmarks/results)
#   BEFORE=<git rev> bash benchmarks/run_all.sh  also measures that revision (exported with
#                                                git archive into a temporary directory)
# Works from any directory: the checkout is the one this script is in. orgscan's interpreter:
# $PYTHON, else the checkout's .venv/bin/python. The peers' venvs: $BENCH_PEER_VENVS/{c7n,prowler},
# else benchmarks/.venvs/{c7n,prowler} (bash benchmarks/setup-peers.sh makes them).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
PY="${PYTHON:-$REPO/.venv/bin/python}"
if ! [ -x "$PY" ] && ! command -v "$PY" >/dev/null 2>&1; then
  echo "no interpreter $PY: install orgscan into the checkout's .venv (bash .ci/run does)," \
       "or set PYTHON" >&2
  exit 2
fi
case "$PY" in */*) PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")" ;; esac
OUT="$(mkdir -p "${1:-$HERE/results}" && cd "${1:-$HERE/results}" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"  # never import scanner/ from a checkout's working directory by accident

if [ -n "${BEFORE:-}" ]; then
  src="$scratch/before"
  mkdir "$src"
  git -C "$REPO" archive --format=tar "$BEFORE" | tar -x -C "$src"
  "$PY" "$HERE/orgscan_scale.py" --accounts 200 1000 --orgscan-src "$src" \
    --config "$HERE/configs/root-checks.yaml" --out "$OUT/scale-root-checks-before.json" \
    | tee "$OUT/scale-root-checks-before.log"
fi
"$PY" "$HERE/orgscan_scale.py" --accounts 50 200 1000 \
  --config "$HERE/configs/root-checks.yaml" --out "$OUT/scale-root-checks.json" \
  | tee "$OUT/scale-root-checks.log"
"$PY" "$HERE/orgscan_scale.py" --accounts 200 1000 --bundle \
  --config "$HERE/configs/full-pack.yaml" --out "$OUT/scale-full-pack.json" \
  | tee "$OUT/scale-full-pack.log"
"$PY" "$HERE/peers.py" --accounts 200 --prowler-sample 5 --out "$OUT/peers-200.json" \
  | tee "$OUT/peers-200.log"
"$PY" "$HERE/sources.py" --accounts 50 200 500 --out "$OUT/sources-accounts.json" \
  | tee "$OUT/sources-accounts.log"
"$PY" "$HERE/sources.py" --accounts 100 --events-per-day 2 8 32 \
  --out "$OUT/sources-volume.json" | tee "$OUT/sources-volume.log"
