"""`orgscan merge`: combine the outputs of sharded scans (`orgscan scan --shard i/n`) into one
scan result, from which the usual reports are written.

Each shard's output directory holds its journal (every finished account, with facts, findings
and calls) and ``shard.json`` (the shard, the organization as walked, the organization-level
facts and the scan's settings). The merge checks that the shards belong together (same
organization, same rule set, same n, no shard twice), takes every account from the shard that
scanned it, lists the accounts of a missing shard as NOT_ASSESSED (never silently absent),
completes the organization facts from every account (``org.summary`` reads each member's root
MFA state), and evaluates the organization rules once, over the whole organization.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner.core.engine import evaluate_organization
from scanner.core.errors import ConfigError
from scanner.core.models import JSON, FactError
from scanner.core.results import (
    JOURNAL_NAME,
    AccountResult,
    Coverage,
    ScanResult,
    fact_from_json,
    organization_from_json,
)
from scanner.core.rootusage import DEFAULT_LOOKBACK_DAYS
from scanner.core.rules import Rule
from scanner.core.unassessed import unassessed_account
from scanner.report.files import os_error
from scanner.run.inputs import MIB, read_bounded
from scanner.run.journal import JOURNAL_FORMAT, Journal
from scanner.run.shard import SHARD_FILE, SHARD_SCHEMA, Shard, label, shard_of

MAX_SHARD_BYTES = 256 * MIB  # the walk and organization facts of a very large organization


@dataclass(frozen=True)
class ShardOutput:
    directory: Path
    shard: Shard
    doc: Mapping[str, Any]
    results: Mapping[str, AccountResult]  # journaled accounts by id

    @property
    def header(self) -> Mapping[str, Any]:
        header: Mapping[str, Any] = self.doc["header"]
        return header


def load_shard(directory: Path) -> ShardOutput:
    path = directory / SHARD_FILE
    if not path.is_file():
        raise ConfigError(str(path), "not a shard's output (scan it with --shard i/n)")
    try:
        doc = json.loads(read_bounded(path, MAX_SHARD_BYTES, "a shard file"))
        shard = (int(doc["shard"][0]), int(doc["shard"][1]))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ConfigError(str(path), f"unreadable shard file: {exc}") from None
    if doc.get("schema") != SHARD_SCHEMA:
        raise ConfigError(str(path), f"shard file schema {doc.get('schema')!r} is not "
                                     f"{SHARD_SCHEMA}")
    with Journal(directory / JOURNAL_NAME, dict(doc["header"]), resume=True) as journal:
        results = dict(journal.done)
    return ShardOutput(directory, shard, doc, results)


def _check(shards: Sequence[ShardOutput], digest: str) -> int:
    if not shards:
        raise ConfigError("merge", "no shard directories given")
    first = shards[0]
    n = first.shard[1]
    seen: dict[int, Path] = {}
    for s in shards:
        where = str(s.directory)
        if s.header.get("organization_id") != first.header.get("organization_id"):
            raise ConfigError(where, "shard of another organization "
                              f"({s.header.get('organization_id')} != "
                              f"{first.header.get('organization_id')})")
        if s.shard[1] != n:
            raise ConfigError(where, f"shard {label(s.shard)} does not split into {n} like "
                              f"{first.directory}")
        if s.shard[0] in seen:
            raise ConfigError(where, f"shard {label(s.shard)} given twice (also "
                              f"{seen[s.shard[0]]})")
        seen[s.shard[0]] = s.directory
        if s.header.get("rules_digest") != digest:
            raise ConfigError(where, "scanned with another rule set than the merge's",
                              hint="pass the --config the shards were scanned with")
    return n


def merge(shards: Sequence[ShardOutput], rules: Sequence[Rule]) -> ScanResult:
    """One ScanResult over every shard (see the module docstring)."""
    from scanner.aws.collectors.orgfacts import with_member_root_credentials
    from scanner.core.rules import rules_digest

    n = _check(shards, rules_digest(rules))
    first = shards[0]
    org = organization_from_json(first.doc["organization"])
    missing = sorted(set(range(1, n + 1)) - {s.shard[0] for s in shards})
    # An account is out of scope only if every shard left it out and no missing shard could
    # have scanned it; a missing shard's accounts are listed as not assessed.
    left_out = set.intersection(*(set(s.doc["out_of_scope"]) for s in shards))
    by_id: dict[str, AccountResult] = {}
    interrupted = False
    for s in shards:
        interrupted |= bool(s.doc.get("interrupted"))
        for account_id in s.doc["targets"]:
            if account_id in s.results:
                by_id[account_id] = s.results[account_id]
    org_facts: dict[str, JSON | FactError] = {
        k: fact_from_json(v) for k, v in first.doc["org_facts"].items()}
    started = min(str(s.header["started"]) for s in shards)
    lookback = int(first.doc.get("lookback_days", DEFAULT_LOOKBACK_DAYS))
    results: list[AccountResult] = []
    out_of_scope: list[str] = []
    for account in org.accounts:
        if account.id in by_id:
            results.append(by_id[account.id])
            continue
        in_missing = shard_of(account.id, n) in missing
        if account.id in left_out and not in_missing:
            out_of_scope.append(account.id)
            continue
        reason = (f"shard {shard_of(account.id, n)}/{n} was not merged" if in_missing
                  else "not scanned: its shard's scan was interrupted (rerun it with --resume)")
        # As a scan reports an account it could not reach: organization-level evidence kept.
        facts, findings = unassessed_account(rules, account, reason, org_facts,
                                             datetime.fromisoformat(started), lookback, org)
        results.append(AccountResult(account, Coverage.NOT_ASSESSED, reason, facts,
                                     tuple(findings), "", 0.0))
    summary = org_facts.get("org.summary")
    if isinstance(summary, dict):
        root_mfa = {r.account.id: r.facts.get("root.mfa", FactError("NotCollected", r.reason))
                    for r in results}
        org_facts["org.summary"] = with_member_root_credentials(
            summary, (r.account for r in results), root_mfa)
    org_calls: dict[str, int] = {}
    for s in shards:
        for op, count in s.doc.get("org_calls", {}).items():
            org_calls[op] = org_calls.get(op, 0) + int(count)
    regions = first.doc.get("regions")
    return ScanResult(
        scan_id=str(uuid.uuid4()), started=started,
        finished=max(str(s.doc.get("finished", "")) for s in shards),
        tool_version=str(first.header.get("tool_version", "")),
        caller_arn=str(first.doc.get("caller_arn", "")), org=org, accounts=tuple(results),
        org_facts=org_facts,
        org_findings=tuple(evaluate_organization(rules, org_facts, org,
                                                 datetime.fromisoformat(started))),
        out_of_scope=tuple(out_of_scope),
        regions=tuple(regions) if regions is not None else None,
        lookback_days=lookback,
        rule_ids=tuple(r.id for r in rules), interrupted=interrupted,
        org_calls=org_calls,
    )


def write_merged_journal(result: ScanResult, out_dir: Path, digest: str) -> ScanResult:
    """The merged output directory gets a journal like a scan's (diff --baseline reads it).
    Returns ``result`` with its accounts' evidence read from that journal from now on.

    The accounts' facts are read from the shards' journals while it is written, so it is
    written beside its place and renamed into it (``out_dir`` may be a shard's directory)."""
    header = {"format": JOURNAL_FORMAT, "scan_id": result.scan_id, "started": result.started,
              "organization_id": result.org.id, "rules_digest": digest,
              "tool_version": result.tool_version}
    path = out_dir / JOURNAL_NAME
    tmp = out_dir / f".{JOURNAL_NAME}.merging"
    with Journal(tmp, header, resume=False, final_path=path) as journal:
        for r in result.accounts:
            if r.started:  # scanned by a shard (not a placeholder for a missing one)
                journal.record(r)
    try:
        os.replace(tmp, path)
    except OSError as exc:
        raise os_error(path, exc) from None
    return replace(result, accounts=tuple(
        journal.done.get(r.account.id, r) if r.started else r for r in result.accounts))


__all__ = ["ShardOutput", "load_shard", "merge",
           "write_merged_journal"]
