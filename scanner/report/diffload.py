"""Snapshots for ``orgscan diff`` and ``--baseline``, read from a scan output directory
(findings.json, coverage.json, and journal.jsonl for root use) or an evidence bundle
(directory or zip, its reports and per-account evidence)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from scanner.core.errors import ConfigError
from scanner.core.results import JOURNAL_NAME, ScanResult
from scanner.report.bundleverify import MAX_REPORT_BYTES, MIB, is_bundle, open_bundle, read_member
from scanner.report.diff import Snapshot, diff, restrict_snapshot, snapshot_of


def _used(usage: Any) -> bool | None:
    if isinstance(usage, Mapping) and isinstance(usage.get("used_in_window"), bool):
        return bool(usage["used_in_window"])
    return None


def _json(data: bytes | None, where: str) -> Any:
    if data is None:
        raise ConfigError(where, "missing: not a scan output directory or evidence bundle")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ConfigError(where, f"not valid JSON: {exc}") from exc


def _journal_usage(path: Path) -> Iterator[tuple[str, bool | None]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                account = json.loads(line).get("account")
            except ValueError:
                continue  # a line cut short by a kill
            if isinstance(account, dict):
                yield account["account"]["id"], _used(account.get("facts", {}).get("root.usage"))


def _from_parts(source: str, findings: Any, coverage: Any,
                usage: Mapping[str, bool | None]) -> Snapshot:
    try:
        accounts = {a["account_id"]: {"name": a.get("name", ""), "ou_path": a.get("ou_path", ""),
                                      "coverage": a["coverage"], "reason": a.get("reason", "")}
                    for a in coverage["accounts"]}
        return Snapshot(source, dict(findings["scan"]), tuple(findings["findings"]), accounts,
                        {a: usage.get(a) for a in accounts})
    except (KeyError, TypeError) as exc:
        raise ConfigError(source, f"not an orgscan output: missing {exc}") from exc


def load_snapshot(path: Path) -> Snapshot:
    """A scan output directory, or an evidence bundle (directory or zip)."""
    if not path.exists():
        raise ConfigError(str(path), "no such file or directory")
    if is_bundle(path):
        with open_bundle(path) as reader:  # opened once: a zip's directory is read once
            findings = _json(read_member(reader, "reports/findings.json"),
                             f"{path}: reports/findings.json")
            coverage = _json(read_member(reader, "reports/coverage.json"),
                             f"{path}: reports/coverage.json")
            usage: dict[str, bool | None] = {}
            for name in sorted(reader.names()):
                m = re.fullmatch(r"evidence/(\d{12})\.json", name)
                if m:
                    ev = _json(read_member(reader, name), f"{path}: {name}")
                    usage[m.group(1)] = _used(ev.get("root_usage"))
        return _from_parts(str(path), findings, coverage, usage)
    if not path.is_dir():
        raise ConfigError(str(path), "not a scan output directory or evidence bundle")
    findings = _json(_read(path / "findings.json"), str(path / "findings.json"))
    coverage = _json(_read(path / "coverage.json"), str(path / "coverage.json"))
    journal = path / JOURNAL_NAME
    usage = dict(_journal_usage(journal)) if journal.is_file() else {}
    return _from_parts(str(path), findings, coverage, usage)


def _read(path: Path) -> bytes | None:
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        data = fh.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise ConfigError(str(path), f"larger than the limit of {MAX_REPORT_BYTES // MIB} MiB "
                                     f"for one report: refused")
    return data


def diff_against(old_dir: Path, result: ScanResult, ou_path: str | None = None
                 ) -> dict[str, Any]:
    """``--baseline OLD``: this scan compared with an earlier scan's outputs or bundle.
    ``ou_path`` (a path or an OU id, as given to ``--ou``) limits the baseline to the same
    subtree as ``result``."""
    old = load_snapshot(old_dir)
    if ou_path is not None:
        by_id = {u.id: u.path for u in result.org.units}
        old = restrict_snapshot(old, by_id.get(ou_path, ou_path))
    return diff(old, snapshot_of(result))


def diff_paths(old: Path, new: Path, ou_path: str | None = None) -> dict[str, Any]:
    a, b = load_snapshot(old), load_snapshot(new)
    if ou_path is not None:
        a, b = restrict_snapshot(a, ou_path), restrict_snapshot(b, ou_path)
    return diff(a, b)


__all__ = ["diff_against", "diff_paths", "load_snapshot"]
