"""root-usage.json and root-usage.csv: the answer to "which accounts use root, how, when, from
where". ``write_root_usage`` renders the model's records (one per account in scope, built once
in scanner/core/audit_report.py); the functions below it shape any list of records.

Records may be ``RootUsage`` objects or their ``to_json()`` form (the ``root.usage`` fact).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from scanner.core.audit_report import AuditReport
from scanner.core.models import JSON, Account
from scanner.core.rootusage import RootUsage
from scanner.report.csvout import write_csv
from scanner.report.files import write_text

SCHEMA_ID = "https://orgscan.dev/schemas/root-usage.schema.json"
FORMAT_VERSION = 1

CSV_COLUMNS = (
    "account_id", "account_name", "ou_path", "assessed", "used_in_window", "last_used",
    "last_used_channel", "channels", "console_logins", "console_logins_without_mfa",
    "failed_logins", "api_calls", "invoked_by_service_calls", "service_events",
    "assume_root_sessions", "password_recovery_requests", "root_access_keys_created",
    "source_ips", "user_agents", "active_access_keys", "root_key_last_used", "mfa_kind",
    "credentials_present", "credentials_centrally_removed", "window_start", "window_end",
    "sources", "incomplete_sources", "events_listed", "notes", "use_basis",
)


def write_root_usage(report: AuditReport, out: Path) -> list[Path]:
    result = report.result
    records = [row.record for row in report.root_use.rows]
    accounts = [row.account for row in report.root_use.rows]
    doc = root_usage_document(records, accounts, generated_at=result.finished,
                              organization_id=result.org.id, lookback_days=result.lookback_days,
                              regions=result.regions, sources=report.root_use.sources)
    path = out / "root-usage.json"
    write_text(path, render_json(doc))
    return [path, write_root_usage_csv(out / "root-usage.csv", records, accounts)]


def _as_json(record: RootUsage | Mapping[str, Any]) -> dict[str, JSON]:
    return record.to_json() if isinstance(record, RootUsage) else dict(record)


def _accounts(accounts: Iterable[Account]) -> dict[str, Account]:
    return {a.id: a for a in accounts}


def root_usage_document(records: Iterable[RootUsage | Mapping[str, Any]],
                        accounts: Iterable[Account], *, generated_at: str,
                        organization_id: str, lookback_days: int,
                        regions: Sequence[str] | None = None,
                        sources: Sequence[str] = ()) -> dict[str, JSON]:
    """The root-usage.json document (schemas/root-usage.schema.json). ``regions`` None means
    every enabled region was scanned; a list says the scan was narrowed to it."""
    by_id = _accounts(accounts)
    rows = []
    for rec in records:
        data = _as_json(rec)
        acct = by_id.get(str(data["account_id"]))
        rows.append({
            "account_name": acct.name if acct else None,
            "ou_path": acct.ou_path if acct else None,
            "account_status": acct.status.value if acct else None,
            **data,
        })
    rows.sort(key=lambda r: (r["used_in_window"] is not True, str(r["account_id"])))
    used = [r["account_id"] for r in rows if r["used_in_window"] is True]
    unknown = [r["account_id"] for r in rows if r["used_in_window"] is None]
    return {
        "$schema": SCHEMA_ID,
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at,
        "organization_id": organization_id,
        "lookback_days": lookback_days,
        "regions": list(regions) if regions is not None else None,
        "regions_note": (None if regions is None else
                         "scan narrowed to these regions: root activity elsewhere is not seen"),
        "sources": list(sources),
        "summary": {
            "accounts": len(rows),
            "accounts_using_root": len(used),
            "accounts_unknown": len(unknown),
            "accounts_using_root_ids": used,
            "accounts_unknown_ids": unknown,
        },
        "by_ou": per_ou_counts(rows, by_id.values()),
        "accounts": rows,
    }


def render_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def cell_value(value: Any) -> object:
    """A record value as CSV text: booleans as true/false, lists joined with ';' (the cell
    is then made safe by csvout.safe_cell, the one cell function of every orgscan CSV)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return value


def csv_rows(records: Iterable[RootUsage | Mapping[str, Any]],
             accounts: Iterable[Account]) -> list[list[object]]:
    """One row per record in CSV_COLUMNS order (no header)."""
    by_id = _accounts(accounts)
    out: list[list[object]] = []
    for rec in records:
        d = _as_json(rec)
        acct = by_id.get(str(d["account_id"]))
        keys = d.get("access_keys") or []
        key_used = max((k["last_used"] for k in keys if k.get("last_used")), default=None)
        srcs = d.get("sources") or []
        values: dict[str, Any] = {
            **{c: d.get(c) for c in CSV_COLUMNS},
            "account_name": acct.name if acct else "",
            "ou_path": acct.ou_path if acct else "",
            "root_key_last_used": key_used,
            "sources": [s["name"] for s in srcs],
            "incomplete_sources": [s["name"] for s in srcs if not s.get("complete")],
            "events_listed": len(d.get("events") or []),
        }
        out.append([cell_value(values[c]) for c in CSV_COLUMNS])
    return out


def write_root_usage_csv(path: Path, records: Iterable[RootUsage | Mapping[str, Any]],
                         accounts: Iterable[Account]) -> Path:
    return write_csv(path, CSV_COLUMNS, csv_rows(records, accounts))


_COUNTED = ("console_logins", "failed_logins", "api_calls", "assume_root_sessions",
            "password_recovery_requests", "console_logins_without_mfa")


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def per_ou_counts(records: Iterable[RootUsage | Mapping[str, Any]],
                  accounts: Iterable[Account]) -> dict[str, dict[str, int]]:
    """Per OU path, every account below it (descendants included): accounts, accounts using
    root, accounts whose use is unknown, and summed counts."""
    by_id = _accounts(accounts)
    out: dict[str, dict[str, int]] = {}
    for rec in records:
        d = _as_json(rec)
        acct = by_id.get(str(d["account_id"]))
        path = acct.ou_path if acct else "(unknown)"
        for ou in _ancestors(path):
            c = out.setdefault(ou, {"accounts": 0, "accounts_using_root": 0,
                                    "accounts_unknown": 0, **dict.fromkeys(_COUNTED, 0)})
            c["accounts"] += 1
            c["accounts_using_root"] += d.get("used_in_window") is True
            c["accounts_unknown"] += d.get("used_in_window") is None
            for k in _COUNTED:
                c[k] += int(d.get(k) or 0)
    return dict(sorted(out.items()))


__all__ = ["CSV_COLUMNS", "cell_value", "csv_rows", "per_ou_counts", "render_json",
           "root_usage_document", "write_root_usage", "write_root_usage_csv"]
