"""A finished account's raw facts live in the journal, not in memory: after the scan returns,
each journaled AccountResult holds its findings and the few facts the run still reads, and the
evidence bundle reads every other fact back from the journal, as the simulator served it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from scanner.aws.collectors.normalize import parse_credential_report
from scanner.core.errors import ConfigError
from scanner.core.results import Coverage
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.run.runner import RunOptions, finish
from scanner.run.spool import KEPT_FACTS, JournalEvidence, JournalFacts
from scanner.sim import SimServer
from tests.conftest import MGMT, settings_for


async def test_raw_facts_stay_in_the_journal(walk_sim: SimServer, tmp_path: Path) -> None:
    config = replace(load_config(None, out=str(tmp_path)), aws=settings_for(walk_sim))
    rules = load_rules()
    result = await scan(config, rules, out_dir=tmp_path)
    scanned = [r for r in result.accounts if r.coverage is not Coverage.NOT_ASSESSED]
    assert scanned
    for r in scanned:
        facts = r.facts
        assert isinstance(facts, JournalFacts), r.account.id
        # In memory: only what the reports and the organization summary read.
        assert set(facts.kept) <= KEPT_FACTS
        assert "iam.credential_report" in facts and "iam.credential_report" not in facts.kept
        assert facts.line.path == tmp_path / "journal.jsonl"
        # Each finding's evidence is read from the same line.
        assert all(isinstance(f.evidence, JournalEvidence) for f in r.findings if f.evidence)

    bundle = finish(result, config, RunOptions(quiet=True), rules, None).bundle_dir
    assert bundle is not None
    evidence = json.loads((bundle / "evidence" / f"{MGMT}.json").read_text("utf-8"))
    # The management account is read with the caller's own credentials: ask the simulator for
    # its credential report directly and compare with what the bundle holds.
    c = walk_sim.credentials
    iam = boto3.client("iam", endpoint_url=walk_sim.endpoint, region_name="us-east-1",
                       aws_access_key_id=c["aws_access_key_id"],
                       aws_secret_access_key=c["aws_secret_access_key"])
    served = iam.get_credential_report()
    rows = parse_credential_report(served["Content"], served["GeneratedTime"])
    served_rows = json.loads(json.dumps(rows, default=str))
    # The root row as served (the operator's row changes as it calls: its key's last use).
    assert evidence["credential_report"]["root_row"] == served_rows[0]
    assert served_rows[0]["user"] == "<root_account>"
    assert [r["arn"] for r in evidence["credential_report"]["rows"]] == [
        r["arn"] for r in served_rows]
    # Every account's evidence file holds all of its facts, read back from the journal.
    for r in scanned:
        doc = json.loads((bundle / "evidence" / f"{r.account.id}.json").read_text("utf-8"))
        assert set(doc["facts"]) | {"iam.credential_report", "root.usage"} >= set(r.facts)
        assert doc["credential_report"]["rows"]


async def test_a_journal_line_changed_during_the_run_is_refused(walk_sim: SimServer,
                                                                tmp_path: Path) -> None:
    config = replace(load_config(None), aws=settings_for(walk_sim))
    rules = [r for r in load_rules() if r.id == "root-access-keys-present"]
    result = await scan(config, rules, out_dir=tmp_path)
    facts = next(r.facts for r in result.accounts if isinstance(r.facts, JournalFacts))
    journal = tmp_path / "journal.jsonl"
    data = bytearray(journal.read_bytes())
    data[facts.line.offset + facts.line.length - 10] ^= 1  # one byte inside the account's line
    journal.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="changed while the run was using it"):
        dict(facts.items())
