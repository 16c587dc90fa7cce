"""One spelling of a timestamp in orgscan's output: ISO 8601 with its UTC offset.

PURE. Every datetime orgscan writes (account join dates, credential expiry, credential-report
dates, root-event and window times) goes through ``iso``, so outputs never mix spellings.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime) -> str:
    """``2026-10-31T10:00:00+00:00``. A naive datetime is taken as UTC (AWS's clock); an aware
    one keeps its offset, so a time is written as the source stated it (root-event and window
    times are already UTC: ``rootclassify.parse_time`` converts them on the way in)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
