"""Everything the running simulator holds besides moto's own backends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from scanner.sim.awserrors import Reply
from scanner.sim.counters import Counters
from scanner.sim.faults import Faults, TokenBucket
from scanner.sim.iamauth import IssuedCredentials
from scanner.sim.request import SimRequest
from scanner.sim.scenario import Scenario
from scanner.sim.seed import SeedResult

Handler = Callable[[SimRequest], Reply | None]
Control = Callable[[dict[str, Any]], Any]


@dataclass
class SimState:
    scenario: Scenario
    now: datetime
    seeded: SeedResult
    faults: Faults
    counters: Counters = field(default_factory=Counters)
    buckets: TokenBucket = field(default_factory=TokenBucket)
    # (service signing name, action) -> handler; a handler returning None defers to moto.
    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    # POST /_sim/<name> -> handler(JSON body) -> JSON answer; ValueError answers 400.
    controls: dict[str, Control] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    issued: IssuedCredentials = field(default_factory=IssuedCredentials)
    iam_auth: bool = False  # moto's IAM authorization is on (INITIAL_NO_AUTH_ACTION_COUNT=0)
    authenticate: bool = False  # unknown keys and wrong signatures refused (sim/authn.py)

    @cached_property
    def accounts(self) -> dict[str, dict[str, Any]]:
        """Scenario accounts by id (built once: the scenario never changes while serving)."""
        return {a["id"]: a for a in self.scenario["accounts"]}

    def role_missing(self, account_id: str) -> bool:
        acct = self.accounts.get(account_id)
        scenario_missing = bool(acct and acct.get("role_missing"))
        return scenario_missing or account_id in self.faults.spec.assume_role_denied

    def ready_info(self) -> dict[str, Any]:
        return {
            "management_account_id": self.seeded.management_account_id,
            "organization_id": self.seeded.organization_id,
            "root_id": self.seeded.root_id,
            "aws_access_key_id": self.seeded.access_key_id,
            "aws_secret_access_key": self.seeded.secret_access_key,
            "now": self.now.isoformat(),
            "ou_ids": self.seeded.ou_ids,
            "policy_ids": self.seeded.policy_ids,
            "delegated_administrator": self.seeded.delegated_administrator,
        }
