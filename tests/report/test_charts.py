"""The report's SVG charts, pure: well-formed XML, every label escaped, a mark for each known
root event where its time puts it, bars that add up to the counts they draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from scanner.core.audit_report import build_audit_report
from scanner.core.frameworks import summarize
from scanner.core.results import AccountResult, Coverage
from scanner.report import charts

from ._demo import OU_A, OU_B, OU_C, ROOT, account, finding, make_result
from .conftest import HOSTILE_NAME

SVG = "{http://www.w3.org/2000/svg}"
START, END = "2026-08-03T00:00:00+00:00", "2026-11-01T00:00:00+00:00"


def event(when: str, cls: str, channel: str | None = None, mfa: bool | None = None,
          name: str = "ConsoleLogin", ip: str = "203.0.113.9") -> dict[str, Any]:
    return {"eventID": f"{cls}-{when}", "eventTime": when, "eventName": name, "class": cls,
            "channel": channel, "MFAUsed": mfa, "sourceIPAddress": ip}


def usage(used: bool | None, events: list[dict[str, Any]], last: str | None = None
          ) -> dict[str, Any]:
    return {"used_in_window": used, "window_start": START, "window_end": END,
            "last_used": last, "channels": [], "events": events, "sources": []}


def result_with(rows: list[tuple[Any, dict[str, Any]]]) -> Any:
    accounts = [AccountResult(a, Coverage.ASSESSED, "", {"root.usage": rec},
                              (finding("r1", a, "PASS"),), START, 1.0) for a, rec in rows]
    return make_result(accounts)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything not well-formed


def marks(svg: ET.Element, kind: str) -> list[float]:
    """The x positions of the marks of ``kind``."""
    out = []
    for g in svg.iter(f"{SVG}g"):
        if f"mark-{kind}" in (g.get("class") or "").split():
            out.append(float(g.get("transform", "").split("(")[1].split(",")[0]))
    return out


def test_timeline_marks_each_known_event_by_channel_and_time() -> None:
    prod = account("222222222222", "prod", OU_B)
    mgmt = account("111111111111", "management", ROOT, management=True)
    quiet = account("333333333333", "quiet", OU_C)
    report = build_audit_report(result_with([
        (prod, usage(True, [
            event("2026-09-01T10:00:00+00:00", "console_login", "console", False),
            event("2026-10-01T10:00:00+00:00", "console_login", "console", True),
            event("2026-10-15T10:00:00+00:00", "api_call", "keys", name="GetObject"),
            event("2026-10-20T10:00:00+00:00", "api_call", "api", name="ListUsers"),
            event("2026-10-25T10:00:00+00:00", "failed_login"),
        ], last="2026-10-25T10:00:00+00:00")),
        # Use proven by the credential report only: no event, a mark of its own.
        (mgmt, usage(True, [], last="2026-10-10T00:00:00+00:00")),
        # Failed sign-ins in an account that did not use root still show.
        (quiet, usage(False, [event("2026-08-10T00:00:00+00:00", "failed_login")])),
        (account("444444444444", "idle", OU_A), usage(False, [])),
    ]))
    [svg_text] = charts.root_timeline(report.root_use)
    svg = parse(svg_text)
    rows = [g.get("data-account") for g in svg.iter(f"{SVG}g") if g.get("class") == "row"]
    assert rows == ["222222222222", "111111111111", "333333333333"], "idle has no row"
    assert len(marks(svg, "no_mfa")) == 1 and len(marks(svg, "console")) == 1
    assert len(marks(svg, "keys")) == 1 and len(marks(svg, "api")) == 1
    assert len(marks(svg, "failed")) == 2 and len(marks(svg, "report_only")) == 1
    # Later events sit further right, inside the plot.
    order = [marks(svg, k)[0] for k in ("no_mfa", "console", "keys", "api")]
    assert order == sorted(order) and 0 < order[0] < order[-1] < charts.WIDTH
    titles = " ".join(t.text or "" for t in svg.iter(f"{SVG}title"))
    assert "without MFA" in titles and "from 203.0.113.9" in titles
    assert "credential report" in titles
    [legend] = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "legend"]
    assert [t.text for t in legend.iter(f"{SVG}text")] == [
        label for _, label in charts.TIMELINE_LEGEND]


def test_timeline_without_events_says_so() -> None:
    report = build_audit_report(result_with(
        [(account("444444444444", "idle", OU_A), usage(False, []))]))
    [svg] = charts.root_timeline(report.root_use)
    assert "No root use" in "".join(parse(svg).itertext())


def test_labels_are_escaped_and_ids_whole() -> None:
    hostile = account("555555555555", HOSTILE_NAME, OU_A)
    report = build_audit_report(result_with([
        (hostile, usage(True, [event("2026-10-01T00:00:00+00:00", "console_login", "console",
                                     False, name="<script>x</script>", ip="<b>ip</b>")]))]))
    svgs = [*charts.root_timeline(report.root_use), *charts.findings_by_ou(report.units)]
    for text in svgs:
        svg = parse(text)
        assert not [e for e in svg.iter() if e.tag in (f"{SVG}script", f"{SVG}foreignObject")]
        assert "<script" not in text and "<b>" not in text and "\x00" not in text
    timeline = parse(svgs[0])
    texts = [t.text or "" for t in timeline.iter(f"{SVG}text")]
    assert "555555555555" in texts, "the id is never shortened"
    assert any(t.startswith("</script>") and t.endswith("\u2026") for t in texts)
    titles = " ".join(t.text or "" for t in timeline.iter(f"{SVG}title"))
    assert HOSTILE_NAME.replace("\x07", "\ufffd").replace("\x00", "\ufffd") in titles
    assert "<script>x</script>" in titles and "<b>ip</b>" in titles  # as text, parsed back


def _bar_counts(svg: ET.Element, key: str) -> dict[str, dict[str, int]]:
    """Per row (its data-* key), the count each segment's tooltip gives."""
    out: dict[str, dict[str, int]] = {}
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") != "row":
            continue
        segs: dict[str, int] = {}
        for rect in g.iter(f"{SVG}rect"):
            if rect.get("class") == "seg":
                label, count = (rect.findtext(f"{SVG}title") or "").rsplit(": ", 1)
                segs[label.split(" · ", 1)[1]] = int(count)
        out[g.get(key) or ""] = segs
    return out


def test_findings_by_ou_stacks_status_and_severity() -> None:
    a1, a2 = account("222222222222", "a1", OU_A), account("333333333333", "b1", OU_B)
    rows = [AccountResult(a1, Coverage.ASSESSED, "", {}, (
        finding("r1", a1, "FAIL", "critical"), finding("r2", a1, "FAIL", "high"),
        finding("r3", a1, "PASS"), finding("r4", a1, "NOT_ASSESSED")), START, 1.0),
        AccountResult(a2, Coverage.ASSESSED, "", {}, (
            finding("r1", a2, "FAIL", "critical"), finding("r2", a2, "ERROR")), START, 1.0)]
    report = build_audit_report(make_result(rows))
    [svg_text] = charts.findings_by_ou(report.units)
    bars = _bar_counts(parse(svg_text), "data-path")
    assert bars["Root/A"] == {"FAIL critical": 2, "FAIL high": 1, "ERROR": 1,
                              "NOT_ASSESSED": 1, "PASS": 1}
    assert bars["Root/A/B"] == {"FAIL critical": 1, "ERROR": 1}
    assert bars["Root/C"] == {}
    # Each bar is 100 %: its segments fill the same width.
    svg = parse(svg_text)
    widths = {}
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == "row" and g.get("data-path") != "Root/C":
            widths[g.get("data-path")] = round(sum(float(r.get("width", 0)) for r in g.iter(
                f"{SVG}rect") if r.get("class") == "seg"))
    assert len(set(widths.values())) == 1


def test_control_compliance_one_bar_per_control_split_into_pages() -> None:
    a = account("222222222222", "a1", OU_A)
    fs = tuple(finding(f"r{i}", a, "FAIL" if i % 2 else "PASS",
                       compliance={"cis-aws-foundations-5.0": (f"1.{i}",)}) for i in range(1, 6))
    summaries = summarize(fs, "cis-aws-foundations-5.0")
    svgs = charts.control_compliance("cis-aws-foundations-5.0", summaries, max_rows=2)
    assert len(svgs) == 3, "5 controls, 2 per picture"
    controls = [g.get("data-control") for s in svgs for g in parse(s).iter(f"{SVG}g")
                if g.get("class") == "row"]
    assert controls == ["1.1", "1.2", "1.3", "1.4", "1.5"]
    bars = _bar_counts(parse(svgs[0]), "data-control")
    assert bars == {"1.1": {"FAIL": 1}, "1.2": {"PASS": 1}}
    assert "FAIL · 0% pass" in "".join(parse(svgs[0]).itertext())
