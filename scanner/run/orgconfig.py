"""The ``organizations:`` list of a config file: one ScanConfig per organization.

Each entry names the organization (``label``, also its directory under the output directory)
and its own way in: a ``profile``, a ``role_arn`` assumed from the base credentials (with an
optional ``external_id``), or an ``endpoint_url`` (a simulator). It may narrow the member
role, scope, regions and root-usage sources; every other key is the top level's. A config
without ``organizations:`` is a single-organization config, read by ``load_config`` as always.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scanner.core.errors import ConfigError
from scanner.core.settings import ScanConfig
from scanner.core.yamldoc import PathKey, YamlDoc
from scanner.run.config import _check_regions, _filter, load_config
from scanner.run.inputs import load_yaml

KEY = "organizations"
# The combined outputs beside the organizations' directories (scanner/report/combined*.py).
RESERVED = frozenset({"organizations.json", "organizations-manifest.json", "root-usage.json",
                      "root-usage.csv", "ou-summary.json", "ou-summary.csv", "report.html"})


@dataclass(frozen=True)
class OrgConfig:
    """One organization of a multi-organization run: its label and its whole configuration
    (its output directory is ``<output.directory>/<label>``)."""

    label: str
    config: ScanConfig


class _EntryDoc(YamlDoc):
    """The file seen from one ``organizations`` entry: its errors name the entry's path."""

    def __init__(self, doc: YamlDoc, index: int) -> None:
        super().__init__(doc.path, doc.data, {})
        self._doc, self._index = doc, index

    def error(self, parts: PathKey, message: str, hint: str = "") -> ConfigError:
        if tuple(parts) == ("aws", "region"):
            parts = ("region",)  # an entry names its home region without the aws section
        return self._doc.error((KEY, self._index, *parts), message, hint)


def has_organizations(path: Path | None) -> bool:
    """Does the config file list organizations (a multi-organization run)?"""
    if path is None:
        return False
    data = load_yaml(path).data
    return isinstance(data, dict) and bool(data.get(KEY))


def load_organizations(path: Path, *, only: Sequence[str] = (),
                       **overrides: Any) -> tuple[ScanConfig, list[OrgConfig]]:
    """The top-level config and one config per organization of ``path`` (all of them, or
    those ``only`` names, in the file's order). The whole file is validated first (schema
    errors name the entry and key); an unknown label in ``only`` is a usage error listing the
    labels there are."""
    base = load_config(path, **overrides)
    doc = load_yaml(path)
    entries = doc.data.get(KEY) or []
    labels = [str(e["label"]) for e in entries]
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label.casefold() in RESERVED:
            # A label is a directory beside the combined outputs: it must not be one of them.
            raise doc.error((KEY, i, "label"), f"label {label!r} is the name of a combined "
                            "output", f"reserved: {', '.join(sorted(RESERVED))}")
        first = seen.setdefault(label.casefold(), i)
        if first != i:
            # Labels are directory names: two that differ only in case collide on some disks.
            raise doc.error((KEY, i, "label"), f"label {label!r} is already used by entry "
                            f"{first} ({labels[first]!r})", "labels are unique, ignoring case")
    for label in only:
        if label not in labels:
            raise ConfigError("--organization", f"unknown organization {label!r} in {path}",
                              hint=f"labels: {', '.join(labels)}")
    out = []
    for i, entry in enumerate(entries):
        if only and entry["label"] not in only:
            continue
        config = organization_config(base, entry)
        _check_regions(config, _EntryDoc(doc, i), from_flag=False)
        out.append(OrgConfig(str(entry["label"]), config))
    return base, out


def organization_config(base: ScanConfig, entry: Mapping[str, Any]) -> ScanConfig:
    """``base`` (the top level) as one ``organizations`` entry changes it (schema-valid)."""
    aws = base.aws
    way_in: dict[str, Any] = {}
    if entry.get("profile") is not None:
        # The organization's own credentials: a top-level role belongs to another organization.
        way_in.update(profile=entry["profile"], management_role_arn=None)
    if entry.get("role_arn") is not None:
        way_in["management_role_arn"] = entry["role_arn"]
    if entry.get("endpoint_url") is not None:
        way_in["endpoint_url"] = entry["endpoint_url"]
    for key, field in (("external_id", "external_id"), ("role_name", "role_name"),
                       ("region", "region")):
        if entry.get(key) is not None:
            way_in[field] = entry[key]
    config = replace(base, aws=replace(aws, **way_in),
                     output_dir=str(Path(base.output_dir) / str(entry["label"])))
    scope = entry.get("scope") or {}
    if "include" in scope:
        config = replace(config, include=_filter(scope["include"]))
    if "exclude" in scope:
        config = replace(config, exclude=_filter(scope["exclude"]))
    if "include_suspended" in scope:
        config = replace(config, include_suspended=bool(scope["include_suspended"]))
    if "regions" in entry:
        regions = entry["regions"]
        config = replace(config, regions=None if regions == "all" else tuple(regions))
    sources = (entry.get("root_usage") or {}).get("sources")
    if sources:
        options = config.collector_options
        config = replace(config, collector_options=replace(
            options, root_usage=replace(options.root_usage, sources=tuple(sources))))
    return config
