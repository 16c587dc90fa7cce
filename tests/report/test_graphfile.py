"""org-graph.json and org-graph.graphml: the model's graph written, round trip intact."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

from scanner.core import graph
from scanner.core.audit_report import build_audit_report
from scanner.core.results import Coverage
from scanner.report.graphfile import export, write_org_graph

from ._demo import OU_B, OU_C, ROOT, account, account_result, make_result


def test_exports_round_trip(tmp_path: Path) -> None:
    a = account("000000000001", "a\x07<1>", OU_B, tags={"k": "v"})
    b = account("000000000002", "b", OU_C)
    g = graph.build(make_result([account_result(a, []), account_result(b, [])]).org)
    json_path, graphml_path = export(g, tmp_path, extra={a.id: {"coverage": "assessed"}})
    data = json.loads(json_path.read_text())
    assert {n["id"] for n in data["nodes"]} == set(g.nodes)
    back = nx.read_graphml(graphml_path)
    assert back.nodes[a.id]["coverage"] == "assessed"
    assert back.nodes[a.id]["name"] == "a\ufffd<1>"  # XML cannot carry BEL, even escaped
    assert json.loads(back.nodes[a.id]["tags"]) == {"k": "v"}
    assert set(back.edges) == {(str(x), str(y)) for x, y in g.edges}
    assert "coverage" not in g.nodes[a.id]  # the extra attributes went on a copy


def test_every_account_node_carries_its_coverage(tmp_path: Path) -> None:
    a = account("000000000001", "a", OU_B)
    m = account("111111111111", "mgmt", ROOT, management=True)
    result = make_result([account_result(a, [], coverage=Coverage.NOT_ASSESSED, reason="x"),
                          account_result(m, [])])
    report = build_audit_report(result)
    json_path, _ = write_org_graph(report, tmp_path)
    nodes = {n["id"]: n for n in json.loads(json_path.read_text())["nodes"]}
    assert nodes[a.id]["coverage"] == "not_assessed" and nodes[m.id]["coverage"] == "assessed"
    assert "coverage" not in nodes[ROOT.id]
