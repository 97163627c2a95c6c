"""Output to a reader that went away ends quietly with status 141, the Unix convention."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli import start_policy_monitor

pytestmark = pytest.mark.slow
EPIPE_EXIT = 141


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('pipes') / 'seeded.db'}"
    subprocess.run(
        [sys.executable, "-m", "monitor", "commitments", "seed", "--db", url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return url


def _closed_reader(*args: str, merge_stderr: bool = False) -> tuple[int, str]:
    """Run with stdout a pipe whose reader has already gone; return (status, stderr)."""
    proc = start_policy_monitor(
        *args, stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.close()
    try:
        err = ""
        if proc.stderr is not None:
            with proc.stderr:
                err = proc.stderr.read()
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the command hung writing to a closed pipe") from None
    return code, err


@pytest.mark.parametrize(
    "args",
    [
        ("commitments", "export"),  # plain writes to sys.stdout
        ("commitments", "list"),  # a rich table
        ("commitments", "list", "--json"),  # click.echo
        ("commitments", "show", "nhse-crisis-alternatives"),
    ],
)
def test_closed_pipe_is_quiet_and_exits_141(args: tuple[str, ...], seeded: str) -> None:
    code, err = _closed_reader(*args, "--db", seeded)
    assert code == EPIPE_EXIT
    assert err == ""  # no traceback, no "Exception ignored ... BrokenPipeError"


def test_help_to_a_closed_pipe() -> None:
    assert _closed_reader("--help") == (EPIPE_EXIT, "")


def test_stdout_and_stderr_on_one_closed_pipe_do_not_hang(seeded: str) -> None:
    code, _ = _closed_reader("commitments", "export", "--db", seeded, merge_stderr=True)
    assert code == EPIPE_EXIT


def test_batch_compare_into_a_closed_pipe_stops_without_finishing(tmp_path: Path) -> None:
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text("## Care\n\nWe will invest £261m by 2023/24.\n", encoding="utf-8")
    new.write_text("## Care\n\nWe will invest £300m by 2024/25.\n", encoding="utf-8")
    pairs = tmp_path / "pairs.jsonl"
    line = json.dumps({"id": 0, "old": str(old), "new": str(new)})
    pairs.write_text((line + "\n") * 3000, encoding="utf-8")
    code, err = _closed_reader("compare", "--batch", str(pairs), "--workers", "2")
    assert (code, err) == (EPIPE_EXIT, "")


@pytest.mark.skipif(shutil.which("head") is None, reason="needs head(1)")
def test_compare_piped_into_head_is_not_an_error(tmp_path: Path) -> None:
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text("## Care\n\n" + "We will invest £261m by 2023/24.\n\n" * 400, encoding="utf-8")
    new.write_text("## Care\n\n" + "We will invest £300m by 2024/25.\n\n" * 400, encoding="utf-8")
    script = (
        f'"{sys.executable}" -m monitor compare "{old}" "{new}" | head -1; exit ${{PIPESTATUS[0]}}'
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("MEANINGFUL")
    assert proc.returncode in (0, EPIPE_EXIT) and proc.stderr == ""
