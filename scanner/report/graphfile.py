"""org-graph.json (networkx node-link) and org-graph.graphml: the model's organization graph,
each account node carrying its coverage."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.core.audit_report import AuditReport
from scanner.report.files import atomic_open_binary, write_text

if TYPE_CHECKING:
    import networkx as nx

GRAPH_JSON_NAME = "org-graph.json"
GRAPHML_NAME = "org-graph.graphml"

# Characters XML 1.0 cannot carry at all, not even escaped (a name may hold them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _scalar(value: Any) -> Any:
    # GraphML holds scalars only: lists and mappings travel as JSON text.
    if isinstance(value, str):
        return _NOT_XML.sub("\ufffd", value)
    return value if isinstance(value, (int, float, bool)) else json.dumps(value)


def export(g: nx.DiGraph, directory: Path,
           extra: Mapping[str, Mapping[str, Any]] | None = None) -> list[Path]:
    """Write node-link JSON and GraphML; ``extra`` adds attributes per node (on a copy: the
    model's graph is left as built)."""
    import networkx as nx  # here, not at start-up: a scan imports the writers before it scans

    h = g.copy()
    for node, attrs in (extra or {}).items():
        if node in h:
            h.nodes[node].update(attrs)
    json_path = directory / GRAPH_JSON_NAME
    write_text(json_path, json.dumps(nx.node_link_data(h, edges="edges"), indent=2, default=str))
    flat = nx.DiGraph()
    flat.graph.update({k: _scalar(v) for k, v in h.graph.items()})
    for node, data in h.nodes(data=True):
        flat.add_node(node, **{k: _scalar(v) for k, v in data.items()})
    flat.add_edges_from(h.edges())
    graphml_path = directory / GRAPHML_NAME
    with atomic_open_binary(graphml_path) as fh:
        nx.write_graphml(flat, fh)
    return [json_path, graphml_path]


def write_org_graph(report: AuditReport, out: Path) -> list[Path]:
    coverage = {r.account.id: {"coverage": r.coverage.value} for r in report.result.accounts}
    return export(report.graph, out, extra=coverage)
