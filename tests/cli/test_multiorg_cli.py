"""Several organizations from the command line, as the user runs it: `orgscan demo
--organizations 3` (two assessed, one NOT_ASSESSED with the reason, a combined root-usage
report with an organization on every row, bundles that verify), and the flags' errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scanner.cli.exits import EXIT_OK, EXIT_USAGE

from .test_rough_edges import one_line_error, orgscan

MULTI = """\
organizations:
  - {label: client-a, profile: client-a}
  - {label: client-b, profile: client-b}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "orgscan.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_an_unknown_organization_is_one_line_listing_the_labels(tmp_path: Path) -> None:
    config = write(tmp_path, MULTI)
    proc = orgscan("scan", "--config", str(config), "--organization", "client-c")
    assert proc.returncode == EXIT_USAGE
    assert one_line_error(proc) == (f"orgscan: --organization: unknown organization "
                                    f"'client-c' in {config} (labels: client-a, client-b)")


@pytest.mark.parametrize(("flags", "expected"), [
    (["--organization", "x"], "--organization: the config (no --config given) lists no "
                              "organizations"),
    (["--ou", "Root/Prod"], "--ou: an OU path names a unit of one organization and this run "
                            "scans several: limit that organization with `scope:`"),
    (["--shard", "1/2"], "--shard: a shard splits one organization's accounts across runs and "
                         "this run scans several: limit each organization with `scope:`"),
    (["--framework", "no-such-framework"], "--framework: unknown framework"),
    (["--baseline", "."], "--baseline: .: not an earlier multi-organization run (no "
                          "organizations.json)"),
])
def test_flags_a_multi_organization_run_cannot_take(tmp_path: Path, flags: list[str],
                                                    expected: str) -> None:
    args = ["scan", *flags]
    if flags[0] != "--organization":
        args += ["--config", str(write(tmp_path, MULTI))]
    proc = orgscan(*args)
    assert proc.returncode == EXIT_USAGE
    assert expected in one_line_error(proc)


@pytest.mark.slow
def test_demo_organizations_3(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = orgscan("demo", "--organizations", "3", "--out", str(out), "--quiet")
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "3 organization(s):" in proc.stdout
    assert "NOT_ASSESSED" in proc.stdout and "SignatureDoesNotMatch" in proc.stdout
    doc = json.loads((out / "organizations.json").read_text("utf-8"))
    status = [e["status"] for e in doc["organizations"]]
    assert sorted(status) == ["ASSESSED", "ASSESSED", "NOT_ASSESSED"], status
    failed = next(e for e in doc["organizations"] if e["status"] == "NOT_ASSESSED")
    assert "SignatureDoesNotMatch" in failed["reason"]
    assessed = [e for e in doc["organizations"] if e["status"] != "NOT_ASSESSED"]
    assert len({e["organization_id"] for e in assessed}) == 2
    with (out / "root-usage.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["organization_id"].startswith("o-") for r in rows)
    assert {r["organization_id"] for r in rows} == {e["organization_id"] for e in assessed}
    for e in assessed:
        verify = orgscan("verify", str(out / e["directory"] / "evidence-bundle.zip"))
        assert verify.returncode == 0, verify.stdout + verify.stderr
    # The overview opens on every organization and links into each one's own report.
    page = (out / "report.html").read_text("utf-8")
    for e in doc["organizations"]:
        assert f">{e['label']}<" in page
    for e in assessed:
        assert f'href="{e["directory"]}/report.html"' in page
        assert (out / e["directory"] / "report.html").is_file()
    assert "SignatureDoesNotMatch" in page and "<svg" in page and "<script" not in page
    # The whole package: organizations-manifest.json, and every bundle it lists.
    verify = orgscan("verify", str(out))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "every bundle verifies" in verify.stdout
