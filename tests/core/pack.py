"""The shipped rule pack, loaded with the core alone.

tests/core may import nothing but the core, so the facts a rule may read (the collector
registry's, scanner.aws.collectors.fact_scopes()) are restated here; tests/cli/test_rules.py
checks that this copy and the registry agree.
"""

from __future__ import annotations

from pathlib import Path

from scanner.core.rules import FactScopes, Rule, RuleError, RuleLoadError, collect_rules, parse_rule

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

FACTS: dict[str, str] = {
    "account.alternate_contacts": "account",
    "athena.root_events": "organization",
    "lake.root_events": "organization",
    "cloudtrail.assume_root_calls": "organization",
    "cloudtrail.organization_trails": "organization",
    "cloudtrail.root_events": "account",
    "cloudtrail.trails": "account",
    "iam.account_summary": "account",
    "iam.credential_report": "account",
    "iam.organizations_features": "organization",
    "iam.password_policy": "account",
    "iam.virtual_mfa_devices": "account",
    "monitoring.root_usage_alarms": "account",
    "org.account_policies": "account",
    "org.summary": "organization",
    "orgtrail.root_events": "organization",
    "root.mfa": "account",
    "root.usage": "account",
}


def parse_file(path: Path, facts: FactScopes = FACTS) -> tuple[Rule | None, list[RuleError]]:
    return parse_rule(path, path.read_text(encoding="utf-8"), facts)


def load_pack() -> list[Rule]:
    rules, errors = collect_rules(parse_file(p) for p in sorted(RULES_DIR.glob("*.yaml")))
    if errors:
        raise RuleLoadError(errors)
    return rules
