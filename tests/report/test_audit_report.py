"""One result, many renderings: a report run builds the organization graph once, and the
writers, rendering the same AuditReport, tell the same story."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from scanner.core import graph
from scanner.core.audit_report import AuditReport
from scanner.run.runner import RunOptions, finish

from ._demo import DemoScan, demo_scan
from .conftest import ALL_FORMATS

ACCOUNT_IN_LABEL = re.compile(r"\((\d{12})\)")


@pytest.fixture(scope="module")
def demo() -> DemoScan:
    return demo_scan()


def counting_build(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the calls to graph.build (the real one still runs): one organization id each."""
    calls: list[str] = []
    real: Callable[..., nx.DiGraph] = graph.build

    def build(org: Any) -> nx.DiGraph:
        calls.append(org.id)
        return real(org)

    monkeypatch.setattr(graph, "build", build)
    return calls


@pytest.mark.parametrize("ou", [None, "Root/Workloads"])
def test_a_report_run_builds_the_graph_once(demo: DemoScan, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            ou: str | None) -> None:
    calls = counting_build(monkeypatch)
    config = replace(demo.config, output_dir=str(tmp_path), formats=ALL_FORMATS)
    outcome = finish(demo.result, config, RunOptions(quiet=True, ou=ou), list(demo.rules), None)
    assert calls == [demo.result.org.id]
    names = {p.name for p in outcome.written}
    assert {"org-graph.json", "ou-summary.json", "report.md", "report.html"} <= names
    # --ou cuts the graph it built; the cut is what build() gives for the restricted org.
    fresh = graph.build(outcome.result.org)
    assert list(outcome.report.graph.nodes(data=True)) == list(fresh.nodes(data=True))
    assert list(outcome.report.graph.edges) == list(fresh.edges)


def _markdown_root_accounts(text: str) -> tuple[list[str], set[str]]:
    """The account ids of report.md's root-use table (in order) and of its unknown list."""
    section = text[text.index("## Root usage"):text.index("## Per-OU summary")]
    used = [ACCOUNT_IN_LABEL.findall(line.split(" | ")[1])[0] for line in section.splitlines()
            if line.startswith("| ") and ACCOUNT_IN_LABEL.search(line)]
    unknown_list = section[section.index("Root use **unknown**"):] \
        if "Root use **unknown**" in section else ""
    unknown = {ACCOUNT_IN_LABEL.findall(line)[0] for line in unknown_list.splitlines()
               if line.startswith("- ")}
    return used, unknown


def test_writers_agree_on_root_use(demo_report: AuditReport, demo_out: Path) -> None:
    doc = json.loads((demo_out / "root-usage.json").read_text())
    used_json = doc["summary"]["accounts_using_root_ids"]
    unknown_json = set(doc["summary"]["accounts_unknown_ids"])
    assert used_json, "the demo organization has accounts that use root"
    md_used, md_unknown = _markdown_root_accounts((demo_out / "report.md").read_text("utf-8"))
    assert set(md_used) == set(used_json) and len(md_used) == len(used_json)
    assert md_unknown == unknown_json
    page = (demo_out / "report.html").read_text("utf-8")
    table = page[page.index('id="root-usage-table"'):page.index('id="root-usage-ous"')]
    html_used = re.findall(r'<tr data-account="(\d{12})"><td>', table)
    html_unknown = set(re.findall(r'<tr data-account="(\d{12})" class="unknown">', table))
    assert html_used == md_used  # same order too: newest use first
    assert html_unknown == unknown_json
    rows = list(csv.DictReader((demo_out / "root-usage.csv").read_text("utf-8-sig")
                               .splitlines()))
    assert {r["account_id"] for r in rows if r["used_in_window"] == "true"} == set(used_json)
    summary = json.loads((demo_out / "ou-summary.json").read_text())
    root = next(u for u in summary["units"] if u["kind"] == "root")
    assert root["root_usage"]["accounts_using_root"] == sorted(used_json)
    assert md_used == [r.account.id for r in demo_report.root_use.used]


def test_outputs_are_the_model_rendered(demo_report: AuditReport, demo_out: Path) -> None:
    coverage = json.loads((demo_out / "coverage.json").read_text())
    assert coverage["by_ou"] == demo_report.coverage_by_ou
    summary = json.loads((demo_out / "ou-summary.json").read_text())
    assert summary["units"] == json.loads(json.dumps(list(demo_report.units)))
    nodes = json.loads((demo_out / "org-graph.json").read_text())["nodes"]
    assert [n["id"] for n in nodes] == list(demo_report.graph.nodes)
    md = (demo_out / "report.md").read_text("utf-8")
    for fw, summaries in demo_report.frameworks.items():
        block = md[md.index(f"### {fw}\n"):]
        assert all(f"| {s.control} | {s.status.value} |" in block for s in summaries)
