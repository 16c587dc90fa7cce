"""One Username=root lookup per region finds every root sign-in event (successful and failed
console sign-ins, password recovery, sign-in service events) the simulator's ground truth
holds: no lookup by event name is needed (docs/root-usage.md, "Why each lookup")."""

from __future__ import annotations

from scanner.sim import SimServer

from .conftest import org_scan

SIGNIN_FIELDS = ("console_logins", "failed_logins", "password_recovery_requests",
                 "service_events", "api_calls", "invoked_by_service_calls")


async def test_root_sign_ins_found_by_user_name_alone(demo_env: SimServer) -> None:
    sim = demo_env
    truth = sim.ground_truth["accounts"]
    accounts = [a for a, t in truth.items() if t["assessable"]]
    opts = {"root_usage": {"sources": ["event_history"]}}
    async with org_scan(sim, opts) as scan:
        usage = {a: await scan.fact(a, "root.usage") for a in accounts}
        history = {a: await scan.fact(a, "cloudtrail.root_events") for a in accounts}
    signed_in = 0
    for a in accounts:
        record, fact = usage[a], history[a]
        assert isinstance(record, dict) and isinstance(fact, dict), (truth[a]["name"], record)
        want = truth[a]["usage"]
        assert {f: record[f] for f in SIGNIN_FIELDS} == {f: want[f] for f in SIGNIN_FIELDS}, \
            truth[a]["name"]
        signed_in += want["console_logins"] + want["failed_logins"] \
            + want["password_recovery_requests"]
        # us-east-1: the Username=root pages and one lookup per AssumeRoot session, no more.
        sessions = {e["session_id"] for e in fact["events"] if e["class"] == "assume_root"}
        east = [e for e in fact["events"] if e["awsRegion"] == "us-east-1"
                and e["class"] != "assume_root"]
        assert fact["regions"]["us-east-1"]["requests"] == \
            max(1, -(-len(east) // 50)) + len(sessions), truth[a]["name"]
    assert signed_in >= 10  # the demo has sign-ins, failed ones and password recovery
