"""The output workers of a run over several organizations (``run.outputpool``): a worker's
outcome reaches the run whole, whatever the run's main thread is doing meanwhile.

Each case runs ``_poolprobe`` in a fresh interpreter, where networkx (which a report's
organization graph needs) is not imported yet, as in ``orgscan scan``; this process has long
imported it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WRITTEN = {"coverage.json", "findings.json", "inventory.json", "root-usage.json"}


def _probe(mode: str, out: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "tests.run._poolprobe", mode, str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    assert report["networkx_imported_before"] is False, report  # else nothing is proved
    return report


def test_a_workers_outcome_imports_nothing_off_the_runs_main_thread(tmp_path: Path) -> None:
    """Unpickled on the pool's own thread, the outcome imported networkx there (its graph):
    the run's main thread, writing another organization's outputs, could be importing it too."""
    report = _probe("threads", tmp_path)
    assert set(report["collected"]) >= WRITTEN, report
    assert report["off_the_main_thread"] == [], report


def test_the_run_writes_another_organization_while_a_workers_outcome_arrives(
        tmp_path: Path) -> None:
    """The moment `orgscan scan --resume` over two organizations died at under load: the run
    imports networkx for the organization it writes itself while the other's outcome comes
    back from its worker. Before, the run died with "cannot import name 'Graph' from partially
    initialized module 'networkx.classes'" (and the worker's outcome was lost with it), leaving
    the interrupted run's organizations.json in place."""
    report = _probe("race", tmp_path)
    assert report["run"] == "ok", report
    assert set(report["collected"]) >= WRITTEN, report
    assert (tmp_path / "run" / "findings.json").is_file()
    assert (tmp_path / "worker" / "findings.json").is_file()
