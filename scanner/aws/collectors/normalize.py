"""Pure helpers for collectors: credential-report parsing and value normalisation.

No I/O and no AWS types here, so that every quirk of AWS's text (``not_supported``, ``N/A``,
``no_information``, missing or extra columns) is handled once and tested without a server.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scanner.core.models import JSON
from scanner.core.timefmt import iso

# The credential report's columns as AWS documents them, in AWS's order. A report missing one
# of these still parses (the value is null); columns AWS adds later are kept under ``raw``.
REPORT_COLUMNS: tuple[str, ...] = (
    "user", "arn", "user_creation_time",
    "password_enabled", "password_last_used", "password_last_changed", "password_next_rotation",
    "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
)
BOOL_COLUMNS = frozenset({
    "password_enabled", "mfa_active", "access_key_1_active", "access_key_2_active",
    "cert_1_active", "cert_2_active",
})
DATE_COLUMNS = frozenset({
    "user_creation_time", "password_last_used", "password_last_changed",
    "password_next_rotation", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_2_last_rotated", "access_key_2_last_used_date", "cert_1_last_rotated",
    "cert_2_last_rotated",
})

# The report's spellings of "unknown" / "does not apply". All of them mean null: unknown is
# never false (a root whose password_enabled is not_supported may well have a password).
UNKNOWN_VALUES = frozenset({"", "n/a", "no_information", "not_supported"})


def is_unknown(value: str | None) -> bool:
    return value is None or value.strip().lower() in UNKNOWN_VALUES


def norm_bool(value: str | None) -> bool | None:
    """``true``/``false`` (any case) -> bool; everything else (the unknown markers included)
    -> None."""
    text = (value or "").strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    return None


def norm_date(value: Any) -> str | None:
    """A report date (``2024-01-02T03:04:05+00:00``, ``...Z``) or a datetime -> ISO with tz."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso(value)
    text = str(value).strip()
    if is_unknown(text):
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return iso(datetime.fromisoformat(text))
    except ValueError:
        return None


def norm_text(value: str | None) -> str | None:
    return None if is_unknown(value) else value


def parse_credential_report(content: bytes | str, generated_time: Any = None) -> list[JSON]:
    """Rows of a credential report (CSV) as normalised objects.

    Each row holds every documented column (null when AWS left it out or wrote an unknown
    marker), ``raw`` (the strings exactly as AWS wrote them, extra columns included) and
    ``report_generated_time``.
    """
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    generated = norm_date(generated_time)
    rows: list[JSON] = []
    for record in reader:
        if not record or all(not cell.strip() for cell in record):
            continue
        if header is None:
            header = [h.strip() for h in record]
            continue
        raw: dict[str, str] = {}
        for i, name in enumerate(header):
            if name:
                raw[name] = record[i] if i < len(record) else ""
        rows.append(normalise_row(raw, generated))
    return rows


def normalise_row(raw: Mapping[str, str], generated: str | None) -> dict[str, JSON]:
    row: dict[str, JSON] = {}
    for col in REPORT_COLUMNS:
        value = raw.get(col)
        if col in BOOL_COLUMNS:
            row[col] = norm_bool(value)
        elif col in DATE_COLUMNS:
            row[col] = norm_date(value)
        elif col == "user":
            # The root row's user name is literal; never treat a user name as unknown.
            row[col] = value
        else:
            row[col] = norm_text(value)
    row["raw"] = dict(raw)
    row["report_generated_time"] = generated
    return row


def arn_account(arn: str | None) -> str | None:
    """The account field of an ARN (``arn:aws:svc:region:ACCOUNT:...``), or None."""
    if not arn:
        return None
    parts = arn.split(":", 5)
    return parts[4] or None if len(parts) > 4 else None


def arn_region(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":", 5)
    return parts[3] or None if len(parts) > 3 else None


def log_group_name(arn: str | None) -> str | None:
    """``arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`` -> NAME (names may not hold ':')."""
    if not arn:
        return None
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "logs" and parts[5] == "log-group":
        return parts[6] or None
    return None


def is_sns_topic_arn(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "sns"
