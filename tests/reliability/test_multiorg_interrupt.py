"""SIGINT or SIGTERM during a run over several organizations stops every organization's scan:
each one's journal keeps what it finished, the reports say the run is incomplete (exit 130 or
143), and --resume finishes each organization from its own journal without rescanning an
account. A second run into the same directories is refused while the first holds them."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.cli.exits import EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_TERMINATED, signal_code
from scanner.sim import SimFleet, SimServer
from scanner.sim.generate import generate

from .conftest import cli
from .test_resume import SLOW, journaled

pytestmark = pytest.mark.slow
LABELS = ("north", "south")


@pytest.fixture(scope="module")
def fleet() -> Iterator[SimFleet]:
    with SimFleet([
        (LABELS[0], generate(10, seed=21, management_account_id="222222222222")[0]),
        (LABELS[1], generate(8, seed=23, management_account_id="333333333333")[0]),
    ]) as f:
        yield f


def _setup(fleet: SimFleet, tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    creds = "".join(f"[{label}]\naws_access_key_id = {c['aws_access_key_id']}\n"
                    f"aws_secret_access_key = {c['aws_secret_access_key']}\n"
                    for label in fleet for c in [fleet[label].credentials])
    (tmp / "credentials").write_text(creds, "utf-8")
    out = tmp / "out"
    config = tmp / "orgscan.yaml"
    config.write_text(yaml.safe_dump({
        "regions": ["us-east-1"], "scan": {"concurrency": 2},
        "output": {"directory": str(out), "formats": ["json"]},
        "organizations": [{"label": label, "endpoint_url": fleet[label].endpoint,
                           "profile": label} for label in fleet]}), "utf-8")
    return config, out, {"AWS_SHARED_CREDENTIALS_FILE": str(tmp / "credentials")}


def _held(sim: SimServer) -> dict[str, Any]:
    """SLOW, and one member account's role held until the signal: neither organization can
    finish first, however long a loaded machine takes to start the second run."""
    member = next(a["id"] for a in sim.scenario["accounts"]
                  if a["id"] != sim.management_account_id and not a.get("role_missing")
                  and a.get("status", "ACTIVE") == "ACTIVE")
    return {"rules": [*SLOW["rules"], {"kind": "hang", "service": "sts", "action": "AssumeRole",
                                       "account": member, "hang_s": 600}]}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_and_resume_across_organizations(fleet: SimFleet, tmp_path: Path,
                                                   signum: signal.Signals) -> None:
    config, out, env = _setup(fleet, tmp_path)
    for label in fleet:
        fleet[label].set_faults(_held(fleet[label]))
    proc = cli(["scan", "--config", str(config), "--quiet", "--no-bundle"], env)
    deadline = time.monotonic() + 180
    while not all(len(journaled(out / label)) >= 1 for label in LABELS):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    # Meanwhile a second run into the same directories is refused, naming the holder.
    second = cli(["scan", "--config", str(config), "--quiet", "--no-bundle"], env)
    _, err2 = second.communicate(timeout=120)
    assert second.returncode == EXIT_LOCKED, err2
    assert f"pid {proc.pid}" in err2 and "Traceback" not in err2, err2
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == signal_code(signum), stdout + stderr
    assert "Traceback" not in stderr
    assert "INCOMPLETE" in stdout
    doc = json.loads((out / "organizations.json").read_text("utf-8"))
    for e in doc["organizations"]:
        assert e["status"] == "ASSESSED" and e["interrupted"] and not e["complete"], e
        assert "interrupted" in e["reason"], e
    before = {label: journaled(out / label) for label in LABELS}
    assert all(before.values())
    for label in fleet:
        fleet[label].set_faults({})
    resumed = cli(["scan", "--config", str(config), "--quiet", "--no-bundle", "--resume"], env)
    stdout, stderr = resumed.communicate(timeout=300)
    # A resumed run that dies (exit 1 with a traceback, as when a worker's outcome was
    # unpickled on the pool's thread: tests/run/test_outputpool.py) leaves the interrupted
    # run's organizations.json behind: said here, with its output, not as "still interrupted".
    assert resumed.returncode not in (EXIT_INTERRUPTED, EXIT_TERMINATED), stdout + stderr
    assert "Traceback" not in stderr, stdout + stderr
    doc = json.loads((out / "organizations.json").read_text("utf-8"))
    for e in doc["organizations"]:
        after = journaled(out / e["label"])
        # Each organization's own journal: what it finished first is kept, nothing twice.
        assert after[:len(before[e["label"]])] == before[e["label"]]
        assert len(after) == len(set(after)) == e["coverage"]["accounts"]
        assert e["status"] == "ASSESSED" and not e["interrupted"], (e, stdout, stderr)
        assert "interrupted" not in str(e["reason"])
