"""junit.xml parsed with ElementTree: a suite per account, counts that add up, the right
element per status, and hostile names that still make well-formed XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from scanner.core.results import ScanResult


def parse(out: Path) -> ET.Element:
    return ET.parse(out / "junit.xml").getroot()


def test_demo_junit_counts(demo_result: ScanResult, demo_out: Path) -> None:
    root = parse(demo_out)
    assert root.tag == "testsuites"
    statuses = Counter(f.status.value for f in demo_result.findings)
    assert int(root.get("tests", "")) == len(demo_result.findings)
    assert int(root.get("failures", "")) == statuses["FAIL"]
    assert int(root.get("errors", "")) == statuses["ERROR"] + statuses["NOT_ASSESSED"]
    assert int(root.get("skipped", "")) == statuses["NOT_APPLICABLE"] + statuses["MUTED"]
    suites = root.findall("testsuite")
    assert len(suites) == len(demo_result.accounts) + 1  # + the organization's rules
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(demo_result.findings)
    assert len(root.findall("testsuite/testcase/failure")) == statuses["FAIL"]
    assert len(root.findall("testsuite/testcase/error")) == (
        statuses["ERROR"] + statuses["NOT_ASSESSED"])
    assert len(root.findall("testsuite/testcase/skipped")) == statuses["NOT_APPLICABLE"]
    for suite in suites:
        n = len(suite.findall("testcase"))
        assert int(suite.get("tests", "")) == n
        assert int(suite.get("failures", "")) == len(suite.findall("testcase/failure"))
    denied = [s for s in suites if any(p.get("name") == "coverage" and
                                       p.get("value") == "not_assessed"
                                       for p in s.iter("property"))]
    assert len(denied) == 2
    for s in denied:
        reason = [p.get("value") for p in s.iter("property") if p.get("name") == "reason"]
        assert reason and reason[0]
        assert s.get("errors") == s.get("tests")
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "remediation:" in (failure.text or "")


def test_hostile_junit_is_well_formed(hostile_out: Path) -> None:
    root = parse(hostile_out)
    names = [s.get("name", "") for s in root.findall("testsuite")]
    hostile = [n for n in names if "<script>" in n]
    assert hostile and all("\x00" not in n and "\x07" not in n for n in hostile)
    assert any("Zürich 東京" in n for n in hostile)
