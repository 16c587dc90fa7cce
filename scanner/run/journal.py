"""Append-only journal of finished accounts, so that a crash loses nothing and --resume works.

One JSON object per line, flushed to the OS as each account finishes (a crash of orgscan loses
nothing) and fsynced at most once a second and on close (an fsync per account blocked the event
loop for ~3 ms each: seconds over a large organization).

The first line is a header naming the scan: its id, organization, rule set and the options that
change results (``scan_options``, with their digest). ``--resume`` refuses a journal written for
another organization, rule set or options, and says what differs, rather than mixing two scans.

Every line carries ``prev`` (the previous line's ``chain``) and ``chain``, the SHA-256 of
``prev`` and its own content: a line edited after it was written (a FAIL turned PASS) no longer
matches its hash and is refused by line number. The chain has no secret key: it catches edits
and damage, not a forger who recomputes every hash (against that, the record is the evidence
bundle's checksum file, which an auditor keeps elsewhere).

Evidence lives here during a run, not in memory: the AccountResult kept for each account
written reads its raw facts and its findings' evidence back from its line (``run.spool``).
Account lines keep each fact's keys in the order they were collected, so evidence read back
is written as it was collected.

A last line cut short by a kill or a full disk (no newline) is cut back before anything is
appended, so one torn write never damages the records after it; any other undecodable line
(bad bytes, bad JSON) is a refusal naming the file and the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from scanner.core.errors import ConfigError
from scanner.core.results import AccountResult
from scanner.core.rules import Rule, rules_digest
from scanner.core.settings import ScanConfig
from scanner.report.files import os_error
from scanner.run.spool import held

FSYNC_INTERVAL_S = 1.0  # the most a power loss can take back of an interrupted scan
JOURNAL_FORMAT = 2  # 2: hash-chained lines, options in the header
_GENESIS = "0" * 64
_KINDS = ("header", "account")
# Options that decide how fast, never what is found: a resume may change them.
_NOT_RESULTS = frozenset({"root_usage.org_trail.concurrency"})


def scan_options(config: ScanConfig, rules: Sequence[Rule]) -> dict[str, Any]:
    """The effective options that change a scan's results, flat (``root_usage.sources``), as
    JSON values: what the journal's header records and --resume compares."""
    flat: dict[str, Any] = {
        "regions": list(config.regions) if config.regions is not None else None,
        "lookback_days": config.lookback_days,
        "role_name": config.aws.role_name,
        "management_role_arn": config.aws.management_role_arn,
        "scan_management": config.scan_management,
        "management_uses_member_role": config.management_uses_member_role,
        "include_suspended": config.include_suspended,
        "account_deadline_seconds": config.account_deadline_seconds,
        "shard": list(config.shard) if config.shard is not None else None,
        "rules": sorted(r.id for r in rules),
        "rules_digest": rules_digest(rules),
    }
    nested = json.loads(json.dumps({
        "include": dataclasses.asdict(config.include),
        "exclude": dataclasses.asdict(config.exclude),
        **dataclasses.asdict(config.collector_options)}, default=str))
    _flatten(nested, "", flat)
    flat.pop("root_usage.lookback_days", None)  # lookback_days, above
    return {k: v for k, v in sorted(flat.items()) if k not in _NOT_RESULTS}


def _flatten(value: Mapping[str, Any], prefix: str, into: dict[str, Any]) -> None:
    for k, v in value.items():
        if isinstance(v, Mapping) and v:
            _flatten(v, f"{prefix}{k}.", into)
        else:
            into[f"{prefix}{k}"] = v


def options_digest(options: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(dict(options)).encode()).hexdigest()


def _canonical(payload: Any) -> str:
    # ASCII only: a line is then valid UTF-8 whatever the account names hold.
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def _line_text(payload: Any) -> str:
    """A journal line's payload: compact ASCII JSON, keys in their order. Re-encoding the
    decoded payload gives the same text (also for the key-sorted lines of earlier versions)."""
    return json.dumps(payload, separators=(",", ":"), default=str)


def _chain(prev: str, kind: str, text: str) -> str:
    return hashlib.sha256(f"{prev}\n{kind}\n{text}".encode()).hexdigest()


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "none"
    return str(value)


def differences(journal: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``key: journal X, now Y`` for every option that differs (lists as what was added and
    removed, so 40 rule ids do not fill the line)."""
    out = []
    for key in sorted(set(journal) | set(now)):
        old, new = journal.get(key), now.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list) and len(old) + len(new) > 6:
            gone = [v for v in old if v not in new]
            added = [v for v in new if v not in old]
            out.append(f"{key}: journal also has {_show(gone)}, now also {_show(added)}")
        else:
            out.append(f"{key}: journal {_show(old)}, now {_show(new)}")
    return out


class Journal:
    def __init__(self, path: Path, header: dict[str, Any], *, resume: bool,
                 final_path: Path | None = None) -> None:
        """``final_path``: where the file will be once renamed (the kept results read their
        evidence there)."""
        self.path = path
        self._held_at = final_path or path
        self.header = header
        self._resume = resume
        self._fh: IO[bytes] | None = None
        self._prev = _GENESIS
        self.done: dict[str, AccountResult] = {}
        self.cut_bytes = 0  # a torn last line removed on opening (--resume)
        self._synced = 0.0
        self._size = 0  # bytes in the file: where the next line starts
        self._writer: ThreadPoolExecutor | None = None  # record_async's one thread

    def __enter__(self) -> Journal:
        try:
            if self._resume:
                if not self.path.is_file():
                    raise ConfigError(str(self.path.parent), f"no journal to resume "
                                      f"({self.path.name} is missing)",
                                      hint="drop --resume to start a new scan")
                self.done = self._read()
                self._fh = self.path.open("ab")
                if self._prev == _GENESIS:  # nothing was left, not even the header
                    self._write("header", self.header)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("wb")
                self._write("header", self.header)
        except OSError as exc:
            self._abandon()
            raise os_error(self.path, exc) from None
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._writer is not None:
            # Lines handed to the writer before an interrupt are written before the close.
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._fh is None:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        except OSError as err:
            self._abandon()
            if exc_type is None:
                raise os_error(self.path, err) from None
        self._fh = None

    async def record_async(self, result: AccountResult) -> None:
        """``record`` on the journal's own thread: the line's encoding and hashes, its write
        and the periodic fsync wait on the disk there, not on the event loop. One thread, so
        lines keep the order of the hash chain; a write error is raised here, as ``record``
        raises it."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orgscan-journal")
        await asyncio.wrap_future(self._writer.submit(self.record, result))

    def record(self, result: AccountResult) -> None:
        offset = self._size
        line = self._write("account", result.to_json())
        self.done[result.account.id] = held(result, self._held_at, offset, line)

    def _abandon(self) -> None:
        """Close after a failed write without flushing again (the next --resume cuts back
        whatever part of a line reached the disk)."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()  # closes the file even when its last flush fails
            self._fh = None

    def _write(self, kind: str, payload: Mapping[str, Any]) -> bytes:
        """Append one line; returns it."""
        if self._fh is None:
            raise RuntimeError(f"journal {self.path} written outside its with-block")
        text = _line_text(payload)
        chain = _chain(self._prev, kind, text)
        line = f'{{"{kind}":{text},"prev":"{self._prev}","chain":"{chain}"}}\n'.encode("ascii")
        try:
            self._fh.write(line)
            self._fh.flush()
            now = time.monotonic()
            if now - self._synced >= FSYNC_INTERVAL_S:
                os.fsync(self._fh.fileno())
                self._synced = now
        except OSError as exc:
            self._abandon()
            raise os_error(self.path, exc) from None
        self._prev = chain
        self._size += len(line)
        return line

    # --- reading (--resume, merge) ---------------------------------------------------------

    def _refuse(self, message: str, hint: str = "") -> ConfigError:
        return ConfigError(str(self.path), message,
                           hint=hint or "use a new --out directory, or drop --resume")

    def _read(self) -> dict[str, AccountResult]:
        """Every account of the journal, line by line (one line in memory at a time), each
        held as ``record`` holds it."""
        done: dict[str, AccountResult] = {}
        end = 0  # where the last whole line ends
        with self.path.open("rb") as fh:
            for n, raw in enumerate(iter(fh.readline, b""), start=1):
                if not raw.endswith(b"\n"):
                    break  # a torn last line
                done.update(self._account_line(n, raw, end))
                end += len(raw)
            size = fh.seek(0, os.SEEK_END)
        if end < size:
            # A line cut short by a kill or a full disk: that account is simply scanned again,
            # and the next line must not be appended to the fragment. Cut only once the rest
            # was accepted: a refused journal is left as it was.
            os.truncate(self.path, end)
            self.cut_bytes = size - end
        self._size = end
        return done

    def _account_line(self, n: int, raw: bytes, offset: int) -> dict[str, AccountResult]:
        """Line ``n`` checked: its account (none for the header)."""
        kind, payload = self._line(n, raw[:-1])
        if n == 1:
            if kind != "header":
                raise self._refuse("line 1 is not a journal header")
            self._check_header(payload)
            return {}
        if kind != "account":
            raise self._refuse(f"line {n} is a second header")
        try:
            result = AccountResult.from_json(payload)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._refuse(f"line {n} is not an account record ({exc})") from None
        return {result.account.id: held(result, self._held_at, offset, raw)}

    def _line(self, n: int, raw: bytes) -> tuple[str, Any]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._refuse(f"line {n} is damaged: not UTF-8 text (byte {exc.start + 1})"
                               ) from None
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise self._refuse(f"line {n} is damaged: not JSON ({exc})") from None
        kind = next((k for k in _KINDS if isinstance(obj, dict) and k in obj), None)
        if kind is None or not isinstance(obj.get("chain"), str):
            raise self._refuse(f"line {n} is not a journal record of this orgscan (no "
                               "hash chain: an older orgscan's journal cannot be resumed)")
        if obj.get("prev") != self._prev:
            raise self._refuse(f"line {n} does not follow line {n - 1} (the hash chain "
                               f"breaks: one of them was changed, removed or moved after it "
                               f"was written)")
        if _chain(self._prev, kind, _line_text(obj[kind])) != obj["chain"]:
            raise self._refuse(f"line {n} was changed after it was written (its content does "
                               f"not match its hash)")
        self._prev = obj["chain"]
        return kind, obj[kind]

    def _check_header(self, header: Any) -> None:
        if not isinstance(header, dict):
            raise self._refuse("line 1 is not a journal header")
        for key in ("organization_id", "rules_digest"):
            if header.get(key) != self.header.get(key):
                raise self._refuse(f"journal was written for another scan ({key} "
                                   f"{header.get(key)!r}, now {self.header.get(key)!r})")
        old, new = header.get("options"), self.header.get("options")
        if new is not None and old != new:
            diff = differences(old if isinstance(old, dict) else {}, new)
            raise self._refuse("journal was written with other options: " + "; ".join(diff),
                               hint="resume with the options it was started with, or scan "
                                    "into a new --out directory")
        self.header["scan_id"] = header.get("scan_id", self.header.get("scan_id"))
        self.header["started"] = header.get("started", self.header.get("started"))
