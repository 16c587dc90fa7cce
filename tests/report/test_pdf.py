"""report.pdf: `orgscan demo` writes it (WeasyPrint), its text holds every account and every
FAIL finding's rule, its cover states the evidence digest the bundle's manifest records, its
pages render (pdftoppm) and none is blank; a missing extra is one line and exit 2.

Page images are written to $ORGSCAN_SCREENSHOT_DIR (default: the test's tmp dir) as
report-pdf-NN.png, to be looked at.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.core.audit_report import build_audit_report
from scanner.core.results import ScanResult
from scanner.core.rules import rules_digest
from scanner.report.pdf import write_pdf
from scanner.report.pdfextra import pdf_problem
from scanner.run.rulepack import load_rules

pypdf = pytest.importorskip("pypdf")
REPO = Path(__file__).resolve().parents[2]
PDFTOPPM = shutil.which("pdftoppm")

needs_weasyprint = pytest.mark.skipif(pdf_problem() is not None,
                                      reason=f"WeasyPrint unusable: {pdf_problem()}")


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)


def _pgm(path: Path) -> tuple[int, int, bytes]:
    """A binary PGM (P5, 8-bit) as width, height, pixels: pdftoppm -gray writes these."""
    data = path.read_bytes()
    fields = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert fields, f"{path} is not a binary PGM"
    w, h = int(fields.group(1)), int(fields.group(2))
    return w, h, data[fields.end():fields.end() + w * h]


def page_ink(path: Path) -> float:
    """The share of a page's pixels that are not (near) white."""
    w, h, pixels = _pgm(path)
    return sum(1 for p in pixels if p < 235) / (w * h)


def render_pages(pdf: Path, out: Path, prefix: str, fmt: str, dpi: int) -> list[Path]:
    assert PDFTOPPM is not None
    flag = "-gray" if fmt == "pgm" else "-png"
    subprocess.run([PDFTOPPM, flag, "-r", str(dpi), str(pdf), str(out / prefix)], check=True,
                   timeout=300)
    return sorted(out.glob(f"{prefix}-*.{fmt}"))


def run_demo(tmp_path_factory: pytest.TempPathFactory, name: str, *extra: str) -> Path:
    """``orgscan demo`` (with ``extra`` arguments) into a fresh directory; skipped when the
    pdf extra cannot render."""
    if pdf_problem() is not None:
        pytest.skip(f"WeasyPrint unusable: {pdf_problem()}")
    out = tmp_path_factory.mktemp(name) / "demo"
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "demo", "--quiet", *extra,
                           "--out", str(out)], capture_output=True, text=True, timeout=900,
                          cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = run_demo(tmp_path_factory, "pdf-demo")
    yield out


def test_demo_writes_a_pdf_with_every_account_and_failing_rule(demo_dir: Path) -> None:
    pdf = demo_dir / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = pdf_text(pdf)
    findings = json.loads((demo_dir / "findings.json").read_text())["findings"]
    coverage = json.loads((demo_dir / "coverage.json").read_text())
    inventory = json.loads((demo_dir / "inventory.json").read_text())
    accounts = {a["id"] for a in inventory["accounts"]}
    assert len(accounts) == 41
    missing = sorted(a for a in accounts if a not in text)
    assert not missing, f"account ids not in report.pdf: {missing}"
    failing = {f["rule_id"] for f in findings if f["status"] == "FAIL"}
    assert failing
    assert not sorted(r for r in failing if r not in text)
    flat = re.sub(r"\s+", "", text)
    not_assessed = [a for a in coverage["accounts"] if a["coverage"] != "assessed"]
    assert len(not_assessed) == 2
    for row in not_assessed:  # the accounts not assessed, with why
        assert re.sub(r"\s+", "", row["reason"])[:60] in flat
    assert "Accounts not assessed" in text and "Appendix: root events" in text
    # The cover's evidence digest is the manifest's, and the manifest lists the PDF.
    manifest = json.loads((demo_dir / "evidence-bundle" / "manifest.json").read_text())
    assert manifest["evidence_sha256"]["sha256"] in flat
    assert "reports/report.pdf" in {f["path"] for f in manifest["files"]}
    # ... and anyone can recompute it from the bundle's evidence files.
    bundle = demo_dir / "evidence-bundle"
    listing = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  "
                      f"{p.relative_to(bundle).as_posix()}\n"
                      for p in sorted((bundle / "evidence").glob("*.json")))
    assert hashlib.sha256(listing.encode()).hexdigest() == manifest["evidence_sha256"]["sha256"]
    # The cover: who ran it, the tool's version, the rule set the scan evaluated.
    assert manifest["scan"]["caller_arn"] in flat
    assert f"orgscan{manifest['scan']['tool_version']}" in flat
    assert rules_digest(load_rules()) in flat
    assert inventory["organization"]["id"] in flat


@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm (poppler-utils) is not installed")
def test_demo_pdf_pages_render_and_none_is_blank(demo_dir: Path, tmp_path: Path) -> None:
    pages = render_pages(demo_dir / "report.pdf", tmp_path, "page", "pgm", 30)
    assert len(pages) >= 5
    ink = [page_ink(p) for p in pages]
    blank = [p.name for p, share in zip(pages, ink, strict=True) if share < 0.004]
    assert not blank, f"blank pages: {blank} (ink {ink})"
    shots = Path(os.environ.get("ORGSCAN_SCREENSHOT_DIR", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    for png in render_pages(demo_dir / "report.pdf", shots, "report-pdf", "png", 60)[:6]:
        print(f"\npage image: {png}")


def test_page_ink_tells_a_blank_page(tmp_path: Path) -> None:
    (tmp_path / "white.pgm").write_bytes(b"P5\n4 2\n255\n" + bytes([255] * 8))
    (tmp_path / "text.pgm").write_bytes(b"P5\n4 2\n255\n" + bytes([255] * 6 + [0, 40]))
    assert page_ink(tmp_path / "white.pgm") == 0
    assert page_ink(tmp_path / "text.pgm") == 0.25


@needs_weasyprint
def test_hostile_names_are_text_in_the_pdf(hostile_result: ScanResult, tmp_path: Path) -> None:
    [pdf] = write_pdf(build_audit_report(hostile_result), tmp_path)
    # Lines break inside names; a font without CJK glyphs makes pypdf pad some text with NULs.
    flat = re.sub(r"[\s\x00]+", "", pdf_text(pdf))
    assert "</script><script>alert('x')</script>" in flat
    assert "L" * 300 in flat and "L" * 1000 not in flat, "a message is shortened in the PDF"


def _fake_weasyprint(tmp_path: Path, error: str) -> dict[str, str]:
    pkg = tmp_path / "fake" / "weasyprint"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"raise {error}\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(pkg.parent), str(REPO),
                                         env.get("PYTHONPATH", "")])
    return env


@pytest.mark.parametrize("error, says", [
    ("OSError(\"cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared "
     "object file\")", "cannot load its system libraries"),
    ("ImportError(\"No module named 'weasyprint'\")", "not installed"),
])
def test_missing_extra_is_one_line_and_exit_2(tmp_path: Path, error: str, says: str) -> None:
    env = _fake_weasyprint(tmp_path, error)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "scanner.cli.main", "scan", "--format", "pdf", "--out", str(out),
         "--endpoint-url", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=120,
        env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert says in lines[0] and "pip install 'orgscan[pdf]'" in lines[0]
    assert "libpango" in lines[0], "names the system package"
    assert not out.exists(), "nothing was scanned"


def test_demo_skips_the_pdf_without_the_extra(tmp_path: Path) -> None:
    env = _fake_weasyprint(tmp_path, "ImportError('no weasyprint here')")
    proc = subprocess.run(
        [sys.executable, "-c", "from scanner.cli.demo import _formats; print(_formats())"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "'pdf'" not in proc.stdout and "'html'" in proc.stdout
    assert "skipping report.pdf" in proc.stderr and "orgscan[pdf]" in proc.stderr



@needs_weasyprint
def test_a_small_organization_without_root_use_or_frameworks(tmp_path: Path) -> None:
    from ._demo import OU_A, account, account_result, finding, make_result

    a = account("222222222222", "only", OU_A)
    result = make_result([account_result(a, [finding("r1", a, "FAIL"),
                                             finding("r2", a, "PASS")])])
    [pdf] = write_pdf(build_audit_report(result, ou="Root/A"), tmp_path)
    flat = re.sub(r"\s+", "", pdf_text(pdf))
    for text in ("222222222222", "r1", "r2", "limitedtoRoot/A", "Noaccountusedrootinthewindow",
                 "Norootuseandnorootsign-inattemptinthewindow",
                 "Everyaccountinscopewasfullyassessed", "Norooteventinthewindow"):
        assert text in flat, text
