"""Fault injection: which request gets latency, throttling, errors, drops or hangs.

Spec (JSON; at start with --faults, at runtime with POST /_sim/faults, which replaces it):

    {"rules": [{"service": "cloudtrail", "action": "LookupEvents", "account": "123456789012",
                "kind": "latency"|"throttle"|"error"|"drop"|"hang"|"access_denied"|"strip",
                "probability": 1.0, "count": null, "latency_ms": 100, "jitter_ms": 20,
                "status": 500, "code": "InternalFailure", "hang_s": 30,
                "fields": ["IsLogging"]}],
     "assume_role_denied": ["123456789012"],
     "lookup_events_throttle": true, "lookup_events_rate": 2.0,
     "credential_report_delay_s": 0.3,
     "assume_role_expiration_s": 5,
     "features_error_codes": "exception"}

``assume_role_expiration_s`` makes AssumeRole answer with credentials that expire that many
seconds after issue (STS itself never issues sessions under 900 s), and the simulator then
refuses requests signed with them once expired (``ExpiredToken``): a client that does not
refresh its credentials fails, as it would on AWS after an hour.

``features_error_codes`` picks how ListOrganizationsFeatures spells its refusals: ``exception``
(the SDK model's shape names, ``ServiceAccessNotEnabledException``) or ``reference`` (the IAM
API reference's, ``ServiceAccessNotEnabled``). Which one AWS puts on the wire is not settled, so
a client must be tested against both.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

KINDS = {"latency", "throttle", "error", "drop", "hang", "access_denied", "strip"}
FEATURES_ERROR_CODES = ("exception", "reference")


class FaultSpecError(ValueError):
    pass


@dataclass
class Rule:
    kind: str
    service: str | None = None
    action: str | None = None
    account: str | None = None
    probability: float = 1.0
    count: int | None = None  # remaining applications; None = unlimited
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    status: int = 500
    code: str = "InternalFailure"
    hang_s: float = 30.0
    fields: list[str] = field(default_factory=list)  # strip: names removed from the answer

    def matches(self, service: str, action: str, account: str) -> bool:
        return (
            (self.service in (None, "*", service))
            and (self.action in (None, "*", action))
            and (self.account in (None, "*", account))
        )


@dataclass
class FaultSpec:
    rules: list[Rule] = field(default_factory=list)
    assume_role_denied: set[str] = field(default_factory=set)
    lookup_events_throttle: bool = True
    lookup_events_rate: float = 2.0
    credential_report_delay_s: float = 0.3
    assume_role_expiration_s: float | None = None
    features_error_codes: str = "exception"

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> FaultSpec:
        raw = raw or {}
        unknown = set(raw) - {
            "rules",
            "assume_role_denied",
            "lookup_events_throttle",
            "lookup_events_rate",
            "credential_report_delay_s",
            "assume_role_expiration_s",
            "features_error_codes",
        }
        if unknown:
            raise FaultSpecError(f"unknown fault spec keys: {sorted(unknown)}")
        rules = []
        for i, r in enumerate(raw.get("rules") or []):
            if r.get("kind") not in KINDS:
                raise FaultSpecError(f"rules[{i}].kind must be one of {sorted(KINDS)}")
            try:
                rules.append(Rule(**r))
            except TypeError as exc:
                raise FaultSpecError(f"rules[{i}]: {exc}") from exc
        codes = str(raw.get("features_error_codes", "exception"))
        if codes not in FEATURES_ERROR_CODES:
            raise FaultSpecError(f"features_error_codes must be one of {FEATURES_ERROR_CODES}")
        return cls(
            rules=rules,
            assume_role_denied={str(a) for a in raw.get("assume_role_denied") or []},
            lookup_events_throttle=bool(raw.get("lookup_events_throttle", True)),
            lookup_events_rate=float(raw.get("lookup_events_rate", 2.0)),
            credential_report_delay_s=float(raw.get("credential_report_delay_s", 0.3)),
            assume_role_expiration_s=(None if raw.get("assume_role_expiration_s") is None
                                      else float(raw["assume_role_expiration_s"])),
            features_error_codes=codes,
        )


class Faults:
    """Holds the live spec and decides, per request, which rules fire."""

    def __init__(self, spec: FaultSpec, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.spec = spec
        self._rng = random.Random(seed)

    def replace(self, spec: FaultSpec) -> None:
        with self._lock:
            self.spec = spec

    def decide(self, service: str, action: str, account: str) -> list[Rule]:
        """Rules that fire for this request (consuming their counts)."""
        fired: list[Rule] = []
        with self._lock:
            for rule in self.spec.rules:
                if not rule.matches(service, action, account):
                    continue
                if rule.count is not None and rule.count <= 0:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                fired.append(rule)
        return fired

    def latency_s(self, rule: Rule) -> float:
        with self._lock:
            jitter = self._rng.uniform(-rule.jitter_ms, rule.jitter_ms) if rule.jitter_ms else 0.0
        return max(0.0, rule.latency_ms + jitter) / 1000.0


class TokenBucket:
    """AWS-style rate limit: ``rate`` requests/s sustained, bursts up to ``rate``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[tuple[str, str], tuple[float, float]] = {}

    def allow(self, key: tuple[str, str], rate: float) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (rate, now))
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now)
                return True
            self._state[key] = (tokens, now)
            return False
