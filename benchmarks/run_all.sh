#!/usr/bin/env bash
# One run of every benchmark in this directory, in sequence (they share the machine's 2 cores:
# never run two at once, nor beside a test suite). Results: JSON + log per benchmark in OUT.
#   bash benchmarks/run_all.sh [OUT]            (default OUT=benchmarks/results)
#   BEFORE=<git rev> bash benchmarks/run_all.sh  also measures that revision (a git worktree)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-/work/venv/bin/python}"
OUT="$(mkdir -p "${1:-$HERE/results}" && cd "${1:-$HERE/results}" && pwd)"
cd "$(mktemp -d)"  # never import scanner/ from a checkout's working directory by accident

if [ -n "${BEFORE:-}" ]; then
  src="$(mktemp -d)/before"
  git -C "$HERE/.." worktree add --detach "$src" "$BEFORE" >/dev/null
  "$PY" "$HERE/orgscan_scale.py" --accounts 200 1000 --orgscan-src "$src" \
    --config "$HERE/configs/root-checks.yaml" --out "$OUT/scale-root-checks-before.json" \
    | tee "$OUT/scale-root-checks-before.log"
  git -C "$HERE/.." worktree remove --force "$src"
fi
"$PY" "$HERE/orgscan_scale.py" --accounts 50 200 1000 \
  --config "$HERE/configs/root-checks.yaml" --out "$OUT/scale-root-checks.json" \
  | tee "$OUT/scale-root-checks.log"
"$PY" "$HERE/orgscan_scale.py" --accounts 200 1000 --bundle \
  --config "$HERE/configs/full-pack.yaml" --out "$OUT/scale-full-pack.json" \
  | tee "$OUT/scale-full-pack.log"
"$PY" "$HERE/peers.py" --accounts 200 --prowler-sample 5 --out "$OUT/peers-200.json" \
  | tee "$OUT/peers-200.log"
