"""The ``orgscan`` entry point (cli/entry.py): no garbage collections while the command's
modules load, the collector on again before the scan's first AWS request, and on after any
command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Runs the entry point with a probe: at the scan's first connection attempt it reports whether
# the collector is on and how many collections ran until then, then ends the process.
PROBE = """
import gc, json, os, sys
collections = [0, 0, 0]
gc.callbacks.append(lambda phase, info: phase == "stop"
                    and collections.__setitem__(info["generation"],
                                                collections[info["generation"]] + 1))
def hook(event, args):
    if event == "socket.connect":
        print(json.dumps({"enabled": gc.isenabled(), "collections": collections}), flush=True)
        os._exit(0)
sys.addaudithook(hook)
sys.argv = ["orgscan", *sys.argv[1:]]
from scanner.cli.{module} import main
code = main()
print(json.dumps({"enabled": gc.isenabled(), "code": code, "after": True}), flush=True)
"""


def probe(module: str, *args: str, cwd: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="example",
               AWS_CONFIG_FILE=str(cwd / "none"), AWS_SHARED_CREDENTIALS_FILE=str(cwd / "none"))
    proc = subprocess.run([sys.executable, "-c", PROBE.replace("{module}", module), *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd, env=env)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    assert lines, proc.stderr
    result: dict[str, object] = json.loads(lines[-1])
    return result


def test_the_scan_starts_without_collections_and_requests_with_the_collector_on(
        tmp_path: Path) -> None:
    # A closed port: the probe ends the process at the first connection attempt.
    args = ("scan", "--quiet", "--out", str(tmp_path / "out"),
            "--endpoint-url", "http://127.0.0.1:9")
    deferred = probe("entry", *args, cwd=tmp_path)
    plain = probe("main", *args, cwd=tmp_path)
    assert deferred["enabled"] is True and plain["enabled"] is True
    young, middle, full = deferred["collections"]  # type: ignore[misc]
    plain_young = plain["collections"][0]  # type: ignore[index]
    # Loading the modules made ~150 young collections and a full one without the deferral.
    assert plain_young > 50
    assert young + middle + full <= 5


def test_other_commands_run_with_the_collector_on(tmp_path: Path) -> None:
    result = probe("entry", "rules", "list", cwd=tmp_path)
    assert result == {"enabled": True, "code": 0, "after": True}
