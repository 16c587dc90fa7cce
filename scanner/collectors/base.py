"""What a collector is, and the per-account fact store that runs each one at most once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from scanner.aws import Aws
from scanner.errors import AwsError, translate
from scanner.models import JSON, Account, FactError, Organization

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
    options: Mapping[str, Any]  # collector options from the config (e.g. root_usage)
    facts: FactStore

    @property
    def home_region(self) -> str:
        return self.aws.settings.region


Fetch = Callable[[CollectContext], Awaitable[JSON]]


@dataclass(frozen=True)
class Collector:
    name: str  # the fact name rules read, e.g. "iam.credential_report"
    scope: Scope
    actions: tuple[str, ...]  # the exact IAM actions fetch needs (for `orgscan permissions`)
    fetch: Fetch
    description: str = ""
    # Other facts this one reads through ctx.facts (their actions are needed too).
    uses: tuple[str, ...] = ()


@dataclass
class FactStore:
    """Memoises facts for one account: each collector runs at most once, concurrently with the
    others; a failure is stored as FactError and handed to every rule that reads it."""

    collectors: Mapping[str, Collector]
    make_context: Callable[[FactStore], CollectContext]
    parent: FactStore | None = None  # organization-scope facts, shared by every account
    _tasks: dict[str, asyncio.Task[JSON | FactError]] = field(default_factory=dict)

    async def get(self, name: str) -> JSON | FactError:
        collector = self.collectors.get(name)
        if collector is None:
            return FactError("UnknownFact", f"no collector provides {name!r}")
        if collector.scope == "organization" and self.parent is not None:
            return await self.parent.get(name)
        task = self._tasks.get(name)
        if task is None:
            # asyncio.Task so that concurrent readers of the same fact share one fetch.
            task = self._tasks[name] = asyncio.ensure_future(self._run(collector))
        return await task

    async def require(self, name: str) -> JSON:
        """For collectors that build on another fact: its failure becomes theirs."""
        value = await self.get(name)
        if isinstance(value, FactError):
            raise AwsError(value.code, f"{name}: {value.message}")
        return value

    async def _run(self, collector: Collector) -> JSON | FactError:
        try:
            return await collector.fetch(self.make_context(self))
        except AwsError as exc:
            return FactError(exc.code, str(exc))
        except Exception as exc:  # noqa: BLE001 - any collection failure is data
            try:
                err = translate(exc, service=collector.name.split(".")[0])
            except TypeError:
                # A bug in a collector: keep it visible in the finding, never a pass.
                return FactError("CollectorError", f"{collector.name}: {type(exc).__name__}: {exc}")
            return FactError(err.code, str(err))

    def collected(self) -> dict[str, JSON | FactError]:
        """Every fact fetched so far (finished tasks only)."""
        return {n: t.result() for n, t in self._tasks.items() if t.done() and not t.cancelled()}


def closure(names: set[str], collectors: Mapping[str, Collector]) -> set[str]:
    """The facts named plus every fact they use, transitively."""
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
    return out
