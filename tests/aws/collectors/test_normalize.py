"""Credential-report parsing and value normalisation (pure)."""

from __future__ import annotations

import pytest

from scanner.aws.collectors.normalize import (
    REPORT_COLUMNS,
    arn_account,
    arn_region,
    is_sns_topic_arn,
    log_group_name,
    norm_bool,
    norm_date,
    parse_credential_report,
)
from scanner.core.rootcreds import root_row

HEADER = ",".join(REPORT_COLUMNS)
ROOT = ("<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,"
        "2026-10-30T08:15:00+00:00,not_supported,not_supported,true,true,"
        "2024-01-01T00:00:00+00:00,2026-10-31T10:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,"
        "false,N/A,false,N/A")
ALICE = ("alice,arn:aws:iam::123456789012:user/alice,2021-05-05T05:05:05+00:00,true,"
         "no_information,2021-05-05T05:05:05+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,"
         "N/A,N/A,N/A,false,N/A,false,N/A")


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("false", False), ("TRUE", True), (" false ", False),
    ("not_supported", None), ("N/A", None), ("no_information", None), ("", None), (None, None),
    ("maybe", None),
])
def test_norm_bool(text: str | None, expected: bool | None) -> None:
    assert norm_bool(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-10-31T10:00:00+00:00", "2026-10-31T10:00:00+00:00"),
    ("2026-10-31T10:00:00Z", "2026-10-31T10:00:00+00:00"),
    ("2026-10-31T10:00:00", "2026-10-31T10:00:00+00:00"),  # naive: the report's clock is UTC
    ("2026-10-31T12:00:00+02:00", "2026-10-31T12:00:00+02:00"),
    ("N/A", None), ("no_information", None), ("not_supported", None), ("", None),
    ("yesterday", None),
])
def test_norm_date(text: str, expected: str | None) -> None:
    assert norm_date(text) == expected


def test_parse_rows_bytes_with_bom_and_crlf() -> None:
    content = ("\ufeff" + HEADER + "\r\n" + ROOT + "\r\n" + ALICE + "\r\n").encode()
    rows = parse_credential_report(content, "2026-11-01T10:00:00Z")
    assert [r["user"] for r in rows] == ["<root_account>", "alice"]
    root = root_row(rows)
    assert root is not None
    assert root["password_enabled"] is None  # not_supported: unknown, never false
    assert root["password_last_used"] == "2026-10-30T08:15:00+00:00"
    assert root["mfa_active"] is True
    assert root["access_key_1_active"] is True
    assert root["access_key_1_last_used_region"] == "us-east-1"
    assert root["access_key_2_active"] is False
    assert root["access_key_2_last_rotated"] is None
    assert root["access_key_2_last_used_service"] is None
    assert root["raw"]["password_enabled"] == "not_supported"
    assert root["raw"]["access_key_2_last_rotated"] == "N/A"
    assert root["report_generated_time"] == "2026-11-01T10:00:00+00:00"
    alice = rows[1]
    assert alice["password_enabled"] is True
    assert alice["password_last_used"] is None  # no_information
    assert alice["arn"] == "arn:aws:iam::123456789012:user/alice"


def test_extra_columns_are_kept_in_raw_only() -> None:
    header = HEADER + ",passkey_1_active,future_col"
    rows = parse_credential_report(header + "\n" + ALICE + ",true,xyz\n")
    assert rows[0]["raw"]["future_col"] == "xyz"
    assert rows[0]["raw"]["passkey_1_active"] == "true"
    assert "future_col" not in rows[0]
    assert set(REPORT_COLUMNS) <= set(rows[0])


def test_missing_columns_are_null_and_order_does_not_matter() -> None:
    text = "mfa_active,user,password_enabled\nfalse,<root_account>,true\n"
    (row,) = parse_credential_report(text)
    assert row["user"] == "<root_account>"
    assert row["mfa_active"] is False
    assert row["password_enabled"] is True
    assert row["access_key_1_active"] is None
    assert row["cert_2_last_rotated"] is None
    assert row["raw"] == {"mfa_active": "false", "user": "<root_account>",
                          "password_enabled": "true"}
    assert row["report_generated_time"] is None


def test_short_row_and_blank_lines() -> None:
    text = HEADER + "\n\n" + "bob,arn:aws:iam::1:user/bob,2021-01-01T00:00:00+00:00,false\n\n"
    (row,) = parse_credential_report(text)
    assert row["password_enabled"] is False
    assert row["mfa_active"] is None
    assert row["raw"]["mfa_active"] == ""


def test_quoted_fields() -> None:
    text = 'user,arn,access_key_1_last_used_service\n"a,b",arn:x,"s3"\n'
    (row,) = parse_credential_report(text)
    assert row["user"] == "a,b"
    assert row["access_key_1_last_used_service"] == "s3"


def test_empty_report() -> None:
    assert parse_credential_report(b"") == []
    assert parse_credential_report(HEADER + "\n") == []
    assert root_row([]) is None


def test_arn_helpers() -> None:
    group = "arn:aws:logs:eu-west-1:123456789012:log-group:aws-controltower/CloudTrailLogs:*"
    assert log_group_name(group) == "aws-controltower/CloudTrailLogs"
    assert arn_region(group) == "eu-west-1"
    assert arn_account(group) == "123456789012"
    assert log_group_name("arn:aws:s3:::bucket") is None
    assert log_group_name(None) is None
    assert arn_account("arn:aws:s3:::bucket") is None
    assert is_sns_topic_arn("arn:aws:sns:us-east-1:123456789012:alerts")
    assert is_sns_topic_arn("arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts")
    assert not is_sns_topic_arn("arn:aws:automate:us-east-1:ec2:stop")
    assert not is_sns_topic_arn("arn:aws:sns:us-east-1:123456789012:alerts:sub-id")
