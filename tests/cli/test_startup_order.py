"""The rule pack is parsed while the identity call is answered, not before it: a bad pack
still stops the scan with an error naming the rule file, after that call alone."""

from __future__ import annotations

from pathlib import Path

from scanner.cli.exits import EXIT_USAGE
from scanner.run.outlock import LOCK_NAME
from scanner.sim import SimServer
from tests.cli.test_rough_edges import orgscan


def test_bad_rule_pack_stops_after_the_identity_call_only(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken-rule.yaml").write_text("id: broken-rule\ntitle: [unclosed\n", "utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"rules: {{dirs: [{str(rules)!r}]}}\n", "utf-8")
    out = tmp_path / "out"
    with SimServer("minimal") as sim:
        sim.reset_counters()
        proc = orgscan("scan", "--config", str(config), "--out", str(out), "--quiet",
                       "--endpoint-url", sim.endpoint, env=sim.env)
        sent = sim.counters()["by_action"]
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("orgscan: rules: ") and "broken-rule.yaml:3" in proc.stderr
    assert sent == {"sts:GetCallerIdentity": 1}  # nothing read from the organization
    # No journal, no report: at most the output directory's lock (run.outlock), held by the run.
    assert not out.exists() or {p.name for p in out.iterdir()} <= {LOCK_NAME}
