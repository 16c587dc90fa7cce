"""Every output tells the same story (docs/semantics.md, "Accounts that cannot be assessed";
docs/outputs.md, "Statuses and scopes"): on the demo organization (`orgscan demo`, and
`orgscan scan --framework` on the same organization) and on a generated 300-account
organization, every output is parsed as a reader would, and each names the same accounts as
having used root, the same accounts as not assessed, and every finding's status by the same
name."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.core.models import Status
from scanner.sim import SimServer
from scanner.sim.generate import generate

RULE = "root-account-used"
FRAMEWORKS = ("cis-aws-foundations-5.0", "cis-aws-foundations-7.0")
STATUSES = {s.value for s in Status}
ACCOUNT = re.compile(r"\b(\d{12})\b")
LABELLED = re.compile(r"\((\d{12})\)")


def orgscan(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=1500)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def scan(sim: SimServer, out: Path, regions: list[str] | None = None) -> str:
    """`orgscan scan` as a user runs it against the simulator: the demo's sources (the
    organization trail too), every format, two framework summaries."""
    config: dict[str, Any] = {
        "root_usage": {"sources": ["credential_report", "event_history", "org_trail"]},
        "output": {"formats": ["json", "csv", "html", "markdown", "ocsf", "asff", "junit"]}}
    if regions:
        config["regions"] = regions
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    proc = orgscan(["scan", "--config", str(path), "--out", str(out),
                    *(a for fw in FRAMEWORKS for a in ("--framework", fw))], sim.env)
    assert proc.returncode == 3, proc.stderr[-3000:]  # partial: accounts not assessed
    return proc.stdout


# --- what each output says ------------------------------------------------------------------

Story = dict[str, Any]  # used: account ids; statuses: {(account, rule): status}; ...


def _json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text("utf-8-sig").splitlines()))


def _key(account: str, rule: str, resource: str) -> tuple[str, str, str]:
    return account, rule, resource


def findings_json(out: Path) -> Story:
    fs = _json(out / "findings.json")["findings"]
    return {"used": {f["account_id"] for f in fs if f["rule_id"] == RULE
                     and f["status"] == "FAIL"},
            "statuses": {_key(f["account_id"], f["rule_id"], f["resource"]): f["status"]
                         for f in fs}}


def findings_csv(out: Path) -> Story:
    rows = _csv(out / "findings.csv")
    return {"used": {r["account_id"] for r in rows if r["rule_id"] == RULE
                     and r["status"] == "FAIL"},
            "statuses": {_key(r["account_id"], r["rule_id"], r["resource"]): r["status"]
                         for r in rows}}


def root_usage_json(out: Path) -> Story:
    doc = _json(out / "root-usage.json")
    used = {r["account_id"] for r in doc["accounts"] if r["used_in_window"] is True}
    assert used == set(doc["summary"]["accounts_using_root_ids"])
    assert doc["by_ou"]["Root"]["accounts_using_root"] == len(used)
    return {"used": used}


def root_usage_csv(out: Path) -> Story:
    return {"used": {r["account_id"] for r in _csv(out / "root-usage.csv")
                     if r["used_in_window"] == "true"}}


def ou_summary(out: Path) -> Story:
    units = _json(out / "ou-summary.json")["units"]
    root = next(u for u in units if u["kind"] == "root")
    rows = {r["path"]: r for r in _csv(out / "ou-summary.csv")}
    assert set(rows[root["path"]]["using_root_ids"].split()) == set(
        root["root_usage"]["accounts_using_root"])
    # Each unit's count is its subtree's: the leaves' sets add up to the root's.
    leaves = [u for u in units if not any(v["parent_id"] == u["id"] for v in units)]
    assert len(root["root_usage"]["accounts_using_root"]) >= max(
        (len(u["root_usage"]["accounts_using_root"]) for u in leaves), default=0)
    return {"used": set(root["root_usage"]["accounts_using_root"]),
            "not_assessed": {a["account_id"] for a in root["not_assessed_accounts"]
                             if a["coverage"] == "not_assessed"}}


def coverage_json(out: Path) -> Story:
    doc = _json(out / "coverage.json")
    not_assessed = {a["account_id"] for a in doc["accounts"]
                    if a["coverage"] == "not_assessed"}
    # by_ou has one scope, as ou-summary's: the root counts every account in scope.
    root = doc["by_ou"]["Root"]
    assert sum(root.values()) == len(doc["accounts"])
    assert root["not_assessed"] == len(not_assessed)
    return {"not_assessed": not_assessed}


def ocsf(out: Path) -> Story:
    events = _json(out / "findings.ocsf.json")
    mine = [(e["cloud"]["account"]["uid"], e["unmapped"]["orgscan"]) for e in events]
    return {"used": {a for a, o in mine if o["rule_id"] == RULE and o["status"] == "FAIL"},
            "statuses": {_key(a, o["rule_id"], e["resources"][0]["uid"]): o["status"]
                         for (a, o), e in zip(mine, events, strict=True)}}


def asff(out: Path) -> Story:
    fs = _json(out / "asff.json")
    pf = [f["ProductFields"] for f in fs]
    return {"used": {f["AwsAccountId"] for f, p in zip(fs, pf, strict=True)
                     if p["orgscan/RuleId"] == RULE and p["orgscan/Status"] == "FAIL"},
            "statuses": {_key(f["AwsAccountId"], p["orgscan/RuleId"], p["orgscan/Resource"]):
                         p["orgscan/Status"] for f, p in zip(fs, pf, strict=True)}}


def junit(out: Path) -> Story:
    """A testcase's status: its child's message prefix (FAIL, ERROR, NOT_ASSESSED, MUTED,
    NOT_APPLICABLE); no child is PASS."""
    tree = ET.parse(out / "junit.xml")
    used: set[str] = set()
    statuses: dict[tuple[str, str], str] = {}
    for suite in tree.getroot():
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        if "account_id" not in props:  # the organization's suite
            continue
        for case in suite.iter("testcase"):
            child = next(iter(case), None)
            status = "PASS" if child is None else str(child.get("message")).split(":", 1)[0]
            rule = str(case.get("name")).split(" [", 1)[0]
            statuses[(str(props["account_id"]), rule)] = status
            if rule == RULE and status == "FAIL":
                used.add(str(props["account_id"]))
    return {"used": used, "statuses_by_rule": statuses}


def html(out: Path) -> Story:
    page = (out / "report.html").read_text("utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="orgscan-data">(.*?)'
                                "</script>", page, re.S).group(1))  # type: ignore[union-attr]
    table = page[page.index('id="root-usage-table"'):page.index('id="root-usage-ous"')]
    used = set(re.findall(r'<tr data-account="(\d{12})"><td>', table))
    findings = data["findings"]
    assert {f["acct"] for f in findings if f["rule"] == RULE and f["status"] == "FAIL"} == used
    assert "Undecided" not in page and "UNDECIDED" not in page
    pills = set(re.findall(r'<span class="pill st-[A-Z_]+">([^<]*)</span>', page))
    assert pills <= STATUSES, pills - STATUSES
    return {"used": used,
            "statuses": {_key(f["acct"], f["rule"], f["res"]): f["status"] for f in findings}}


def markdown(out: Path) -> Story:
    text = (out / "report.md").read_text("utf-8")
    section = text[text.index("## Root usage"):text.index("## Per-OU summary")]
    table = section[:section.index("How each use is known")] if "How each use is known" \
        in section else section
    used = {LABELLED.findall(line.split(" | ")[1])[0] for line in table.splitlines()
            if line.startswith("| ") and LABELLED.search(line)}
    assert "ERROR / not assessed" not in text
    return {"used": used}


def framework_outputs(out: Path, stdout: str) -> Story:
    """framework-*.json and the --framework table: the control that only root-account-used
    decides fails for exactly the accounts that used root."""
    per_framework: list[set[str]] = []
    for fw in FRAMEWORKS:
        controls = _json(out / f"framework-{fw}.json")
        for c in controls:
            assert set(c["counts"]) <= STATUSES
            # NOT_ASSESSED is counted and listed under its own name, apart from ERROR.
            assert c["counts"]["NOT_ASSESSED"] >= len(c["not_assessed_accounts"])
            assert c["counts"]["ERROR"] >= len(c["error_accounts"])
        mine = [c for c in controls if c["rule_ids"] == [RULE]]
        assert len(mine) == 1, fw
        failing = set(mine[0]["failing_accounts"])
        per_framework.append(failing)
        table = stdout[stdout.index(f"\n{fw}:"):]
        row = next(line for line in table.splitlines()[2:]
                   if line.split()[:1] == [mine[0]["control"]])
        assert row.split()[1] in STATUSES
        assert set(ACCOUNT.findall(row.split("failing:", 1)[1])) == failing
    assert all(p == per_framework[0] for p in per_framework)
    used = per_framework[0]
    header = next(line for line in stdout.splitlines() if line.startswith("CONTROL"))
    assert "ERR " not in header and {"ERROR", "NOT_ASSESSED"} <= set(header.split())
    return {"used": used}


def console(stdout: str) -> Story:
    """The console summary's root-use lines."""
    lines = stdout[stdout.index("Root used in the last"):].splitlines()
    n = int(re.search(r": (\d+) account", lines[0]).group(1))  # type: ignore[union-attr]
    used = {line.split()[0] for line in lines[1:1 + n]}
    return {"used": used}


def assert_one_story(out: Path, stdout: str, *, frameworks: bool) -> set[str]:
    stories = {
        "findings.json": findings_json(out), "findings.csv": findings_csv(out),
        "root-usage.json": root_usage_json(out), "root-usage.csv": root_usage_csv(out),
        "ou-summary": ou_summary(out), "coverage.json": coverage_json(out),
        "findings.ocsf.json": ocsf(out), "asff.json": asff(out), "junit.xml": junit(out),
        "report.html": html(out), "report.md": markdown(out), "console": console(stdout),
    }
    if frameworks:
        stories["framework summaries"] = framework_outputs(out, stdout)
    reference = stories["findings.json"]
    used: set[str] = reference["used"]
    assert used, "the organization has accounts that used root"
    disagree = {name: sorted(s["used"] ^ used) for name, s in stories.items()
                if "used" in s and s["used"] != used}
    assert not disagree, f"accounts reported as using root differ from findings.json: {disagree}"
    # The same accounts not assessed everywhere that lists them.
    assert stories["ou-summary"]["not_assessed"] == stories["coverage.json"]["not_assessed"]
    # Every finding's status, by the same name, in every format that carries findings.
    statuses = reference["statuses"]
    assert set(statuses.values()) <= STATUSES
    for name in ("findings.csv", "findings.ocsf.json", "asff.json", "report.html"):
        assert stories[name]["statuses"] == statuses, name
    by_rule = {(a, r): s for (a, r, _), s in statuses.items()}
    junit_statuses = stories["junit.xml"]["statuses_by_rule"]
    assert {k: v for k, v in junit_statuses.items() if k in by_rule} == {
        k: by_rule[k] for k in junit_statuses if k in by_rule}
    return used


def assert_unassessed_use_is_a_fail(out: Path) -> None:
    """An account not assessed whose root use the organization trail proves is FAIL with those
    events as evidence; one with no use seen stays NOT_ASSESSED and unknown."""
    records = {r["account_id"]: r for r in _json(out / "root-usage.json")["accounts"]}
    findings = {(f["account_id"], f["rule_id"]): f for f in _json(out / "findings.json")[
        "findings"]}
    unassessed = [a for a, r in records.items() if not r["assessed"]]
    assert unassessed
    for account in unassessed:
        record, finding = records[account], findings[(account, RULE)]
        assert record["used_in_window"] in (True, None), account  # never "not used"
        if record["used_in_window"]:
            assert finding["status"] == "FAIL", account
            assert finding["evidence"]["root.usage"]["events"], account
        else:
            assert finding["status"] == "NOT_ASSESSED", account
        others = [f for (a, r), f in findings.items() if a == account
                  and r not in (RULE, "root-console-login-without-mfa")]
        assert all(f["status"] == "NOT_ASSESSED" for f in others), account


# --- the demo -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    proc = orgscan(["demo", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


def test_demo_outputs_tell_one_story(demo_out: tuple[Path, str]) -> None:
    out, stdout = demo_out
    used = assert_one_story(out, stdout, frameworks=False)
    # retail-dev (audit role missing) and closed-experiment (suspended): their root use is
    # proven by the organization trail, and every output says so.
    assert {"850154532349", "128678417078"} <= used
    assert_unassessed_use_is_a_fail(out)


def test_demo_credential_report_only_use_is_explained(demo_out: tuple[Path, str]) -> None:
    out, _ = demo_out
    management = next(r for r in _json(out / "root-usage.json")["accounts"]
                      if r["account_id"] == "111111111111")
    assert management["used_in_window"] is True and management["console_logins"] == 0
    basis = management["use_basis"]
    assert basis.startswith("the credential report's password_last_used ")
    assert basis.endswith("no matching event found in event_history, org_trail for the window")
    finding = next(f for f in _json(out / "findings.json")["findings"]
                   if f["account_id"] == "111111111111" and f["rule_id"] == RULE)
    assert basis in finding["message"]


@pytest.fixture(scope="module")
def demo_scan_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    with SimServer("demo") as sim:
        out = tmp_path_factory.mktemp("demo-scan") / "out"
        yield out, scan(sim, out)


def test_demo_framework_summaries_tell_the_same_story(demo_scan_out: tuple[Path, str]) -> None:
    out, stdout = demo_scan_out
    assert_one_story(out, stdout, frameworks=True)


# --- a generated organization ---------------------------------------------------------------

@pytest.fixture(scope="module")
def generated_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    scenario, _ = generate(300, seed=13)
    with SimServer(scenario) as sim:
        out = tmp_path_factory.mktemp("gen300") / "out"
        yield out, scan(sim, out, regions=list(scenario["regions"]))


@pytest.mark.slow
def test_generated_organization_outputs_tell_one_story(
        generated_out: tuple[Path, str]) -> None:
    out, stdout = generated_out
    assert_one_story(out, stdout, frameworks=True)
    assert_unassessed_use_is_a_fail(out)
