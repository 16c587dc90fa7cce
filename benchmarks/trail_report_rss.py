"""Peak RSS and wall time of `orgscan trail-report` over about 1 GB of gzip CloudTrail logs.

    python benchmarks/trail_report_rss.py [--gb 1.0] [--accounts 50] [--workers 2] [--dir DIR]
                                          [--json OUT.json] [--keep]

Writes a bucket copy (AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/...json.gz) in a
temporary directory, then runs the real command on it as a child process and reports its
wall time and peak RSS (``wait4``). The logs are mostly other principals' calls with a root
events (console sign-ins, API calls) in about one file in 10.

Generation has to be quick, so each file is three gzip members, which gzip(1) and CloudTrail
readers read as one stream: ``{"Records":[``, one of a few background blocks compressed once
(thousands of records from a few templates with varied fields), and a small member of records
written for this file only (its root events, unique ids and times) closing the document. Every
file therefore has its own events, and the reader inflates and scans every byte of every file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ORG = "o-benchrss01"
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1")
START = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 90
SERVICES = (("s3.amazonaws.com", ("GetObject", "PutObject", "HeadObject")),
            ("ec2.amazonaws.com", ("DescribeInstances", "DescribeVolumes")),
            ("kms.amazonaws.com", ("Decrypt", "GenerateDataKey")),
            ("sts.amazonaws.com", ("AssumeRole", "GetCallerIdentity")),
            ("lambda.amazonaws.com", ("Invoke", "GetFunction")))
AGENTS = ("aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0", "Boto3/1.34.69 md/Botocore#1.34.69",
          "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1", "AWS Internal")


def gz(data: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def background(rng: random.Random, acct: str, t: datetime) -> dict[str, Any]:
    source, names = rng.choice(SERVICES)
    role = rng.choice(("app", "ci-deployer", "backup", "etl"))
    key = "ASIA" + uuid.UUID(int=rng.getrandbits(128)).hex[:16].upper()
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": f"AROA{rng.getrandbits(40):X}:s",
                         "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/s{rng.getrandbits(20)}",
                         "accountId": acct, "accessKeyId": key,
                         "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}},
        "eventTime": f"{t:%Y-%m-%dT%H:%M:%SZ}", "eventSource": source,
        "eventName": rng.choice(names), "awsRegion": rng.choice(REGIONS),
        "sourceIPAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "userAgent": rng.choice(AGENTS),
        "requestParameters": {"bucketName": f"data-{rng.randrange(500)}",
                              "key": f"p/{uuid.UUID(int=rng.getrandbits(128)).hex}"},
        "responseElements": None,
        "requestID": uuid.UUID(int=rng.getrandbits(128)).hex.upper()[:16],
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": True, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": acct, "eventCategory": "Management",
    }


def root_event(rng: random.Random, acct: str, t: datetime) -> dict[str, Any]:
    login = rng.random() < 0.4
    key = "" if login else f"ASIA{rng.getrandbits(64):016X}"
    ident = {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root",
             "accountId": acct, "accessKeyId": key}
    rec: dict[str, Any] = {
        "eventVersion": "1.09", "userIdentity": ident, "eventTime": f"{t:%Y-%m-%dT%H:%M:%SZ}",
        "eventSource": "signin.amazonaws.com" if login else "iam.amazonaws.com",
        "eventName": "ConsoleLogin" if login else "ListUsers", "awsRegion": "us-east-1",
        "sourceIPAddress": f"203.0.113.{rng.randrange(256)}", "userAgent": "Mozilla/5.0",
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "eventType": "AwsConsoleSignIn" if login else "AwsApiCall",
        "recipientAccountId": acct,
    }
    if login:
        rec["responseElements"] = {"ConsoleLogin": "Success"}
        rec["additionalEventData"] = {"MFAUsed": rng.choice(("Yes", "No"))}
    return rec


def generate(out: Path, target_bytes: int, accounts: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    ids = [f"{200000000000 + i * 7919:012d}" for i in range(accounts)]
    # A few background blocks of ~2 MB compressed, each compressed once.
    blocks = []
    for _ in range(12):
        t = START + timedelta(seconds=rng.randrange(DAYS * 86400))
        recs = [background(rng, rng.choice(ids), t + timedelta(seconds=i)) for i in range(5000)]
        blocks.append(gz(json.dumps(recs, separators=(",", ":"))[1:-1].encode()))
    head = gz(b'{"Records":[')
    files = written = roots = 0
    while written < target_bytes:
        acct, region = rng.choice(ids), rng.choice(REGIONS)
        t = START + timedelta(seconds=rng.randrange(DAYS * 86400))
        own = [background(rng, acct, t + timedelta(seconds=i)) for i in range(20)]
        if rng.random() < 0.1:
            n = rng.randint(1, 5)
            own += [root_event(rng, acct, t + timedelta(seconds=30 + i)) for i in range(n)]
            roots += n
        tail = gz(("," + json.dumps(own, separators=(",", ":"))[1:-1] + "]}").encode())
        stamp = f"{t:%Y%m%dT%H%M}Z"
        day = out / "AWSLogs" / ORG / acct / "CloudTrail" / region / f"{t:%Y/%m/%d}"
        day.mkdir(parents=True, exist_ok=True)
        name = f"{acct}_CloudTrail_{region}_{stamp}_{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
        body = head + rng.choice(blocks) + tail
        (day / f"{name}.json.gz").write_bytes(body)
        files += 1
        written += len(body)
    return {"files": files, "bytes": written, "root_events": roots, "accounts": accounts}


def measure(logs: Path, out: Path, workers: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "scanner.cli.main", "trail-report", str(logs), "--out",
           str(out), "--workers", str(workers), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        raise SystemExit(f"trail-report failed ({code}): {stderr}")
    return {"exit_code": code, "wall_s": round(wall, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}  # Linux: KiB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gb", type=float, default=1.0, help="gzip bytes to generate, in GB (1e9)")
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, help="where to write the logs (default: a temp dir)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the generated logs")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="trail-rss-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        gen = generate(base / "logs", int(args.gb * 1e9), args.accounts, args.seed)
        gen_s = time.perf_counter() - t0
        print(f"generated {gen['files']} files, {gen['bytes'] / 1e9:.2f} GB gzip, "
              f"{gen['root_events']} root events, {gen['accounts']} accounts in {gen_s:.0f} s",
              flush=True)
        result = measure(base / "logs", base / "out", args.workers)
        doc = json.loads((base / "out" / "root-usage.json").read_text())
        found = sum(len(a["events"]) + a["events_omitted"] for a in doc["accounts"])
        figures = {**gen, "generate_s": round(gen_s, 1), **result, "workers": args.workers,
                   "root_events_reported": found, "files_read": doc["log_files"]["files"],
                   "mb_per_s": round(gen["bytes"] / 1e6 / result["wall_s"], 1)}
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        if found != gen["root_events"]:
            print(f"MISMATCH: {found} root events reported, {gen['root_events']} written")
            return 1
        return 0 if result["peak_rss_mb"] < 200 else 1
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
