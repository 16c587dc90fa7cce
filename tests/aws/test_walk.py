"""The organization walk against the simulator, over HTTP with the real async clients."""

from __future__ import annotations

from scanner.aws.org import in_scope, walk
from scanner.aws.session import Aws, account_scope
from scanner.core.models import AccountState
from scanner.core.settings import ScopeFilter
from scanner.sim import SimServer
from tests.conftest import DENIED, MGMT, SUSPENDED, settings_for, walk_scenario


async def _walk(sim: SimServer):  # type: ignore[no-untyped-def]
    async with Aws(settings_for(sim)) as aws:
        base = await aws.base_scope()
        with account_scope(base):
            org = await walk(aws, concurrency=4)
        return org, aws.stats


async def test_walk_finds_every_account_unit_and_policy(walk_sim: SimServer) -> None:
    org, stats = await _walk(walk_sim)
    expected = {a["id"] for a in walk_scenario()["accounts"]} | {MGMT}
    assert {a.id for a in org.accounts} == expected
    assert org.management_account_id == MGMT
    paths = [u.path for u in org.units]
    assert paths[0] == "Root"
    assert "Root/Workloads/Dev/Team-A/Experiments" in paths
    # Parents come before children, so a reader can build paths in one pass.
    seen: set[str] = set()
    for u in org.units:
        assert u.parent_id is None or u.parent_id in seen
        seen.add(u.id)
    # More accounts in one OU than one page holds: pagination was followed.
    prod = [a for a in org.accounts if a.ou_path == "Root/Workloads/Prod"]
    assert len(prod) == 25
    assert stats.attempts[("organization", "organizations:ListAccountsForParent")] > len(org.units)


async def test_walk_reads_status_tags_and_scp_attachments(walk_sim: SimServer) -> None:
    org, _ = await _walk(walk_sim)
    closed = org.account(SUSPENDED)
    assert closed.status is AccountState.SUSPENDED
    assert org.account("100000000105").tags == {"env": "prod", "team": "t2"}
    assert org.account(MGMT).is_management
    names = {p.id: p.name for p in org.policies.values()}
    workloads = next(u for u in org.units if u.path == "Root/Workloads")
    assert "DenyRoot" in {names[p] for p in workloads.policy_ids}
    log_archive = org.account("100000000300")
    assert "DenyRegions" in {names[p] for p in log_archive.policy_ids}


async def test_scope_filters_on_the_walked_org(walk_sim: SimServer) -> None:
    org, _ = await _walk(walk_sim)
    dev = in_scope(org, ScopeFilter(ous=("Root/Workloads/Dev",)), ScopeFilter())
    assert {a.name for a in dev} == {"deep-0", "deep-1", "deep-2", "no-audit-role"}
    team_a = next(u for u in org.units if u.path == "Root/Workloads/Dev/Team-A")
    by_id = in_scope(org, ScopeFilter(ous=(team_a.id,)), ScopeFilter())
    assert {a.name for a in by_id} == {"deep-0", "deep-1", "deep-2"}
    tagged = in_scope(org, ScopeFilter(tags={"team": ("t0",)}),
                      ScopeFilter(accounts=("100000000100",)))
    assert {a.name for a in tagged} == {f"prod-{i:02d}" for i in range(3, 25, 3)}
    # Exclusion wins over inclusion; an empty include means everything.
    rest = in_scope(org, ScopeFilter(), ScopeFilter(ous=("Root/Workloads",), accounts=(DENIED,)))
    assert {a.ou_path for a in rest} == {"Root", "Root/Security", "Root/Suspended"}
    tag_any = in_scope(org, ScopeFilter(tags={"env": ("*",)}), ScopeFilter())
    assert len(tag_any) == 28
