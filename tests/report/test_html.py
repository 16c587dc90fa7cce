"""report.html without a browser: self-contained (nothing to fetch), the CSP hashes match the
inline code, the data block cannot be closed by a name, and every name is escaped."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from scanner.core.results import ScanResult
from scanner.report.html import script_json

from .conftest import HOSTILE_NAME


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_self_contained_with_matching_csp(demo_result: ScanResult, demo_out: Path) -> None:
    page = (demo_out / "report.html").read_text("utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp and "default-src 'none'" in csp.group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert style and len(scripts) == 1
    assert _hash(style.group(1)) in csp.group(1) and _hash(scripts[0]) in csp.group(1)
    # Nothing that would load from elsewhere.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert "<link" not in page and "<iframe" not in page
    data = json.loads(re.search(r'id="orgscan-data">(.*?)</script>', page, re.S).group(1))
    assert len(data["findings"]) == len(demo_result.findings)
    assert demo_result.org.id in page
    for section in ("root-usage-table", "org-tree", "ou-table", "findings-table",
                    "root-usage-by-ou", "frameworks"):
        assert f'id="{section}"' in page


def test_hostile_names_escaped(hostile_result: ScanResult, hostile_out: Path) -> None:
    page = (hostile_out / "report.html").read_text("utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>ou</b>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(&#x27;x&#x27;)" in page
    block = re.search(r'id="orgscan-data">(.*?)</script>', page, re.S)
    assert block and "</" not in block.group(1)
    data = json.loads(block.group(1))
    names = {f["name"] for f in data["findings"]}
    assert any(n.startswith(HOSTILE_NAME) for n in names), "the data keeps names exactly"
    assert any(len(f["msg"]) > 40_000 for f in data["findings"])


def test_script_json_escapes_markup() -> None:
    text = script_json({"a": "</script><!-- & >"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & >"}
