"""Do the findings of an evidence bundle follow from its evidence? (``orgscan verify``)

The manifest's hashes prove that no file changed since the manifest was written; they prove
nothing against someone who edits a finding and writes the hashes again. This check does not
trust the findings at all: it loads the bundled rule files (``rules/``, through the scan's own
loader and the collector registry's fact names), and evaluates them with the scan's engine
(``scanner.core.engine``) over the bundled evidence, at the scan's start time (the ``now`` the
scan evaluated with), exactly as the scan did:

- each account's facts (``evidence/<id>.json``: ``facts``, the credential report's rows and
  the root-usage record) with the organization-level facts (``evidence/organization.json``);
- the organization rules over the organization as walked and its facts.

A finding follows when its status is the one the rules give. A MUTED finding follows when the
rules give FAIL and the bundled exceptions report names it as muted by that exception. An
account not assessed has NOT_ASSESSED findings, but for the root-use verdicts that its
organization-level evidence (its root-usage record) decides, as the scan gives them. Every
finding in ``evidence/*.json`` and in ``reports/findings.json`` (read as a stream) is checked,
and every finding the rules give must be there. What does not follow is reported by account,
rule, bundled and re-evaluated status. Coverage too: ``reports/coverage.json`` and the
manifest's counts must say of each account what its evidence file says.

Known limit: a merged scan (``orgscan merge``) evaluated each shard's accounts at that shard's
start; the bundle records the earliest, so a time-dependent verdict (a key's age) within
minutes of its boundary could read as not following.

The bundle's files are read through ``scanner.report.bundleverify``'s bounded reader: nothing
outside the bundle is opened, and no file is read whole past ``MAX_DOCUMENT_BYTES``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner.aws.collectors import fact_scopes
from scanner.core.engine import (
    assess_without_account_facts,
    evaluate_account,
    evaluate_organization,
)
from scanner.core.models import JSON, FactError, Organization, Status
from scanner.core.results import (
    Coverage,
    account_from_json,
    fact_from_json,
    organization_from_json,
)
from scanner.core.rules import Rule, collect_rules
from scanner.report.bundle import RULES_DIR
from scanner.report.bundleverify import (
    BundleReader,
    ManifestInvalid,
    MemberError,
    Mismatch,
    Verification,
    load_manifest,
    open_bundle,
    verify,
)
from scanner.report.jsonstream import JsonStreamError, iter_array
from scanner.run.inputs import MAX_RULE_BYTES
from scanner.run.rulepack import parse_rule_bytes

ORGANIZATION = "evidence/organization.json"
FINDINGS = "reports/findings.json"
COVERAGE = "reports/coverage.json"
EXCEPTIONS = "reports/exceptions-report.json"
_ACCOUNT_FILE = re.compile(r"evidence/([^/]+)\.json")
ABSENT = "absent"
# What reading or evaluating evidence of the wrong shape raises (hostile files are data).
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError)

Key = tuple[str, str]  # (account id, rule id)


@dataclass(frozen=True)
class Reevaluation:
    checked: int  # bundled findings compared with the rules' verdicts
    mismatches: tuple[Mismatch, ...]
    problems: tuple[str, ...]  # why some or all findings could not be re-evaluated


def reevaluate(path: Path) -> Reevaluation:
    """Compare every bundled finding with the bundled rules' verdict over the bundled
    evidence. Call it after ``bundleverify.verify`` (which reports a bundle it cannot open)."""
    with open_bundle(path) as reader:
        try:
            _, manifest = load_manifest(reader)
        except (MemberError, ManifestInvalid):
            return Reevaluation(0, (), ("findings not re-evaluated: no valid manifest",))
        return _Check(reader, manifest).run()


def verify_bundle(path: Path) -> Verification:
    """``orgscan verify`` of one bundle: every file against its manifest
    (``bundleverify.verify``), then every finding re-evaluated. Raises ConfigError when
    ``path`` is not a readable bundle."""
    result = verify(path)
    again = reevaluate(path)
    return replace(result, findings_checked=again.checked, not_following=again.mismatches,
                   problems=(*result.problems, *again.problems))


class _Check:
    def __init__(self, reader: BundleReader, manifest: Mapping[str, Any]) -> None:
        self.reader = reader
        self.manifest = manifest
        self.listed = {f["path"] for f in manifest["files"]}
        self.problems: list[str] = []
        self.mismatches: list[Mismatch] = []
        self.checked = 0
        # (account, rule) -> the statuses a bundled finding may have, from the rules.
        self.expected: dict[Key, frozenset[str]] = {}
        self.muted: dict[str, set[Key]] = {}
        self.coverage: dict[str, str] = {}  # account id -> coverage, from its evidence

    def run(self) -> Reevaluation:
        rules = self._rules()
        now = self._now()
        org_doc = self._json(ORGANIZATION)
        if rules is None or now is None or org_doc is None:
            return self._result()
        try:
            org = _organization(org_doc["organization"])
            org_facts = {k: fact_from_json(v) for k, v in org_doc["facts"].items()}
            org_bundled = list(org_doc["findings"])
            org_expected = {(f.account_id, f.rule_id): frozenset({f.status.value})
                            for f in evaluate_organization(rules, org_facts, org, now)}
        except _SHAPE_ERRORS as exc:
            self.problems.append(f"{ORGANIZATION}: not an orgscan evidence file ({exc!r}); "
                                 f"findings not re-evaluated")
            return self._result()
        self._exceptions()
        for name in sorted(n for n in self.listed if _ACCOUNT_FILE.fullmatch(n)
                           and n != ORGANIZATION):
            self._account(name, rules, org_facts, org, now)
        self._compare(ORGANIZATION, org_bundled, org_expected)
        self._findings_report()
        self._coverage_reports()
        return self._result()

    def _result(self) -> Reevaluation:
        return Reevaluation(self.checked, tuple(self.mismatches), tuple(self.problems))

    # --- inputs -------------------------------------------------------------------------

    def _json(self, name: str) -> Any:
        if name not in self.listed:
            self.problems.append(f"{name} is not in the bundle; findings not re-evaluated")
            return None
        try:
            return self.reader.json(name)
        except MemberError as exc:
            self.problems.append(f"{exc}; its findings not re-evaluated")
            return None

    def _rules(self) -> list[Rule] | None:
        """The bundled rule files, parsed as the scan parses a rule pack; None (with the
        problems) when some rule cannot be loaded: re-evaluating with part of the rules would
        prove nothing about the others."""
        facts = fact_scopes()
        parsed = []
        ok = True
        for entry in self.manifest["rules"]:
            path = entry.get("path")
            if not isinstance(path, str) or not path.startswith(f"{RULES_DIR}/"):
                self.problems.append(f"rule {entry['id']}: its file is not in the bundle; "
                                     f"findings cannot be re-evaluated")
                ok = False
                continue
            try:
                raw = self.reader.read(path, MAX_RULE_BYTES)
            except MemberError as exc:
                self.problems.append(f"rule {entry['id']}: {exc}")
                ok = False
                continue
            if entry.get("sha256") and hashlib.sha256(raw).hexdigest() != entry["sha256"]:
                self.problems.append(f"rule {entry['id']}: {path} is not the file the scan "
                                     f"evaluated (its SHA-256 differs from the manifest's)")
                ok = False
            parsed.append(parse_rule_bytes(Path(f"{self.reader.path}/{path}"), raw, facts))
        rules, errors = collect_rules(parsed)
        self.problems += [f"rule file: {e}" for e in errors]
        wrong = sorted({r.id for r in rules} ^ {e["id"] for e in self.manifest["rules"]})
        if wrong:
            self.problems.append(f"the bundled rules and the manifest's disagree on rule ids: "
                                 f"{', '.join(wrong)}")
        if errors or wrong or not ok:
            self.problems.append("findings not re-evaluated: the rules cannot all be loaded")
            return None
        return rules

    def _now(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.manifest["scan"]["started"])
        except ValueError as exc:
            self.problems.append(f"manifest.json: scan.started is not a time ({exc}); "
                                 f"findings not re-evaluated")
            return None

    def _exceptions(self) -> None:
        """Which findings the bundled exceptions report says each exception muted."""
        if EXCEPTIONS not in self.listed:
            return
        doc = self._json(EXCEPTIONS)
        try:
            for e in doc["exceptions"] if doc is not None else ():
                self.muted[e["id"]] = {(m["account_id"], m["rule_id"])
                                       for m in e["muted_findings"]}
        except _SHAPE_ERRORS as exc:
            self.problems.append(f"{EXCEPTIONS}: not an exceptions report ({exc!r})")

    # --- checking -----------------------------------------------------------------------

    def _account(self, name: str, rules: Sequence[Rule], org_facts: Mapping[str, JSON |
                 FactError], org: Organization, now: datetime) -> None:
        ev = self._json(name)
        if ev is None:
            return
        try:
            account = account_from_json(ev["account"])
            if not isinstance(account.id, str):
                raise TypeError(f"account id {account.id!r} is not a string")
            coverage = Coverage(ev["coverage"])
            facts = _account_facts(ev)
            bundled = list(ev["findings"])
            reason = str(ev["reason"])
            # The scan evaluated each account with the organization facts beside its own.
            if coverage is Coverage.NOT_ASSESSED:
                # NOT_ASSESSED, but for what organization-level evidence proves.
                evaluated = assess_without_account_facts(rules, account, reason, facts, now, org)
            else:
                evaluated = evaluate_account(rules, {**org_facts, **facts}, account, now, org)
        except _SHAPE_ERRORS as exc:
            self.problems.append(f"{name}: not an orgscan evidence file ({exc!r}); its "
                                 f"findings not re-evaluated")
            return
        if name != f"evidence/{account.id}.json":
            self.problems.append(f"{name}: holds the evidence of account {account.id}")
        self.coverage[account.id] = coverage.value
        if coverage is Coverage.NOT_ASSESSED and set(facts) - {"root.usage"}:
            # The scan keeps no account facts for an account it could not assess.
            self.problems.append(f"{name}: the account is not assessed, yet its evidence holds "
                                 f"facts collected from it ({', '.join(sorted(facts))})")
        expected = {(f.account_id, f.rule_id): frozenset({f.status.value}) for f in evaluated}
        self._compare(name, bundled, expected)

    def _compare(self, where: str, bundled: Iterable[Any],
                 expected: Mapping[Key, frozenset[str]]) -> None:
        seen: set[Key] = set()
        for f in bundled:
            self._one(where, f, expected, seen)
        for key in sorted(set(expected) - seen):
            self.mismatches.append(Mismatch(where, key[0], key[1], ABSENT,
                                            _show(expected[key])))
        self.expected.update(expected)

    def _one(self, where: str, f: Any, expected: Mapping[Key, frozenset[str]],
             seen: set[Key]) -> None:
        self.checked += 1
        if not isinstance(f, Mapping):
            self.mismatches.append(Mismatch(where, "?", "?", repr(f)[:60], "not a finding"))
            return
        key = (str(f.get("account_id")), str(f.get("rule_id")))
        status = str(f.get("status"))
        allowed = expected.get(key)
        if key in seen:
            self.mismatches.append(Mismatch(where, *key, status, "listed more than once"))
        seen.add(key)
        if allowed is None:
            self.mismatches.append(Mismatch(where, *key, status, ABSENT))
        elif not self._follows(f, key, status, allowed):
            self.mismatches.append(Mismatch(where, *key, status, _show(allowed)))

    def _follows(self, f: Mapping[str, Any], key: Key, status: str,
                 allowed: frozenset[str]) -> bool:
        if status == Status.MUTED.value:
            return (Status.FAIL.value in allowed
                    and key in self.muted.get(str(f.get("muted_by")), set()))
        return status in allowed

    def _findings_report(self) -> None:
        """reports/findings.json, item by item, against the verdicts computed above."""
        if FINDINGS not in self.listed:
            return
        seen: set[Key] = set()
        try:
            with self.reader.stream(FINDINGS) as fh:
                for f in iter_array(fh, "findings"):
                    self._one(FINDINGS, f, self.expected, seen)
        except (MemberError, JsonStreamError) as exc:
            self.problems.append(f"{FINDINGS}: {exc}")
            return
        for key in sorted(set(self.expected) - seen):
            self.mismatches.append(Mismatch(FINDINGS, key[0], key[1], ABSENT,
                                            _show(self.expected[key])))

    def _coverage_reports(self) -> None:
        """coverage.json and the manifest say of each account what its evidence says."""
        counts = {c.value: 0 for c in Coverage}
        for value in self.coverage.values():
            counts[value] += 1
        told = self.manifest["coverage"]["counts"]
        if told != counts:
            self.problems.append(f"manifest.json: coverage counts {told} do not follow from the "
                                 f"evidence files ({counts})")
        if COVERAGE not in self.listed:
            return
        doc = self._json(COVERAGE)
        try:
            listed = {a["account_id"]: a["coverage"] for a in doc["accounts"]} if doc else {}
            complete = doc["complete"] if doc else None
        except _SHAPE_ERRORS as exc:
            self.problems.append(f"{COVERAGE}: not a coverage report ({exc!r})")
            return
        for account in sorted(set(listed) | set(self.coverage)):
            mine, theirs = self.coverage.get(account, ABSENT), listed.get(account, ABSENT)
            if mine != theirs:
                self.problems.append(f"{COVERAGE}: account {account} is {theirs}, its "
                                     f"evidence says {mine}")
        if doc is not None and complete and counts[Coverage.ASSESSED.value] != len(
                self.coverage):
            self.problems.append(f"{COVERAGE}: says complete, yet some accounts' evidence "
                                 f"says they were not (fully) assessed")


def _account_facts(ev: Mapping[str, Any]) -> dict[str, JSON | FactError]:
    """The facts of one account as the scan held them (the bundle files the credential report
    and the root-usage record apart: see ``report.bundle.account_evidence``)."""
    facts = {k: fact_from_json(v) for k, v in ev["facts"].items()}
    report = ev.get("credential_report")
    if isinstance(report, Mapping) and set(report) == {"root_row", "rows"}:
        facts["iam.credential_report"] = report["rows"]
    elif report is not None:
        facts["iam.credential_report"] = fact_from_json(report)
    if ev.get("root_usage") is not None:
        facts["root.usage"] = fact_from_json(ev["root_usage"])
    return facts


def _organization(inventory: Mapping[str, Any]) -> Organization:
    """The organization from its inventory form (``report.core.inventory_json``)."""
    return organization_from_json({**inventory["organization"], "units": inventory["units"],
                                   "accounts": inventory["accounts"],
                                   "policies": inventory["policies"]})


def _show(statuses: frozenset[str]) -> str:
    return " or ".join(sorted(statuses))


__all__ = ["Reevaluation", "reevaluate"]
