"""The combined report.pdf of several organizations: `orgscan demo --organizations 3` writes it
beside organizations.json; it opens on the overview of every organization (its status, the
reason when not assessed, accounts using root, compliance, the chart), then each assessed
organization's own part; every label and every root-using account id is in its text, its
pages render (pdftoppm) and none is blank; the combined manifest lists it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.report.bundle import sha256_file

from .test_pdf import PDFTOPPM, page_ink, pdf_text, render_pages, run_demo

pypdf = pytest.importorskip("pypdf")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = run_demo(tmp_path_factory, "combined-pdf", "--organizations", "3")
    yield out


def _flat(text: str) -> str:
    return "".join(text.split())  # pypdf breaks lines inside long ids


def test_the_combined_pdf_opens_on_every_organization_then_each_ones_part(
        demo_dir: Path) -> None:
    pdf = demo_dir / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    reader = pypdf.PdfReader(str(pdf))
    doc = json.loads((demo_dir / "organizations.json").read_text("utf-8"))
    entries = doc["organizations"]
    first = _flat(reader.pages[0].extract_text() or "")
    # The overview, on the first page: every organization, and why one was not assessed.
    for e in entries:
        assert _flat(e["label"]) in first, e["label"]
    failed = next(e for e in entries if e["status"] == "NOT_ASSESSED")
    assert "NOT_ASSESSED" in first and "SignatureDoesNotMatch" in first
    flat = _flat(pdf_text(pdf))
    for e in entries:
        for account in e["root_use"]["accounts_using_root_ids"]:
            assert account in flat, (e["label"], account)
        if e["status"] == "ASSESSED":
            assert _flat(f"Organization {e['label']}") in flat
            assert e["organization_id"] in flat
            # Its part is its own report.pdf's: every account of its inventory is in it.
            inventory = json.loads((demo_dir / e["directory"] / "inventory.json")
                                   .read_text("utf-8"))
            for a in inventory["accounts"]:
                assert a["id"] in flat, (e["label"], a["id"])
    assert _flat(f"Organization {failed['label']}") not in flat  # no part: the overview says why
    assert sum(len(e["root_use"]["accounts_using_root_ids"]) for e in entries) > 0
    manifest = json.loads((demo_dir / "organizations-manifest.json").read_text("utf-8"))
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert listed["report.pdf"] == sha256_file(pdf)


@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm (poppler-utils) is not installed")
def test_the_combined_pdf_pages_render_and_none_is_blank(demo_dir: Path,
                                                         tmp_path: Path) -> None:
    pages = render_pages(demo_dir / "report.pdf", tmp_path, "page", "pgm", 30)
    own = sum(len(pypdf.PdfReader(str(p)).pages)
              for p in demo_dir.glob("*/report.pdf"))
    assert len(pages) > own  # the overview and every assessed organization's whole part
    ink = [page_ink(p) for p in pages]
    blank = [p.name for p, share in zip(pages, ink, strict=True) if share < 0.004]
    assert not blank, f"blank pages: {blank} (ink {ink})"
