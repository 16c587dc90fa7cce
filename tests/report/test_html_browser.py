"""report.html in headless Chromium: it loads from file:// with no network request and no
console error, shows the org tree and the root-usage table, its filters change the visible
rows, evidence expands, and hostile names render as text without running anything.

Needs the Debian package `chromium` (CI installs it); skipped only when no Chromium exists.
The screenshots are written to $ORGSCAN_SCREENSHOT_DIR (default: the test's tmp dir).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.core.models import Status
from scanner.core.results import ScanResult

from .cdp import Browser, find_chromium
from .conftest import HOSTILE_NAME

pytestmark = pytest.mark.browser
CHROMIUM = find_chromium()


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


ROWS = "document.querySelectorAll('#findings-body tr.finding').length"


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
    assert before == min(total, 250)
    browser.eval("var s = document.getElementById('f-status'); s.value = 'FAIL';"
                 "s.dispatchEvent(new Event('change'))")
    fails = sum(f.status is Status.FAIL for f in demo_result.findings)
    assert browser.eval(ROWS) == min(fails, 250) and fails < total
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
