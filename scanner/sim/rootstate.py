"""IAM answers that carry the root user's state: credential report, summary, virtual MFA.

moto has no root row, never reports root MFA or keys, and dates its reports 2015; these handlers
answer the affected IAM actions themselves from the scenario's RootModel of each account.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from moto.iam.models import iam_backends

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.request import SimRequest
from scanner.sim.rootmodel import RootModel, root_model
from scanner.sim.state import SimState

COLUMNS = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)


def _utc(d: datetime) -> datetime:
    # moto keeps naive UTC datetimes; scenario dates are aware.
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def report_date(d: datetime) -> str:
    """The credential report's own date format (no fractions, explicit +00:00)."""
    return _utc(d).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def iso_z(d: datetime) -> str:
    return _utc(d).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bool(v: bool) -> str:
    return "true" if v else "false"


def root_row(m: RootModel) -> str:
    """The ``<root_account>`` row as AWS writes it; root has no password rotation or age."""
    pw_used = (
        report_date(m.password_last_used)
        if isinstance(m.password_last_used, datetime)
        else m.password_last_used
    )
    cells = [
        "<root_account>",
        f"arn:aws:iam::{m.account_id}:root",
        report_date(m.created),
        "not_supported",
        pw_used,
        "not_supported",
        "not_supported",
        _bool(m.mfa != "none"),
    ]
    for i in range(2):
        if i < len(m.keys):
            k = m.keys[i]
            cells += [
                _bool(k.active),
                report_date(k.last_rotated),
                report_date(k.last_used) if k.last_used else "N/A",
                k.last_used_region or "N/A",
                k.last_used_service or "N/A",
            ]
        else:
            cells += ["false", "N/A", "N/A", "N/A", "N/A"]
    for i in range(2):
        if i < len(m.certs):
            cells += [_bool(m.certs[i].active), report_date(m.certs[i].last_rotated)]
        else:
            cells += ["false", "N/A"]
    return ",".join(cells)


# A report is served for four hours after it was generated; then GetCredentialReport answers
# ReportExpired and GenerateCredentialReport starts a new one.
REPORT_LIFETIME_S = 4 * 3600.0


@dataclass
class _Report:
    """One account's latest report generation, on both clocks (monotonic for ages, wall-clock
    for GeneratedTime); ``set_age`` moves both back together."""

    started: float
    started_wall: datetime


class RootState:
    """Per-account root models plus the credential-report lifecycle: none -> generating (for
    ``credential_report_delay_s``) -> complete -> expired (four hours after completion)."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.models = {
            a["id"]: root_model(a, state.now) for a in state.scenario["accounts"]
        }
        self._lock = threading.Lock()
        self._reports: dict[str, _Report] = {}

    def model(self, account: str) -> RootModel:
        found = self.models.get(account)
        if found is None:  # an account outside the scenario (e.g. moto's default one)
            found = root_model({"id": account, "root": {"password": False}}, self.state.now)
        return found

    def _delay(self) -> float:
        return self.state.faults.spec.credential_report_delay_s

    def _phase(self, report: _Report | None) -> str:
        """none | generating | complete | expired (call with the lock held)."""
        if report is None:
            return "none"
        elapsed = time.monotonic() - report.started
        if elapsed < self._delay():
            return "generating"
        return "expired" if elapsed - self._delay() >= REPORT_LIFETIME_S else "complete"

    def set_age(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Control endpoint: make ``account``'s report complete and ``age_s`` seconds old
        (generated then), or remove it (``age_s`` null: GetCredentialReport then answers
        ReportNotPresent)."""
        account = str(payload.get("account") or "")
        if not account:
            raise ValueError("account is required")
        age = payload.get("age_s")
        with self._lock:
            if age is None:
                self._reports.pop(account, None)
                return {"account": account, "phase": "none"}
            back = float(age) + self._delay()
            self._reports[account] = _Report(time.monotonic() - back,
                                             datetime.now(UTC) - timedelta(seconds=back))
            return {"account": account, "phase": self._phase(self._reports[account])}

    def generate(self, req: SimRequest) -> Reply:
        with self._lock:
            phase = self._phase(self._reports.get(req.account))
            if phase in ("none", "expired"):
                self._reports[req.account] = _Report(time.monotonic(), datetime.now(UTC))
                state = "STARTED"
                desc = ("No report exists. Starting a new report generation task"
                        if phase == "none" else
                        "The last report is over four hours old; generating a new one")
            elif phase == "generating":
                state, desc = "INPROGRESS", "Report generation task in progress"
            else:
                state, desc = "COMPLETE", ""
        body = f"<State>{state}</State>"
        if desc:
            body += f"<Description>{escape(desc)}</Description>"
        return awserrors.query_ok("iam", "GenerateCredentialReport", body)

    def get(self, req: SimRequest) -> Reply:
        with self._lock:
            report = self._reports.get(req.account)
            phase = self._phase(report)
        if report is None:
            return awserrors.error(
                "iam", 410, "ReportNotPresent", "Credential report not present"
            )
        if phase == "generating":
            return awserrors.error(
                "iam", 404, "ReportInProgress", "Credential report generation in progress"
            )
        if phase == "expired":
            return awserrors.error(
                "iam", 410, "ReportExpired",
                "The credential report is over four hours old; generate a new one",
            )
        generated = report.started_wall + timedelta(seconds=self._delay())
        iam = iam_backends[req.account]["aws"]
        users = "".join(u.to_csv() for u in list(iam.users.values()))
        csv = f"{COLUMNS}\n{root_row(self.model(req.account))}\n{users}".rstrip("\n")
        content = base64.b64encode(csv.encode()).decode()
        body = (
            f"<Content>{content}</Content><ReportFormat>text/csv</ReportFormat>"
            f"<GeneratedTime>{iso_z(generated)}</GeneratedTime>"
        )
        return awserrors.query_ok("iam", "GetCredentialReport", body)

    def summary(self, req: SimRequest) -> Reply:
        iam = iam_backends[req.account]["aws"]
        values: dict[str, Any] = dict(iam.get_account_summary().summary_map)
        m = self.model(req.account)
        values["AccountMFAEnabled"] = int(m.mfa != "none")
        values["AccountAccessKeysPresent"] = int(len(m.keys) > 0)
        values["AccountSigningCertificatesPresent"] = int(len(m.certs) > 0)
        values["AccountPasswordPresent"] = int(m.password)
        entries = "".join(
            f"<entry><key>{k}</key><value>{int(v)}</value></entry>" for k, v in values.items()
        )
        return awserrors.query_ok("iam", "GetAccountSummary", f"<SummaryMap>{entries}</SummaryMap>")

    def virtual_mfa(self, req: SimRequest) -> Reply:
        status = req.param("AssignmentStatus") or "Any"
        iam = iam_backends[req.account]["aws"]
        members: list[str] = []
        m = self.model(req.account)
        if m.mfa == "virtual" and status in ("Any", "Assigned") and m.mfa_enabled:
            members.append(
                f"<member><SerialNumber>arn:aws:iam::{m.account_id}:mfa/root-account-mfa-device"
                f"</SerialNumber><User><Path>/</Path><UserId>{m.account_id}</UserId>"
                f"<Arn>arn:aws:iam::{m.account_id}:root</Arn>"
                f"<CreateDate>{iso_z(m.created)}</CreateDate></User>"
                f"<EnableDate>{iso_z(m.mfa_enabled)}</EnableDate></member>"
            )
        for dev in list(iam.virtual_mfa_devices.values()):
            u: Any = dev.user
            enabled: Any = dev.enable_date
            assigned = enabled is not None and u is not None
            if (status == "Assigned" and not assigned) or (status == "Unassigned" and assigned):
                continue
            xml = f"<member><SerialNumber>{escape(dev.serial_number)}</SerialNumber>"
            if assigned:
                xml += (
                    f"<User><Path>{escape(u.path)}</Path><UserName>{escape(u.name)}</UserName>"
                    f"<UserId>{u.id}</UserId><Arn>{escape(u.arn)}</Arn>"
                    f"<CreateDate>{iso_z(u.create_date)}</CreateDate></User>"
                    f"<EnableDate>{iso_z(enabled)}</EnableDate>"
                )
            members.append(xml + "</member>")
        body = (
            f"<VirtualMFADevices>{''.join(members)}</VirtualMFADevices>"
            "<IsTruncated>false</IsTruncated>"
        )
        return awserrors.query_ok("iam", "ListVirtualMFADevices", body)


def install(state: SimState) -> None:
    rs = RootState(state)
    state.extra["rootstate"] = rs
    state.handlers[("iam", "GenerateCredentialReport")] = rs.generate
    state.handlers[("iam", "GetCredentialReport")] = rs.get
    state.handlers[("iam", "GetAccountSummary")] = rs.summary
    state.handlers[("iam", "ListVirtualMFADevices")] = rs.virtual_mfa
    state.controls["/_sim/credential-report"] = rs.set_age
