"""Evidence bundle: contents, manifest, zip, verify (tampered / missing / extra), no secrets."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner.cli.report import cmd_verify
from scanner.core.audit_report import build_audit_report
from scanner.core.mutelist import apply, exceptions_from_text
from scanner.core.results import Coverage
from scanner.core.settings import AwsSettings
from scanner.core.yamldoc import load_schema
from scanner.report import write_reports
from scanner.report.bundle import (
    REDACTED,
    Bundle,
    BundleError,
    config_json,
    redact,
    write_bundle,
)
from scanner.report.bundleverify import verify
from scanner.report.rollup import write_ou_summary

from ._demo import MGMT, RETAIL_DEV, SANDBOX_MFA_EXCEPTION, SUSPENDED, DemoScan, demo_scan

EXCEPTIONS = SANDBOX_MFA_EXCEPTION


@pytest.fixture(scope="module")
def demo() -> DemoScan:
    return demo_scan()


@pytest.fixture(scope="module")
def bundle(demo: DemoScan, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    out = tmp_path_factory.mktemp("bundle-out")
    now = datetime(2026, 11, 28, tzinfo=UTC)
    result, report = apply(demo.result, exceptions_from_text(EXCEPTIONS), now)
    model = build_audit_report(result)
    written = write_reports(model, out, ("json", "graph"))
    written += write_ou_summary(model, out)
    return write_bundle(result, out, reports=written, config=demo.config, rules=demo.rules,
                        exceptions_report=report)


def copy_of(b: Bundle, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(b.directory, dest)
    return dest


def test_bundle_layout(bundle: Bundle, demo: DemoScan) -> None:
    root = bundle.directory
    names = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    for r in demo.result.accounts:
        assert f"evidence/{r.account.id}.json" in names
    assert {"manifest.json", "evidence/organization.json", "reports/findings.json",
            "reports/coverage.json", "reports/inventory.json", "reports/ou-summary.json",
            "reports/ou-summary.csv", "reports/org-graph.graphml",
            "reports/exceptions-report.json", "rules/root-account-used.yaml"} <= names
    assert not any("journal" in n for n in names)
    assert bundle.zip_path is not None and zipfile.is_zipfile(bundle.zip_path)
    sidecar = bundle.zip_path.with_name(bundle.zip_path.name + ".sha256").read_text()
    assert hashlib.sha256(bundle.zip_path.read_bytes()).hexdigest() in sidecar
    assert bundle.manifest_sha256 in sidecar


def test_manifest(bundle: Bundle, demo: DemoScan) -> None:
    m = json.loads((bundle.directory / "manifest.json").read_text())
    jsonschema.validate(m, load_schema("manifest.schema.json"))
    assert m["scan"]["caller_arn"] == demo.result.caller_arn
    assert m["scan"]["tool_version"] == demo.result.tool_version
    assert (m["scan"]["started"], m["scan"]["finished"]) == (demo.result.started,
                                                             demo.result.finished)
    rule = next(r for r in m["rules"] if r["id"] == "root-account-used")
    path = next(r.path for r in demo.rules if r.id == "root-account-used")
    assert path is not None
    assert rule["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # The rule file itself, byte for byte: what verify re-evaluates the findings with.
    assert rule["path"] == "rules/root-account-used.yaml"
    assert (bundle.directory / rule["path"]).read_bytes() == path.read_bytes()
    assert [r["id"] for r in m["rules"]] == list(demo.result.rule_ids)
    # The demo scan uses the default: every enabled region, so nothing is narrowed.
    assert m["regions"] == {"scanned": "all enabled", "narrowed": False,
                            "statement": m["regions"]["statement"]}
    assert "every region enabled" in m["regions"]["statement"]
    assert m["lookback"]["days"] == 90 and m["lookback"]["window_end"] == demo.result.started
    assert "docs/semantics.md" in m["lookback"]["statement"]  # the project's own definitions
    assert m["coverage"]["counts"] == {"assessed": 39, "partial": 0, "not_assessed": 2}
    reasons = {a["account_id"]: a["reason"] for a in m["coverage"]["not_assessed"]}
    assert set(reasons) == {RETAIL_DEV, SUSPENDED} and "AccessDenied" in reasons[RETAIL_DEV]
    assert m["exceptions"]["counts"]["muted_findings"] > 0
    assert m["config"]["regions"] is None
    # Every file but the manifest, with its hash and size.
    listed = {f["path"]: f for f in m["files"]}
    on_disk = {p.relative_to(bundle.directory).as_posix(): p
               for p in bundle.directory.rglob("*") if p.is_file()}
    assert set(listed) == set(on_disk) - {"manifest.json"}
    for name, p in on_disk.items():
        if name != "manifest.json":
            assert listed[name]["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
            assert listed[name]["size"] == p.stat().st_size


def test_account_evidence(bundle: Bundle, demo: DemoScan) -> None:
    # An account whose root use was seen in CloudTrail (not only in the credential report).
    usage: dict[str, Any] = {}
    for r in demo.result.accounts:
        u = r.facts.get("root.usage")
        if isinstance(u, dict) and u.get("used_in_window") is True and u.get("events"):
            used, usage = r, u
            break
    ev = json.loads((bundle.directory / "evidence" / f"{used.account.id}.json").read_text())
    assert ev["account"]["id"] == used.account.id and ev["coverage"] == "assessed"
    cr = ev["credential_report"]
    assert cr["root_row"]["user"] == "<root_account>" and cr["root_row"] in cr["rows"]
    assert ev["root_usage"]["used_in_window"] is True
    assert ev["root_usage"]["events"] == usage["events"]
    assert any(e["counted_as_use"] for e in ev["root_usage"]["events"])
    assert "cloudtrail.trails" in ev["facts"] and "root.mfa" in ev["facts"]
    assert {f["rule_id"] for f in ev["findings"]} == {f.rule_id for f in used.findings}
    # Not assessed accounts are in the bundle too, with the reason.
    na = json.loads((bundle.directory / "evidence" / f"{RETAIL_DEV}.json").read_text())
    assert na["coverage"] == Coverage.NOT_ASSESSED.value and "AccessDenied" in na["reason"]
    org = json.loads((bundle.directory / "evidence" / "organization.json").read_text())
    assert org["organization"]["organization"]["management_account_id"] == MGMT
    assert {f["rule_id"] for f in org["findings"]} == {
        f.rule_id for f in demo.result.org_findings}


def test_no_secret_in_any_bundle_file(bundle: Bundle, demo: DemoScan) -> None:
    secret = demo.credentials["aws_secret_access_key"]
    key_id = demo.credentials["aws_access_key_id"]
    needles = [secret, key_id, "aws_secret_access_key", "secretaccesskey", "sessiontoken",
               "session_token", "x-amz-security-token"]
    files = [p for p in bundle.directory.rglob("*") if p.is_file()]
    assert bundle.zip_path is not None
    files.append(bundle.zip_path)
    for p in files:
        data = p.read_bytes()
        if p.suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                data = b"".join(z.read(n) for n in z.namelist())
        lowered = data.lower()
        for needle in needles:
            assert needle.lower().encode() not in lowered, f"{needle!r} in {p.name}"


def test_redaction_rules() -> None:
    data = {"SecretAccessKey": "s", "SessionToken": "t", "credentials": ["a", "b"],
            "external_id": "x", "password_enabled": True, "password_last_used": "2026",
            "root_credentials_management": True, "access_key_1_active": True,
            "nested": [{"aws_session_token": "t", "accessKeyId": "ASIAEXAMPLE"}],
            "token_expiry": None}
    out = redact(data)
    assert out["SecretAccessKey"] == out["SessionToken"] == out["credentials"] == REDACTED
    assert out["external_id"] == REDACTED and out["nested"][0]["aws_session_token"] == REDACTED
    # Credential-report columns, feature flags and key ids are evidence, not secrets.
    assert out["password_enabled"] is True and out["password_last_used"] == "2026"
    assert out["root_credentials_management"] is True
    assert out["nested"][0]["accessKeyId"] == "ASIAEXAMPLE"


def test_config_secrets_are_removed(demo: DemoScan) -> None:
    cfg = replace(demo.config, aws=AwsSettings(credentials=("AKIAEXAMPLE", "very-secret-value"),
                                               external_id="shared-external-id"))
    text = json.dumps(config_json(cfg))
    assert "very-secret-value" not in text and "shared-external-id" not in text
    assert "AKIAEXAMPLE" not in text


def test_a_secret_value_anywhere_refuses_the_bundle(demo: DemoScan, tmp_path: Path) -> None:
    secret = demo.credentials["aws_secret_access_key"]
    r0 = demo.result.accounts[0]
    # A fact carrying the secret under an innocent-looking key: redaction by key cannot see
    # it; the value check must.
    leaky = replace(demo.result, accounts=(
        replace(r0, facts={**r0.facts, "note": {"comment": secret}}), *demo.result.accounts[1:]))
    with pytest.raises(BundleError, match="contains a credential"):
        write_bundle(leaky, tmp_path, reports=[], config=demo.config, rules=demo.rules)
    assert not (tmp_path / "evidence-bundle").exists()


def test_verify_clean_dir_and_zip(bundle: Bundle) -> None:
    for target in (bundle.directory, bundle.zip_path):
        assert target is not None
        v = verify(target)
        assert v.ok, v.text()
        assert v.checked == bundle.files - 1
        assert v.manifest_sha256 == bundle.manifest_sha256


def test_verify_names_a_tampered_file(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_of(bundle, tmp_path)
    target = copy / "reports" / "findings.json"
    target.write_text(target.read_text().replace('"FAIL"', '"PASS"', 1))
    v = verify(copy)
    assert not v.ok and v.tampered == ("reports/findings.json",)
    assert "TAMPERED reports/findings.json" in v.text()
    args = argparse.Namespace(bundle=copy, json=False)
    out, err = io.StringIO(), io.StringIO()
    assert cmd_verify(args, out, err) == 1
    assert "reports/findings.json" in out.getvalue()


def test_verify_names_missing_and_extra_files(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_of(bundle, tmp_path)
    (copy / "evidence" / f"{MGMT}.json").unlink()
    (copy / "evidence" / "planted.json").write_text("{}")
    v = verify(copy)
    assert v.missing == (f"evidence/{MGMT}.json",) and v.extra == ("evidence/planted.json",)
    assert v.tampered == ()


def test_verify_a_tampered_zip(bundle: Bundle, tmp_path: Path) -> None:
    assert bundle.zip_path is not None
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bundle.zip_path) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("evidence/organization.json"):
                data = data.replace(b"o-", b"x-", 1)
            dst.writestr(item, data)
    v = verify(bad)
    assert v.tampered == ("evidence/organization.json",)
    args = argparse.Namespace(bundle=bad, json=True)
    out = io.StringIO()
    assert cmd_verify(args, out, io.StringIO()) == 1
    assert json.loads(out.getvalue())["tampered"] == ["evidence/organization.json"]


def test_verify_a_tampered_manifest(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_of(bundle, tmp_path)
    m = json.loads((copy / "manifest.json").read_text())
    del m["files"][0]["sha256"]
    (copy / "manifest.json").write_text(json.dumps(m))
    v = verify(copy)
    assert not v.ok and v.tampered == ("manifest.json",)
    assert v.manifest_sha256 != bundle.manifest_sha256


def test_verify_not_a_bundle(tmp_path: Path) -> None:
    args = argparse.Namespace(bundle=tmp_path, json=False)
    err = io.StringIO()
    assert cmd_verify(args, io.StringIO(), err) == 2
    assert "not an evidence bundle" in err.getvalue()


def test_manifest_says_when_the_scan_was_narrowed(demo: DemoScan) -> None:
    from dataclasses import replace

    from scanner.report.bundle import _regions

    narrowed = _regions(replace(demo.result, regions=("us-east-1",)))
    assert narrowed["scanned"] == ["us-east-1"] and narrowed["narrowed"] is True
    assert "invisible" in narrowed["statement"]
