"""Load and validate the config file, apply CLI overrides, and freeze it into ScanConfig.

Validation happens before any AWS call: a bad file fails with its path, line, YAML path and
a hint (see yamlfile.py). With no file, the defaults below apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from scanner.core.errors import ConfigErrors
from scanner.core.settings import (
    DEFAULT_FORMATS,
    AthenaOptions,
    AwsSettings,
    CollectorOptions,
    ContactOptions,
    CredentialReportOptions,
    OptionError,
    OrgTrailOptions,
    RootUsageOptions,
    RuleSelection,
    ScanConfig,
    ScopeFilter,
)
from scanner.core.yamldoc import (
    PathKey,
    YamlDoc,
    load_schema,
    load_yaml,
    parse_yaml,
    schema_errors,
)

# Keys of CLI overrides, mapped onto the config file's structure.
_OVERRIDES = {
    "role_name": ("aws", "member_role_name"),
    "profile": ("aws", "profile"),
    "endpoint_url": ("aws", "endpoint_url"),
    "out": ("output", "directory"),
    "concurrency": ("scan", "concurrency"),
    "lookback_days": ("root_usage", "lookback_days"),
    "root_usage_sources": ("root_usage", "sources"),
    "exceptions": ("exceptions",),
}


def _apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    for name, value in overrides.items():
        if value is None or value == ():
            continue
        if name == "regions":
            data["regions"] = "all" if list(value) == ["all"] else list(value)
            continue
        if name == "formats":
            data.setdefault("output", {})["formats"] = list(value)
            continue
        path = _OVERRIDES.get(name)
        if path is None:
            raise ValueError(f"unknown override {name!r}")
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value


def load_config(path: Path | None = None, **overrides: Any) -> ScanConfig:
    """Read ``path`` (or nothing), apply CLI overrides, validate, freeze."""
    doc = parse_yaml("{}", "<defaults>") if path is None else load_yaml(path)
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise doc.error((), "the config must be a mapping of options")
    _apply_overrides(doc.data, overrides)
    errors = schema_errors(doc, load_schema("config.schema.json"))
    if errors:
        raise ConfigErrors(errors)
    return _freeze(doc)


def _filter(raw: Mapping[str, Any] | None) -> ScopeFilter:
    raw = raw or {}
    tags = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in raw.get("tags", {}).items()}
    return ScopeFilter(tuple(raw.get("ous", ())), tuple(raw.get("accounts", ())), tags)


def _freeze(doc: YamlDoc) -> ScanConfig:
    d: dict[str, Any] = doc.data
    aws = d.get("aws", {})
    scan = d.get("scan", {})
    rules = d.get("rules", {})
    out = d.get("output", {})
    mgmt = d.get("management_account", {})
    scope = d.get("scope", {})
    regions_raw = d.get("regions", "all")
    regions = None if regions_raw == "all" else tuple(regions_raw)
    concurrency = int(scan.get("concurrency", 32))
    settings = AwsSettings(
        region=aws.get("region", "us-east-1"),
        endpoint_url=aws.get("endpoint_url"),
        profile=aws.get("profile"),
        management_role_arn=aws.get("management_role_arn"),
        role_name=aws.get("member_role_name", "OrganizationAccountAccessRole"),
        external_id=aws.get("external_id"),
        session_name=aws.get("role_session_name", "orgscan"),
        session_duration=int(aws.get("role_session_duration", 3600)),
        max_attempts=int(aws.get("max_attempts", 8)),
        connect_timeout=float(aws.get("connect_timeout", 10)),
        read_timeout=float(aws.get("read_timeout", 30)),
        # Enough pooled connections for every account in flight to make a few calls at once.
        max_pool_connections=max(10, concurrency * 4),
    )
    return ScanConfig(
        aws=settings,
        scan_management=bool(mgmt.get("scan", True)),
        management_uses_member_role=bool(mgmt.get("use_member_role", False)),
        regions=regions,
        concurrency=concurrency,
        account_deadline_seconds=float(scan.get("account_deadline_seconds", 300)),
        org_walk_concurrency=int(scan.get("org_walk_concurrency", 8)),
        include=_filter(scope.get("include")),
        exclude=_filter(scope.get("exclude")),
        include_suspended=bool(scope.get("include_suspended", True)),
        rules=RuleSelection(
            dirs=tuple(rules.get("dirs", ())),
            include=tuple(rules.get("include", ())),
            exclude=tuple(rules.get("exclude", ())),
            min_severity=rules.get("min_severity"),
            frameworks=tuple(rules.get("frameworks", ())),
        ),
        collector_options=collector_options(d, doc),
        output_dir=out.get("directory", "orgscan-out"),
        formats=tuple(out.get("formats", DEFAULT_FORMATS)),
        exceptions_file=d.get("exceptions"),
        source=doc.path,
    )


# --- collector options ------------------------------------------------------------------------

_Options = TypeVar("_Options")
# Where "" differs from absent: an empty prefix reads the bucket's top, not the trail's prefix.
_EMPTY_MEANS_EMPTY = frozenset({"prefix"})


def _given(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keys the config sets. Null, "" and [] leave the option's default (as the
    collectors always read them); lists become tuples, as the options are frozen."""
    out: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        if value is None or (value in ("", []) and key not in _EMPTY_MEANS_EMPTY):
            continue
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def _build(doc: YamlDoc, path: PathKey, cls: type[_Options], raw: Mapping[str, Any] | None,
           **nested: Any) -> _Options:
    values = _given(raw)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in values:
        if key not in known:
            raise doc.error((*path, key), f"unknown key {key!r}")
    values.update(nested)
    try:
        return cls(**values)
    except OptionError as exc:
        raise doc.error((*path, exc.key), exc.message) from None


def collector_options(data: Mapping[str, Any], doc: YamlDoc | None = None) -> CollectorOptions:
    """The typed options of every collector, from the config's ``root_usage``,
    ``credential_report`` and ``alternate_contacts`` sections (``data``: the whole config,
    schema-valid when it comes from a file). The only place they are parsed: a value no
    collector could use fails here, naming the file and key, before any AWS call."""
    doc = doc or YamlDoc("<collector options>", data, {})
    root = dict(data.get("root_usage") or {})
    trail, athena = root.pop("org_trail", None), root.pop("athena", None)
    return CollectorOptions(
        root_usage=_build(
            doc, ("root_usage",), RootUsageOptions, root,
            org_trail=_build(doc, ("root_usage", "org_trail"), OrgTrailOptions, trail),
            athena=_build(doc, ("root_usage", "athena"), AthenaOptions, athena)),
        credential_report=_build(doc, ("credential_report",), CredentialReportOptions,
                                 data.get("credential_report")),
        alternate_contacts=_build(doc, ("alternate_contacts",), ContactOptions,
                                  data.get("alternate_contacts")),
    )
