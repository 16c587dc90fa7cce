"""The collector registry: every fact orgscan can collect, by name.

Built once from each service module's ``COLLECTORS`` tuple, so adding a collector means adding
it to its module's tuple; the mapping itself is read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from scanner.aws.collectors.base import CollectContext, Collector, FactStore, Scope, closure

_MODULES: tuple[str, ...] = ("iam", "cloudtrail", "monitoring", "account", "orgfacts",
                             "eventhistory", "orgtrail", "athenasource", "lakesource",
                             "rootusage")


def _load() -> Mapping[str, Collector]:
    import importlib

    found: dict[str, Collector] = {}
    for mod in _MODULES:
        for c in importlib.import_module(f"scanner.aws.collectors.{mod}").COLLECTORS:
            if c.name in found:
                raise RuntimeError(f"two collectors named {c.name!r}")
            found[c.name] = c
    return MappingProxyType(found)


COLLECTORS: Mapping[str, Collector] = _load()


def fact_scopes() -> dict[str, Scope]:
    """Every fact a rule may read, with its scope: what rule validation checks names against
    (the core keeps no list of its own, so a new collector is usable in a rule at once)."""
    return {name: c.scope for name, c in COLLECTORS.items()}


__all__ = ["COLLECTORS", "CollectContext", "Collector", "FactStore", "closure", "fact_scopes"]
