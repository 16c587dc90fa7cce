"""Request counters served at GET /_sim/counters (thread-safe; werkzeug serves threaded)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.requests = 0
        # TCP connections accepted (a client that keeps connections alive opens few).
        self.connections = 0
        # When the first AWS request since the reset arrived (epoch seconds; 0: none yet).
        self.first_request_at = 0.0
        self.by_action: Counter[str] = Counter()
        self.by_account: Counter[str] = Counter()
        # Requests per access key id: whose credentials signed them.
        self.by_access_key: Counter[str] = Counter()
        # LookupEvents requests by account and region: which regions a scan searched.
        self.lookup_regions: dict[str, Counter[str]] = {}
        self.throttled: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.assume_role_denials: Counter[str] = Counter()
        # Error answers other than injected faults (expired tokens, denials, 4xx/5xx), by
        # "svc:Action status".
        self.errors: Counter[str] = Counter()
        # CPU seconds the simulator's request threads spent answering, by "svc:Action".
        self.cpu_s: dict[str, float] = {}

    def reset(self) -> None:
        with self._lock:
            self._reset()

    def request(self, service: str, action: str, account: str, access_key: str = "",
                region: str = "") -> None:
        with self._lock:
            if not self.requests:
                self.first_request_at = time.time()
            self.requests += 1
            self.by_action[f"{service}:{action}"] += 1
            self.by_account[account] += 1
            self.by_access_key[access_key] += 1
            if service == "cloudtrail" and action == "LookupEvents":
                self.lookup_regions.setdefault(account, Counter())[region] += 1

    def cpu(self, service: str, action: str, seconds: float) -> None:
        with self._lock:
            key = f"{service}:{action}"
            self.cpu_s[key] = self.cpu_s.get(key, 0.0) + seconds

    def connection(self) -> None:
        with self._lock:
            self.connections += 1

    def throttle(self, service: str, action: str) -> None:
        with self._lock:
            self.throttled[f"{service}:{action}"] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def denial(self, target_account: str) -> None:
        with self._lock:
            self.assume_role_denials[target_account] += 1

    def answer(self, service: str, action: str, status: int) -> None:
        if status >= 400:
            with self._lock:
                self.errors[f"{service}:{action} {status}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "connections": self.connections,
                "first_request_at": self.first_request_at,
                "by_action": dict(self.by_action),
                "by_account": dict(self.by_account),
                "by_access_key": dict(self.by_access_key),
                "lookup_regions": {a: dict(c) for a, c in self.lookup_regions.items()},
                "throttled": dict(self.throttled),
                "throttled_total": sum(self.throttled.values()),
                "faults": dict(self.faults),
                "faults_total": sum(self.faults.values()),
                "assume_role_denials": dict(self.assume_role_denials),
                "assume_role_denials_total": sum(self.assume_role_denials.values()),
                "errors": dict(self.errors),
                "cpu_s_by_action": {k: round(v, 4) for k, v in self.cpu_s.items()},
            }
