"""One audit run: read and check every input, scan, apply exceptions and --ou, write every
output and the evidence bundle.

Every input file is read and validated before the scan reads anything from the organization,
so a typo costs seconds, not a scan: the exceptions file and the baseline before the first AWS
call, the rule pack while the first one (the caller's identity) is answered.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from scanner.aws.session import utcnow
from scanner.core.audit_report import AuditReport, build_audit_report
from scanner.core.errors import ConfigError
from scanner.core.mutelist import Exception_, ExceptionReport, apply
from scanner.core.results import ScanResult
from scanner.core.rules import Rule
from scanner.core.settings import ScanConfig
from scanner.report import write_reports
from scanner.run.inputs import load_exceptions
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
    from scanner.report.diffload import load_snapshot

    exceptions = (load_exceptions(Path(config.exceptions_file))
                  if config.exceptions_file else None)
    if opts.baseline is not None:
        load_snapshot(opts.baseline)  # fails now, with the reason, if it is not a scan
    return exceptions


def run(config: ScanConfig, opts: RunOptions) -> RunOutcome:
    from scanner.run.orchestrator import scan

    exceptions = _other_inputs(config, opts)
    # The rule pack is parsed once the identity call is answered, not before it: start-up to
    # the first AWS request is shorter by the pack's parsing and checking.
    rules = cache(lambda: load_selected_rules(config))
    out = Path(config.output_dir)
    progress = Progress(total=0, quiet=opts.quiet)
    result = asyncio.run(scan(config, rules, out_dir=out, resume=opts.resume,
                              progress=progress))
    return finish(result, config, opts, rules(), exceptions)


def finish(result: ScanResult, config: ScanConfig, opts: RunOptions, rules: list[Rule],
           exceptions: list[Exception_] | None) -> RunOutcome:
    """Everything after the scan: mute, restrict and model once, write, diff, bundle."""
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
    report = build_audit_report(result, ou=opts.ou)
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
