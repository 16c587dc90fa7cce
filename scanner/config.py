"""Load and validate the config file, apply CLI overrides, and freeze it into ScanConfig.

Validation happens before any AWS call: a bad file fails with its path, line, YAML path and
a hint (see yamlfile.py). With no file, the defaults below apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.aws import AwsSettings
from scanner.errors import ConfigError
from scanner.yamlfile import YamlDoc, load_schema, load_yaml, parse_yaml, schema_errors

DEFAULT_FORMATS = ("json", "csv", "graph")


@dataclass(frozen=True)
class ScopeFilter:
    ous: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.ous or self.accounts or self.tags)


@dataclass(frozen=True)
class RuleSelection:
    dirs: tuple[str, ...] = ()  # empty: the bundled rule pack
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_severity: str | None = None
    frameworks: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanConfig:
    aws: AwsSettings = field(default_factory=AwsSettings)
    scan_management: bool = True
    management_uses_member_role: bool = False
    regions: tuple[str, ...] | None = None  # None: every enabled region (ROOT-SEMANTICS)
    concurrency: int = 32
    account_deadline_seconds: float = 300.0
    org_walk_concurrency: int = 8
    include: ScopeFilter = field(default_factory=ScopeFilter)
    exclude: ScopeFilter = field(default_factory=ScopeFilter)
    include_suspended: bool = True
    rules: RuleSelection = field(default_factory=RuleSelection)
    # Options handed to collectors as-is (root_usage, credential_report), already validated.
    collector_options: Mapping[str, Any] = field(default_factory=dict)
    output_dir: str = "orgscan-out"
    formats: tuple[str, ...] = DEFAULT_FORMATS
    exceptions_file: str | None = None
    source: str = "<defaults>"  # the config file it came from
    # --shard i/n: scan only the accounts scanner.shard assigns to shard i of n.
    shard: tuple[int, int] | None = None

    @property
    def lookback_days(self) -> int:
        return int(self.collector_options.get("root_usage", {}).get("lookback_days", 90))


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


class ConfigErrors(ConfigError):
    """Every problem in one file at once, so a user fixes them in one pass."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.path, first.message, yaml_path=first.yaml_path,
                         hint=first.hint, line=first.line)
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


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
    collector_options = {
        "root_usage": {"lookback_days": 90, **d.get("root_usage", {})},
        "credential_report": d.get("credential_report", {}),
        "alternate_contacts": d.get("alternate_contacts", {}),
    }
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
        collector_options=collector_options,
        output_dir=out.get("directory", "orgscan-out"),
        formats=tuple(out.get("formats", DEFAULT_FORMATS)),
        exceptions_file=d.get("exceptions"),
        source=doc.path,
    )
