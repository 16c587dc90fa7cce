"""Load and validate the config file, apply CLI overrides, and freeze it into ScanConfig.

Validation happens before any AWS call: a bad file fails with its path, line, YAML path and
a hint (see yamlfile.py). With no file, the defaults below apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from scanner.core.errors import ConfigError, ConfigErrors
from scanner.core.settings import (
    AthenaOptions,
    AwsSettings,
    CollectorOptions,
    ContactOptions,
    CredentialReportOptions,
    LakeOptions,
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
    closest,
    load_schema,
    parse_yaml,
    schema_errors,
)
from scanner.run.inputs import load_yaml

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


# The command-line flag behind each override: a bad value is blamed on what the user typed.
FLAGS = {
    "role_name": "--role-name", "regions": "--region", "out": "--out",
    "concurrency": "--concurrency", "profile": "--profile", "endpoint_url": "--endpoint-url",
    "lookback_days": "--lookback-days", "formats": "--format", "exceptions": "--exceptions",
}


def load_config(path: Path | None = None, *, defaults_name: str = "<defaults>",
                **overrides: Any) -> ScanConfig:
    """Read ``path`` (or nothing: the defaults, recorded as ``defaults_name``), apply CLI
    overrides, validate, freeze. A bad override is reported against its flag, not the file."""
    flag_errors = _flag_errors(overrides)
    if flag_errors:
        raise ConfigErrors(flag_errors)
    doc = parse_yaml("{}", defaults_name) if path is None else load_yaml(path)
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise doc.error((), "the config must be a mapping of options")
    _apply_overrides(doc.data, overrides)
    errors = schema_errors(doc, load_schema("config.schema.json"))
    if errors:
        raise ConfigErrors(errors)
    config = _freeze(doc)
    _check_regions(config, doc, from_flag=bool(overrides.get("regions")))
    if "pdf" in config.formats:
        # The optional extra is checked before any scan, not found missing after one.
        from scanner.report.pdfextra import require_pdf
        require_pdf()
    return config


def _flag_errors(overrides: Mapping[str, Any]) -> list[ConfigError]:
    """Each flag's value checked alone against the config schema, so the error names the flag
    and says what a valid value looks like."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema("config.schema.json"))
    errors: list[ConfigError] = []
    for name, value in overrides.items():
        flag = FLAGS.get(name)
        if flag is None or value is None or value == ():
            continue
        data: dict[str, Any] = {}
        _apply_overrides(data, {name: value})
        for err in validator.iter_errors(data):
            errors.append(_flag_error(flag, jsonschema.exceptions.best_match([err])))
    return errors


def _flag_error(flag: str, err: Any) -> ConfigError:
    value, bound = err.instance, err.validator_value
    if err.validator == "minimum":
        return ConfigError(flag, f"must be at least {bound}, got {value}")
    if err.validator == "maximum":
        return ConfigError(flag, f"must be at most {bound}, got {value}")
    if flag == "--region" and err.validator in ("pattern", "const"):
        return ConfigError(f"{flag} {value}", "not a region name; expected like us-east-1 "
                           "(or 'all' alone: every region enabled in each account)")
    if err.validator == "enum":
        return ConfigError(f"{flag} {value}", f"expected one of: {', '.join(map(str, bound))}")
    if err.validator == "pattern" and flag == "--endpoint-url":
        return ConfigError(f"{flag} {value}", "expected an http:// or https:// URL")
    return ConfigError(flag, err.message)


def _check_regions(config: ScanConfig, doc: YamlDoc, *, from_flag: bool) -> None:
    """The home region must be a region name of some partition, and every requested region a
    region of that partition (botocore's endpoint data, no AWS call): a name that is well
    formed but no region would otherwise be searched "successfully" in nothing.
    docs/outputs.md, "Regions"."""
    from scanner.aws.regions import partition_of, partition_regions

    home = config.aws.region
    partition = partition_of(home)
    if partition is None:
        raise doc.error(("aws", "region"), f"{home!r} is not a region name of any partition",
                        "e.g. us-east-1")
    known = partition_regions(home)
    requested: list[tuple[PathKey, str]] = [
        (("regions", i), r) for i, r in enumerate(config.regions or ())]
    requested += [(("root_usage", "event_history_regions", i), r) for i, r in
                  enumerate(config.collector_options.root_usage.event_history_regions)]
    for path, region in requested:
        if region in known:
            continue
        message = f"not a region of the {partition} partition"
        hint = closest(region, known) or f"known: {', '.join(sorted(known))}"
        if from_flag and path[0] == "regions":
            raise ConfigError(f"--region {region}", message, hint=hint)
        raise doc.error(path, f"{region!r} is {message}", hint)


def _filter(raw: Mapping[str, Any] | None) -> ScopeFilter:
    raw = raw or {}
    tags = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in raw.get("tags", {}).items()}
    return ScopeFilter(tuple(raw.get("ous", ())), tuple(raw.get("accounts", ())), tags)


# Config keys -> (dataclass field, conversion). A key the file does not set is left out, so
# each default is the dataclass's own (scanner/core/settings.py): written once, there.
_AWS_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "region": ("region", str), "endpoint_url": ("endpoint_url", str),
    "profile": ("profile", str), "management_role_arn": ("management_role_arn", str),
    "member_role_name": ("role_name", str), "external_id": ("external_id", str),
    "role_session_name": ("session_name", str), "role_session_duration": ("session_duration", int),
    "max_attempts": ("max_attempts", int), "connect_timeout": ("connect_timeout", float),
    "read_timeout": ("read_timeout", float),
}
_SCAN_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "concurrency": ("concurrency", int),
    "account_deadline_seconds": ("account_deadline_seconds", float),
    "org_walk_concurrency": ("org_walk_concurrency", int),
}
_MANAGEMENT_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "scan": ("scan_management", bool), "use_member_role": ("management_uses_member_role", bool),
}
_RULE_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "dirs": ("dirs", tuple), "include": ("include", tuple), "exclude": ("exclude", tuple),
    "min_severity": ("min_severity", str), "frameworks": ("frameworks", tuple),
}
_OUTPUT_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "directory": ("output_dir", str), "formats": ("formats", tuple),
}


def _set(raw: Mapping[str, Any] | None,
         keys: Mapping[str, tuple[str, Callable[[Any], Any]]]) -> dict[str, Any]:
    """The dataclass arguments for the keys ``raw`` sets (null: not set)."""
    raw = raw or {}
    return {name: convert(raw[key]) for key, (name, convert) in keys.items()
            if raw.get(key) is not None}


def _freeze(doc: YamlDoc) -> ScanConfig:
    d: dict[str, Any] = doc.data
    scope = d.get("scope") or {}
    regions_raw = d.get("regions", "all")
    scan = _set(d.get("scan"), _SCAN_KEYS)
    concurrency = scan.get("concurrency", ScanConfig.concurrency)
    # Enough pooled connections for every account in flight to make a few calls at once.
    settings = AwsSettings(**_set(d.get("aws"), _AWS_KEYS),
                           max_pool_connections=max(10, concurrency * 4))
    extra: dict[str, Any] = {}
    if "include_suspended" in scope:
        extra["include_suspended"] = bool(scope["include_suspended"])
    if d.get("exceptions") is not None:
        extra["exceptions_file"] = str(d["exceptions"])
    return ScanConfig(
        aws=settings,
        regions=None if regions_raw == "all" else tuple(regions_raw),
        include=_filter(scope.get("include")),
        exclude=_filter(scope.get("exclude")),
        rules=RuleSelection(**_set(d.get("rules"), _RULE_KEYS)),
        collector_options=collector_options(d, doc),
        source=doc.path,
        **scan, **_set(d.get("management_account"), _MANAGEMENT_KEYS),
        **_set(d.get("output"), _OUTPUT_KEYS), **extra,
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
    lake = root.pop("cloudtrail_lake", None)
    return CollectorOptions(
        root_usage=_build(
            doc, ("root_usage",), RootUsageOptions, root,
            org_trail=_build(doc, ("root_usage", "org_trail"), OrgTrailOptions, trail),
            athena=_build(doc, ("root_usage", "athena"), AthenaOptions, athena),
            cloudtrail_lake=_build(doc, ("root_usage", "cloudtrail_lake"), LakeOptions, lake)),
        credential_report=_build(doc, ("credential_report",), CredentialReportOptions,
                                 data.get("credential_report")),
        alternate_contacts=_build(doc, ("alternate_contacts",), ContactOptions,
                                  data.get("alternate_contacts")),
    )
