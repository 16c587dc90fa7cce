"""How long report.html and report.pdf take for a large organization (target: a 1,000-account
report renders, HTML and PDF, in under 60 s).

    .venv/bin/python benchmarks/report_render.py --accounts 1000 \
        --out benchmarks/results/report-render.json

From the checkout, with orgscan's interpreter (WeasyPrint, the pdf extra, installed). First a
real scan: a generated organization (`orgscan sim generate`, seed 7) on a fresh simulator, the
whole rule pack, `--shard 1/1` so the scan's journal and shard file can be read back as one
result (kept in --work; a second run with the same --work skips the scan). Then the rendering,
as a child process measured with wait4: the scan read back (`run.merge`), the report model built
(`build_audit_report`), report.html written, report.pdf written; each step's wall and CPU
seconds timed inside the child, the whole child's wall, CPU and peak RSS outside it. The machine's
load average is recorded beside them: on shared cores the wall times stretch, the CPU times do
not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import from_cwd, orgscan_argv, run_measured, sim_env, start_sim, write_json

TARGET_S = 60.0


def scan(accounts: int, seed: int, work: Path, python: Path) -> dict[str, Any]:
    """A real scan of a generated organization into ``work/scan`` (skipped if already there)."""
    from scanner.run.shard import SHARD_FILE
    from scanner.sim.generate import write_generated

    out = work / "scan"
    if (out / SHARD_FILE).is_file():
        return {"skipped": f"reused the scan in {out}"}
    scenario, _ = write_generated(accounts, seed, work / "org")
    sim = start_sim(scenario)
    try:
        argv = [*orgscan_argv(python), "scan", "--endpoint-url", sim.endpoint, "--out",
                str(out), "--shard", "1/1", "--no-bundle", "--quiet"]
        m = run_measured(argv, env=sim_env(sim), cwd=work)
    finally:
        sim.stop()
    if m.returncode not in (0, 1, 3):
        raise SystemExit(f"the scan failed ({m.returncode}): {m.stderr[-2000:]}")
    return {"wall_s": round(m.wall_s, 1), "returncode": m.returncode}


def render(scan_dir: Path, out: Path) -> dict[str, Any]:
    """Read the scan back and write report.html and report.pdf, timing each step."""
    t0, c0 = time.perf_counter(), time.process_time()
    from scanner.core.audit_report import build_audit_report
    from scanner.core.rules import rules_digest
    from scanner.report.html import write_html
    from scanner.report.pdf import write_pdf
    from scanner.run.merge import load_shard, merge
    from scanner.run.rulepack import load_rules

    rules = load_rules()
    result = merge([load_shard(scan_dir)], rules)
    t1, c1 = time.perf_counter(), time.process_time()
    report = build_audit_report(result, rules_digest=rules_digest(rules))
    t2, c2 = time.perf_counter(), time.process_time()
    out.mkdir(parents=True, exist_ok=True)
    [html] = write_html(report, out)
    t3, c3 = time.perf_counter(), time.process_time()
    [pdf] = write_pdf(report, out)
    t4, c4 = time.perf_counter(), time.process_time()
    import pypdf

    pages = len(pypdf.PdfReader(str(pdf)).pages)
    return {
        "accounts": len(result.accounts), "findings": len(result.findings),
        "root_used": len(report.root_use.used), "units": len(report.units),
        "read_scan_s": round(t1 - t0, 2), "model_s": round(t2 - t1, 2),
        "html_s": round(t3 - t2, 2), "pdf_s": round(t4 - t3, 2),
        "report_s": round(t4 - t1, 2),
        # CPU seconds of this process per step: what the step costs on an idle machine (the
        # wall times above stretch when other processes share the cores).
        "read_scan_cpu_s": round(c1 - c0, 2), "model_cpu_s": round(c2 - c1, 2),
        "html_cpu_s": round(c3 - c2, 2), "pdf_cpu_s": round(c4 - c3, 2),
        "report_cpu_s": round(c4 - c1, 2),
        "html_mb": round(html.stat().st_size / 1e6, 2),
        "pdf_mb": round(pdf.stat().st_size / 1e6, 2),
        "pdf_pages": pages,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, default=1000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--work", type=Path, help="keeps the scan (default: a temporary directory)")
    p.add_argument("--out", type=Path, help="write the figures here (JSON)")
    p.add_argument("--render", type=Path, help=argparse.SUPPRESS)  # the measured child
    p.add_argument("--report-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.render is not None:
        print(json.dumps(render(args.render, args.report_out)))
        return 0
    python = Path(sys.executable)
    work = from_cwd(args.work) if args.work else Path(tempfile.mkdtemp(prefix="report-render-"))
    work.mkdir(parents=True, exist_ok=True)
    scanned = scan(args.accounts, args.seed, work, python)
    print(f"scan: {scanned}", file=sys.stderr)
    m = run_measured([str(python), str(Path(__file__).resolve()), "--render",
                      str(work / "scan"), "--report-out", str(work / "reports")])
    if m.returncode != 0:
        raise SystemExit(f"rendering failed: {m.stderr[-2000:]}")
    figures = json.loads(m.stdout.strip().splitlines()[-1])
    result = {"load_average_1m": round(os.getloadavg()[0], 1), "cores": os.cpu_count(),
              "accounts_generated": args.accounts, "seed": args.seed, "scan": scanned,
              "render": figures, "child": m.to_json() | {"argv": ["<render child>"]},
              "target_s": TARGET_S, "met_wall": figures["report_s"] < TARGET_S,
              "met_cpu": figures["report_cpu_s"] < TARGET_S}
    print(json.dumps(result, indent=2))
    if args.out:
        write_json(from_cwd(args.out), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
