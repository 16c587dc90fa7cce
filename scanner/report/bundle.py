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
      rules/<rule-id>.yaml        the rule files the scan evaluated, byte for byte: with the
                                  evidence and the scan's start time (the rules' "now"), what
                                  `orgscan verify` re-evaluates every finding from
    evidence-bundle.zip           the same directory, zipped
    evidence-bundle.zip.sha256    SHA-256 of the zip and of manifest.json (record these)

Secrets never enter the bundle: values under secret-looking keys (secret, session token,
password, credentials, external id, private key) are replaced by "<redacted>", and every file is
then searched for the secret values the scan knew (the configured credentials and external id);
a hit is a bug, and the bundle is deleted rather than written with it. Access key *ids* in
CloudTrail events are identifiers, not secrets, and stay: they tell which key root signed with.

``scanner.report.bundleverify`` recomputes every hash and names each tampered, missing or extra
file; ``scanner.run.reevaluate`` checks that every finding follows from the bundled rules and
evidence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scanner.core.mutelist import ExceptionReport
from scanner.core.results import (
    JOURNAL_NAME,
    AccountResult,
    Coverage,
    ScanResult,
    account_to_json,
    fact_to_json,
)
from scanner.core.rootcreds import ROOT_USER
from scanner.core.rules import Rule
from scanner.core.settings import ScanConfig
from scanner.report.core import inventory_json
from scanner.report.files import atomic_directory, atomic_open_binary, copy_file, write_text
from scanner.report.jsontext import indented

MANIFEST = "manifest.json"
EVIDENCE_DIR = "evidence"
EVIDENCE_LEVELS = 2  # levels of an evidence file laid out one member per line
MANIFEST_SCHEMA_VERSION = "1.1"  # 1.1: the rule files are in the bundle (rules/)
RULES_DIR = "rules"
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


_LEAVES = (str, int, float, bool, type(None))
_KEY_CACHE_SIZE = 10_000
_secret_keys: dict[Any, bool] = {}  # key -> does it name a secret (evidence repeats its keys)


def _is_secret_key(key: Any) -> bool:
    hit = _secret_keys.get(key)
    if hit is None:
        hit = bool(_SECRET_KEY.search(str(key)))
        if len(_secret_keys) < _KEY_CACHE_SIZE:  # bounded: keys come from AWS's answers
            _secret_keys[key] = hit
    return hit


def redact(value: Any) -> Any:
    """``value`` with every secret-looking key's value replaced by ``<redacted>``."""
    # Leaves first, by exact type: an evidence file is mostly strings and numbers, and the
    # abstract Mapping check is the slow one (this walk was a tenth of a scan's CPU).
    if type(value) in _LEAVES:
        return value
    if isinstance(value, Mapping):
        return {k: (REDACTED if _is_secret_key(k) and v not in (None, "", [], {})
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


def _json_bytes(data: Any) -> bytes:
    return (indented(data) + "\n").encode("utf-8")


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_json_bytes(data))


# One encoder for every value (json.dumps with options builds a new one per call).
_compact = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _shallow_json(value: Any, depth: int, pad: str = "") -> str:
    """``value`` as JSON with its first ``depth`` levels one member per line (indented by two
    spaces a level) and everything deeper compact. Python's indenting encoder is pure Python,
    about five times the C encoder's cost: it was the bundle's largest share of a scan's CPU.
    Two levels keep an evidence file readable and diffable by fact and by finding."""
    if depth == 0 or not isinstance(value, (Mapping, list, tuple)) or not value:
        return _compact(value)
    inner = pad + "  "
    if isinstance(value, Mapping):
        items = [f"{inner}{_compact(str(k))}: {_shallow_json(v, depth - 1, inner)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    return "[\n" + ",\n".join(f"{inner}{_shallow_json(v, depth - 1, inner)}"
                                for v in value) + f"\n{pad}]"


def _evidence_bytes(data: Any) -> bytes:
    return (_shallow_json(data, EVIDENCE_LEVELS) + "\n").encode("utf-8")


def evidence_files(result: ScanResult) -> Iterator[tuple[str, bytes]]:
    """The bundle's evidence files (path inside the bundle, bytes), as ``write_bundle``
    writes them."""
    for r in result.accounts:
        yield f"{EVIDENCE_DIR}/{r.account.id}.json", _evidence_bytes(account_evidence(r))
    yield f"{EVIDENCE_DIR}/organization.json", _evidence_bytes(organization_evidence(result))


def evidence_digest(result: ScanResult) -> str:
    """SHA-256 of the evidence files' listing: one ``<sha256>  <path>`` line per file, sorted by
    path (what ``LC_ALL=C sha256sum evidence/*.json | sha256sum`` prints inside the bundle).
    Known before any report is written, so report.pdf can state it although the PDF itself is
    in the bundle (a file cannot carry the hash of a bundle that holds it); the manifest
    records it too."""
    return _listing_sha256((path, hashlib.sha256(data).hexdigest())
                           for path, data in evidence_files(result))


def _listing_sha256(files: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of ``<sha256>  <path>`` lines, one per (path, sha256), sorted by path."""
    text = "".join(f"{digest}  {path}\n" for path, digest in sorted(files))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
                     and row.get("user") == ROOT_USER]
        credential_report: Any = {"root_row": root_rows[0] if root_rows else None,
                                  "rows": report}
    else:
        credential_report = report  # a collection error ({"__error__": ...}) or absent
    evidence: dict[str, Any] = redact({
        "account": account_to_json(r.account),
        "coverage": r.coverage.value,
        "reason": r.reason,
        "failed_facts": [f.to_json() for f in r.failed_facts],
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


def _rules_json(result: ScanResult, rules: Sequence[Rule]) -> list[dict[str, Any]]:
    """Each rule the scan evaluated: its file, the SHA-256 of the bytes the scan parsed (of the
    file now when the rule does not say; null when it has no file) and where the bundle holds
    the file (null when it could not be copied)."""
    by_id = {r.id: r for r in rules}
    out = []
    for rule_id in result.rule_ids:
        rule = by_id.get(rule_id)
        path = rule.path if rule is not None else None
        ok = path is not None and Path(path).is_file()
        sha = (rule.sha256 if rule is not None and rule.sha256 else
               sha256_file(Path(path)) if ok and path is not None else None)
        out.append({"id": rule_id, "file": Path(path).name if path is not None else None,
                    "severity": rule.severity.value if rule is not None else None,
                    "sha256": sha,
                    "path": f"{RULES_DIR}/{Path(path).name}" if ok and path is not None
                    else None})
    return out


def _copy_rules(result: ScanResult, rules: Sequence[Rule], root: Path) -> None:
    """The rule files the scan evaluated, so that verify can re-evaluate every finding. A file
    edited on disk since the scan read it is copied as it is now; its hash then differs from
    the manifest's (the scan's), and verify says so."""
    evaluated = set(result.rule_ids)
    for rule in rules:
        if rule.id in evaluated and rule.path is not None and Path(rule.path).is_file():
            dest = root / RULES_DIR / Path(rule.path).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(rule.path, dest)


def _window(result: ScanResult) -> dict[str, Any]:
    end = datetime.fromisoformat(result.started)
    return {"days": result.lookback_days,
            "window_start": (end - timedelta(days=result.lookback_days)).isoformat(),
            "window_end": end.isoformat(),
            "statement": "root events older than the window never count (docs/semantics.md)"}


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
             "coverage": r.coverage.value, "reason": r.reason,
             "failed_facts": [f.to_json() for f in r.failed_facts]}
            for r in result.accounts if r.coverage is not Coverage.ASSESSED],
        "incomplete_reasons": result.incomplete_reasons(),
    }


def _report_name(path: Path, out: Path) -> str:
    try:
        return path.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        return path.name


def _default_reports(out: Path, skip: set[str]) -> list[Path]:
    # Dot-files are orgscan's own bookkeeping (the lock, temporary files), never reports.
    return sorted(p for p in out.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.name != JOURNAL_NAME and p.name not in skip)


# --- writing --------------------------------------------------------------------------------

def write_bundle(result: ScanResult, out: Path, *, rules: Sequence[Rule],
                 reports: Iterable[Path] | None = None, config: ScanConfig | None = None,
                 exceptions_report: ExceptionReport | None = None,
                 secrets: Iterable[str] = (), name: str = BUNDLE_NAME, make_zip: bool = True,
                 now: datetime | None = None) -> Bundle:
    """Write ``out/<name>/`` (and ``out/<name>.zip``). ``rules``: the rules the scan evaluated
    (the manifest records each one's file hash). ``reports``: the files the scan wrote
    (default: every file in ``out`` but the journal). ``secrets``: extra values that must not
    appear in any file (the configured credentials are always checked)."""
    now = now or datetime.now(UTC)
    zip_path = out / f"{name}.zip"
    # Built beside its final place and renamed into it whole: an interrupted or failed write
    # leaves the previous bundle (or none), never half of one.
    try:
        with atomic_directory(out / name) as root:
            manifest_sha, count = _fill(root, result, out, name, rules=rules, reports=reports,
                                        config=config, exceptions_report=exceptions_report,
                                        secrets=secrets, now=now)
    except BundleError:
        # No bundle at all rather than an earlier scan's beside these reports.
        shutil.rmtree(out / name, ignore_errors=True)
        zip_path.unlink(missing_ok=True)
        (out / f"{name}.zip.sha256").unlink(missing_ok=True)
        raise
    root = out / name
    zipped: Path | None = None
    if make_zip:
        zipped = _zip(root, zip_path, name)
        write_text(out / f"{name}.zip.sha256",
                   f"{sha256_file(zipped)}  {zipped.name}\n{manifest_sha}  {name}/{MANIFEST}\n")
    return Bundle(root, zipped, manifest_sha, count)


def _fill(root: Path, result: ScanResult, out: Path, name: str, *, rules: Sequence[Rule],
          reports: Iterable[Path] | None, config: ScanConfig | None,
          exceptions_report: ExceptionReport | None, secrets: Iterable[str],
          now: datetime) -> tuple[str, int]:
    """Write the bundle's files into ``root``: (the manifest's SHA-256, the number of files)."""
    skip = {f"{name}.zip", f"{name}.zip.sha256"}
    for src in (_default_reports(out, skip) if reports is None else list(reports)):
        if src.is_file():
            dest = root / "reports" / _report_name(src, out)
            dest.parent.mkdir(parents=True, exist_ok=True)
            copy_file(src, dest)
    if exceptions_report is not None:
        _dump(root / "reports" / "exceptions-report.json", exceptions_report.to_json())
    for rel, data in evidence_files(result):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    _copy_rules(result, rules, root)

    files = sorted(p for p in root.rglob("*") if p.is_file())
    needles = _secret_values(config, secrets)
    listed = [{"path": p.relative_to(root).as_posix(), "sha256": _checked(root, p, needles),
               "size": p.stat().st_size} for p in files]
    manifest: dict[str, Any] = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "kind": "orgscan-evidence-bundle",
        "created": now.isoformat(),
        "scan": {"scan_id": result.scan_id, "organization_id": result.org.id,
                 "caller_arn": result.caller_arn, "started": result.started,
                 "finished": result.finished, "tool": "orgscan",
                 "tool_version": result.tool_version},
        "rules": _rules_json(result, rules),
        "config": config_json(config) if config is not None else None,
        "config_source": config.source if config is not None else None,
        "regions": _regions(result),
        "lookback": _window(result),
        "coverage": _coverage(result),
        "exceptions": None if exceptions_report is None else {
            k: exceptions_report.to_json()[k] for k in ("source", "counts", "expired", "stale")},
        "files": listed,
    }
    manifest["evidence_sha256"] = {
        "sha256": _listing_sha256((str(f["path"]), str(f["sha256"])) for f in listed
                                  if str(f["path"]).startswith(f"{EVIDENCE_DIR}/")),
        "statement": "SHA-256 of the evidence files' listing ('<sha256>  <path>' per file "
                     "under evidence/, sorted by path), the digest report.pdf states on its "
                     "cover"}
    _dump(root / MANIFEST, manifest)
    return _checked(root, root / MANIFEST, needles), len(files) + 1


def _checked(root: Path, path: Path, secrets: Sequence[str]) -> str:
    """The file's SHA-256, read once in chunks (a 5,000-account findings.json is never whole in
    memory) and searched for every secret value on the way; BundleError on a hit."""
    needles = [s.encode() for s in secrets]
    keep = max((len(n) for n in needles), default=1) - 1  # a value split across two chunks
    h = hashlib.sha256()
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            data = tail + chunk
            if any(n in data for n in needles):
                shutil.rmtree(root, ignore_errors=True)
                raise BundleError(f"refusing to write the evidence bundle: "
                                  f"{path.relative_to(root)} contains a credential")
            tail = data[len(data) - keep:] if keep else b""
    return h.hexdigest()


def _zip(root: Path, zip_path: Path, name: str) -> Path:
    # Deflate level 1: a third of level 6's CPU on these JSON and HTML files, for a zip about
    # a quarter larger (the directory beside it is the uncompressed copy anyway).
    with atomic_open_binary(zip_path) as fh, \
            zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                z.write(p, f"{name}/{p.relative_to(root).as_posix()}")
    return zip_path


__all__ = ["BUNDLE_NAME", "MANIFEST", "RULES_DIR", "Bundle", "BundleError", "account_evidence",
           "config_json", "evidence_digest", "evidence_files", "organization_evidence", "redact",
           "sha256_file", "write_bundle"]
