"""root-usage.json (validated against its schema), root-usage.csv, per-OU counts."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner.core.models import Account, AccountState
from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import RootUsage, SourceCoverage, Window, build_root_usage
from scanner.report.csvout import safe_cell
from scanner.report.rootusage_writer import (
    CSV_COLUMNS,
    cell_value,
    per_ou_counts,
    render_json,
    root_usage_document,
    write_root_usage_csv,
)
from tests.core.events import ACCT, ev, login

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WIN = Window.ending(NOW, 90)
OTHER = "444455556666"


def schema() -> dict[str, Any]:
    text = (resources.files("scanner") / "schemas" / "root-usage.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(doc: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(doc)


def account(aid: str, name: str, ou: str) -> Account:
    return Account(id=aid, name=name, email=f"{name}@example.com", arn=f"arn:{aid}",
                   status=AccountState.ACTIVE, joined_method="CREATED",
                   joined_timestamp="2024-01-01T00:00:00+00:00", parent_id="ou-x", ou_path=ou)


ACCOUNTS = [account(ACCT, "=cmd|' /C calc'!A0", "Root/Workloads/Prod"),
            account(OTHER, "sandbox", "Root/Sandbox")]


def records() -> list[RootUsage]:
    evs = [RootEvent.from_cloudtrail(login("l", "2026-02-01T00:00:00Z", ip="203.0.113.9"),
                                     "org_trail"),
           RootEvent.from_cloudtrail(ev("a", time="2026-02-02T00:00:00Z",
                                        userAgent="-exec(bad)"), "event_history")]
    cov = SourceCoverage("event_history", WIN.start.isoformat(), WIN.end.isoformat(), True,
                         "2 regions", None, ("us-east-1", "eu-west-1"))
    row = {"user": "<root_account>", "password_enabled": True, "access_key_1_active": True,
           "access_key_1_last_rotated": "2025-01-01T00:00:00+00:00",
           "access_key_1_last_used_date": "2026-02-20T00:00:00+00:00",
           "access_key_2_active": False, "mfa_active": False}
    used = build_root_usage(ACCT, WIN, [e for e in evs if e], [cov], credential_row=row,
                            root_mfa={"mfa_kind": "none", "mfa_active": False,
                                      "credentials_present": True})
    unknown = build_root_usage(OTHER, WIN, [], [SourceCoverage.failed(
        "event_history", WIN, "AccessDenied", "denied")], assessed=False)
    return [used, unknown]


def test_json_document_validates() -> None:
    doc = root_usage_document(records(), ACCOUNTS, generated_at=NOW.isoformat(),
                              organization_id="o-abc", lookback_days=90,
                              regions=["us-east-1", "eu-west-1"], sources=["event_history"])
    validate(doc)
    again = json.loads(render_json(doc))
    validate(again)
    assert doc["summary"]["accounts_using_root_ids"] == [ACCT]
    assert doc["summary"]["accounts_unknown_ids"] == [OTHER]
    assert doc["regions_note"]  # a narrowed scan says so
    assert doc["accounts"][0]["account_name"] == "=cmd|' /C calc'!A0"  # JSON keeps it as is


def test_json_accepts_fact_form_and_rejects_bad_records() -> None:
    facts = [r.to_json() for r in records()]
    doc = root_usage_document(facts, ACCOUNTS, generated_at=NOW.isoformat(),
                              organization_id="o-abc", lookback_days=90)
    validate(doc)
    doc["accounts"][0]["last_used_channel"] = "telepathy"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_csv_one_row_per_account_and_injection_safe(tmp_path: Path) -> None:
    path = write_root_usage_csv(tmp_path / "root-usage.csv", records(), ACCOUNTS)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 3
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["account_name"] == "'=cmd|' /C calc'!A0"
    assert row["user_agents"].startswith("'-exec(bad)")
    assert row["used_in_window"] == "true"
    assert row["channels"] == "api;console;keys"
    assert row["root_key_last_used"] == "2026-02-20T00:00:00+00:00"
    assert row["mfa_kind"] == "none"
    other = dict(zip(rows[0], rows[2], strict=True))
    assert other["used_in_window"] == "" and other["incomplete_sources"] == "event_history"


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("ok", "ok"), (None, ""), (True, "true"), (3, "3"),
    (["a", "=b"], "a;=b"), (["=a"], "'=a"),
])
def test_cells_are_text_and_injection_safe(value: Any, expected: str) -> None:
    assert safe_cell(cell_value(value)) == expected


def test_per_ou_counts_roll_up() -> None:
    counts = per_ou_counts(records(), ACCOUNTS)
    assert counts["Root"]["accounts"] == 2
    assert counts["Root"]["accounts_using_root"] == 1
    assert counts["Root"]["accounts_unknown"] == 1
    assert counts["Root/Workloads"]["console_logins"] == 1
    assert counts["Root/Workloads/Prod"]["api_calls"] == 1
    assert counts["Root/Sandbox"]["accounts_using_root"] == 0
