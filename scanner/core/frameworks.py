"""Framework summaries: findings grouped by framework control, across the organization.

A control's status across the org is the worst of its findings, in this order:
FAIL > ERROR > NOT_ASSESSED > MUTED > PASS > NOT_APPLICABLE. An ERROR or NOT_ASSESSED account
keeps a control from reading as passed (unknown never passes); MUTED (an accepted FAIL) ranks
above PASS so that accepted risk stays visible.

PURE: no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.core.models import Finding, Status

_WORST_FIRST = (Status.FAIL, Status.ERROR, Status.NOT_ASSESSED, Status.MUTED, Status.PASS,
                Status.NOT_APPLICABLE)


@dataclass(frozen=True)
class ControlSummary:
    framework: str
    control: str
    status: Status
    rule_ids: tuple[str, ...]
    counts: Mapping[Status, int]
    failing_accounts: tuple[str, ...]  # account ids with a FAIL
    error_accounts: tuple[str, ...]  # ERROR: a fact the rule needs failed or is unknown
    not_assessed_accounts: tuple[str, ...]  # NOT_ASSESSED: the account could not be read

    def to_json(self) -> dict[str, Any]:
        return {
            "framework": self.framework, "control": self.control, "status": self.status.value,
            "rule_ids": list(self.rule_ids),
            "counts": {s.value: self.counts.get(s, 0) for s in _WORST_FIRST},
            "failing_accounts": list(self.failing_accounts),
            "error_accounts": list(self.error_accounts),
            "not_assessed_accounts": list(self.not_assessed_accounts),
        }


def control_sort_key(control: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: 1.2 < 1.10 < 2.1.1; IAM.4 < IAM.16."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-]", control))


def worst(statuses: Iterable[Status]) -> Status:
    present = set(statuses)
    for s in _WORST_FIRST:
        if s in present:
            return s
    return Status.NOT_APPLICABLE


def frameworks_of(findings: Iterable[Finding]) -> list[str]:
    return sorted({fw for f in findings for fw in f.compliance})


def summarize(findings: Iterable[Finding], framework: str) -> list[ControlSummary]:
    """One summary per control of ``framework``, in natural control order."""
    by_control: dict[str, list[Finding]] = {}
    for f in findings:
        for control in f.compliance.get(framework, ()):
            by_control.setdefault(control, []).append(f)
    out = []
    for control in sorted(by_control, key=control_sort_key):
        group = by_control[control]
        counts = Counter(f.status for f in group)
        out.append(ControlSummary(
            framework=framework, control=control, status=worst(counts),
            rule_ids=tuple(sorted({f.rule_id for f in group})),
            counts=dict(counts),
            failing_accounts=tuple(sorted({f.account_id for f in group
                                           if f.status is Status.FAIL})),
            error_accounts=tuple(sorted({f.account_id for f in group
                                         if f.status is Status.ERROR})),
            not_assessed_accounts=tuple(sorted({f.account_id for f in group
                                                if f.status is Status.NOT_ASSESSED})),
        ))
    return out


# The CLI table's count columns: every status under its own name, as in every other output.
_TABLE_STATUSES = (Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_ASSESSED, Status.MUTED,
                   Status.NOT_APPLICABLE)


def format_summary(summaries: Iterable[ControlSummary]) -> str:
    """Plain-text table for the CLI."""
    counts = " ".join(f"{s.value:>{len(s.value)}}" for s in _TABLE_STATUSES)
    lines = [f"{'CONTROL':<10} {'STATUS':<15} {counts}  RULES / FAILING ACCOUNTS"]
    for s in summaries:
        row = " ".join(f"{s.counts.get(st, 0):>{len(st.value)}}" for st in _TABLE_STATUSES)
        failing = f" failing: {', '.join(s.failing_accounts)}" if s.failing_accounts else ""
        lines.append(f"{s.control:<10} {s.status.value:<15} {row}"
                     f"  {', '.join(s.rule_ids)}{failing}")
    return "\n".join(lines)
