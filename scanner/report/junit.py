"""junit.xml: the scan as a test report, so CI shows a failing org like failing tests.

One <testsuite> per account (named "<OU path>/<account name> (<id>)", so CI tools that sort
suites list them by OU), plus one for the organization-scope rules; one <testcase> per finding,
named by rule id (and resource when a rule yields several findings in one account).
FAIL -> <failure>; ERROR and NOT_ASSESSED -> <error> (undecided is never a pass);
NOT_APPLICABLE and MUTED -> <skipped>; PASS -> a bare testcase.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from scanner.core.audit_report import AuditReport
from scanner.core.models import Finding, Status
from scanner.core.results import AccountResult, ScanResult
from scanner.report.files import atomic_open_binary

JUNIT_NAME = "junit.xml"
# Characters XML 1.0 forbids (ElementTree writes them as they are, making the file
# unparseable); names and messages from AWS may carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MAX_ATTR = 1024  # attributes are shown on one line in CI tools; the body keeps everything


def xml_text(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _attr(value: object) -> str:
    text = xml_text(value).replace("\r", " ").replace("\n", " ")
    return text if len(text) <= MAX_ATTR else text[: MAX_ATTR - 1] + "…"


def _body(f: Finding) -> str:
    lines = [f.message, "", f"account: {f.account_id} {f.account_name}",
             f"OU: {f.ou_path}", f"resource: {f.resource}", f"region: {f.region}",
             f"severity: {f.severity.value}"]
    if f.compliance:
        lines.append("compliance: " + "; ".join(
            f"{fw}:{c}" for fw in sorted(f.compliance) for c in f.compliance[fw]))
    if f.muted_by:
        lines.append(f"muted by: {f.muted_by}")
    if f.remediation.strip():
        lines += ["", "remediation: " + f.remediation.strip()]
    if f.evidence:
        lines += ["", "evidence:", json.dumps(dict(f.evidence), indent=2, ensure_ascii=False,
                                              default=str)]
    return xml_text("\n".join(lines))


def _testcase(suite: ET.Element, f: Finding, name: str, classname: str) -> None:
    case = ET.SubElement(suite, "testcase", name=_attr(name), classname=_attr(classname),
                         time="0")
    if f.status is Status.FAIL:
        tag, kind = "failure", f.severity.value
    elif f.status in (Status.ERROR, Status.NOT_ASSESSED):
        tag, kind = "error", f.status.value
    elif f.status in (Status.NOT_APPLICABLE, Status.MUTED):
        tag, kind = "skipped", f.status.value
    else:
        return
    el = ET.SubElement(case, tag, message=_attr(f"{f.status.value}: {f.message}"), type=kind)
    if tag != "skipped":
        el.text = _body(f)


def _suite(parent: ET.Element, name: str, findings: Sequence[Finding], classname: str,
           timestamp: str, props: dict[str, str]) -> Counter[str]:
    per_rule = Counter(f.rule_id for f in findings)
    counts: Counter[str] = Counter(
        {"tests": len(findings),
         "failures": sum(f.status is Status.FAIL for f in findings),
         "errors": sum(f.status in (Status.ERROR, Status.NOT_ASSESSED) for f in findings),
         "skipped": sum(f.status in (Status.NOT_APPLICABLE, Status.MUTED) for f in findings)})
    suite = ET.SubElement(parent, "testsuite", name=_attr(name), timestamp=timestamp,
                          time="0")
    for k in ("tests", "failures", "errors", "skipped"):
        suite.set(k, str(counts[k]))
    properties = ET.SubElement(suite, "properties")
    for k, v in props.items():
        ET.SubElement(properties, "property", name=k, value=_attr(v))
    for f in findings:
        name = f.rule_id if per_rule[f.rule_id] == 1 else f"{f.rule_id} [{f.resource}]"
        _testcase(suite, f, name, classname)
    return counts


def _classname(ou_path: str, account: str) -> str:
    # CI tools read dots as package separators: OU path segments become packages.
    return ".".join([*ou_path.split("/"), account])


def junit_tree(result: ScanResult) -> ET.ElementTree[ET.Element]:
    root = ET.Element("testsuites", name=f"orgscan {result.org.id}")
    ts = result.started[:19]  # JUnit's timestamp has no zone; the scan time is UTC
    totals: Counter[str] = Counter()
    if result.org_findings:
        totals += _suite(root, f"organization {result.org.id}", result.org_findings,
                         _classname("Root", "organization"), ts,
                         {"organization_id": result.org.id, "scan_id": result.scan_id})
    for r in sorted(result.accounts, key=lambda r: (r.account.ou_path, r.account.name)):
        totals += _suite(root, _suite_name(r), r.findings,
                         _classname(r.account.ou_path, r.account.name), ts, _props(result, r))
    for k in ("tests", "failures", "errors", "skipped"):
        root.set(k, str(totals[k]))
    root.set("time", "0")
    return ET.ElementTree(root)


def _suite_name(r: AccountResult) -> str:
    return f"{r.account.ou_path}/{r.account.name} ({r.account.id})"


def _props(result: ScanResult, r: AccountResult) -> dict[str, str]:
    props = {"account_id": r.account.id, "account_name": r.account.name,
             "ou_path": r.account.ou_path, "coverage": r.coverage.value,
             "scan_id": result.scan_id}
    if r.reason:
        props["reason"] = r.reason
    return props


def write_junit(report: AuditReport, out: Path) -> list[Path]:
    path = out / JUNIT_NAME
    tree = junit_tree(report.result)
    ET.indent(tree)
    with atomic_open_binary(path) as fh:
        tree.write(fh, encoding="utf-8", xml_declaration=True)
    return [path]
