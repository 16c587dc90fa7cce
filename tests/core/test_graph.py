"""The org graph: paths, SCP inheritance, roll-ups (pure; its file exports are tested in
tests/report/test_graphfile.py)."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import pytest

from scanner.core import graph
from scanner.core.models import Account, AccountState, Organization, OrgUnit, Policy


def org() -> Organization:
    units = (
        OrgUnit("r-1", "Root", "arn:r", None, "Root", ("p-full",)),
        OrgUnit("ou-w", "Workloads", "arn:w", "r-1", "Root/Workloads", ("p-deny",)),
        OrgUnit("ou-p", "Prod", "arn:p", "ou-w", "Root/Workloads/Prod"),
        OrgUnit("ou-s", "Sandbox", "arn:s", "r-1", "Root/Sandbox"),
    )

    def acct(i: str, parent: str, path: str, pols: tuple[str, ...] = ()) -> Account:
        return Account(i, f"n{i}", f"{i}@x", f"arn:{i}", AccountState.ACTIVE, "CREATED", "",
                       parent, path, {"k": "v"}, pols)

    accounts = (acct("1", "r-1", "Root"), acct("2", "ou-p", "Root/Workloads/Prod", ("p-acct",)),
                acct("3", "ou-p", "Root/Workloads/Prod"), acct("4", "ou-s", "Root/Sandbox"))
    pols = {p: Policy(p, p.upper(), "SERVICE_CONTROL_POLICY", p == "p-full", {})
            for p in ("p-full", "p-deny", "p-acct")}
    return Organization("o-1", "arn:o", "ALL", "1", "m@x", units, accounts, pols)


def test_structure_and_paths() -> None:
    g = graph.build(org())
    assert nx.is_arborescence(g)
    assert g.nodes["2"]["path"] == "Root/Workloads/Prod/n2"
    assert graph.ancestors_path(g, "3") == ["r-1", "ou-w", "ou-p", "3"]
    assert graph.accounts_under(g, "ou-w") == ["2", "3"]


def test_scp_inheritance_runs_root_to_account() -> None:
    o = org()
    g = graph.build(o)
    got = graph.inherited_policies(g, "2", o.policies)
    assert [(p["id"], p["attached_to"]) for p in got] == [
        ("p-full", "r-1"), ("p-deny", "ou-w"), ("p-acct", "2")]
    assert [p["id"] for p in graph.inherited_policies(g, "4", o.policies)] == ["p-full"]


def test_rollup_sums_each_account_into_every_ancestor_once() -> None:
    g = graph.build(org())
    per = {"1": Counter(FAIL=1), "2": Counter(PASS=2, FAIL=1), "3": Counter(PASS=1),
           "4": Counter(ERROR=1)}
    totals = graph.rollup(g, per)
    assert totals["ou-p"] == Counter(PASS=3, FAIL=1)
    assert totals["ou-w"] == totals["ou-p"]
    assert totals["r-1"] == Counter(PASS=3, FAIL=2, ERROR=1)
    assert totals["ou-s"] == Counter(ERROR=1)


def test_subtree_and_unknown_path() -> None:
    g = graph.build(org())
    sub = graph.subtree(g, "Root/Workloads")
    assert set(sub.nodes) == {"ou-w", "ou-p", "2", "3"}
    with pytest.raises(KeyError, match="known: Root, Root/Sandbox"):
        graph.subtree(g, "Root/Nope")
