"""Three simulated organizations of different shapes audited in one run, from a config file
whose ``organizations:`` entries each name their simulator and AWS profile: each
organization's verdicts equal its own simulator's ground truth, the one whose management
secret is wrong is NOT_ASSESSED with the reason while the others complete (exit 3), the
combined outputs are the sums of the organizations' own outputs, and no organization's
credentials ever reach another's server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.cli.exits import EXIT_PARTIAL
from scanner.cli.multiorg import multi_exit_code
from scanner.report.bundle import sha256_file
from scanner.run.multiorg import MultiOutcome, run_many
from scanner.run.orgconfig import load_organizations
from scanner.run.runner import RunOptions
from scanner.sim import SimFleet
from scanner.sim.generate import generate

from .test_generated_truth import USAGE_FIELDS, root_verdict_mismatches

pytestmark = pytest.mark.slow

SOURCES = ["credential_report", "event_history", "org_trail"]
FAILING = "initech"


@dataclass
class Run:
    fleet: SimFleet
    outcome: MultiOutcome
    out: Path
    config: Path
    keys: dict[str, set[str]]  # label -> every access key id its own server issued


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("multiorg")
    fleet = SimFleet([
        ("acme", "demo"),
        ("globex", generate(14, seed=7, management_account_id="222222222222")[0]),
        (FAILING, generate(8, seed=23, management_account_id="333333333333")[0]),
    ])
    with fleet, pytest.MonkeyPatch.context() as mp:
        # One AWS profile per organization, as an auditor of several clients keeps them.
        profiles = []
        for label in fleet:
            c = fleet[label].credentials
            secret = c["aws_secret_access_key"]
            if label == FAILING:
                secret = "not-" + secret
            profiles.append(f"[{label}]\naws_access_key_id = {c['aws_access_key_id']}\n"
                            f"aws_secret_access_key = {secret}\n")
        (tmp / "credentials").write_text("\n".join(profiles), "utf-8")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "credentials"))
        out = tmp / "out"
        config = tmp / "orgscan.yaml"
        entries = []
        for label in fleet:
            entry: dict[str, Any] = {"label": label, "endpoint_url": fleet[label].endpoint,
                                     "profile": label}
            if fleet[label].scenario.get("regions"):
                entry["regions"] = list(fleet[label].scenario["regions"])
            entries.append(entry)
        config.write_text(yaml.safe_dump({
            "root_usage": {"sources": SOURCES}, "output": {"directory": str(out)},
            "scan": {"concurrency": 8}, "organizations": entries}), "utf-8")
        base, orgs = load_organizations(config)
        outcome = run_many(base, orgs, RunOptions(quiet=True),
                           now={label: fleet[label].now for label in fleet})
        keys = {label: {fleet[label].credentials["aws_access_key_id"]}
                | {c["access_key_id"] for c in fleet[label].issued_credentials()}
                for label in fleet}
        yield Run(fleet, outcome, out, config, keys)


def _org(run: Run | MultiOutcome, label: str) -> Any:
    outcome = run.outcome if isinstance(run, Run) else run
    return next(o for o in outcome.orgs if o.label == label)


def _json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize("label", ["acme", "globex"])
def test_each_organization_matches_its_ground_truth(run: Run, label: str) -> None:
    org = _org(run, label)
    assert org.outcome is not None, org.reason
    result, truth = org.outcome.result, run.fleet[label].ground_truth
    assert result.org.management_account_id == run.fleet[label].management_account_id
    assert {r.account.id for r in result.accounts} == set(truth["accounts"])
    mismatches = root_verdict_mismatches(result, truth)
    for r in result.accounts:
        t = truth["accounts"][r.account.id]
        record = r.facts.get("root.usage")
        if not t["assessable"] or not isinstance(record, dict):
            continue
        mismatches += [f"{t['name']} {f}: {record[f]!r} != {t['usage'][f]!r}"
                       for f in USAGE_FIELDS if record[f] != t["usage"][f]]
    assert not mismatches, "\n".join(mismatches[:40])


def test_failing_organization_is_not_assessed_and_the_others_complete(run: Run) -> None:
    failing = _org(run, FAILING)
    assert failing.outcome is None
    assert "SignatureDoesNotMatch" in failing.reason
    doc = _json(run.out / "organizations.json")
    by_label = {e["label"]: e for e in doc["organizations"]}
    assert list(by_label) == ["acme", "globex", FAILING]  # the config's order
    assert by_label[FAILING]["status"] == "NOT_ASSESSED"
    assert "SignatureDoesNotMatch" in by_label[FAILING]["reason"]
    assert by_label["globex"]["status"] == "ASSESSED"
    # The demo organization keeps a suspended account and one without the audit role.
    assert by_label["acme"]["status"] == "ASSESSED" and by_label["acme"]["complete"] is False
    assert by_label["acme"]["coverage"]["not_assessed"] == 2
    assert by_label["globex"]["complete"] is True
    assert by_label[FAILING]["complete"] is False
    assert by_label["acme"]["management_account_id"] == "111111111111"
    assert by_label["globex"]["management_account_id"] == "222222222222"
    assert multi_exit_code(run.outcome, None) == EXIT_PARTIAL


def test_each_organization_has_every_output_and_its_own_bundle(run: Run) -> None:
    for label in ("acme", "globex"):
        d = run.out / label
        for name in ("findings.json", "coverage.json", "inventory.json", "root-usage.json",
                     "root-usage.csv", "journal.jsonl", "evidence-bundle/manifest.json",
                     "evidence-bundle.zip"):
            assert (d / name).is_file(), f"{label}/{name}"
        assert _json(d / "root-usage.json")["organization_id"] == _org(
            run, label).outcome.result.org.id
    assert not (run.out / FAILING / "evidence-bundle").exists()


def test_organizations_json_follows_its_schema(run: Run) -> None:
    import jsonschema

    from scanner.core.yamldoc import load_schema

    jsonschema.validate(_json(run.out / "organizations.json"),
                        load_schema("organizations.schema.json"))


def test_combined_counts_are_the_sums_of_each_organizations_own_outputs(run: Run) -> None:
    doc = _json(run.out / "organizations.json")
    assessed = [e for e in doc["organizations"] if e["status"] != "NOT_ASSESSED"]
    accounts = using = fails = 0
    for e in assessed:
        own = _json(run.out / e["directory"] / "root-usage.json")
        findings = _json(run.out / e["directory"] / "findings.json")
        rows = findings["findings"] if isinstance(findings, dict) else findings
        assert e["coverage"]["accounts"] == own["summary"]["accounts"]
        assert e["root_use"]["accounts_using_root"] == own["summary"]["accounts_using_root"]
        assert e["compliance"]["failed"] == sum(f["status"] == "FAIL" for f in rows)
        accounts += own["summary"]["accounts"]
        using += own["summary"]["accounts_using_root"]
        fails += e["compliance"]["failed"]
    totals = doc["totals"]
    assert totals["coverage"]["accounts"] == accounts > 0
    assert totals["root_use"]["accounts_using_root"] == using > 0
    assert totals["compliance"]["failed"] == fails
    assert totals["organizations_by_status"] == {"ASSESSED": 2, "NOT_ASSESSED": 1}
    assert totals["organizations_complete"] == 1
    combined = _json(run.out / "root-usage.json")
    assert combined["summary"]["accounts"] == accounts
    assert combined["summary"]["accounts_using_root"] == using
    assert all(row["organization"] and row["organization_id"] for row in combined["accounts"])


def test_combined_csv_has_an_organization_on_every_row(run: Run) -> None:
    import csv

    with (run.out / "root-usage.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ids = {o.label: o.outcome.result.org.id for o in run.outcome.orgs if o.outcome}
    per_org = {label: sum(1 for r in rows if r["organization"] == label) for label in ids}
    for label in ids:
        with (run.out / label / "root-usage.csv").open(encoding="utf-8-sig", newline="") as fh:
            own = list(csv.DictReader(fh))
        assert per_org[label] == len(own)
    assert all(r["organization_id"] == ids[r["organization"]] for r in rows)
    assert len(rows) == sum(per_org.values())


def test_combined_manifest_lists_every_bundle_sha256(run: Run) -> None:
    manifest = _json(run.out / "organizations-manifest.json")
    by_label = {e["label"]: e for e in manifest["organizations"]}
    for label in ("acme", "globex"):
        bundle = by_label[label]["bundle"]
        assert bundle["zip_sha256"] == sha256_file(run.out / bundle["zip"])
        assert bundle["manifest_sha256"] == sha256_file(
            run.out / bundle["directory"] / "manifest.json")
    assert by_label[FAILING]["bundle"] is None
    for f in manifest["files"]:
        assert f["sha256"] == sha256_file(run.out / f["path"])
    assert {f["path"] for f in manifest["files"]} == {
        "organizations.json", "root-usage.json", "root-usage.csv", "ou-summary.json",
        "ou-summary.csv"}


def test_combined_ou_summary_has_the_organization_on_top(run: Run) -> None:
    doc = _json(run.out / "ou-summary.json")
    assert [o["label"] for o in doc["organizations"]] == ["acme", "globex", FAILING]
    for o in doc["organizations"]:
        if o["label"] == FAILING:
            assert o["units"] == [] and "SignatureDoesNotMatch" in o["reason"]
            continue
        own = _json(run.out / o["label"] / "ou-summary.json")
        assert o["units"] == own["units"]
        assert o["organization_id"] == own["scan"]["organization_id"]


def test_no_credential_crosses_organizations(run: Run) -> None:
    labels = list(run.fleet)
    for label in labels:
        others = set().union(*(run.keys[o] for o in labels if o != label))
        assert not run.keys[label] & others, "the simulators issued a key twice"
        seen = set(run.fleet[label].counters()["by_access_key"])
        # Every request a server received was signed with a key it issued itself...
        assert seen <= run.keys[label], (label, seen - run.keys[label])
        # ... and none with another organization's.
        assert not seen & others
    # The servers authenticate: a foreign key would have been refused, and none was.
    for label in ("acme", "globex"):
        errors = run.fleet[label].counters()["errors"]
        assert not any("InvalidClientTokenId" in k or "SignatureDoesNotMatch" in k
                       for k in errors), errors


def test_resume_continues_each_organization_from_its_own_journal(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The profiles again (the suite's autouse fixture points every test at no credentials).
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(run.config.parent / "credentials"))
    out = tmp_path / "resumed"
    shutil.copytree(run.out, out)
    for label in run.fleet:
        run.fleet[label].reset_counters()
    base, orgs = load_organizations(run.config, out=str(out))
    assert [o.config.output_dir for o in orgs] == [str(out / o.label) for o in orgs]
    resumed = run_many(base, orgs, RunOptions(quiet=True, resume=True),
                       now={label: run.fleet[label].now for label in run.fleet})
    for label in ("acme", "globex"):
        assert _org(resumed, label).outcome is not None, _org(resumed, label).reason
        first, again = _org(run, label).outcome.result, _org(resumed, label).outcome.result
        assert again.scan_id == first.scan_id  # the same scan, continued
        assert [r.account.id for r in again.accounts] == [r.account.id for r in first.accounts]
        # Every account came from its own journal: no account was scanned again.
        by_action = run.fleet[label].counters()["by_action"]
        assert by_action.get("iam:GetAccountPasswordPolicy", 0) == 0, by_action
    assert _org(resumed, FAILING).outcome is None


def test_the_combined_manifest_verifies_and_names_what_was_changed(
        run: Run, tmp_path: Path) -> None:
    from scanner.report.combinedverify import verify_combined

    out = tmp_path / "package"
    shutil.copytree(run.out, out)
    clean = verify_combined(out)
    assert clean.ok, clean.text()
    assert [b.label for b in clean.bundles] == ["acme", "globex"]
    assert all(b.ok for b in clean.bundles)
    with (out / "root-usage.csv").open("a", encoding="utf-8") as fh:
        fh.write("acme,o-forged,999999999999\r\n")
    (out / "globex" / "evidence-bundle" / MANIFEST_NAME).write_text("{}", "utf-8")
    changed = verify_combined(out)
    assert not changed.ok
    assert set(changed.problems) == {"TAMPERED root-usage.csv",
                                     f"TAMPERED globex/evidence-bundle/{MANIFEST_NAME}"}


MANIFEST_NAME = "manifest.json"


def test_verify_re_evaluates_each_bundle_and_names_the_organization_whose_finding_was_forged(
        run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A careful forger turns one of globex's FAILs into a PASS and writes every hash again:
    its bundle's manifest, its zip, the combined manifest. Only re-evaluating the findings
    over the bundled evidence sees it, and verify names the organization."""
    from scanner.cli.main import main

    from ..reliability.test_verify import rehash, set_status, zip_dir

    out = tmp_path / "package"
    shutil.copytree(run.out, out)
    assert main(["verify", str(out)]) == 0, capsys.readouterr().out
    clean = capsys.readouterr().out
    assert "organization acme: OK" in clean and "organization globex: OK" in clean
    bundle = out / "globex" / "evidence-bundle"
    fail = next(f for f in _json(bundle / "reports" / "findings.json")["findings"]
                if f["status"] == "FAIL" and f["account_id"]
                and (bundle / "evidence" / f"{f['account_id']}.json").is_file())
    set_status(bundle, fail["account_id"], fail["rule_id"], "PASS")
    rehash(bundle)
    (out / "globex" / "evidence-bundle.zip").unlink()
    zip_dir(bundle, out / "globex" / "evidence-bundle.zip")
    manifest = _json(out / "organizations-manifest.json")
    for entry in manifest["organizations"]:
        if entry["label"] == "globex":
            entry["bundle"].update(
                manifest_sha256=sha256_file(bundle / MANIFEST_NAME),
                zip_sha256=sha256_file(out / "globex" / "evidence-bundle.zip"))
    (out / "organizations-manifest.json").write_text(json.dumps(manifest), "utf-8")

    assert main(["verify", str(out)]) == 1
    text = capsys.readouterr().out
    assert "TAMPERED" not in text  # every hash is right: only re-evaluation sees it
    assert "organization acme: OK" in text and "organization globex: FAILED" in text
    assert (f"DOES NOT FOLLOW reports/findings.json: account {fail['account_id']} rule "
            f"{fail['rule_id']}: bundled PASS, re-evaluated FAIL") in text
    assert text.rstrip().endswith("1 organization(s) whose bundle does not verify: globex")
    assert main(["verify", str(out), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["failed_organizations"] == ["globex"]
    globex = next(b for b in doc["bundles"] if b["organization"] == "globex")
    assert globex["findings_checked"] > 0 and globex["not_following"]


def test_diff_of_two_runs_names_organizations_added_removed_and_each_ones_changes(
        run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scanner.cli.main import main

    new = tmp_path / "next-quarter"
    shutil.copytree(run.out, new)
    doc = _json(new / "organizations.json")
    acme = next(e for e in doc["organizations"] if e["label"] == "acme")
    doc["organizations"] = [acme, {**next(e for e in doc["organizations"]
                                          if e["label"] == FAILING), "label": "newco",
                                   "directory": "newco"}]
    (new / "organizations.json").write_text(json.dumps(doc), "utf-8")
    assert main(["diff", str(run.out), str(new), "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["organizations_added"] == ["newco"]
    assert d["organizations_removed"] == ["globex", FAILING]
    assert list(d["organizations"]) == ["acme"]  # assessed in both: its own diff
    summary = d["organizations"]["acme"]["summary"]
    assert summary["new"] == summary["resolved"] == 0 and summary["unchanged"] > 0
    assert main(["diff", str(run.out), str(new)]) == 0
    text = capsys.readouterr().out
    assert "Organizations added: newco" in text and "## acme" in text


def test_an_error_writing_one_organizations_outputs_names_it_and_fails_the_run(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each organization's outputs are written by a worker process as soon as its scan ends:
    an error there reaches the run, naming the organization, never a pass."""
    from scanner.core.errors import OutputError
    from scanner.run.outputpool import workers_for

    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(run.config.parent / "credentials"))
    out = tmp_path / "blocked"
    (out / "globex" / "findings.json" / "a directory").mkdir(parents=True)
    base, orgs = load_organizations(run.config, out=str(out))
    with pytest.raises(OutputError) as caught:
        run_many(base, orgs, RunOptions(quiet=True),
                 now={label: run.fleet[label].now for label in run.fleet})
    assert "(organization globex)" in str(caught.value)
    assert str(out / "globex" / "findings.json") in str(caught.value)
    if workers_for(len(orgs)):  # acme's outputs were written meanwhile, in its worker
        assert (out / "acme" / "findings.json").is_file()


FRAMEWORK = "cis-aws-foundations-5.0"


def test_baseline_and_framework_over_several_organizations(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`orgscan scan --baseline PREVIOUS --framework F` with an organizations: config: each
    organization diffed against its own directory of the previous run (one the previous run
    did not have is said to be added, one it had and this run lacks removed), each one's
    framework summary and the combined one over the organizations assessed."""
    from scanner.cli.main import main

    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(run.config.parent / "credentials"))
    previous = tmp_path / "previous"
    shutil.copytree(run.out, previous)
    doc = _json(previous / "organizations.json")  # globex was "oldco" in the previous run
    for e in doc["organizations"]:
        if e["label"] == "globex":
            e.update(label="oldco", directory="oldco")
    (previous / "globex").rename(previous / "oldco")
    (previous / "organizations.json").write_text(json.dumps(doc), "utf-8")
    out = tmp_path / "now"
    code = main(["scan", "--config", str(run.config), "--out", str(out), "--quiet",
                 "--baseline", str(previous), "--framework", FRAMEWORK])
    text = capsys.readouterr().out
    assert code == EXIT_PARTIAL, text

    d = _json(out / "diff.json")
    assert d["organizations_added"] == ["globex"] and d["organizations_removed"] == ["oldco"]
    assert list(d["organizations"]) == ["acme"]
    assert "1 organization(s) added (globex), 1 removed (oldco)" in text
    # acme against its own earlier directory: the same organization, nothing resolved.
    own = _json(out / "acme" / "diff.json")
    assert own["summary"] == d["organizations"]["acme"]["summary"]
    assert own["old"]["scan_id"] == _org(run, "acme").outcome.result.scan_id
    assert own["summary"]["resolved"] == 0
    assert own["summary"]["unchanged"] > 0
    assert not (out / "globex" / "diff.json").exists()  # nothing to compare it with
    assert "## acme" in (out / "diff.md").read_text("utf-8")
    manifest = _json(out / "organizations-manifest.json")
    assert {"diff.json", "diff.md"} <= {f["path"] for f in manifest["files"]}

    combined = _json(out / f"framework-{FRAMEWORK}.json")
    assert combined["organizations"] == ["acme", "globex"]
    assert combined["not_assessed"] == [FAILING]
    per_org = {label: {c["control"]: c for c in _json(out / label / f"framework-{FRAMEWORK}.json")}
               for label in ("acme", "globex")}
    assert combined["controls"]
    for control in combined["controls"]:
        for status, n in control["counts"].items():
            assert n == sum(o[control["control"]]["counts"].get(status, 0)
                            for o in per_org.values() if control["control"] in o), control
    for heading in (f"{FRAMEWORK}, acme:", f"{FRAMEWORK}, globex:",
                    f"{FRAMEWORK}, {FAILING}: not assessed",
                    f"{FRAMEWORK}, every organization assessed (acme, globex):"):
        assert heading in text
