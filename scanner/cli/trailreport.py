"""`orgscan trail-report PATH... --out DIR`: root use from CloudTrail log files on disk.

No AWS access at all: no credentials are read and no client is created (the AWS SDK is not
even imported). The reading is ``scanner.run.trailfiles``; the records are built as a scan's
organization-trail source builds them (``scanner.core.trailslices``).
"""

from __future__ import annotations

import argparse
import sys
import time as time_module
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from scanner.cli.exits import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE

EXITS = f"""exit codes:
  {EXIT_OK}    every file was read; the report is complete
  {EXIT_USAGE}    bad arguments: no such path, a bad date, no log files found, no records
  {EXIT_PARTIAL}    report written, but some files could not be read (gaps: named on the
       terminal and in root-usage.json's log_files.gaps)"""

DESCRIPTION = """\
Read CloudTrail log files (a copy of a trail's bucket, an export) with no AWS access at all,
and write root-usage.json, root-usage.csv and root-usage.html as a scan does.

PATHs are files or directories (walked recursively); files are .json or .json.gz, each a
CloudTrail document ({"Records": [...]}), a JSON array of records, or JSON lines. The window
is the span of the records read unless --since/--until narrow it."""
TERMINAL_GAPS = 20  # gaps named on the terminal; root-usage.json lists more


class ArgError(Exception):
    """A bad argument: one line for the terminal."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "trail-report", help="root use from CloudTrail log files on disk (no AWS access)",
        description=DESCRIPTION,
        epilog=EXITS, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="log file or directory")
    p.add_argument("--out", required=True, type=Path, help="output directory")
    p.add_argument("--since", metavar="DATE",
                   help="window start: YYYY-MM-DD (UTC midnight) or an ISO 8601 time")
    p.add_argument("--until", metavar="DATE",
                   help="window end, inclusive: YYYY-MM-DD (the whole day, UTC) or an ISO 8601 "
                        "time")
    p.add_argument("--workers", type=int, default=2,
                   help="files read at once (default 2)")
    p.add_argument("--quiet", action="store_true", help="print only errors and gaps")
    p.set_defaults(func=cmd_trail_report)


def parse_bound(text: str | None, flag: str, *, end: bool) -> datetime | None:
    """``YYYY-MM-DD`` (the day's first or, for an end, last instant) or an ISO time (UTC
    when it names no zone)."""
    if text is None:
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").date()
            start = datetime.combine(day, time(), UTC)
            return start + timedelta(days=1, microseconds=-1) if end else start
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise ArgError(f"{flag} {text!r}: not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def cmd_trail_report(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ArgError as exc:
        print(f"orgscan trail-report: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    from scanner import __version__
    from scanner.core.timefmt import iso
    from scanner.core.trailslices import slice_records, window_between
    from scanner.report.trailreport import write_trail_report
    from scanner.run.trailfiles import MAX_GAPS_LISTED, Bounds, read_files

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise ArgError(f"no such file or directory: {', '.join(missing)}")
    if args.workers < 1:
        raise ArgError(f"--workers {args.workers}: must be at least 1")
    if args.out.exists() and not args.out.is_dir():
        raise ArgError(f"--out {args.out}: exists and is not a directory")
    bounds = Bounds(parse_bound(args.since, "--since", end=False),
                    parse_bound(args.until, "--until", end=True))
    if bounds.since and bounds.until and bounds.until < bounds.since:
        raise ArgError(f"--until {args.until} is before --since {args.since}")

    progress = _Progress() if not args.quiet and sys.stderr.isatty() else None
    read = read_files(args.paths, bounds, workers=args.workers, progress=progress)
    if progress is not None:
        progress.done()
    where = ", ".join(str(p) for p in args.paths)
    if read.files == 0 and read.gap_count == 0:
        outside = read.skipped.get("outside_window", 0)
        raise ArgError(f"no CloudTrail log files (.json, .json.gz) under {where}"
                       + (f" ({outside} outside --since/--until)" if outside else ""))
    _print_gaps(read.gaps, read.gap_count)
    start = bounds.since or read.span.first
    end = bounds.until or read.span.last
    if start is None or end is None:
        print(f"orgscan trail-report: no CloudTrail record read in {read.files} file(s) under "
              f"{where}; give --since and --until to report over a window anyway",
              file=sys.stderr)
        return EXIT_PARTIAL if read.gap_count else EXIT_USAGE
    first, last = (iso(t) if t else None for t in (read.span.first, read.span.last))
    if end < start:
        raise ArgError(f"no record in the window: the records read span {first} .. {last}")
    window = window_between(start, end)
    origin = ("arguments" if bounds.since and bounds.until else
              "records" if not (bounds.since or bounds.until) else "arguments and records")
    records = slice_records(read.slices, window, unattributed_gaps=read.unattributed_gaps)
    log_files = {
        "paths": [str(p) for p in args.paths],
        "window": {"start": iso(window.start), "end": iso(window.end), "days": window.days,
                   "from": origin},
        "record_span": {"first": first, "last": last},
        "files": read.files,
        "compressed_bytes": read.compressed_bytes,
        "inflated_bytes": read.inflated_bytes,
        "matched_files": read.matched_files,
        "records_parsed": read.records_parsed,
        "skipped": dict(sorted(read.skipped.items())),
        "gap_count": read.gap_count,
        "gaps": list(read.gaps),
        "gaps_listed_max": MAX_GAPS_LISTED,
        "unattributed_gaps": read.unattributed_gaps,
        "unattributed_events": read.unattributed_events,
    }
    org = ",".join(sorted(read.org_ids)) or "unknown"
    try:
        paths = write_trail_report(records, log_files, args.out,
                                   generated_at=iso(datetime.now(UTC)), organization_id=org,
                                   version=__version__)
    except OSError as exc:
        raise ArgError(f"cannot write to {args.out}: {exc.strerror or exc}") from None
    if not args.quiet:
        _print_summary(records, log_files, paths)
    return EXIT_PARTIAL if read.gap_count else EXIT_OK


class _Progress:
    """A line on a terminal every few seconds while files are read."""

    EVERY = 5.0

    def __init__(self) -> None:
        self.last = time_module.monotonic()
        self.shown = False

    def __call__(self, read: Any) -> None:
        now = time_module.monotonic()
        if now - self.last >= self.EVERY:
            self.last, self.shown = now, True
            print(f"\rread {read.files} file(s), {read.compressed_bytes / 1e6:.0f} MB, "
                  f"{read.gap_count} gap(s)", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def _print_gaps(gaps: list[dict[str, str]], count: int) -> None:
    if not count:
        return
    print(f"orgscan trail-report: {count} file(s) could not be read (gaps):", file=sys.stderr)
    for g in gaps[:TERMINAL_GAPS]:
        print(f"  {g['path']}: {g['error']}: {g['detail']}", file=sys.stderr)
    if count > TERMINAL_GAPS:
        print(f"  ... and {count - TERMINAL_GAPS} more (root-usage.json: log_files.gaps)",
              file=sys.stderr)


def _print_summary(records: list[Any], log_files: dict[str, Any], paths: list[Path]) -> None:
    w = log_files["window"]
    used = sorted((r for r in records if r.used_in_window is True),
                  key=lambda r: r.last_used or "", reverse=True)
    unknown = [r for r in records if r.used_in_window is None]
    print(f"Window: {w['start']} .. {w['end']} ({w['days']} days, from the {w['from']})")
    print(f"Read {log_files['files']} file(s), {log_files['compressed_bytes']} bytes; "
          f"{log_files['matched_files']} with root records; {log_files['gap_count']} gap(s)")
    print(f"Accounts: {len(records)}; used root: {len(used)}; unknown: {len(unknown)}")
    for r in used[:20]:
        print(f"  {r.account_id}  last used {r.last_used} ({r.last_used_channel}); "
              f"channels {', '.join(r.channels)}")
    print("Wrote " + ", ".join(str(p) for p in paths))


__all__ = ["add_parser", "cmd_trail_report", "parse_bound"]
