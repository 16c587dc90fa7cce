"""What one scan was asked to do, frozen: the AWS settings and the validated configuration.

Built by ``scanner.run.config`` from the config file and the command line (validated against
``schemas/config.schema.json`` first); read everywhere else, never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AwsSettings:
    region: str = "us-east-1"  # home region for global services and the org walk
    endpoint_url: str | None = None
    profile: str | None = None
    management_role_arn: str | None = None  # assumed first, with the base credentials
    role_name: str = "OrganizationAccountAccessRole"
    external_id: str | None = None
    session_name: str = "orgscan"
    session_duration: int = 3600
    max_attempts: int = 8
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_pool_connections: int = 64
    # Explicit (access key id, secret) instead of the standard chain: the demo's simulator.
    credentials: tuple[str, str] | None = field(default=None, repr=False)


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
    # --shard i/n: scan only the accounts scanner.run.shard assigns to shard i of n.
    shard: tuple[int, int] | None = None

    @property
    def lookback_days(self) -> int:
        return int(self.collector_options.get("root_usage", {}).get("lookback_days", 90))


ALL_FORMATS = ("json", "csv", "graph", "html", "markdown", "ocsf", "asff", "junit")
