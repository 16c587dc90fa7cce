"""What a collector is, and the per-account fact store that runs each one at most once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from scanner.aws.errors import classify
from scanner.aws.session import AccountScope, Aws, account_scope
from scanner.core.errors import AwsError
from scanner.core.models import JSON, Account, FactError, Organization
from scanner.core.settings import CollectorOptions

Scope = Literal["account", "organization"]


@dataclass(frozen=True)
class CollectContext:
    """Everything a collector may use. Calls made through ``aws`` sign as the scope that the
    orchestrator entered for this account (or the management account for organization scope)."""

    aws: Aws
    org: Organization
    account: Account | None  # None for organization-scope facts
    account_id: str  # the account whose credentials are in scope
    regions: tuple[str, ...]
    now: datetime  # the scan's start: windows end here
    options: CollectorOptions  # from the config, parsed and checked when it loaded
    facts: FactStore

    @property
    def home_region(self) -> str:
        return self.aws.settings.region


Fetch = Callable[[CollectContext], Awaitable[JSON]]


def always(_options: CollectorOptions) -> bool:
    return True


@dataclass(frozen=True)
class Collector:
    name: str  # the fact name rules read, e.g. "iam.credential_report"
    scope: Scope
    actions: tuple[str, ...]  # the exact IAM actions fetch needs (for `orgscan permissions`)
    fetch: Fetch
    description: str = ""
    # Other facts this one reads through ctx.facts (their actions are needed too).
    uses: tuple[str, ...] = ()
    # Facts it reads only on some paths (e.g. virtual MFA devices only when root has MFA):
    # their actions are needed too, but the orchestrator does not fetch them ahead of time.
    lazy: tuple[str, ...] = ()
    # Whether the config selects this collector at all (e.g. a root-usage source): one that
    # is off needs no permission.
    enabled: Callable[[CollectorOptions], bool] = always


@dataclass
class FactStore:
    """Memoises facts for one account: each collector runs at most once however many rules or
    collectors read it; a failure is stored as FactError and handed to every reader.

    It creates no tasks (the orchestrator is the only place that does): the first reader runs
    the fetch and publishes the result in a future that later readers await.
    """

    collectors: Mapping[str, Collector]
    make_context: Callable[[FactStore], CollectContext]
    # Whose credentials this store's collectors sign with, whoever asks first.
    scope: AccountScope | None = None
    parent: FactStore | None = None  # organization-scope facts, shared by every account
    _futures: dict[str, asyncio.Future[JSON | FactError]] = field(default_factory=dict)

    async def get(self, name: str) -> JSON | FactError:
        collector = self.collectors.get(name)
        if collector is None:
            return FactError("UnknownFact", f"no collector provides {name!r}")
        if collector.scope == "organization" and self.parent is not None:
            return await self.parent.get(name)
        fut = self._futures.get(name)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = self._futures[name] = asyncio.get_running_loop().create_future()
        try:
            result = await self._run(collector)
        except BaseException:
            fut.cancel()  # readers waiting on it are cut short with the first reader
            raise
        fut.set_result(result)
        return result

    async def require(self, name: str) -> JSON:
        """For collectors that build on another fact: its failure becomes theirs."""
        value = await self.get(name)
        if isinstance(value, FactError):
            raise AwsError(value.code, f"{name}: {value.message}")
        return value

    async def _run(self, collector: Collector) -> JSON | FactError:
        try:
            if self.scope is None:
                return await collector.fetch(self.make_context(self))
            with account_scope(self.scope):
                return await collector.fetch(self.make_context(self))
        except AwsError as exc:
            return FactError(exc.code, str(exc))
        except Exception as exc:
            err = classify(exc, service=collector.name.split(".")[0])
            if err is None:
                raise  # a bug in a collector is a bug: it fails the scan with its traceback
            return FactError(err.code, str(err))


def closure(names: set[str], collectors: Mapping[str, Collector], *,
            lazy: bool = True) -> set[str]:
    """The facts named plus every fact they use, transitively (``lazy=False``: without the
    facts read only on some paths, i.e. what is worth fetching ahead of time)."""
    out: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        c = collectors.get(name)
        if c is not None:
            todo.extend(c.uses)
            if lazy:
                todo.extend(c.lazy)
    return out
