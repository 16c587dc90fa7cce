"""The combined outputs of a multi-organization run, beside the organizations' directories:

    organizations.json            each organization: label, id, management account, status
                                  (and the reason when not assessed), coverage, root use,
                                  compliance; and the totals, sums of those
    root-usage.json / .csv        every organization's root-usage records, each row naming its
                                  organization (label and id)
    ou-summary.json / .csv        each organization's per-OU roll-up under the organization
                                  (the CSV's rows led by its label and id)
    organizations-manifest.json   the SHA-256 of every organization's evidence bundle (its zip
                                  and its manifest.json) and of the combined files above

They render ``OrgReport``s (scanner/core/multiorg.py): each organization's records are the
ones its own root-usage.json holds, from the same AuditReport.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scanner.core.multiorg import OrgReport, organization_entry, totals
from scanner.report.bundle import BUNDLE_NAME, MANIFEST, sha256_file
from scanner.report.csvout import write_csv
from scanner.report.files import write_text
from scanner.report.rollup import CSV_COLUMNS as OU_COLUMNS
from scanner.report.rollup import ou_summary_json, ou_summary_rows
from scanner.report.rootusage_writer import CSV_COLUMNS, csv_rows, render_json, root_usage_document

FORMAT_VERSION = 1
ORGANIZATIONS = "organizations.json"
COMBINED_MANIFEST = "organizations-manifest.json"
ORG_COLUMNS = ("organization", "organization_id")


def write_combined(orgs: Sequence[OrgReport], out: Path, *, generated_at: str) -> list[Path]:
    """organizations.json and the combined root usage; the manifest is written last, over
    them and every bundle (``write_combined_manifest``)."""
    out.mkdir(parents=True, exist_ok=True)
    return [write_organizations(orgs, out, generated_at=generated_at),
            *write_combined_root_usage(orgs, out, generated_at=generated_at),
            *write_combined_ou_summary(orgs, out, generated_at=generated_at)]


def write_organizations(orgs: Sequence[OrgReport], out: Path, *, generated_at: str) -> Path:
    entries = [organization_entry(o) for o in orgs]
    doc = {"format_version": FORMAT_VERSION, "generated_at": generated_at,
           "organizations": entries, "totals": totals(entries)}
    path = out / ORGANIZATIONS
    write_text(path, json.dumps(doc, indent=2) + "\n")
    return path


def write_combined_root_usage(orgs: Sequence[OrgReport], out: Path, *,
                              generated_at: str) -> list[Path]:
    rows: list[dict[str, Any]] = []
    csv_out: list[list[object]] = []
    listed: list[dict[str, Any]] = []
    lookback: set[int] = set()
    for org in orgs:
        listed.append({"label": org.label, "status": org.status, "reason": org.reason or None,
                       "organization_id": None if org.report is None
                       else org.report.result.org.id})
        if org.report is None:
            continue
        result = org.report.result
        lookback.add(result.lookback_days)
        records = [row.record for row in org.report.root_use.rows]
        accounts = [row.account for row in org.report.root_use.rows]
        doc = root_usage_document(records, accounts, generated_at=generated_at,
                                  organization_id=result.org.id,
                                  lookback_days=result.lookback_days, regions=result.regions,
                                  sources=org.report.root_use.sources)
        rows += [{"organization": org.label, "organization_id": result.org.id, **row}
                 for row in doc["accounts"]]
        csv_out += [[org.label, result.org.id, *row] for row in csv_rows(records, accounts)]
    used = [r for r in rows if r["used_in_window"] is True]
    unknown = [r for r in rows if r["used_in_window"] is None]
    document = {
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at,
        "lookback_days": sorted(lookback)[0] if len(lookback) == 1 else sorted(lookback),
        "organizations": listed,
        "summary": {"accounts": len(rows), "accounts_using_root": len(used),
                    "accounts_unknown": len(unknown),
                    "accounts_using_root_ids": [
                        {"organization": r["organization"], "account_id": r["account_id"]}
                        for r in used]},
        "accounts": rows,
    }
    path = out / "root-usage.json"
    write_text(path, render_json(document))
    return [path, write_csv(out / "root-usage.csv", (*ORG_COLUMNS, *CSV_COLUMNS), csv_out)]


def write_combined_ou_summary(orgs: Sequence[OrgReport], out: Path, *,
                              generated_at: str) -> list[Path]:
    """ou-summary.json / .csv whose top level is the organization: each organization's own
    ou-summary (its root unit is the organization's roll-up), the CSV rows led by the
    organization's label and id. An organization not assessed is listed with its reason and
    no units."""
    listed: list[dict[str, Any]] = []
    rows: list[list[object]] = []
    definitions: Any = {}
    for org in orgs:
        entry: dict[str, Any] = {"label": org.label, "status": org.status,
                                 "reason": org.reason or None, "organization_id": None,
                                 "scan": None, "units": []}
        if org.report is not None:
            own = ou_summary_json(org.report)
            entry.update(organization_id=org.report.result.org.id, scan=own["scan"],
                         units=own["units"])
            rows += [[org.label, org.report.result.org.id, *row]
                     for row in ou_summary_rows(org.report.units)]
            definitions = own["definitions"]
        listed.append(entry)
    doc = {"format_version": FORMAT_VERSION, "generated_at": generated_at,
           "definitions": definitions, "organizations": listed}
    path = out / "ou-summary.json"
    write_text(path, json.dumps(doc, indent=2) + "\n")
    return [path, write_csv(out / "ou-summary.csv", (*ORG_COLUMNS, *OU_COLUMNS), rows)]


def write_combined_manifest(orgs: Sequence[OrgReport], out: Path, combined: Sequence[Path], *,
                            generated_at: str) -> Path:
    """organizations-manifest.json: what an auditor records to check the package later."""
    bundles = []
    for org in orgs:
        entry: dict[str, Any] = {"label": org.label, "status": org.status, "bundle": None}
        directory = out / org.label / BUNDLE_NAME
        manifest, zipped = directory / MANIFEST, out / org.label / f"{BUNDLE_NAME}.zip"
        if org.report is not None and manifest.is_file():  # never an earlier run's
            entry["bundle"] = {
                "directory": f"{org.label}/{BUNDLE_NAME}",
                "manifest_sha256": sha256_file(manifest),
                "zip": f"{org.label}/{zipped.name}" if zipped.is_file() else None,
                "zip_sha256": sha256_file(zipped) if zipped.is_file() else None,
            }
        bundles.append(entry)
    doc = {"format_version": FORMAT_VERSION, "generated_at": generated_at,
           "organizations": bundles,
           "files": [{"path": p.relative_to(out).as_posix(), "sha256": sha256_file(p)}
                     for p in combined]}
    path = out / COMBINED_MANIFEST
    write_text(path, json.dumps(doc, indent=2) + "\n")
    return path
