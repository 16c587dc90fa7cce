"""The collector registry: every fact orgscan can collect, by name.

Built once from each service module's ``COLLECTORS`` tuple, so adding a collector means adding
it to its module's tuple; the mapping itself is read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from scanner.aws.collectors.base import CollectContext, Collector, FactStore, closure

_MODULES: tuple[str, ...] = ("iam", "cloudtrail", "monitoring", "account", "orgfacts",
                             "eventhistory", "orgtrail", "athenasource", "rootusage")


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


def required_actions(fact_names: Iterable[str]) -> list[str]:
    """The IAM actions needed to collect these facts and everything they use."""
    actions: set[str] = set()
    for name in closure(set(fact_names), COLLECTORS):
        c = COLLECTORS.get(name)
        if c is not None:
            actions.update(c.actions)
    return sorted(actions)


__all__ = ["COLLECTORS", "CollectContext", "Collector", "FactStore", "closure", "required_actions"]
