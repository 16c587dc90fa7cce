"""One audit run: read and check every input, scan, apply exceptions and --ou, write every
output and the evidence bundle.

Every input file is read and validated before the scan reads anything from the organization,
so a typo costs seconds, not a scan: the exceptions file and the baseline before the first AWS
call, the rule pack while the first one (the caller's identity) is answered. The output
directory is locked for the whole run (``run.outlock``), and SIGINT/SIGTERM are handled at
every stage (``run.interrupts``).
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from scanner.aws.session import utcnow
from scanner.core.audit_report import AuditReport, build_audit_report
from scanner.core.errors import ConfigError
from scanner.core.mutelist import Exception_, ExceptionReport, apply
from scanner.core.results import JOURNAL_NAME, ScanResult
from scanner.core.rules import Rule, rules_digest
from scanner.core.settings import ScanConfig
from scanner.report import write_reports
from scanner.run.gctune import rarer_young_collections
from scanner.run.inputs import load_exceptions
from scanner.run.interrupts import Interrupted, Stop
from scanner.run.outlock import locked_output
from scanner.run.progress import Progress


@dataclass(frozen=True)
class RunOptions:
    resume: bool = False
    quiet: bool = False
    ou: str | None = None  # limit every report to this OU subtree (path or id)
    baseline: Path | None = None  # an earlier scan's output directory or bundle
    bundle: bool = True


@dataclass(frozen=True)
class RunOutcome:
    report: AuditReport  # what every output rendered
    written: list[Path]
    bundle_dir: Path | None
    exceptions: ExceptionReport | None
    signum: int | None = None  # the signal that interrupted the run
    notice: str = ""  # what an interruption left behind, in one line

    @property
    def result(self) -> ScanResult:
        """The scan as reported: exceptions applied, --ou restricted."""
        return self.report.result


def load_selected_rules(config: ScanConfig) -> list[Rule]:
    from scanner.core.rules import RuleLoadError
    from scanner.core.selection import select
    from scanner.run.rulepack import load_rules

    dirs = [Path(d) for d in config.rules.dirs] or None
    try:
        rules = load_rules(dirs)
    except RuleLoadError as exc:
        raise ConfigError("rules", str(exc)) from exc
    return select(rules, config.rules)


def _other_inputs(config: ScanConfig, opts: RunOptions) -> list[Exception_] | None:
    """The exceptions file and the baseline, read and checked now."""
    exceptions = (load_exceptions(Path(config.exceptions_file))
                  if config.exceptions_file else None)
    if opts.baseline is not None:
        # Imported only for a baseline: start-up to the first AWS request does not pay for it.
        from scanner.report.diffload import load_snapshot
        load_snapshot(opts.baseline)  # fails now, with the reason, if it is not a scan
    return exceptions


def run(config: ScanConfig, opts: RunOptions) -> RunOutcome:
    """Raises Interrupted when a signal stops the run before any account was scanned,
    OutputLocked when another run holds the output directory, OutputError when it cannot be
    written."""
    from scanner.run.orchestrator import scan

    stop = Stop()
    with stop.installed():
        exceptions = _other_inputs(config, opts)
        # The rule pack is parsed once the identity call is answered, not before it: start-up
        # to the first AWS request is shorter by the pack's parsing and checking.
        rules = cache(lambda: load_selected_rules(config))
        out = Path(config.output_dir)
        if opts.resume and not (out / JOURNAL_NAME).is_file():
            raise ConfigError(str(out), f"no journal to resume ({JOURNAL_NAME} is missing)",
                              hint="drop --resume to start a new scan")
        with locked_output(out), rarer_young_collections():
            progress = Progress(total=0, quiet=opts.quiet)
            try:
                result = asyncio.run(scan(config, rules, out_dir=out, resume=opts.resume,
                                          progress=progress, stop=stop))
            except asyncio.CancelledError:
                # Cancelled before the fan-out: the walk or the organization facts.
                raise Interrupted(stop.signum or signal.SIGINT, "walk") from None
            finally:
                stop.detach()  # the loop is gone, however the scan ended
            return finish(result, config, opts, rules(), exceptions, stop=stop,
                          progress=progress)


def finish(result: ScanResult, config: ScanConfig, opts: RunOptions, rules: list[Rule],
           exceptions: list[Exception_] | None, *, stop: Stop | None = None,
           progress: Progress | None = None) -> RunOutcome:
    """Everything after the scan: mute, restrict and model once, write, diff, bundle.

    With ``stop``: a signal while a complete scan's reports are written stops the writing and
    writes every report again, marked interrupted (run.interrupts)."""
    stop = stop or Stop()
    total = progress.total if progress is not None else len(result.accounts)
    scanned = progress.done if progress is not None else total
    if stop.signum is not None and not result.interrupted:
        result = replace(result, interrupted=True)  # a signal after the fan-out
    notice = ""
    if result.interrupted:
        with stop.deferring():
            outcome = _write(result, config, opts, rules, exceptions)
        if stop.signum is not None:
            notice = (f"interrupted ({stop.name}): {scanned} of {total} account(s) scanned; "
                      "reports marked incomplete (rerun with --resume to finish)")
    else:
        try:
            with stop.obeying():
                return _write(result, config, opts, rules, exceptions)
        except Interrupted:
            if progress is not None:
                progress.note(f"interrupted ({stop.name}) while writing the reports: writing "
                              "them again, marked incomplete")
            result = replace(result, interrupted=True)
            with stop.deferring():
                outcome = _write(result, config, opts, rules, exceptions)
            notice = (f"interrupted ({stop.name}) while writing the reports: all {total} "
                      "account(s) were scanned; every report was written again, marked "
                      "incomplete (rerun with --resume to write them unmarked)")
    return replace(outcome, signum=stop.signum, notice=notice)


def _write(result: ScanResult, config: ScanConfig, opts: RunOptions, rules: list[Rule],
           exceptions: list[Exception_] | None) -> RunOutcome:
    from scanner.report.bundle import write_bundle
    from scanner.report.diffload import diff_against
    from scanner.report.diffrender import write_diff

    out = Path(config.output_dir)
    exc_report: ExceptionReport | None = None
    if exceptions is not None:
        # Before --ou: an exception for another OU is out of view, not stale.
        result, exc_report = apply(result, exceptions, utcnow(),
                                   source=str(config.exceptions_file))
    # The one model every writer renders (built here only, so outputs cannot disagree).
    report = build_audit_report(result, ou=opts.ou, rules_digest=rules_digest(rules))
    written = write_reports(report, out, config.formats)
    if exc_report is not None:
        from scanner.report.mutelist import write_exceptions_report

        written.append(write_exceptions_report(exc_report, out))
    if opts.baseline is not None:
        written += write_diff(diff_against(opts.baseline, report.result, ou_path=opts.ou), out)
    bundle_dir = None
    if opts.bundle:
        bundle = write_bundle(report.result, out, reports=written, config=config, rules=rules,
                              exceptions_report=exc_report)
        bundle_dir = bundle.directory
    return RunOutcome(report, written, bundle_dir, exc_report)
