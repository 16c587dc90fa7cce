"""The command line's rough edges, each run as the user runs it (`orgscan ...` in a subprocess):
a clear one-line message and the documented exit code, never a traceback; the demo's help,
quiet mode, terminal times, report.md and manifest; the simulator scanned as the README says."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from scanner.cli.demo import DEMO_SOURCES
from scanner.cli.exits import EXIT_AWS, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE

REPO = Path(__file__).resolve().parents[2]
# No such port is listened on: a command that reached AWS here would fail differently.
DEAD_ENDPOINT = "http://127.0.0.1:9"


def orgscan(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    run_env = {**os.environ, **(env or {})}
    run_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), run_env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "scanner.cli.main", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd or REPO, env=run_env)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --- scan: profile and flags --------------------------------------------------------------------

@pytest.mark.parametrize(("flags", "env"), [
    (["--profile", "nope"], {}),
    ([], {"AWS_PROFILE": "nope"}),
    (["--region", "us-east-1"], {"AWS_PROFILE": "nope"}),  # the region check reads no profile
])
def test_unknown_profile_is_one_line_and_exit_4(tmp_path: Path, flags: list[str],
                                               env: dict[str, str]) -> None:
    proc = orgscan("scan", *flags, "--out", str(tmp_path / "out"), env=env)
    assert proc.returncode == EXIT_AWS
    line = one_line_error(proc)
    assert line.startswith("orgscan: cannot scan: ProfileNotFound:")
    assert "(nope)" in line


@pytest.mark.parametrize(("flags", "expected"), [
    (["--concurrency", "0"], "orgscan: --concurrency: must be at least 1, got 0"),
    (["--lookback-days", "0"], "orgscan: --lookback-days: must be at least 1, got 0"),
    (["--region", "bogus-1"], "orgscan: --region bogus-1: not a region name; expected like "
                              "us-east-1 (or 'all' alone: every region enabled in each account)"),
    (["--format", "jsn"], "orgscan: --format jsn: expected one of: "),
])
def test_flag_errors_name_the_flag(tmp_path: Path, flags: list[str], expected: str) -> None:
    proc = orgscan("scan", *flags, "--endpoint-url", DEAD_ENDPOINT, "--out", str(tmp_path))
    assert proc.returncode == EXIT_USAGE
    line = one_line_error(proc)
    assert line.startswith(expected)
    assert "<defaults>" not in line and "^[a-z]" not in line  # no file blamed, no raw regex


def test_a_region_the_partition_lacks_is_an_error_before_the_scan(tmp_path: Path) -> None:
    proc = orgscan("scan", "--region", "us-east-1", "--region", "xx-fake-9",
                   "--endpoint-url", DEAD_ENDPOINT, "--out", str(tmp_path / "out"))
    assert proc.returncode == EXIT_USAGE
    line = one_line_error(proc)
    assert line.startswith("orgscan: --region xx-fake-9: not a region of the aws partition")
    assert "us-east-1" in line  # the valid names are listed
    assert not (tmp_path / "out").exists()  # nothing was scanned
    # The same region in a config file names the file and the entry.
    config = tmp_path / "c.yaml"
    config.write_text("regions: [us-east-1, xx-fake-9]\n", encoding="utf-8")
    proc = orgscan("scan", "--config", str(config), "--endpoint-url", DEAD_ENDPOINT)
    assert proc.returncode == EXIT_USAGE
    assert (f"{config}:1: regions[1]: 'xx-fake-9' is not a region of the aws partition"
            in one_line_error(proc))


# --- rules list --framework ---------------------------------------------------------------------

def test_rules_list_unknown_framework_is_an_error_listing_the_valid_names() -> None:
    proc = orgscan("rules", "list", "--framework", "cis-5")
    assert proc.returncode == EXIT_USAGE
    assert proc.stdout == ""  # no empty table
    line = one_line_error(proc)
    assert line.startswith("orgscan: --framework: unknown framework 'cis-5' (known: aws-fsbp, "
                           "cis-aws-foundations-3.0, cis-aws-foundations-5.0")
    ok = orgscan("rules", "list", "--framework", "cis-aws-foundations-5.0")
    assert ok.returncode == EXIT_OK and "root-account-used" in ok.stdout


# --- permissions --deploy-dir -------------------------------------------------------------------

def _assume_resource(policy_file: Path) -> str:
    policy = json.loads(policy_file.read_text(encoding="utf-8"))
    (statement,) = [s for s in policy["Statement"] if s["Action"] == "sts:AssumeRole"]
    return str(statement["Resource"])


def test_permissions_deploy_dir_policy_allows_the_role_it_tells_you_to_use(tmp_path: Path) -> None:
    proc = orgscan("permissions", "--deploy-dir", str(tmp_path))
    assert proc.returncode == EXIT_OK, proc.stderr
    told = re.search(r"scan with --role-name (\S+)", proc.stderr)
    assert told is not None, proc.stderr
    role = told.group(1)
    assert role != "OrganizationAccountAccessRole"
    assert _assume_resource(tmp_path / "management-policy.json") == f"arn:aws:iam::*:role/{role}"
    template = json.loads((tmp_path / "audit-role-stackset.json").read_text(encoding="utf-8"))
    assert template["Parameters"]["RoleName"]["Default"] == role


def test_permissions_deploy_dir_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    proc = orgscan("permissions", "--deploy-dir", str(tmp_path / "a-file"))
    assert proc.returncode == EXIT_USAGE
    assert one_line_error(proc).startswith(f"orgscan: --deploy-dir {tmp_path / 'a-file'}: "
                                           "cannot write: ")


def test_permissions_management_policy_uses_the_partition_and_role_given(tmp_path: Path) -> None:
    config = tmp_path / "cn.yaml"
    config.write_text("aws: {region: cn-north-1}\n", encoding="utf-8")
    proc = orgscan("permissions", "--management", "--config", str(config),
                   "--role-name", "AuditReader")
    assert proc.returncode == EXIT_OK, proc.stderr
    (tmp_path / "printed.json").write_text(proc.stdout, encoding="utf-8")
    assert _assume_resource(tmp_path / "printed.json") == "arn:aws-cn:iam::*:role/AuditReader"


# --- demo -------------------------------------------------------------------------------------

def test_demo_help_documents_only_what_demo_takes() -> None:
    proc = orgscan("demo", "--help")
    assert proc.returncode == EXIT_OK
    assert "--fail-on" not in proc.stdout
    quiet = re.search(r"--quiet\s+(\S.*)", proc.stdout)
    assert quiet is not None, proc.stdout  # --quiet has help text


def test_demo_unknown_scenario_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = orgscan("demo", "--quiet", "--scenario", "nope", "--out", str(tmp_path / "out"))
    assert proc.returncode == EXIT_USAGE
    assert "no bundled scenario named 'nope'" in one_line_error(proc)


@pytest.fixture(scope="module")
def quiet_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[
        subprocess.CompletedProcess[str], Path]:
    cwd = tmp_path_factory.mktemp("demo-cwd")
    (cwd / "demo").mkdir()  # a directory named like the scenario does not hide it
    proc = orgscan("demo", "--quiet", "--out", "orgscan-demo", cwd=cwd)
    assert proc.returncode == EXIT_OK, proc.stderr
    return proc, cwd / "orgscan-demo"


def test_demo_quiet_prints_no_status_lines(quiet_demo: tuple[
        subprocess.CompletedProcess[str], Path]) -> None:
    proc, _ = quiet_demo
    assert proc.stderr == ""
    assert "Root used in the last 90 days: 9 account(s)" in proc.stdout


def test_terminal_times_say_utc(quiet_demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, _ = quiet_demo
    lasts = re.findall(r" last (.+?) via ", proc.stdout)
    assert len(lasts) == 9
    for text in lasts:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text), text


def test_report_md_root_usage_has_source_ips(quiet_demo: tuple[
        subprocess.CompletedProcess[str], Path]) -> None:
    _, out = quiet_demo
    lines = (out / "report.md").read_text(encoding="utf-8").splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("| Last used |"))
    header = [c.strip() for c in lines[header_at].strip("|").split("|")]
    column = header.index("Source IPs")
    usage = json.loads((out / "root-usage.json").read_text(encoding="utf-8"))
    ips = {a["account_id"]: a["source_ips"] for a in usage["accounts"] if a["used_in_window"]}
    assert any(ips.values())
    rows = lines[header_at + 2: header_at + 2 + len(ips)]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        account_id = re.search(r"\((\d{12})\)", cells[1]).group(1)  # type: ignore[union-attr]
        assert cells[column] == (", ".join(ips[account_id]) or "-")


def test_demo_manifest_records_the_demo_configuration(quiet_demo: tuple[
        subprocess.CompletedProcess[str], Path]) -> None:
    _, out = quiet_demo
    manifest = json.loads((out / "evidence-bundle" / "manifest.json").read_text("utf-8"))
    assert manifest["config_source"].startswith("<demo>")
    assert "org_trail" in manifest["config_source"]
    assert manifest["config"]["collector_options"]["root_usage"]["sources"] == list(DEMO_SOURCES)


def test_demo_output_is_ignored_by_git() -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "check-ignore", "-q", "orgscan-demo/report.md"], cwd=REPO)
    assert proc.returncode == 0  # 0: ignored


# --- the simulator scanned as the README says -------------------------------------------------

def test_readme_config_is_the_demo_configuration() -> None:
    config = yaml.safe_load((REPO / "config.demo.yaml").read_text(encoding="utf-8"))
    assert config == {"root_usage": {"sources": list(DEMO_SOURCES)}}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "orgscan scan --config config.demo.yaml" in readme
    assert "orgscan merge " in readme and "--shard 1/2" in readme


@pytest.fixture(scope="module")
def sim_serve() -> Iterator[dict[str, str]]:
    """`orgscan sim serve` as a user runs it; the environment its export lines set."""
    proc = subprocess.Popen([sys.executable, "-m", "scanner.cli.main", "sim", "serve"],
                            stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        env: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                key, _, value = line[len("export "):].strip().partition("=")
                env[key] = value
            if line.startswith("Ctrl-C"):
                break
        assert "AWS_ENDPOINT_URL" in env
        yield env
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_scanning_sim_serve_with_the_demo_config_matches_the_demo(
        sim_serve: dict[str, str], quiet_demo: tuple[subprocess.CompletedProcess[str], Path],
        tmp_path: Path) -> None:
    proc = orgscan("scan", "--quiet", "--config", "config.demo.yaml",
                   "--out", str(tmp_path / "sim-scan"), env=sim_serve)
    assert proc.returncode == EXIT_PARTIAL, proc.stderr  # the 2 accounts not assessed
    used = json.loads((tmp_path / "sim-scan" / "root-usage.json").read_text("utf-8"))
    demo = json.loads((quiet_demo[1] / "root-usage.json").read_text("utf-8"))
    assert used["summary"]["accounts_using_root_ids"] == demo["summary"][
        "accounts_using_root_ids"]
    assert len(used["summary"]["accounts_using_root_ids"]) == 9
    manifest = json.loads((tmp_path / "sim-scan" / "evidence-bundle" / "manifest.json")
                          .read_text("utf-8"))
    assert manifest["config_source"] == "config.demo.yaml"
