"""deploy/: the files parse, and every command, option and variable they name exists.

Docker does not run here, so the Dockerfile, compose file and systemd units are read as
text and checked against the code: each ``policy-monitor ...`` command line must resolve to a
command in ``monitor.cli.COMMANDS`` with options it has, and each ``POLICY_MONITOR_*``
variable must be read somewhere in the code. The entry points are then started for real and
answer ``/healthz``.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import httpx2 as httpx
import pytest
import yaml
from cli import start_policy_monitor
from localserver import LocalServer, Reply

from monitor.cli import COMMANDS, cli

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SYSTEMD = DEPLOY / "systemd"
BINARY = "/opt/policy-monitor/bin/policy-monitor"
VAR = re.compile(r"POLICY_MONITOR_[A-Z0-9_]+")


# -- reading the files -------------------------------------------------------------------------
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def env_example(name: str = "policy-monitor.env.example") -> dict[str, str]:
    values = {}
    for n, line in enumerate((DEPLOY / name).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{name}:{n}: not KEY=value"
        assert value == value.strip() and not value.startswith(('"', "'")), f"{name}:{n}"
        values[key] = value
    return values


def command_lines() -> list[tuple[str, list[str]]]:
    """Every policy-monitor command line in deploy/, as (where, argv after the program)."""
    lines: list[tuple[str, list[str]]] = []
    steps = dict(dockerfile())
    assert json.loads(steps["ENTRYPOINT"]) == ["policy-monitor"]
    lines.append(("Dockerfile CMD", json.loads(steps["CMD"])))
    for name, svc in compose()["services"].items():
        if svc.get("image", "").startswith("policy-monitor"):
            lines.append((f"compose {name}", list(svc["command"])))
    for path in sorted(SYSTEMD.glob("*.service")):
        service = unit(path)["Service"]
        for key in ("ExecStartPre", "ExecStart"):
            if key in service:
                argv = shlex.split(service[key])
                assert argv[0] == BINARY, f"{path.name} {key}: runs {argv[0]}"
                lines.append((f"{path.name} {key}", argv[1:]))
    for path in [DEPLOY / "README.md", REPO / "docs" / "operations.md"]:
        seen: set[str] = set()
        text = path.read_text()
        found = re.findall(r"`policy-monitor ([^`]+)`", text)
        code = "\n".join(text.split("```")[1::2])  # the fenced blocks
        found += re.findall(r"(?:^|\s)policy-monitor ([a-z][a-z-]*(?=\s|$).*)$", code, re.M)
        for command in found:
            command = command.split(" #")[0].split("`")[0].strip()
            if command not in seen:
                seen.add(command)
                lines.append((f"{path.name}: {command}", shlex.split(command)))
    return lines


# -- checking a command line against the click commands ------------------------------------------
def resolve(argv: list[str]) -> tuple[click.Command, list[str]]:
    """The command an argv names, and the options it passes (root options dropped)."""
    ctx = click.Context(cli)
    args = list(argv)
    while args and args[0].startswith("--"):  # --log-format json before the command
        option = args.pop(0)
        assert option in {"--log-format", "--verbose", "-v"}, option
        if option == "--log-format":
            args.pop(0)
    name = args.pop(0)
    assert name in COMMANDS, f"no command {name!r} in monitor.cli.COMMANDS"
    command = cli.get_command(ctx, name)
    assert command is not None
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        sub = args.pop(0)
        found = command.get_command(ctx, sub)
        assert found is not None, f"{name}: no subcommand {sub!r}"
        command = found
    return command, [a.split("=")[0] for a in args if a.startswith("--")]


def options_of(command: click.Command) -> set[str]:
    return {o for p in command.params for o in [*p.opts, *p.secondary_opts]}


COMMAND_LINES = command_lines()


@pytest.mark.parametrize(("where", "argv"), COMMAND_LINES, ids=[w for w, _ in COMMAND_LINES])
def test_every_command_and_option_in_deploy_exists(where: str, argv: list[str]) -> None:
    command, options = resolve(argv)
    missing = set(options) - options_of(command)
    assert not missing, f"{where}: {command.name} has no option {sorted(missing)}"


def test_the_deploy_files_run_the_scheduler_workers_and_web() -> None:
    names = {argv[0] for _, argv in COMMAND_LINES}
    assert {"run", "worker", "serve", "db", "snapshots"} <= names


# -- the files themselves ---------------------------------------------------------------------
def test_dockerfile_is_slim_non_root_and_checks_health() -> None:
    steps = dockerfile()
    stages = [args for word, args in steps if word == "FROM"]
    assert stages and all("slim" in s for s in stages)
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    (health,) = [args for word, args in steps if word == "HEALTHCHECK"]
    assert "/healthz" in health and "--interval" in health
    cmd = json.loads(dict(steps)["CMD"])
    port = cmd[cmd.index("--listen") + 1].rsplit(":", 1)[1]
    assert f":{port}/healthz" in health  # the check asks the port the scheduler serves
    for word, args in steps:
        if word == "COPY" and "--from" not in args:
            for src in args.split()[:-1]:
                assert (REPO / src).exists(), f"COPY {src}: no such file in the repository"


def test_compose_has_every_service_and_workers_scale() -> None:
    data = compose()
    services = data["services"]
    assert {"postgres", "migrate", "scheduler", "worker", "web", "mailpit"} <= set(services)
    assert "replicas" in services["worker"]["deploy"]
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert services["scheduler"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, svc in services.items():
        env_file = svc.get("env_file")
        for file in env_file if isinstance(env_file, list) else [env_file] if env_file else []:
            assert (DEPLOY / f"{file}.example").exists(), f"{name}: {file} has no example"
        for volume in svc.get("volumes", []):
            src = volume.split(":")[0]
            if src.startswith("./"):
                assert (DEPLOY / src).exists(), f"{name}: mounts missing {src}"
    # every ${VAR} compose reads is given by deploy/.env.example
    wanted = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "compose.yaml").read_text()))
    assert wanted <= set(env_example(".env.example"))


def test_systemd_units_parse_and_run_as_a_user() -> None:
    units = sorted(SYSTEMD.iterdir())
    assert {p.name for p in units} >= {
        "policy-monitor-scheduler.service",
        "policy-monitor-worker@.service",
        "policy-monitor-web.service",
        "policy-monitor-compact.service",
        "policy-monitor-compact.timer",
    }
    for path in units:
        parsed = unit(path)
        assert parsed.has_section("Unit"), path.name
        if path.suffix == ".service":
            service = parsed["Service"]
            assert service["User"] not in {"root", "0"}, path.name
            assert service["EnvironmentFile"].endswith("policy-monitor.env"), path.name
        else:
            target = parsed["Timer"]["Unit"]
            assert (SYSTEMD / target).exists(), f"{path.name}: no {target}"


def _stop_settings(name: str) -> dict[str, str]:
    service = unit(SYSTEMD / name)["Service"]
    keys = ("KillSignal", "TimeoutStopSec", "Restart", "SuccessExitStatus")
    return {k: service[k] for k in keys if k in service}


def success_statuses(name: str) -> set[int]:
    """The exit statuses systemd counts as a clean stop of a unit (0 and SuccessExitStatus)."""
    extra = _stop_settings(name).get("SuccessExitStatus", "")
    return {0, *(int(word) for word in extra.split() if word.isdigit())}


def test_scheduler_and_worker_units_stop_alike() -> None:
    # both exit 0 after SIGTERM; 130 (a second signal: work cut short) stays a failure
    scheduler = _stop_settings("policy-monitor-scheduler.service")
    worker = _stop_settings("policy-monitor-worker@.service")
    assert scheduler == worker
    assert scheduler["KillSignal"] == "SIGTERM" and scheduler["Restart"] == "on-failure"
    assert success_statuses("policy-monitor-scheduler.service") == {0}
    services = compose()["services"]
    assert services["scheduler"]["restart"] == services["worker"]["restart"] == "unless-stopped"
    assert int(scheduler["TimeoutStopSec"]) >= 120  # compose gives them stop_grace_period: 2m


def test_every_variable_deploy_names_is_read_by_the_code() -> None:
    code = "\n".join(
        p.read_text() for pkg in ("monitor", "notifiers", "spiders", "watchers")
        for p in (REPO / pkg).rglob("*.py")
    )  # fmt: skip
    known = set(VAR.findall(code))
    files = [*DEPLOY.rglob("*"), REPO / "docs" / "operations.md"]
    named = {v for p in files if p.is_file() for v in VAR.findall(p.read_text())}
    named -= {"POLICY_MONITOR_ALLOWED_DOMAINS"}  # a Scrapy setting, not a variable
    assert named and named <= known, f"not read by any code: {sorted(named - known)}"
    example = env_example()
    assert {"POLICY_MONITOR_DATABASE_URL", "POLICY_MONITOR_SECRET"} <= set(example)
    assert set(example) & named == {k for k in example if k.startswith("POLICY_MONITOR_")}


# -- the entry points start and answer ---------------------------------------------------------
PAGE = b"<html><body><main><h1>Crisis care</h1><p>The fund is 10 million pounds.</p></main></body></html>"


@pytest.mark.slow
def test_the_scheduler_entry_point_answers_healthz_and_stops_on_sigterm(tmp_path: Path) -> None:
    steps = dict(dockerfile())
    argv = json.loads(steps["CMD"])  # the image's command, with this machine's paths
    with LocalServer({"/page": Reply(body=PAGE)}) as site:
        config = tmp_path / "monitor.yml"
        config.write_text(
            "sources:\n  - name: local\n    allowed_domains: [127.0.0.1]\n"
            f"    pages:\n      - url: {site.url('/page')}\n"
        )
        argv[argv.index("--config") + 1] = str(config)
        argv[argv.index("--listen") + 1] = "127.0.0.1:0"
        env = env_example() | {"POLICY_MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}
        env.pop("POLICY_MONITOR_LISTEN")
        proc = start_policy_monitor(*argv, env=_environ(env), cwd=tmp_path)
        try:
            port = _wait_for_port(proc)
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert answer.status_code == 200, answer.text
            assert answer.json()["checks"]["scheduler"]["status"] == "pass"
            scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
            assert "policy_monitor_database_up 1.0" in scrape.text
            check = _healthcheck(steps["HEALTHCHECK"], 9108, port)  # the image's own check
            assert subprocess.run(check, timeout=30).returncode == 0
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped cleanly" in err


def _healthcheck(instruction: str, image_port: int, port: int) -> list[str]:
    """The HEALTHCHECK's CMD, run here: this interpreter, the port the test's server got."""
    argv = json.loads(instruction.split("CMD", 1)[1])
    argv = [a.replace(f":{image_port}/", f":{port}/") for a in argv]
    return [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]


def _environ(extra: dict[str, str]) -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("POLICY_MONITOR_")} | extra


def _wait_for_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        found = re.search(r"serving /metrics and /healthz on http://[^:]+:(\d+)", line)
        if found:
            return int(found.group(1))
    raise AssertionError("the scheduler never listened:\n" + "".join(seen))


@pytest.mark.slow
def test_the_web_entry_point_answers(tmp_path: Path) -> None:
    (_, argv), *_ = [(w, a) for w, a in COMMAND_LINES if w == "compose web"]
    argv = list(argv)
    config = tmp_path / "monitor.yml"
    config.write_text("sources: []\n")
    port = _free_port()
    argv[argv.index("--config") + 1] = str(config)
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    env = env_example() | {
        "POLICY_MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "POLICY_MONITOR_SECRET": "a-test-secret-of-more-than-16-characters",
    }
    proc = start_policy_monitor(*argv, env=_environ(env), cwd=tmp_path)
    try:
        code = _poll(f"http://127.0.0.1:{port}/", proc)
        test = compose()["services"]["web"]["healthcheck"]["test"]
        assert test[0] == "CMD"
        assert any(":8000/healthz" in a for a in test)  # the app's own health, not a page
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["database"] == {"status": "pass"}
        check = [a.replace(":8000/", f":{port}/") for a in test[1:]]
        check[0] = sys.executable if check[0] == "python" else check[0]
        assert subprocess.run(check, timeout=30).returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    assert code == 200
    # the unit counts this stop as clean, so `systemctl stop` leaves it inactive, not failed
    assert proc.returncode in success_statuses("policy-monitor-web.service")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _poll(url: str, proc: subprocess.Popen[str], seconds: float = 30) -> int:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.communicate()[1]}")
        try:
            return httpx.get(url, timeout=5).status_code
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")
