"""Framework summaries across the organization."""

from __future__ import annotations

from scanner.core.frameworks import control_sort_key, format_summary, summarize, worst
from scanner.core.models import Finding, Severity, Status

FW = "cis-aws-foundations-5.0"


def finding(rule: str, account: str, status: Status, controls: tuple[str, ...]) -> Finding:
    return Finding(rule, rule, Severity.HIGH, status, account, account, "Root", "global", "m",
                   account, compliance={FW: controls, "aws-fsbp": ("IAM.4",)})


def test_summary_per_control() -> None:
    findings = [
        finding("root-access-keys-present", "111", Status.PASS, ("1.3",)),
        finding("root-access-keys-present", "222", Status.FAIL, ("1.3",)),
        finding("root-mfa-enabled", "111", Status.NOT_APPLICABLE, ("1.4",)),
        finding("root-mfa-enabled", "222", Status.PASS, ("1.4",)),
        finding("root-account-used", "111", Status.NOT_ASSESSED, ("1.6",)),
        finding("root-account-used", "222", Status.PASS, ("1.6",)),
        finding("other", "111", Status.PASS, ("1.10",)),
    ]
    out = summarize(findings, FW)
    assert [s.control for s in out] == ["1.3", "1.4", "1.6", "1.10"]
    keys, mfa, used, _ = out
    assert keys.status is Status.FAIL and keys.failing_accounts == ("222",)
    assert keys.counts == {Status.PASS: 1, Status.FAIL: 1}
    assert mfa.status is Status.PASS
    assert used.status is Status.NOT_ASSESSED and used.not_assessed_accounts == ("111",)
    assert used.error_accounts == ()  # ERROR and NOT_ASSESSED keep their own names
    assert keys.to_json()["counts"]["FAIL"] == 1
    assert used.to_json()["not_assessed_accounts"] == ["111"]
    table = format_summary(out)
    assert "222" in table
    header, *rows = table.splitlines()
    assert header.split()[2:8] == ["PASS", "FAIL", "ERROR", "NOT_ASSESSED", "MUTED",
                                   "NOT_APPLICABLE"]
    assert rows[2].split()[:8] == ["1.6", "NOT_ASSESSED", "1", "0", "0", "1", "0", "0"]
    assert summarize(findings, "nope") == []


def test_worst_order_and_natural_sort() -> None:
    assert worst([Status.PASS, Status.ERROR]) is Status.ERROR
    assert worst([Status.PASS, Status.MUTED]) is Status.MUTED
    assert worst([Status.NOT_APPLICABLE, Status.PASS]) is Status.PASS
    assert worst([]) is Status.NOT_APPLICABLE
    assert sorted(["2.1.1", "1.10", "1.9", "IAM.16", "IAM.4"], key=control_sort_key) == [
        "1.9", "1.10", "2.1.1", "IAM.4", "IAM.16"]
