"""`orgscan trail-report`, run as the real command: root use from CloudTrail log files on disk.

The organization trail's log files of a generated organization, copied out of the simulator's
bucket, give the same root-usage records as a scan's organization-trail source over the same
window; a damaged file is named as a gap and everything else is still reported; the three
file shapes are read; bad arguments get one line, never a traceback. Every run also checks
that the AWS SDK was never imported (no AWS access is possible without it)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from scanner.core.audit_report import root_use
from scanner.core.settings import AwsSettings
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer
from scanner.sim.generate import generate
from tests.core.events import ev, login
from tests.report.test_rootusage_writer import validate

# main() with the command's arguments, then: was the AWS SDK ever imported?
_RUN = ("import sys\nfrom scanner.cli.main import main\ncode = main(sys.argv[1:])\n"
        "if any(m.split('.')[0] in ('botocore', 'boto3', 'aiobotocore') for m in sys.modules):\n"
        "    sys.exit(99)\nsys.exit(code)\n")
# What the logs cannot tell (the scan reads them from IAM), and what depends on the account's
# own assessment rather than on the logs.
NOT_IN_LOGS = {"mfa_active", "mfa_kind", "credentials_present", "credentials_centrally_removed",
               "active_access_keys", "access_keys", "password_last_used", "assessed", "notes",
               "account_name", "ou_path", "account_status"}


def trail_report(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-c", _RUN, "trail-report", *map(str, args)],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert proc.returncode != 99, "the AWS SDK was imported"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def load(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((out / "root-usage.json").read_text())
    validate(doc)
    return doc


# -- (a) the same records as a scan's organization-trail source --------------------------------


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    """(the scan's root-usage record per account, a copy of the organization trail's bucket)."""
    scenario, _ = generate(100, seed=23)
    with SimServer(scenario) as sim:
        c = sim.credentials
        config = load_config(None, regions=list(scenario["regions"]),
                             root_usage_sources=["org_trail"])
        config = replace(config, aws=AwsSettings(
            endpoint_url=sim.endpoint,
            credentials=(c["aws_access_key_id"], c["aws_secret_access_key"])))
        out = tmp_path_factory.mktemp("scan")
        result = asyncio.run(scan(config, load_rules(), out_dir=out, now=sim.now))
        records = {row.account.id: dict(row.record) for row in root_use(result).rows}
        trail = result.org_facts["orgtrail.root_events"]["trail"]
        copy = tmp_path_factory.mktemp("bucket")
        _download(sim, trail["bucket"], trail["read_as"], config.aws.role_name, copy)
    yield records, copy


def _download(sim: SimServer, bucket: str, account: str, role: str, into: Path) -> None:
    """Every object of the bucket, as the log-archive account reads it (`aws s3 sync`)."""
    c = sim.credentials
    sts = boto3.client("sts", endpoint_url=sim.endpoint, **c)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}",
                            RoleSessionName="copy")["Credentials"]
    s3 = boto3.client("s3", endpoint_url=sim.endpoint, region_name=c["region_name"],
                      aws_access_key_id=creds["AccessKeyId"],
                      aws_secret_access_key=creds["SecretAccessKey"],
                      aws_session_token=creds["SessionToken"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            path = into / obj["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """What the logs decide alike. For an account the scan could not assess, "no use seen" is
    unknown there (its credential report was not read: docs/semantics.md) while trail-report
    says what the logs show, so only proven use is compared."""
    out = {k: v for k, v in record.items() if k not in NOT_IN_LOGS}
    if record.get("assessed") is False and not record.get("used_in_window"):
        out.pop("used_in_window", None)
    return out


@pytest.mark.slow
def test_reproduces_the_org_trail_sources_records(
        scanned: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    records, bucket = scanned
    window = next(iter(records.values()))
    proc = trail_report(bucket, "--out", tmp_path, "--since", window["window_start"],
                        "--until", window["window_end"])
    assert proc.returncode == 0, proc.stderr
    assert f"Window: {window['window_start']} .. {window['window_end']}" in proc.stdout
    doc = load(tmp_path)
    got = {r["account_id"]: r for r in doc["accounts"]}
    assert got, "no account reported"
    # Every account with log files is reported; the scan's others have none in the window.
    assert set(got) <= set(records)
    for account in set(records) - set(got):
        assert records[account]["sources"][0]["detail"].startswith("0 files"), account
    used = [a for a, r in got.items() if r["used_in_window"]]
    assert used and len(used) < len(got)  # the comparison covers both verdicts
    assert sum(len(r["events"]) for r in got.values()) > 10
    mismatches = [
        f"{account} {key}: {got[account].get(key)!r} != {value!r}"
        for account in got
        for key, value in _comparable(records[account]).items()
        if key in _comparable(got[account]) and got[account].get(key) != value
    ]
    assert not mismatches, "\n".join(mismatches[:20])
    assert doc["log_files"]["window"]["from"] == "arguments"
    assert doc["log_files"]["gap_count"] == 0
    assert (tmp_path / "root-usage.csv").read_text(encoding="utf-8-sig").count("\n") == \
        len(got) + 1
    page = (tmp_path / "root-usage.html").read_text()
    for account in used:
        assert f'data-account="{account}"' in page


@pytest.mark.slow
def test_damaged_file_in_the_middle_is_a_gap(
        scanned: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    records, bucket = scanned
    copy = tmp_path / "bucket"
    shutil.copytree(bucket, copy)
    window = next(iter(records.values()))
    first, last = (window[k][:10].replace("-", "/") for k in ("window_start", "window_end"))

    def day(f: Path) -> str:
        return "/".join(f.parts[-4:-1])

    files = sorted(f for f in copy.rglob("*.json.gz") if first <= day(f) <= last)
    holding_root = [f for f in files if b'Root"' in gzip.decompress(f.read_bytes())]
    damaged = holding_root[len(holding_root) // 2]
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    proc = trail_report(copy, "--out", out, "--since", window["window_start"],
                        "--until", window["window_end"])
    assert proc.returncode == 3, proc.stderr
    assert str(damaged) in proc.stderr and "truncated" in proc.stderr
    doc = load(out)
    assert doc["log_files"]["gap_count"] == 1
    assert doc["log_files"]["files"] == len(files)  # the files after it were read
    [gap] = doc["log_files"]["gaps"]
    assert gap["path"] == str(damaged) and gap["error"] == "truncated"
    hit = damaged.relative_to(copy).parts[2]  # AWSLogs/<org>/<account>/...
    got = {r["account_id"]: r for r in doc["accounts"]}
    assert not got[hit]["sources"][0]["complete"]
    assert "1 unreadable files" in got[hit]["sources"][0]["detail"]
    # Every other account is reported as if nothing had happened.
    for account, rec in got.items():
        if account != hit:
            theirs = _comparable(records[account])
            assert {k: v for k, v in _comparable(rec).items() if k in theirs} == theirs, account


# -- (b, c) shapes, damage and windows on small files -----------------------------------------

A, B, C = "111122223333", "444455556666", "777788889999"


def _root_call(event_id: str, when: str, account: str) -> dict[str, Any]:
    return ev(event_id, when, recipientAccountId=account,
              identity={"accountId": account, "principalId": account})


def _login(event_id: str, when: str, account: str) -> dict[str, Any]:
    rec = login(event_id, when)
    rec["recipientAccountId"] = rec["userIdentity"]["accountId"] = account
    return rec


def _background(i: int, account: str) -> dict[str, Any]:
    return {"eventVersion": "1.09", "eventTime": f"2026-01-1{i % 10}T00:00:00Z",
            "eventID": f"bg-{account}-{i}", "eventName": "GetObject",
            "eventSource": "s3.amazonaws.com", "recipientAccountId": account,
            "userIdentity": {"type": "AssumedRole", "accountId": account}}


def test_three_shapes_and_plain_json(tmp_path: Path) -> None:
    logs = tmp_path / "export"
    logs.mkdir()
    doc = {"Records": [_login("a-login", "2026-01-10T08:00:00Z", A), _background(1, A)]}
    (logs / "document.json.gz").write_bytes(gzip.compress(json.dumps(doc).encode()))
    (logs / "document-plain.json").write_text(json.dumps(
        {"Records": [_root_call("a-call", "2026-01-11T08:00:00Z", A)]}))
    (logs / "array.json").write_text(json.dumps(
        [_background(2, B), _root_call("b-call", "2026-01-12T09:30:00Z", B)]))
    (logs / "lines.json").write_text("\n".join(json.dumps(r) for r in (
        _background(3, C), _background(4, C))) + "\n")
    (logs / "notes.txt").write_text("not a log")
    out = tmp_path / "out"
    proc = trail_report(logs, "--out", out)
    assert proc.returncode == 0, proc.stderr
    got = {r["account_id"]: r for r in load(out)["accounts"]}
    assert set(got) == {A, B, C}  # C has no root event: taken from its records
    assert got[A]["console_logins"] == 1 and got[A]["api_calls"] == 1
    assert got[B]["api_calls"] == 1 and got[B]["last_used"] == "2026-01-12T09:30:00+00:00"
    assert got[C]["used_in_window"] is False
    log_files = load(out)["log_files"]
    assert log_files["files"] == 4 and log_files["skipped"] == {"not_a_log_name": 1}
    # The window is the span of every record read, root or not.
    assert log_files["window"] == {"start": "2026-01-10T08:00:00+00:00",
                                   "end": "2026-01-14T00:00:00+00:00", "days": 4,
                                   "from": "records"}
    assert "from the records" in proc.stdout


def test_gaps_are_named_and_nothing_read_is_lost(tmp_path: Path) -> None:
    day = tmp_path / "AWSLogs" / "o-abc123" / A / "CloudTrail" / "us-east-1" / "2026" / "01" / "10"
    day.mkdir(parents=True)

    def log(*records: dict[str, Any]) -> bytes:
        return gzip.compress(json.dumps({"Records": list(records)}).encode())

    (day / "1-first.json.gz").write_bytes(log(_login("early", "2026-01-10T01:00:00Z", A)))
    (day / "2-truncated.json.gz").write_bytes(
        log(*(_root_call(f"lost-{i}", "2026-01-10T02:00:00Z", A) for i in range(50)))[:300])
    (day / "3-not-gzip.json.gz").write_bytes(b"these are not the logs you are looking for")
    (day / "4-not-json.json").write_text("<html>an error page saved as a log</html>")
    (day / "5-no-records.json").write_text(json.dumps({"digest": "x"}))
    (day / "6-last.json.gz").write_bytes(log(_root_call("late", "2026-01-10T23:00:00Z", A)))
    out = tmp_path / "out"
    proc = trail_report(tmp_path / "AWSLogs", "--out", out)
    assert proc.returncode == 3
    for name in ("2-truncated", "3-not-gzip", "4-not-json", "5-no-records"):
        assert name in proc.stderr
    doc = load(out)
    errors = {Path(g["path"]).name: g["error"] for g in doc["log_files"]["gaps"]}
    assert errors == {"2-truncated.json.gz": "truncated", "3-not-gzip.json.gz": "corrupt",
                      "4-not-json.json": "not_json", "5-no-records.json": "no_records"}
    [rec] = doc["accounts"]
    assert doc["organization_id"] == "o-abc123"
    assert [e["eventID"] for e in rec["events"]] == ["early", "late"]
    assert rec["used_in_window"] is True  # use seen is use, gaps or not
    assert not rec["sources"][0]["complete"]
    assert "4 unreadable files" in rec["sources"][0]["detail"]


def test_since_until_narrow_the_window(tmp_path: Path) -> None:
    (tmp_path / "log.json").write_text(json.dumps({"Records": [
        _login("old", "2026-01-01T08:00:00Z", A),
        _root_call("new", "2026-02-01T08:00:00Z", A)]}))
    out = tmp_path / "out"
    proc = trail_report(tmp_path / "log.json", "--out", out, "--since", "2026-01-15")
    assert proc.returncode == 0, proc.stderr
    [rec] = load(out)["accounts"]
    assert [e["eventID"] for e in rec["events"]] == ["new"]
    assert rec["window_start"] == "2026-01-15T00:00:00+00:00"
    assert rec["window_end"] == "2026-02-01T08:00:00+00:00"
    assert "from the arguments and records" in proc.stdout


# -- (d) bad arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["{tmp}/nope"], "no such file or directory: {tmp}/nope"),
    (["{tmp}/empty"], "no CloudTrail log files (.json, .json.gz) under {tmp}/empty"),
    (["{tmp}/empty", "--since", "yesterday"], "--since 'yesterday': not a date"),
    (["{tmp}/empty", "--since", "2026-02-01", "--until", "2026-01-01"], "is before --since"),
    (["{tmp}/empty", "--workers", "0"], "--workers 0: must be at least 1"),
])
def test_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    proc = trail_report(*(a.format(tmp=tmp_path) for a in args), "--out", tmp_path / "out")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message.format(tmp=tmp_path) in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_files_without_records(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text(json.dumps({"Records": []}))
    proc = trail_report(tmp_path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "no CloudTrail record read in 1 file(s)" in proc.stderr
