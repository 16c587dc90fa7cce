"""The organization as a networkx DiGraph (root -> OUs -> accounts), SCP inheritance, roll-ups.

PURE: no AWS, no asyncio, no I/O (the file exports are in scanner/report/graphfile.py). Nodes
are keyed by id; every node has ``kind`` (root, ou, account), ``name`` and ``path``; accounts
also ``status``, ``email`` and ``tags``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import networkx as nx

from scanner.core.models import Organization, Policy


def build(org: Organization) -> nx.DiGraph:
    g = nx.DiGraph(organization_id=org.id, management_account_id=org.management_account_id)
    for u in org.units:
        g.add_node(u.id, kind="root" if u.is_root else "ou", name=u.name, path=u.path,
                   arn=u.arn, policies=list(u.policy_ids))
        if u.parent_id is not None:
            g.add_edge(u.parent_id, u.id)
    for a in org.accounts:
        g.add_node(a.id, kind="account", name=a.name, path=f"{a.ou_path}/{a.name}",
                   ou_path=a.ou_path, email=a.email, status=a.status.value, arn=a.arn,
                   tags=dict(a.tags), policies=list(a.policy_ids), management=a.is_management)
        g.add_edge(a.parent_id, a.id)
    return g


def ancestors_path(g: nx.DiGraph, node: str) -> list[str]:
    """Ids from the root down to ``node`` (inclusive)."""
    path = [node]
    while True:
        preds = list(g.predecessors(path[-1]))
        if not preds:
            break
        path.append(preds[0])
    return list(reversed(path))


def inherited_policies(g: nx.DiGraph, node: str,
                       policies: Mapping[str, Policy]) -> list[dict[str, str]]:
    """Every SCP that applies to ``node``: attached to it or to any ancestor, outermost first.

    An SCP restricts an account when attached anywhere on its path (AWS evaluates the path
    from the root down; a Deny anywhere wins), so the path's union is what applies.
    """
    out: list[dict[str, str]] = []
    for n in ancestors_path(g, node):
        for pid in g.nodes[n].get("policies", []):
            p = policies.get(pid)
            out.append({"id": pid, "name": p.name if p else "", "attached_to": n,
                        "path": g.nodes[n]["path"]})
    return out


def accounts_under(g: nx.DiGraph, node: str) -> list[str]:
    """Account ids in the subtree of ``node`` (itself, if an account)."""
    if g.nodes[node]["kind"] == "account":
        return [node]
    return sorted(n for n in nx.descendants(g, node) if g.nodes[n]["kind"] == "account")


def rollup(g: nx.DiGraph, per_account: Mapping[str, Counter[str]]) -> dict[str, Counter[str]]:
    """Sum each account's counters into every root and OU above it (accounts missing from
    ``per_account`` count as empty). Post-order, so each unit is summed once."""
    totals: dict[str, Counter[str]] = {}
    for node in reversed(list(nx.topological_sort(g))):
        if g.nodes[node]["kind"] == "account":
            totals[node] = Counter(per_account.get(node, Counter()))
        else:
            c: Counter[str] = Counter()
            for child in g.successors(node):
                c.update(totals[child])
            totals[node] = c
    return totals


def subtree(g: nx.DiGraph, ou_path: str) -> nx.DiGraph:
    """The part of the graph under the unit whose path is ``ou_path`` (for --ou)."""
    for node, data in g.nodes(data=True):
        if data["kind"] != "account" and data["path"] == ou_path:
            return g.subgraph({node, *nx.descendants(g, node)}).copy()
    known = sorted(d["path"] for _, d in g.nodes(data=True) if d["kind"] != "account")
    raise KeyError(f"no OU with path {ou_path!r}; known: {', '.join(known)}")
