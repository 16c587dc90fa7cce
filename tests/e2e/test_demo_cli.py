"""`orgscan demo`, the README's first command: simulator up, whole scan, every output written,
the organization printed, simulator stopped, exit 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXPECTED = ["findings.json", "findings.csv", "findings.ocsf.json", "asff.json", "junit.xml",
            "report.md", "report.html", "root-usage.json", "root-usage.csv", "coverage.json",
            "ou-summary.json", "ou-summary.csv", "inventory.json", "org-graph.json",
            "org-graph.graphml", "journal.jsonl", "evidence-bundle.zip",
            "evidence-bundle/manifest.json"]


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in EXPECTED:
        assert (out / name).is_file(), name
    # It prints the organization it scanned: accounts per OU and coverage, and root use.
    assert "41 account(s) in scope, 39 assessed" in proc.stdout
    assert "Root/Workloads/Prod" in proc.stdout
    assert "Root used in the last 90 days: 9 account(s)" in proc.stdout
    assert "part of the demo" in proc.stderr
    coverage = json.loads((out / "coverage.json").read_text())
    assert coverage["counts"] == {"assessed": 39, "partial": 0, "not_assessed": 2}
    # The simulator is gone with the demo: nothing left listening.
    endpoint = next(w for w in proc.stderr.split() if w.startswith("http://127.0.0.1:"))
    import urllib.error
    import urllib.request
    try:
        urllib.request.urlopen(endpoint.rstrip(";"), timeout=2)
        reachable = True
    except (urllib.error.URLError, OSError):
        reachable = False
    assert not reachable
