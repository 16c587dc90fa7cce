"""What the root-usage sources share: their options, the window they search, and whether the
config selects them (``root_usage`` in the config; parsed once, in ``scanner.run.config``)."""

from __future__ import annotations

from collections.abc import Callable

from scanner.aws.collectors.base import CollectContext
from scanner.core.models import JSON
from scanner.core.rootusage import Window
from scanner.core.settings import CollectorOptions, RootUsageOptions


def options(ctx: CollectContext) -> RootUsageOptions:
    return ctx.options.root_usage


def sources(ctx: CollectContext) -> tuple[str, ...]:
    return ctx.options.root_usage.sources


def selected(source: str) -> Callable[[CollectorOptions], bool]:
    """A collector's ``enabled``: on only when the config selects its source (so a scan
    asks for no permission it does not use)."""
    return lambda collector_options: source in collector_options.root_usage.sources


def window(ctx: CollectContext) -> Window:
    """The lookback every source searches: it ends at the scan's start."""
    return Window.ending(ctx.now, ctx.options.root_usage.lookback_days)


def not_selected(source: str) -> JSON:
    return {"selected": False, "source": source}


__all__ = ["not_selected", "options", "selected", "sources", "window"]
