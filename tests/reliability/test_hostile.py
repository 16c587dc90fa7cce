"""Hostile and bad input, a catalogue: each case gives a clear error naming the file, line and
path, or a safe output, and nothing is lost.

Config and rule files (malformed, schema-violating, deeply nested, alias bombs, duplicate keys,
not UTF-8); an organization whose names, OUs and tags carry markup, CSV formulas, control
characters, very long and non-ASCII text, scanned into every format; CloudTrail log files that
are truncated, not gzip, not JSON, huge or deeply nested; credential reports with unexpected
columns or values; AWS answers missing fields."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
import sys
import time
import xml.dom.minidom
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scanner.aws.collectors.normalize import parse_credential_report
from scanner.core.engine import evaluate_account
from scanner.core.errors import ConfigError
from scanner.core.models import Status
from scanner.core.rootcreds import derive_root_credentials, root_row
from scanner.core.rules import RuleLoadError
from scanner.core.ruletest import _account
from scanner.core.trailparse import scan_log_file
from scanner.run.config import load_config
from scanner.run.rulepack import default_rules_dir, load_rules
from scanner.sim import SimServer

from .conftest import cli

BOMB = ("{levels}\nrules:\n  exclude: *l8\n")
ALIAS_BOMB = "\n".join(
    ["x_anchors:", '  - &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] +
    [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]) + "\n"


def run_in_subprocess(code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Hostile parsing runs apart, so that a hang or a blow-up fails the test, not the suite."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout)


# -- config files ---------------------------------------------------------------------------

CONFIG_CASES: list[tuple[str, bytes, str]] = [
    # (name, file content, what the error must say)
    ("tab-indent", b"scan:\n\tconcurrency: 4\n", ":2: not valid YAML"),
    ("unclosed", b"scan: {concurrency: 4\n", "not valid YAML"),
    ("wrong-type", b"scan:\n  concurrency: many\n", ":2: scan.concurrency: expected integer"),
    ("below-min", b"scan:\n  account_deadline_seconds: 1\n",
     ":2: scan.account_deadline_seconds: 1 is less than the minimum of 5"),
    ("unknown-key", b"scann: {}\n", ":1: scann: unknown key 'scann' (did you mean 'scan'?)"),
    ("nested-unknown", b"aws:\n  regoin: us-east-1\n", ":2: aws.regoin: unknown key"),
    ("not-a-mapping", b"- a\n- b\n", "the config must be a mapping"),
    ("bad-region", b"regions: [mars-1]\n", ":1: regions[0]: 'mars-1' does not match"),
    ("not-utf8", b"scan:\n  concurrency: \xff\xfe\n", "cannot read"),
    ("python-tag", b"!!python/object/apply:os.system ['true']\n", ":1: not valid YAML"),
    ("duplicate-key", b"scan: {concurrency: 4}\nscan: {concurrency: 8}\n",
     ":2: not valid YAML: duplicate key 'scan'"),
    ("deep", b"x: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
    ("alias-bomb", ALIAS_BOMB.encode() + b"scope: {include: {ous: *l8}}\n",
     "expands to more than"),
]


@pytest.mark.parametrize(("name", "content", "message"), CONFIG_CASES,
                         ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_is_a_precise_error(tmp_path: Path, name: str, content: bytes,
                                       message: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content)
    code = ("import sys\nfrom pathlib import Path\nfrom scanner.run.config import load_config\n"
            "from scanner.core.errors import ConfigError\n"
            f"try:\n    load_config(Path({str(path)!r}))\nexcept ConfigError as e:\n"
            "    print(str(e)); sys.exit(0)\nsys.exit(5)\n")
    proc = run_in_subprocess(code)
    assert proc.returncode == 0, proc.stderr[-1500:]  # a ConfigError, not a crash or a hang
    assert str(path) in proc.stdout
    assert message in proc.stdout, proc.stdout


def test_bad_config_exits_2_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"x: " + b"[" * 5000 + b"]" * 5000 + b"\n")
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "scan", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and str(path) in proc.stderr


def test_empty_config_means_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n", encoding="utf-8")
    assert load_config(path).concurrency == load_config(None).concurrency


# -- rule files -----------------------------------------------------------------------------

def _pack_rule() -> str:
    return (default_rules_dir() / "root-access-keys-present.yaml").read_text(encoding="utf-8")


RULE_CASES: list[tuple[str, str, str]] = [
    ("syntax", "id: root-access-keys-present\ntitle: [unclosed\n", "root-access-keys-present"),
    ("unknown-op", _pack_rule().replace("op: is_true}", "op: is_truthy}", 1), "is_truthy"),
    ("id-not-stem", _pack_rule().replace("id: root-access-keys-present", "id: other-id"),
     "other-id"),
    ("bad-severity", _pack_rule().replace("severity: critical", "severity: apocalyptic"),
     "severity"),
    ("duplicate-key", _pack_rule() + "severity: low\n", "duplicate"),
    ("deep", _pack_rule() + "x_extra: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    ("alias-bomb", ALIAS_BOMB + _pack_rule() + "x_extra: *l8\n", "expands"),
]


@pytest.mark.parametrize(("name", "content", "message"), RULE_CASES,
                         ids=[c[0] for c in RULE_CASES])
def test_bad_rule_file_is_a_precise_error(tmp_path: Path, name: str, content: str,
                                          message: str) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    path = rules / "root-access-keys-present.yaml"
    path.write_text(content, encoding="utf-8")
    code = ("import sys\nfrom pathlib import Path\nfrom scanner.run.rulepack import load_rules\n"
            "from scanner.core.rules import RuleLoadError\n"
            f"try:\n    load_rules([Path({str(rules)!r})])\nexcept RuleLoadError as e:\n"
            "    print(str(e)); sys.exit(0)\nsys.exit(5)\n")
    proc = run_in_subprocess(code)
    assert proc.returncode == 0, f"{name}: not a RuleLoadError: {proc.stderr[-1500:]}"
    assert f"{path}:" in proc.stdout, proc.stdout  # file and line
    assert message in proc.stdout, proc.stdout


def test_the_rule_pack_loads(tmp_path: Path) -> None:
    shutil.copytree(default_rules_dir(), tmp_path / "r")
    assert len(load_rules([tmp_path / "r"])) >= 15
    with pytest.raises(RuleLoadError):
        (tmp_path / "r" / "broken.yaml").write_text("id: [\n", encoding="utf-8")
        load_rules([tmp_path / "r"])


# -- oversized inputs ------------------------------------------------------------------------

def _orgscan(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", *args], capture_output=True,
                          text=True, timeout=timeout)
    return proc, time.monotonic() - t0


def _fifty_megabytes(path: Path, head: str = "") -> Path:
    """50 MB of valid YAML: once, parsing such a config took 71 s and 1.8 GB."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write(head)
        line = "# " + "x" * 97 + "\n"
        fh.write(line * 500_000)
    return path


OVERSIZED = [
    ("config", ["scan", "--config", "{path}", "--out", "{tmp}/out"], "a config file", "4 MiB"),
    ("exceptions", ["scan", "--exceptions", "{path}", "--out", "{tmp}/out"],
     "an exceptions file", "4 MiB"),
    ("rule", ["rules", "validate", "{path}"], "a rule file", "1 MiB"),
]


@pytest.mark.parametrize(("kind", "args", "what", "limit"), OVERSIZED,
                         ids=[c[0] for c in OVERSIZED])
def test_an_oversized_input_is_refused_at_once(tmp_path: Path, kind: str, args: list[str],
                                               what: str, limit: str) -> None:
    name = "root-access-keys-present.yaml" if kind == "rule" else f"{kind}.yaml"
    path = _fifty_megabytes(tmp_path / name, _pack_rule() if kind == "rule" else "")
    proc, seconds = _orgscan(*[a.format(path=path, tmp=tmp_path) for a in args])
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert f"{path}" in proc.stderr and f"larger than the limit of {limit} for {what}" in \
        proc.stderr, proc.stderr
    assert "refused before parsing" in proc.stderr
    assert seconds < 15, seconds  # refused before parsing: the start-up is most of it
    assert not (tmp_path / "out").exists()


def test_large_real_inputs_fit_under_the_limits(tmp_path: Path) -> None:
    from scanner.run.inputs import MAX_CONFIG_BYTES, MAX_RULE_BYTES, load_exceptions

    largest = max(p.stat().st_size for p in default_rules_dir().glob("*.yaml"))
    assert largest * 100 < MAX_RULE_BYTES
    # 5,000 accepted risks, each for its own account.
    entries = "".join(
        f"  - id: RISK-{i}\n    rule: root-hardware-mfa\n    accounts: [\"{i:012d}\"]\n"
        f"    justification: Virtual MFA by policy for this sandbox account.\n"
        f"    owner: security@example.com\n    expires: 2099-12-31\n" for i in range(5_000))
    path = tmp_path / "exceptions.yaml"
    path.write_text("version: 1\nexceptions:\n" + entries, encoding="utf-8")
    assert path.stat().st_size < MAX_CONFIG_BYTES
    assert len(load_exceptions(path)) == 5_000


# -- an organization with hostile names, scanned into every format ------------------------

HTML = "</script><script>alert('x')</script><img src=x onerror=alert(1)>"
NAMES = {
    "html": HTML,
    "formula": '=HYPERLINK("http://evil.invalid","click")',
    "plus": "+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(1+1)",
    "control": "ctl\x07\x1b[31mred\x00nul\u202eevil",
    "long": "L" * 5000,
    "unicode": "Zürich 東京 👩‍💻 مرحبا",
    "markdown": "a|b *c* [l](javascript:alert(1)) `x`",
}
HOSTILE_OU = "=OU<b>x<i>y @z"
FORMATS = ("json", "csv", "html", "markdown", "ocsf", "asff", "junit", "graph")


def hostile_scenario() -> dict[str, Any]:
    return {
        "name": "hostile", "seed": 5, "regions": ["us-east-1"],
        "background": {"events_per_day": 0, "days": 1},
        "organization": {"management_account": {"id": "111111111111", "name": "management"}},
        "accounts": [
            {"name": value, "email": f"{key}@example.com",
             "ou": f"Root/{HOSTILE_OU}" if key in ("formula", "control") else "Root/Ünïcode",
             "tags": {"owner": value, "=k": "@v", "note": "\x00\x1f" + "t" * 300}}
            for key, value in NAMES.items()],
    }


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("hostile") / "out"
    fmt = [a for f in FORMATS for a in ("--format", f)]
    with SimServer(hostile_scenario()) as sim:
        proc = cli(["scan", "--out", str(out), "--quiet", *fmt], sim.env)
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), stderr
    yield out


def test_hostile_names_intact_in_json(hostile_out: Path) -> None:
    inventory = json.loads((hostile_out / "inventory.json").read_text(encoding="utf-8"))
    names = {a["name"] for a in inventory["accounts"]}
    assert set(NAMES.values()) <= names  # exact, control characters and 5,000 chars included
    tags = next(a["tags"] for a in inventory["accounts"] if a["name"] == HTML)
    assert tags["owner"] == HTML and tags["=k"] == "@v"
    assert HOSTILE_OU in {u["name"] for u in inventory["units"]}
    findings = json.loads((hostile_out / "findings.json").read_text(encoding="utf-8"))
    assert set(NAMES.values()) <= {f["account_name"] for f in findings["findings"]}
    coverage = json.loads((hostile_out / "coverage.json").read_text(encoding="utf-8"))
    assert len(coverage["accounts"]) == len(NAMES) + 1  # nobody lost


@pytest.mark.parametrize("name", ["findings.csv", "root-usage.csv", "ou-summary.csv"])
def test_hostile_names_neutralised_in_csv(hostile_out: Path, name: str) -> None:
    with (hostile_out / name).open(encoding="utf-8-sig", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    dangerous = [c for c in cells if c and c[0] in "=+-@\t\r"]
    assert not dangerous, dangerous[:5]
    if name != "ou-summary.csv":
        assert any(c.startswith("'=HYPERLINK") or c.startswith("'+cmd") for c in cells)


def test_hostile_names_escaped_in_html(hostile_out: Path) -> None:
    html = (hostile_out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert" in html or "\\u003cscript\\u003ealert" in html


def test_no_raw_control_characters_in_html(hostile_out: Path) -> None:
    html = (hostile_out / "report.html").read_text(encoding="utf-8")
    raw = sorted({hex(ord(c)) for c in html if ord(c) < 32 and c not in "\t\n\r"})
    assert not raw, f"report.html carries raw control characters {raw}"


def test_hostile_names_escaped_in_markdown(hostile_out: Path) -> None:
    md = (hostile_out / "report.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<img" not in md
    assert "a|b" not in md  # a raw pipe would split a table cell


@pytest.mark.parametrize("name", ["junit.xml", "org-graph.graphml"])
def test_xml_outputs_stay_well_formed(hostile_out: Path, name: str) -> None:
    xml.dom.minidom.parseString((hostile_out / name).read_bytes())


@pytest.mark.parametrize("name", ["findings.ocsf.json", "asff.json", "org-graph.json",
                                  "root-usage.json", "ou-summary.json"])
def test_json_outputs_parse_and_keep_names(hostile_out: Path, name: str) -> None:
    text = (hostile_out / name).read_text(encoding="utf-8")
    json.loads(text)
    if name in ("org-graph.json", "root-usage.json"):
        assert json.dumps(NAMES["control"])[1:-1] in text


# -- CloudTrail log files -------------------------------------------------------------------

def root_record(i: int) -> dict[str, Any]:
    return {"eventVersion": "1.09", "eventID": f"ev-{i}", "eventTime": "2026-01-10T10:00:00Z",
            "eventType": "AwsApiCall", "eventSource": "s3.amazonaws.com",
            "eventName": "ListBuckets", "awsRegion": "us-east-1",
            "userIdentity": {"type": "Root", "accountId": "111122223333",
                             "arn": "arn:aws:iam::111122223333:root",
                             "accessKeyId": "ASIAEXAMPLESESSION01"},
            "recipientAccountId": "111122223333", "sourceIPAddress": "198.51.100.7"}


def log_file(records: list[Any]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode())


def deep_record(depth: int) -> bytes:
    body = json.dumps(root_record(0))[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    return gzip.compress(('{"Records": [' + body + "]}").encode())


LOG_CASES: list[tuple[str, bytes, str]] = [
    ("truncated", log_file([root_record(i) for i in range(200)])[:-400], "truncated"),
    ("not-gzip", json.dumps({"Records": [root_record(0)]}).encode(), "corrupt"),
    ("gzip-not-json", gzip.compress(b'Root" this is not json at all'), "not_json"),
    ("gzip-binary", gzip.compress(bytes(range(256)) * 50 + b'Root"'), "not_json"),
    ("no-records", gzip.compress(b'{"Root": 1}'), "no_records"),
    ("records-not-list", gzip.compress(b'{"Records": {"type":"Root"}}'), "no_records"),
    ("empty", b"", "empty"),
    ("empty-gzip", gzip.compress(b""), "empty"),
    ("deeply-nested", deep_record(100_000), "not_json"),
]


@pytest.mark.parametrize(("name", "data", "kind"), LOG_CASES, ids=[c[0] for c in LOG_CASES])
def test_damaged_log_file_is_a_gap_never_a_crash(name: str, data: bytes, kind: str) -> None:
    scan = scan_log_file(data, f"AWSLogs/o-x/111122223333/CloudTrail/us-east-1/{name}.json.gz")
    if kind == "no_records":
        assert scan.error == "no_records" and not scan.is_gap
    else:
        assert scan.is_gap, (name, scan.error, scan.detail)
        assert scan.error is not None


def test_truncated_file_keeps_what_was_read_before_the_damage() -> None:
    scan = scan_log_file(log_file([root_record(i) for i in range(500)])[:-200], "k")
    assert scan.is_gap and 0 < len(scan.events) < 500


def test_huge_file_streams_with_bounded_memory() -> None:
    import tracemalloc

    # ~80 MB of JSON (compressed to well under 1 MB): padding records, then root events.
    pad = {"eventID": "pad", "p": "x" * 4000}
    records = [pad] * 20_000 + [root_record(i) for i in range(3)]
    data = log_file(records)
    tracemalloc.start()
    scan = scan_log_file(data, "k")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert scan.error is None and len(scan.events) == 3
    assert scan.inflated_bytes > 70_000_000
    assert peak < 40 * 1024 * 1024, peak


# -- credential reports and AWS answers -----------------------------------------------------

HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,mfa_active,"
          "access_key_1_active,access_key_2_active")
MEMBER = _account({"ou_path": "Root/Prod"}, False)
NOW = datetime(2026, 1, 1, tzinfo=UTC)

REPORT_CASES: list[tuple[str, str, bool]] = [
    # (name, CSV, the root-key verdict may be decided (False: must be ERROR))
    ("extra-columns", HEADER + ",future_column\n<root_account>,arn:aws:iam::1:root,"
     "2020-01-01T00:00:00+00:00,true,N/A,true,false,false,surprise\n", True),
    ("reordered", "access_key_2_active,user,access_key_1_active\nfalse,<root_account>,false\n",
     True),
    ("missing-key-columns", "user,arn,mfa_active\n<root_account>,arn:aws:iam::1:root,true\n",
     False),
    ("odd-values", HEADER + "\n<root_account>,arn,x,yes,never,1,TRUE?,maybe\n", False),
    ("short-row", HEADER + "\n<root_account>,arn\n", False),
    ("no-root-row", HEADER + "\nalice,arn,2020,true,N/A,true,false,false\n", False),
    ("header-only", HEADER + "\n", False),
    ("empty", "", False),
    ("bom-crlf", "\ufeff" + HEADER.replace(",", ",") + "\r\n<root_account>,arn,x,true,N/A,"
     "true,false,false\r\n", True),
    ("quoted-newlines", HEADER + '\n"<root_account>","arn\nwith newline",x,true,N/A,true,'
     "false,false\n", True),
    ("binary", "\x00\x01\x02,\x03\n\x04,\x05\n", False),
]


@pytest.mark.parametrize(("name", "report", "decidable"), REPORT_CASES,
                         ids=[c[0] for c in REPORT_CASES])
def test_odd_credential_report_never_crashes_or_passes_blindly(name: str, report: str,
                                                               decidable: bool) -> None:
    rows = parse_credential_report(report.encode("utf-8"))
    rule = next(r for r in load_rules() if r.id == "root-access-keys-present")
    (finding,) = evaluate_account([rule], {"iam.credential_report": rows}, MEMBER, NOW)
    if decidable:
        assert finding.status is Status.PASS, (name, finding.message)
    else:
        assert finding.status is Status.ERROR, (name, finding.status, finding.message)
    # Root MFA derivation copes as well, and says unknown rather than guessing.
    mfa = _root_mfa(rows, {}, [])
    if not decidable:
        assert mfa["active_access_keys"] is None or mfa["credentials_present"] is not False


@pytest.mark.parametrize("summary", [{}, {"AccountMFAEnabled": "1"}, {"SummaryMap": None},
                                     {"AccountPasswordPresent": None}])
def test_account_summary_missing_fields_is_unknown(summary: dict[str, Any]) -> None:
    mfa = _root_mfa([], summary, [{"unexpected": True}, "not a dict"])  # type: ignore[list-item]
    assert mfa["mfa_active"] is None and mfa["mfa_kind"] is None
    assert mfa["credentials_present"] is None


def test_config_error_names_file_line_and_path(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("scan:\n  concurrency: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path) and info.value.line == 2
    assert info.value.yaml_path == "scan.concurrency"


# -- AWS answers with fields missing (the simulator's strip fault) --------------------------

STRIP = [
    ("cloudtrail", "DescribeTrails", ["IsMultiRegionTrail", "HomeRegion",
                                      "CloudWatchLogsLogGroupArn"]),
    ("cloudtrail", "GetTrailStatus", ["IsLogging"]),
    ("cloudtrail", "GetEventSelectors", ["EventSelectors", "AdvancedEventSelectors"]),
    ("cloudtrail", "LookupEvents", ["CloudTrailEvent"]),
    ("logs", "DescribeMetricFilters", ["filterPattern", "metricTransformations"]),
    ("monitoring", "DescribeAlarmsForMetric", ["AlarmActions", "StateValue"]),
    ("iam", "GetAccountSummary", ["SummaryMap"]),
    ("iam", "ListVirtualMFADevices", ["User"]),
    ("iam", "GetCredentialReport", ["Content"]),
    ("sns", "ListSubscriptionsByTopic", ["SubscriptionArn"]),
    ("account", "GetAlternateContact", ["EmailAddress"]),
    ("organizations", "ListAccountsForParent", ["Email", "JoinedMethod", "JoinedTimestamp"]),
]


@pytest.fixture(scope="module")
def stripped_scans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from .conftest import run_scan

    with SimServer("demo") as sim:
        clean = run_scan(sim, tmp_path_factory.mktemp("clean"), regions=("us-east-1",))
        sim.set_faults({"rules": [{"kind": "strip", "service": svc, "action": action,
                                   "fields": fields} for svc, action, fields in STRIP]})
        stripped = run_scan(sim, tmp_path_factory.mktemp("strip"), regions=("us-east-1",))
        assert sim.counters()["faults"].get("strip", 0) > 100
    return clean, stripped


def test_missing_fields_never_invent_a_pass(stripped_scans: tuple[Any, Any]) -> None:
    clean, stripped = stripped_scans
    assert [r.account.id for r in stripped.accounts] == [r.account.id for r in clean.accounts]
    want = {(f.account_id, f.rule_id): f.status for f in clean.findings}
    got = {(f.account_id, f.rule_id): f.status for f in stripped.findings}
    assert set(got) == set(want)
    invented = {k: (want[k].value, got[k].value) for k in got
                if got[k] is Status.PASS and want[k] is not Status.PASS}
    assert not invented, invented
    # What the fields decided is no longer decided the same way: the scan noticed.
    assert sum(got[k] is not want[k] for k in got) > 20


def test_missing_fields_are_data_not_collector_crashes(stripped_scans: tuple[Any, Any]) -> None:
    from scanner.core.models import FactError

    _, stripped = stripped_scans
    crashes = sorted({(name, fact.message[:120]) for r in stripped.accounts
                      for name, fact in r.facts.items()
                      if isinstance(fact, FactError) and fact.code == "CollectorError"})
    assert not crashes, crashes


def _root_mfa(rows: list[Any], summary: dict[str, Any], devices: list[Any]) -> dict[str, Any]:
    """The ``root.mfa`` fact as the IAM collector derives it."""
    return derive_root_credentials(root_row(rows), summary, devices).to_json()
