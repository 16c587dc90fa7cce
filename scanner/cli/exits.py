"""orgscan's exit codes, in one place: what each means, and the code a finished scan exits with."""

from __future__ import annotations

import signal

from scanner.core.models import Severity, Status
from scanner.core.results import ScanResult

EXIT_OK = 0
EXIT_FINDINGS = 1  # FAIL findings at or above --fail-on
EXIT_USAGE = 2  # bad arguments, config, rules or other input files
EXIT_PARTIAL = 3  # incomplete: an account partial or not assessed, or an ERROR verdict
EXIT_AWS = 4  # nothing could be scanned: no credentials, no organization, no endpoint
EXIT_BUNDLE = 5  # reports written, but the evidence bundle failed its secrets check
EXIT_OUTPUT = 6  # an output could not be written (disk full, read-only, permissions, not a dir)
EXIT_LOCKED = 7  # another orgscan run holds the output directory
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C); the reports written are marked incomplete
EXIT_TERMINATED = 143  # SIGTERM (schedulers, CI time-outs); as for SIGINT
# `orgscan report verify`: the bundle does not match its manifest.
EXIT_TAMPERED = EXIT_FINDINGS
# `orgscan rules test`: a rule's own test case failed.
EXIT_TEST_FAILED = EXIT_FINDINGS


EXIT_CODES = f"""exit codes:
  {EXIT_OK}    scan complete (every verdict decided); no FAIL at or above --fail-on
  {EXIT_FINDINGS}    FAIL findings at or above --fail-on
  {EXIT_USAGE}    usage, config or rule error (nothing was scanned)
  {EXIT_PARTIAL}    incomplete: some account partial or not assessed, or some verdict ERROR
  {EXIT_AWS}    AWS error before any account could be scanned
  {EXIT_BUNDLE}    reports written; the evidence bundle was withheld (it would hold a secret)
  {EXIT_OUTPUT}    an output could not be written (disk full, read-only, permissions, --out not
       a directory); the journal keeps every account scanned, no partial report is left
  {EXIT_LOCKED}    another orgscan run is using the output directory (it is named)
  {EXIT_INTERRUPTED}  interrupted by SIGINT (Ctrl-C); the reports written are marked incomplete
  {EXIT_TERMINATED}  terminated by SIGTERM; as for SIGINT"""


def signal_code(signum: int | None) -> int:
    """The exit code of a run a signal interrupted."""
    return EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED

# `orgscan demo` takes no --fail-on, and its partial coverage is by design.
DEMO_EXIT_CODES = f"""exit codes:
  {EXIT_OK}    the demo ran to the end (its 2 accounts not assessed are part of the demo)
  {EXIT_USAGE}    usage error or unreadable scenario
  {EXIT_INTERRUPTED}  interrupted; the reports written are marked incomplete"""


def exit_code(result: ScanResult, fail_on: str | None) -> int:
    """0 only when every verdict was decided: ``complete`` is false (exit 3) when any account
    is partial or not assessed or any selected rule's finding is ERROR (docs/semantics.md)."""
    if result.interrupted:
        return EXIT_INTERRUPTED
    if not result.complete:
        return EXIT_PARTIAL
    if fail_on is not None:
        floor = Severity(fail_on).rank
        if any(f.status is Status.FAIL and f.severity.rank >= floor for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_OK
