"""report.html in headless Chromium: it loads from file:// with no network request and no
console error, shows the org tree and the root-usage table, its filters change the visible
rows, evidence expands, and hostile names render as text without running anything.

Needs the Debian package `chromium` (CI installs it); skipped only when no Chromium exists.
The screenshots are written to $ORGSCAN_SCREENSHOT_DIR (default: the test's tmp dir).
"""

from __future__ import annotations

import base64
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.core.audit_report import AuditReport
from scanner.core.models import Status
from scanner.core.results import ScanResult

from .cdp import Browser, find_chromium
from .conftest import HOSTILE_NAME

pytestmark = pytest.mark.browser
CHROMIUM = find_chromium()
pypdf = pytest.importorskip("pypdf")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    b = Browser(CHROMIUM, tmp_path / "profile")
    try:
        for domain in ("Page", "Network", "Runtime", "Log"):
            b.send(f"{domain}.enable")
        b.send("Emulation.setDeviceMetricsOverride", width=1440, height=900,
               deviceScaleFactor=1, mobile=False)
        yield b
    finally:
        b.close()


def shots_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("ORGSCAN_SCREENSHOT_DIR", str(tmp_path)))
    d.mkdir(parents=True, exist_ok=True)
    return d


def load(b: Browser, path: Path) -> str:
    url = path.resolve().as_uri()
    b.send("Page.navigate", url=url)
    b.wait_event("Page.loadEventFired")
    b.wait_for("document.documentElement.getAttribute('data-ready') === '1'")
    return url


def problems(b: Browser, url: str) -> list[str]:
    """Network requests other than the page itself, console errors, exceptions, dialogs."""
    out = []
    for ev in b.events:
        m, p = ev["method"], ev.get("params", {})
        if m == "Network.requestWillBeSent" and p["request"]["url"] != url:
            out.append(f"request: {p['request']['url']}")
        elif m == "Runtime.exceptionThrown":
            out.append(f"exception: {p['exceptionDetails']}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning"):
            out.append(f"console: {p.get('args')}")
        elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            out.append(f"log: {p['entry'].get('text')}")
        elif m == "Page.javascriptDialogOpening":
            out.append(f"dialog: {p.get('message')}")
    return out


# The rows shown on screen: every matching row is in the document, those past the page hidden.
ROWS = "document.querySelectorAll('#findings-body tr.finding:not(.beyond)').length"
ALL_ROWS = "document.querySelectorAll('#findings-body tr.finding').length"


def test_report_in_chromium(browser: Browser, demo_result: ScanResult, demo_out: Path,
                            tmp_path: Path) -> None:
    url = load(browser, demo_out / "report.html")
    shots = shots_dir(tmp_path)
    top = browser.screenshot(shots / "report-top.png")
    print(f"\nscreenshot: {top}")

    assert browser.eval("document.querySelectorAll('#org-tree li.unit').length") == len(
        demo_result.org.units)
    used = browser.eval("document.querySelectorAll('#root-usage-table tr[data-account]')"
                        ".length")
    assert used >= 1
    first = browser.eval("document.querySelector('#root-usage-table td').textContent")
    assert "UTC" in first, "newest root use first, with its time"

    total = len(demo_result.findings)
    before = browser.eval(ROWS)
    assert before == min(total, 250) and browser.eval(ALL_ROWS) == total
    # "Show more" reveals the next rows on screen.
    browser.eval("document.querySelector('#findings-more button').click()")
    assert browser.eval(ROWS) == min(total, 250 * 5)
    browser.eval("var s = document.getElementById('f-status'); s.value = 'FAIL';"
                 "s.dispatchEvent(new Event('change'))")
    fails = sum(f.status is Status.FAIL for f in demo_result.findings)
    assert browser.eval(ROWS) == min(fails, 250) and fails < total
    assert browser.eval(ALL_ROWS) == fails
    statuses = browser.eval("Array.from(document.querySelectorAll('#findings-body tr.finding'))"
                            ".map(r => r.dataset.status)")
    assert set(statuses) == {"FAIL"}
    assert f"of {fails} matching" in browser.eval("document.getElementById('f-count')"
                                                  ".textContent")

    # The tree's "findings" link for an OU filters to that subtree.
    browser.eval("document.querySelector('#org-tree li.unit[data-path=\"Root/Workloads/Prod\"]"
                 " button[data-filter]').click()")
    assert browser.eval("document.getElementById('f-ou').value") == "Root/Workloads/Prod"
    ous = browser.eval("Array.from(document.querySelectorAll('#findings-body tr.finding'))"
                       ".map(r => r.children[3].textContent)")
    assert ous and all(o == "Root/Workloads/Prod" for o in ous)

    # A row opens to its evidence, pretty-printed JSON.
    browser.eval("document.querySelector('#findings-body tr.finding').click()")
    browser.eval("var d = document.querySelector('#findings-body tr.detail details.ev');"
                 "d.open = true;")
    evidence = browser.wait_for("(document.querySelector('#findings-body pre.evidence') || {})"
                                ".textContent")
    assert evidence.startswith("{\n")
    browser.eval("document.getElementById('findings').scrollIntoView()")
    shot = browser.screenshot(shots / "report-findings.png")
    print(f"screenshot: {shot}")
    full = browser.screenshot(shots / "report-full.png", full_page=True)
    print(f"screenshot: {full}")

    assert not problems(browser, url), problems(browser, url)[:5]


def test_hostile_report_renders_text(browser: Browser, hostile_out: Path,
                                     tmp_path: Path) -> None:
    url = load(browser, hostile_out / "report.html")
    text = browser.eval("document.body.innerText")
    assert "</script><script>alert('x')</script>" in text
    assert browser.eval("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert browser.eval("document.querySelectorAll('script').length") == 2
    names = browser.eval("Array.from(document.querySelectorAll('#findings-body .acct'))"
                         ".map(e => e.textContent)")
    assert any(n.startswith(HOSTILE_NAME[:40]) for n in names)
    shot = browser.screenshot(shots_dir(tmp_path) / "report-hostile.png")
    print(f"\nscreenshot: {shot}")
    assert not problems(browser, url), problems(browser, url)[:5]


CHARTS = """Array.from(document.querySelectorAll('svg.chart')).map(s => {
  const r = s.getBoundingClientRect();
  return {kind: s.getAttribute('class').split(' ')[1], width: r.width, height: r.height,
          marks: s.querySelectorAll('g.mark').length, bars: s.querySelectorAll('rect.seg').length,
          rows: Array.from(s.querySelectorAll('g.row')).map(g => g.dataset.account ||
                g.dataset.path || g.dataset.control)};
})"""


def test_charts_render_and_printing_keeps_every_finding(
        browser: Browser, demo_report: AuditReport, demo_out: Path, tmp_path: Path) -> None:
    url = load(browser, demo_out / "report.html")
    charts = browser.eval(CHARTS)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for c in charts:
        by_kind.setdefault(c["kind"], []).append(c)
    assert set(by_kind) == {"chart-timeline", "chart-ou", "chart-controls"}
    assert all(c["width"] > 600 and c["height"] > 40 for c in charts), charts
    [timeline] = by_kind["chart-timeline"]
    used = [r.account.id for r in demo_report.root_use.used]
    assert timeline["rows"][:len(used)] == used and timeline["marks"] >= len(used)
    assert [r for c in by_kind["chart-ou"] for r in c["rows"]] == [
        u["path"] for u in demo_report.units]
    assert len(by_kind["chart-controls"]) == len(demo_report.frameworks)
    assert all(c["bars"] > 0 for c in by_kind["chart-ou"] + by_kind["chart-controls"])
    # The organization tree is whole: nothing clipped or scrolled inside it.
    assert browser.eval("(() => { const t = document.getElementById('org-tree');"
                        " return t.scrollHeight <= t.clientHeight + 1; })()")
    shots = shots_dir(tmp_path)
    browser.eval("document.getElementById('root-usage').scrollIntoView()")
    print(f"\nscreenshot: {browser.screenshot(shots / 'report-timeline.png')}")
    browser.eval("document.getElementById('ous').scrollIntoView()")
    print(f"screenshot: {browser.screenshot(shots / 'report-ou-chart.png')}")
    browser.eval("document.getElementById('frameworks').scrollIntoView()")
    print(f"screenshot: {browser.screenshot(shots / 'report-controls.png')}")

    # Chromium's print of the page holds every finding, not the first screenful.
    printed = browser.send("Page.printToPDF", printBackground=True, preferCSSPageSize=True)
    pdf = shots / "report-print.pdf"
    pdf.write_bytes(base64.b64decode(printed["data"]))
    print(f"print: {pdf}")
    # Long rule ids wrap inside their cell: compare without the line breaks.
    text = re.sub(r"\s+", "", "".join(p.extract_text() or ""
                                     for p in pypdf.PdfReader(str(pdf)).pages))
    findings = demo_report.result.findings
    per_account = Counter(f.account_id for f in findings)
    per_rule = Counter(f.rule_id for f in findings)
    short = {a: (text.count(a), n) for a, n in per_account.items() if text.count(a) < n}
    assert not short, f"accounts with fewer mentions than findings in the print: {short}"
    short = {r: (text.count(r), n) for r, n in per_rule.items() if text.count(r) < n}
    assert not short, f"rules with fewer mentions than findings in the print: {short}"
    assert not problems(browser, url), problems(browser, url)[:5]
