"""The evidence bundle: one directory (and a zip of it) an auditor can keep and check later.

Layout (docs/auditing.md explains it to auditors)::

    evidence-bundle/
      manifest.json               who, when, tool, rules (SHA-256 of each rule file), config
                                  (secrets removed), regions, lookback, coverage, and the
                                  SHA-256 and size of every other file in the bundle
      reports/...                 the reports this scan wrote (findings.json, csv, html, ...)
      reports/exceptions-report.json   when exceptions were applied
      evidence/<account-id>.json  per account: coverage, the credential report (root row and
                                  all rows), root usage with its matching CloudTrail root
                                  events, every other fact as collected, the findings
      evidence/organization.json  the organization as walked, organization facts and findings
    evidence-bundle.zip           the same directory, zipped
    evidence-bundle.zip.sha256    SHA-256 of the zip and of manifest.json (record these)

Secrets never enter the bundle: values under secret-looking keys (secret, session token,
password, credentials, external id, private key) are replaced by "<redacted>", and every file is
then searched for the secret values the scan knew (the configured credentials and external id);
a hit is a bug, and the bundle is deleted rather than written with it. Access key *ids* in
CloudTrail events are identifiers, not secrets, and stay: they tell which key root signed with.

``verify`` recomputes every hash and names each tampered, missing or extra file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema

from scanner.core.errors import ConfigError
from scanner.core.mutelist import ExceptionReport
from scanner.core.results import (
    JOURNAL_NAME,
    AccountResult,
    Coverage,
    ScanResult,
    account_to_json,
    fact_to_json,
)
from scanner.core.rules import Rule, load_rules
from scanner.core.settings import ScanConfig
from scanner.core.yamldoc import load_schema
from scanner.report.core import inventory_json

MANIFEST = "manifest.json"
MANIFEST_SCHEMA_VERSION = "1.0"
BUNDLE_NAME = "evidence-bundle"
REDACTED = "<redacted>"
# Keys whose values are never written. Chosen not to catch the credential report's columns
# (password_enabled, password_last_used, ...) nor root_credentials_management: only keys that
# name a secret itself.
_SECRET_KEY = re.compile(
    r"(secret|session_?token|^token$|_token$|^password$|^credentials$|external_?id|"
    r"private_?key|^authorization$|^x-amz-security-token$)", re.IGNORECASE)
_CHUNK = 1 << 20


class BundleError(Exception):
    """The bundle could not be written safely (a secret value would have been included)."""


@dataclass(frozen=True)
class Bundle:
    directory: Path
    zip_path: Path | None
    manifest_sha256: str
    files: int


def redact(value: Any) -> Any:
    """``value`` with every secret-looking key's value replaced by ``<redacted>``."""
    if isinstance(value, Mapping):
        return {k: (REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "", [], {})
                    else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")


# --- what goes in ---------------------------------------------------------------------------

def config_json(config: ScanConfig) -> dict[str, Any]:
    """The effective config as JSON, secrets removed (credentials, external id, ...)."""
    data = dataclasses.asdict(config)
    data["aws"].pop("credentials", None)  # the explicit key pair (the demo's simulator)
    redacted: dict[str, Any] = redact(json.loads(json.dumps(data, default=str)))
    return redacted


def _secret_values(config: ScanConfig | None, extra: Iterable[str]) -> list[str]:
    values = [s for s in extra if s]
    if config is not None:
        if config.aws.credentials is not None:
            values.append(config.aws.credentials[1])
        if config.aws.external_id:
            values.append(config.aws.external_id)
    return [v for v in values if len(v) >= 8]  # a short string would match by chance


def account_evidence(r: AccountResult) -> dict[str, Any]:
    facts = {k: fact_to_json(v) for k, v in r.facts.items()}
    report = facts.pop("iam.credential_report", None)
    usage = facts.pop("root.usage", None)
    if isinstance(report, list):
        root_rows = [row for row in report if isinstance(row, Mapping)
                     and row.get("user") == "<root_account>"]
        credential_report: Any = {"root_row": root_rows[0] if root_rows else None,
                                  "rows": report}
    else:
        credential_report = report  # a collection error ({"__error__": ...}) or absent
    evidence: dict[str, Any] = redact({
        "account": account_to_json(r.account),
        "coverage": r.coverage.value,
        "reason": r.reason,
        "collected": {"started": r.started, "duration_s": round(r.duration_s, 3),
                      "api_calls": dict(r.calls)},
        "credential_report": credential_report,
        "root_usage": usage,
        "facts": facts,
        "findings": [f.to_json() for f in r.findings],
    })
    return evidence


def organization_evidence(result: ScanResult) -> dict[str, Any]:
    evidence: dict[str, Any] = redact({
        "organization": inventory_json(result.org),
        "facts": {k: fact_to_json(v) for k, v in result.org_facts.items()},
        "findings": [f.to_json() for f in result.org_findings],
        "out_of_scope": list(result.out_of_scope),
        "api_calls": dict(result.org_calls),
    })
    return evidence


def _rules_json(result: ScanResult, rules: Sequence[Rule] | None,
                config: ScanConfig | None) -> list[dict[str, Any]]:
    if rules is None:
        dirs = [Path(d) for d in config.rules.dirs] if config is not None else []
        try:
            rules = load_rules(dirs or None)
        except Exception:  # the manifest says the hash is unknown rather than failing
            rules = []
    by_id = {r.id: r for r in rules}
    out = []
    for rule_id in result.rule_ids:
        rule = by_id.get(rule_id)
        path = rule.path if rule is not None else None
        ok = path is not None and Path(path).is_file()
        out.append({"id": rule_id, "file": Path(path).name if path is not None else None,
                    "severity": rule.severity.value if rule is not None else None,
                    "sha256": sha256_file(Path(path)) if ok and path is not None else None})
    return out


def _window(result: ScanResult) -> dict[str, Any]:
    end = datetime.fromisoformat(result.started)
    return {"days": result.lookback_days,
            "window_start": (end - timedelta(days=result.lookback_days)).isoformat(),
            "window_end": end.isoformat(),
            "statement": "root events older than the window never count (ROOT-SEMANTICS.md)"}


def _regions(result: ScanResult) -> dict[str, Any]:
    if result.regions:
        return {"scanned": list(result.regions), "narrowed": True,
                "statement": "the config narrowed the scan to these regions: root activity "
                             "in other regions is invisible to this scan"}
    return {"scanned": "all enabled", "narrowed": False,
            "statement": "every region enabled for each account in its partition"}


def _coverage(result: ScanResult) -> dict[str, Any]:
    return {
        "counts": result.coverage_counts(),
        "accounts_in_scope": len(result.accounts),
        "accounts_in_organization": len(result.org.accounts),
        "complete": result.complete,
        "interrupted": result.interrupted,
        "out_of_scope": list(result.out_of_scope),
        "not_assessed": [
            {"account_id": r.account.id, "name": r.account.name, "ou_path": r.account.ou_path,
             "coverage": r.coverage.value, "reason": r.reason}
            for r in result.accounts if r.coverage is not Coverage.ASSESSED],
    }


def _report_name(path: Path, out: Path) -> str:
    try:
        return path.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        return path.name


def _default_reports(out: Path, skip: set[str]) -> list[Path]:
    return sorted(p for p in out.iterdir()
                  if p.is_file() and p.name != JOURNAL_NAME and p.name not in skip)


# --- writing --------------------------------------------------------------------------------

def write_bundle(result: ScanResult, out: Path, *, reports: Iterable[Path] | None = None,
                 config: ScanConfig | None = None, rules: Sequence[Rule] | None = None,
                 exceptions_report: ExceptionReport | None = None,
                 secrets: Iterable[str] = (), name: str = BUNDLE_NAME, make_zip: bool = True,
                 now: datetime | None = None) -> Bundle:
    """Write ``out/<name>/`` (and ``out/<name>.zip``). ``reports``: the files the scan wrote
    (default: every file in ``out`` but the journal). ``secrets``: extra values that must not
    appear in any file (the configured credentials are always checked)."""
    now = now or datetime.now(UTC)
    root = out / name
    zip_path = out / f"{name}.zip"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    skip = {f"{name}.zip", f"{name}.zip.sha256"}
    for src in (_default_reports(out, skip) if reports is None else list(reports)):
        if src.is_file():
            dest = root / "reports" / _report_name(src, out)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    if exceptions_report is not None:
        _dump(root / "reports" / "exceptions-report.json", exceptions_report.to_json())
    for r in result.accounts:
        _dump(root / "evidence" / f"{r.account.id}.json", account_evidence(r))
    _dump(root / "evidence" / "organization.json", organization_evidence(result))

    files = sorted(p for p in root.rglob("*") if p.is_file())
    _refuse_secrets(root, files, _secret_values(config, secrets))
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "kind": "orgscan-evidence-bundle",
        "created": now.isoformat(),
        "scan": {"scan_id": result.scan_id, "organization_id": result.org.id,
                 "caller_arn": result.caller_arn, "started": result.started,
                 "finished": result.finished, "tool": "orgscan",
                 "tool_version": result.tool_version},
        "rules": _rules_json(result, rules, config),
        "config": config_json(config) if config is not None else None,
        "config_source": config.source if config is not None else None,
        "regions": _regions(result),
        "lookback": _window(result),
        "coverage": _coverage(result),
        "exceptions": None if exceptions_report is None else {
            k: exceptions_report.to_json()[k] for k in ("source", "counts", "expired", "stale")},
        "files": [{"path": p.relative_to(root).as_posix(), "sha256": sha256_file(p),
                   "size": p.stat().st_size} for p in files],
    }
    _dump(root / MANIFEST, manifest)
    _refuse_secrets(root, [root / MANIFEST], _secret_values(config, secrets))
    manifest_sha = sha256_file(root / MANIFEST)
    zipped: Path | None = None
    if make_zip:
        zipped = _zip(root, zip_path, name)
        (out / f"{name}.zip.sha256").write_text(
            f"{sha256_file(zipped)}  {zipped.name}\n{manifest_sha}  {name}/{MANIFEST}\n",
            encoding="utf-8")
    return Bundle(root, zipped, manifest_sha, len(files) + 1)


def _refuse_secrets(root: Path, files: Sequence[Path], secrets: Sequence[str]) -> None:
    needles = [s.encode() for s in secrets]
    for p in files:
        data = p.read_bytes()
        for s in needles:
            if s in data:
                shutil.rmtree(root, ignore_errors=True)
                raise BundleError(f"refusing to write the evidence bundle: "
                                  f"{p.relative_to(root)} contains a credential")


def _zip(root: Path, zip_path: Path, name: str) -> Path:
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                z.write(p, f"{name}/{p.relative_to(root).as_posix()}")
    tmp.replace(zip_path)
    return zip_path


# --- verifying ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verification:
    bundle: str
    manifest_sha256: str
    checked: int
    tampered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not (self.tampered or self.missing or self.extra or self.problems)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "ok": self.ok, "manifest_sha256": self.manifest_sha256,
                "checked": self.checked, "tampered": list(self.tampered),
                "missing": list(self.missing), "extra": list(self.extra),
                "problems": list(self.problems)}

    def text(self) -> str:
        lines = [f"bundle: {self.bundle}", f"manifest.json sha256: {self.manifest_sha256}"]
        lines += [f"TAMPERED {p}" for p in self.tampered]
        lines += [f"MISSING  {p}" for p in self.missing]
        lines += [f"EXTRA    {p}" for p in self.extra]
        lines += [f"PROBLEM  {p}" for p in self.problems]
        lines.append(f"OK: {self.checked} file(s) match the manifest" if self.ok else
                     f"FAILED: {len(self.tampered)} tampered, {len(self.missing)} missing, "
                     f"{len(self.extra)} extra, {len(self.problems)} other problem(s)")
        return "\n".join(lines)


class _Reader:
    """Files of a bundle, as a directory or a zip, by their path inside the bundle."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if path.is_dir():
            if not (path / MANIFEST).is_file():
                raise ConfigError(str(path), f"not an evidence bundle (no {MANIFEST})")
        elif zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            manifests = sorted((n for n in self._zip.namelist()
                                if PurePosixPath(n).name == MANIFEST),
                               key=lambda n: n.count("/"))
            if not manifests:
                raise ConfigError(str(path), f"not an evidence bundle (no {MANIFEST})")
            self._prefix = manifests[0][: -len(MANIFEST)]
        else:
            raise ConfigError(str(path), "not an evidence bundle (neither a directory nor a zip)")

    def names(self) -> list[str]:
        if self._zip is not None:
            return sorted(n[len(self._prefix):] for n in self._zip.namelist()
                          if n.startswith(self._prefix) and not n.endswith("/"))
        return sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                      if p.is_file())

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + name)
        return (self.path / name).read_bytes()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _safe_name(name: str) -> bool:
    p = PurePosixPath(name)
    return bool(name) and not p.is_absolute() and ".." not in p.parts and "\\" not in name


def verify(path: Path) -> Verification:
    """Recompute every file's SHA-256 and size against manifest.json."""
    reader = _Reader(path)
    try:
        raw = reader.read(MANIFEST)
        manifest_sha = hashlib.sha256(raw).hexdigest()
        try:
            manifest = json.loads(raw)
            jsonschema.validate(manifest, load_schema("manifest.schema.json"))
        except (ValueError, jsonschema.ValidationError) as exc:
            msg = exc.message if isinstance(exc, jsonschema.ValidationError) else str(exc)
            return Verification(str(path), manifest_sha, 0, tampered=(MANIFEST,),
                                problems=(f"{MANIFEST} is not a valid manifest: {msg}",))
        listed = {f["path"]: f for f in manifest["files"]}
        present = set(reader.names()) - {MANIFEST}
        tampered, problems = [], []
        for name in sorted(listed):
            if not _safe_name(name):
                problems.append(f"unsafe path in {MANIFEST}: {name!r}")
                continue
            if name not in present:
                continue
            data = reader.read(name)
            if (hashlib.sha256(data).hexdigest() != listed[name]["sha256"]
                    or len(data) != listed[name]["size"]):
                tampered.append(name)
        return Verification(
            str(path), manifest_sha, len(listed), tampered=tuple(tampered),
            missing=tuple(sorted(n for n in listed if _safe_name(n) and n not in present)),
            extra=tuple(sorted(present - set(listed))), problems=tuple(problems))
    finally:
        reader.close()


def is_bundle(path: Path) -> bool:
    return (path.is_dir() and (path / MANIFEST).is_file()) or (
        path.is_file() and zipfile.is_zipfile(path))


def read_bundle_file(path: Path, name: str) -> bytes | None:
    """One file of a bundle (directory or zip) by its path inside it; None if absent."""
    reader = _Reader(path)
    try:
        return reader.read(name) if name in reader.names() else None
    finally:
        reader.close()


def bundle_names(path: Path) -> list[str]:
    reader = _Reader(path)
    try:
        return reader.names()
    finally:
        reader.close()


__all__ = ["BUNDLE_NAME", "MANIFEST", "Bundle", "BundleError", "Verification",
           "account_evidence", "config_json", "is_bundle", "organization_evidence", "redact",
           "sha256_file", "verify", "write_bundle"]
