"""The simulated organization for the root-usage tests, and fact stores built as the
orchestrator builds them (organization facts once, in the management scope)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from scanner.aws.collectors import COLLECTORS, CollectContext, FactStore
from scanner.aws.org import walk
from scanner.aws.session import AccountScope, Aws
from scanner.core.errors import AwsError
from scanner.core.models import JSON, FactError, Organization
from scanner.core.settings import AwsSettings, CollectorOptions
from scanner.run.config import collector_options
from scanner.sim import SimServer
from tests.conftest import use_simulator


@pytest.fixture(scope="session")
def demo() -> Iterator[SimServer]:
    with SimServer("demo") as server:
        yield server


@pytest.fixture
def demo_env(demo: SimServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimServer]:
    use_simulator(demo, monkeypatch)
    yield demo
    demo.set_faults({})


@dataclass
class OrgScan:
    aws: Aws
    org: Organization
    base: AccountScope
    org_store: FactStore
    options: CollectorOptions
    regions: tuple[str, ...]
    sim: SimServer
    stores: dict[str, FactStore] = field(default_factory=dict)

    async def store(self, account_id: str) -> FactStore:
        if account_id not in self.stores:
            scope = (self.base if account_id == self.base.account_id
                     else await self.aws.assume(self.base, account_id))
            account = self.org.account(account_id)
            self.stores[account_id] = FactStore(
                COLLECTORS, make_context=lambda fs: CollectContext(
                    aws=self.aws, org=self.org, account=account, account_id=account_id,
                    regions=self.regions, now=self.sim.now, options=self.options, facts=fs),
                scope=scope, parent=self.org_store)
        return self.stores[account_id]

    async def fact(self, account_id: str, name: str) -> JSON | FactError:
        try:
            store = await self.store(account_id)
        except AwsError as exc:
            return FactError(exc.code, str(exc))
        return await store.get(name)


@asynccontextmanager
async def org_scan(sim: SimServer, options: dict[str, Any],
                   regions: tuple[str, ...] = ("us-east-1", "eu-west-1")) -> AsyncIterator[OrgScan]:
    """``options``: the config's sections (root_usage, ...), parsed as a config file's are."""
    typed = collector_options(options)
    async with Aws(AwsSettings(endpoint_url=sim.endpoint, max_attempts=3)) as aws:
        base = await aws.base_scope()
        from scanner.aws.session import account_scope

        with account_scope(base):
            org = await walk(aws)
        org_store = FactStore(COLLECTORS, make_context=lambda fs: CollectContext(
            aws=aws, org=org, account=None, account_id=base.account_id, regions=regions,
            now=sim.now, options=typed, facts=fs), scope=base)
        yield OrgScan(aws, org, base, org_store, typed, regions, sim)
