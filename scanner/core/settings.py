"""What one scan was asked to do, frozen: the AWS settings and the validated configuration.

Built by ``scanner.run.config`` from the config file and the command line (validated against
``schemas/config.schema.json`` first); read everywhere else, never changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from scanner.core.rootusage import (
    ATHENA,
    CLOUDTRAIL_LAKE,
    CREDENTIAL_REPORT,
    DEFAULT_LOOKBACK_DAYS,
    EVENT_HISTORY,
    ORG_TRAIL,
)


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


class OptionError(ValueError):
    """A collector option no collector could use. ``key``: the field of the options class
    that refused it (the config loader knows where that class sits in the file)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class OrgTrailOptions:
    bucket: str | None = None  # None: the organization trail's own bucket
    prefix: str | None = None  # None: the trail's S3KeyPrefix; "" means no prefix
    log_archive_account: str | None = None  # whom to read the bucket as, first
    role_name: str | None = None  # None: the member role
    concurrency: int = 32  # log files read at once (the memory bound)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise OptionError("concurrency", "must be at least 1")


@dataclass(frozen=True)
class AthenaOptions:
    database: str = "default"
    table: str = "cloudtrail_org"
    workgroup: str = "primary"
    output_location: str | None = None  # None: the workgroup's own result location


EVENT_DATA_STORE_ARN = re.compile(
    r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore/[A-Za-z0-9-]{1,128}$")


@dataclass(frozen=True)
class LakeOptions:
    # None: the organization's own store, found with ListEventDataStores.
    event_data_store: str | None = None

    def __post_init__(self) -> None:
        arn = self.event_data_store
        if arn is not None and not EVENT_DATA_STORE_ARN.match(arn):
            raise OptionError("event_data_store", f"not an event data store ARN "
                              f"(arn:aws:cloudtrail:REGION:ACCOUNT:eventdatastore/ID): {arn!r}")

    @property
    def store_id(self) -> str | None:
        return self.event_data_store.rsplit("/", 1)[1] if self.event_data_store else None

    @property
    def region(self) -> str | None:
        return self.event_data_store.split(":")[3] if self.event_data_store else None


ROOT_USAGE_SOURCES = (CREDENTIAL_REPORT, EVENT_HISTORY, ORG_TRAIL, ATHENA, CLOUDTRAIL_LAKE)


@dataclass(frozen=True)
class RootUsageOptions:
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    # The cheap sources by default: neither reads a bucket nor runs a query.
    sources: tuple[str, ...] = (CREDENTIAL_REPORT, EVENT_HISTORY)
    event_history_regions: tuple[str, ...] = ()  # empty: the scanned regions
    org_trail: OrgTrailOptions = field(default_factory=OrgTrailOptions)
    athena: AthenaOptions = field(default_factory=AthenaOptions)
    cloudtrail_lake: LakeOptions = field(default_factory=LakeOptions)

    def __post_init__(self) -> None:
        if self.lookback_days < 1:
            raise OptionError("lookback_days", "must be at least 1")
        unknown = [s for s in self.sources if s not in ROOT_USAGE_SOURCES]
        if unknown:
            raise OptionError("sources", f"unknown source {unknown[0]!r} (one of "
                                         f"{', '.join(ROOT_USAGE_SOURCES)})")


@dataclass(frozen=True)
class CredentialReportOptions:
    """How long to poll for the IAM credential report (seconds)."""

    initial_delay: float = 0.5
    max_delay: float = 5.0
    timeout: float = 60.0

    def __post_init__(self) -> None:
        for key in ("initial_delay", "timeout"):
            if getattr(self, key) <= 0:
                raise OptionError(key, "must be more than 0")
        # The backoff doubles from initial_delay up to max_delay, never down to it.
        if self.max_delay < self.initial_delay:
            raise OptionError("max_delay", f"must be at least initial_delay "
                                           f"({self.initial_delay:g})")


@dataclass(frozen=True)
class ContactOptions:
    # The bundled rules read only the security contact (CIS 1.2): one call, not three, per
    # account.
    types: tuple[str, ...] = ("SECURITY",)

    def __post_init__(self) -> None:
        if not self.types:
            raise OptionError("types", "name at least one contact type")


@dataclass(frozen=True)
class CollectorOptions:
    """What the collectors are told by the config: parsed and checked once, when it loads."""

    root_usage: RootUsageOptions = field(default_factory=RootUsageOptions)
    credential_report: CredentialReportOptions = field(default_factory=CredentialReportOptions)
    alternate_contacts: ContactOptions = field(default_factory=ContactOptions)


@dataclass(frozen=True)
class ScanConfig:
    aws: AwsSettings = field(default_factory=AwsSettings)
    scan_management: bool = True
    management_uses_member_role: bool = False
    regions: tuple[str, ...] | None = None  # None: every enabled region (docs/semantics.md)
    concurrency: int = 32
    account_deadline_seconds: float = 300.0
    org_walk_concurrency: int = 8
    include: ScopeFilter = field(default_factory=ScopeFilter)
    exclude: ScopeFilter = field(default_factory=ScopeFilter)
    include_suspended: bool = True
    rules: RuleSelection = field(default_factory=RuleSelection)
    collector_options: CollectorOptions = field(default_factory=CollectorOptions)
    output_dir: str = "orgscan-out"
    formats: tuple[str, ...] = DEFAULT_FORMATS
    exceptions_file: str | None = None
    source: str = "<defaults>"  # the config file it came from
    # --shard i/n: scan only the accounts scanner.run.shard assigns to shard i of n.
    shard: tuple[int, int] | None = None

    @property
    def lookback_days(self) -> int:
        return self.collector_options.root_usage.lookback_days


ALL_FORMATS = ("json", "csv", "graph", "html", "markdown", "ocsf", "asff", "junit", "pdf")
