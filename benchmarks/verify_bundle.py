"""`orgscan verify` on the evidence bundle of a generated organization: wall, CPU and peak RSS
of the verify process (hashing every file, re-evaluating every finding), for the directory and
the zip.

    .venv/bin/python benchmarks/verify_bundle.py --accounts 200 1000 \
        --out benchmarks/results/verify.json

Each size: a generated organization (``scanner.sim.generate``, no latency faults: the scan is
only the way to a real bundle), one `orgscan scan --region us-east-1` with the default rule pack
and the bundle, the simulator stopped, then `orgscan verify` twice, measured with wait4.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import (
    from_cwd,
    orgscan_argv,
    run_measured,
    sim_env,
    start_sim,
    write_json,
)

from scanner.sim.generate import write_generated


def run_size(n: int, seed: int, work: Path, python: Path) -> dict[str, Any]:
    scenario, _ = write_generated(n, seed, work / f"org{n}")
    out = work / f"out{n}"
    sim = start_sim(scenario)
    try:
        scan = run_measured([*orgscan_argv(python), "scan", "--out", str(out), "--quiet",
                             "--region", "us-east-1"], env=sim_env(sim), cwd=work)
    finally:
        sim.stop()
    if scan.returncode not in (0, 1, 3):
        raise SystemExit(f"orgscan scan failed ({scan.returncode}):\n{scan.stderr[-3000:]}")
    row: dict[str, Any] = {"accounts": n, "scan_wall_s": round(scan.wall_s, 1)}
    for kind, path in (("dir", out / "evidence-bundle"), ("zip", out / "evidence-bundle.zip")):
        m = run_measured([*orgscan_argv(python), "verify", str(path), "--json"], cwd=work)
        if m.returncode != 0:
            raise SystemExit(f"orgscan verify {kind} failed ({m.returncode}):\n"
                             f"{m.stdout[-3000:]}{m.stderr[-3000:]}")
        result = json.loads(m.stdout)
        row[kind] = {"files": result["checked"], "findings_checked": result["findings_checked"],
                     "wall_s": round(m.wall_s, 2), "cpu_s": round(m.cpu_s, 2),
                     "peak_rss_mb": round(m.max_rss_mb, 1)}
    row["zip_mb"] = round((out / "evidence-bundle.zip").stat().st_size / 1e6, 1)
    row["bundle_mb"] = round(sum(p.stat().st_size for p in (out / "evidence-bundle").rglob("*")
                                 if p.is_file()) / 1e6, 1)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, nargs="+", default=[200, 1000])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--python", type=Path, default=Path(sys.executable),
                   help="the Python of orgscan's venv (default: this one)")
    p.add_argument("--out", type=Path, required=True, help="results JSON")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="orgscan-verify-bench-") as tmp:
        for n in args.accounts:
            row = run_size(n, args.seed, Path(tmp), from_cwd(args.python))
            rows.append(row)
            print(f"{n:>6} accounts: bundle {row['bundle_mb']} MB (zip {row['zip_mb']} MB); "
                  + "; ".join(f"{k} {row[k]['wall_s']} s, {row[k]['cpu_s']} s CPU, "
                              f"{row[k]['peak_rss_mb']} MB, {row[k]['findings_checked']} "
                              f"findings" for k in ("dir", "zip")), flush=True)
    write_json(from_cwd(args.out), {"benchmark": "verify_bundle", "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
