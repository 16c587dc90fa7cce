"""Throughput of orgscan's CloudTrail log reader vs zcat and zcat | jq on the same files.

    .venv/bin/python benchmarks/trailreader/bench.py [--files 160] [--records 2500] [--runs 5]

Generates realistic gzipped CloudTrail files (background traffic of IAM users and assumed
roles, a root event in about one file in 40) in a temporary directory, then times, in the
same run and on the same files (page cache warm), the median of --runs runs of:
  - scanner.run.trailfiles.scan_paths (the reader the organization-trail source and
    `orgscan trail-report` share: prefilter, parse of matching files), 1 and N threads;
  - zcat FILES > /dev/null;
  - zcat FILES | jq -c '.Records[] | select(.userIdentity.type == "Root")' > /dev/null.
Throughput is MB/s of compressed input (MB = 10^6 bytes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scanner.run.trailfiles import scan_paths

SERVICES = [
    ("s3.amazonaws.com", ["GetObject", "PutObject", "ListBuckets", "HeadObject"]),
    ("ec2.amazonaws.com", ["DescribeInstances", "CreateTags", "DescribeVolumes"]),
    ("sts.amazonaws.com", ["AssumeRole", "GetCallerIdentity"]),
    ("kms.amazonaws.com", ["Decrypt", "GenerateDataKey"]),
    ("logs.amazonaws.com", ["DescribeLogGroups", "CreateLogStream"]),
    ("lambda.amazonaws.com", ["Invoke", "GetFunction"]),
    ("ssm.amazonaws.com", ["GetParameter", "GetParameters"]),
]
AGENTS = ["aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0", "Boto3/1.34.69 md/Botocore#1.34.69",
          "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1", "AWS Internal",
          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0"]


def hexid(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128)).hex


def record(rng: random.Random, acct: str, t: int, root: bool = False) -> dict[str, Any]:
    source, names = rng.choice(SERVICES)
    name = rng.choice(names)
    if root:
        ident: dict[str, Any] = {"type": "Root", "principalId": acct,
                                 "arn": f"arn:aws:iam::{acct}:root", "accountId": acct,
                                 "accessKeyId": "AKIA" + hexid(rng)[:16].upper()}
    elif rng.random() < 0.3:
        user = rng.choice(["ci-deployer", "backup-agent", "alice", "bob"])
        ident = {"type": "IAMUser",
                 "principalId": "AIDA" + hexid(rng)[:17].upper(),
                 "arn": f"arn:aws:iam::{acct}:user/{user}", "accountId": acct,
                 "accessKeyId": "AKIA" + hexid(rng)[:16].upper(),
                 "userName": user}
    else:
        role = rng.choice(["app-task-role", "lambda-exec", "OrganizationAccountAccessRole"])
        sess = hexid(rng)[:12]
        ident = {"type": "AssumedRole", "principalId": f"AROA{sess.upper()}:{sess}",
                 "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{sess}", "accountId": acct,
                 "accessKeyId": "ASIA" + hexid(rng)[:16].upper(),
                 "sessionContext": {"sessionIssuer": {"type": "Role",
                                                      "principalId": "AROA" + sess.upper(),
                                                      "arn": f"arn:aws:iam::{acct}:role/{role}",
                                                      "accountId": acct, "userName": role},
                                    "attributes": {"creationDate": "2026-01-01T00:00:00Z",
                                                   "mfaAuthenticated": "false"}}}
    region = rng.choice(["us-east-1", "eu-west-1", "us-west-2"])
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    return {
        "eventVersion": "1.09", "userIdentity": ident, "eventTime": stamp,
        "eventSource": source, "eventName": name, "awsRegion": region,
        "sourceIPAddress": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "userAgent": rng.choice(AGENTS),
        "requestParameters": {"bucketName": f"data-{rng.randint(1, 40)}",
                              "key": f"prefix/{hexid(rng)}.parquet"},
        "responseElements": None,
        "requestID": str(uuid.UUID(int=rng.getrandbits(128))),
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": name.startswith(("Get", "List", "Describe", "Head")),
        "resources": [{"accountId": acct, "type": "AWS::S3::Object",
                       "ARN": f"arn:aws:s3:::data-{rng.randint(1, 40)}/prefix/x"}],
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": acct,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader":
                           f"{source.split('.')[0]}.{region}.amazonaws.com"},
    }


def generate(directory: Path, files: int, records: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for i in range(files):
        acct = f"{100000000000 + rng.randint(0, 40):012d}"
        t0 = 1_767_225_600 + i * 300
        recs = [record(rng, acct, t0 + j % 300) for j in range(records)]
        if i % 40 == 7:
            recs[rng.randrange(records)] = record(rng, acct, t0, root=True)
        path = directory / f"{acct}_CloudTrail_us-east-1_{i:05d}.json.gz"
        path.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode(), compresslevel=6))
        paths.append(path)
    return paths


def timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=160)
    ap.add_argument("--records", type=int, default=2500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    jq = shutil.which("jq")
    with tempfile.TemporaryDirectory(prefix="orgscan-bench-") as tmp:
        paths = generate(Path(tmp), args.files, args.records, args.seed)
        compressed = sum(p.stat().st_size for p in paths)
        names = [str(p) for p in paths]
        found = [0]

        def reader(workers: int) -> Callable[[], object]:
            def run() -> None:
                found[0] = sum(len(r.events) for r in scan_paths(paths, workers=workers))
            return run

        def zcat() -> None:
            subprocess.run(["zcat", *names], stdout=subprocess.DEVNULL, check=True)

        def zcat_jq() -> None:
            assert jq
            z = subprocess.Popen(["zcat", *names], stdout=subprocess.PIPE)
            subprocess.run([jq, "-c", '.Records[] | select(.userIdentity.type == "Root")'],
                           stdin=z.stdout, stdout=subprocess.DEVNULL, check=True)
            assert z.stdout is not None
            z.stdout.close()
            z.wait()

        inflated = sum(len(gzip.decompress(p.read_bytes())) for p in paths)
        zcat()  # warm the page cache
        results = {
            "zcat > /dev/null": timed(zcat, args.runs),
            "reader, 1 thread": timed(reader(1), args.runs),
            f"reader, {args.threads} threads": timed(reader(args.threads), args.runs),
        }
        if jq:
            results["zcat | jq select(Root)"] = timed(zcat_jq, args.runs)
    base = compressed / results["zcat > /dev/null"] / 1e6
    print(f"{args.files} files, {compressed / 1e6:.1f} MB compressed, "
          f"{inflated / 1e6:.1f} MB JSON (ratio {inflated / compressed:.1f}), "
          f"{found[0]} root events; median of {args.runs} runs; {os.cpu_count()} CPUs; "
          f"python {sys.version.split()[0]}")
    print(f"{'method':32} {'seconds':>8} {'MB/s (compressed)':>18} {'vs zcat':>8}")
    for name, secs in results.items():
        mbs = compressed / secs / 1e6
        print(f"{name:32} {secs:8.3f} {mbs:18.1f} {mbs / base:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
