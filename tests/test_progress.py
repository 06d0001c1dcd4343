"""Progress, --quiet and --verbose as a user sees them: real processes, a pipe and a
pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PANTAU = [sys.executable, "-m", "sync_server"]
SUMMARY = re.compile(r"Re-rendered \d+ of \d+ outputs, wrote \d+ files, removed 0, .+ into .+")


def build_args(content: Path, out: Path, *extra: str) -> list[str]:
    return [*PANTAU, "build", "--content", str(content), "--out", str(out), *extra]


def run_in_terminal(args: list[str]) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as stdin, stdout and stderr; all it wrote."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    process = subprocess.Popen(
        args, stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed once the process has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_quiet_build_prints_only_the_summary(scratch_content: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        build_args(scratch_content, tmp_path / "site", "--quiet"), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and SUMMARY.fullmatch(lines[0]), result.stdout


def test_a_pipe_gets_no_terminal_control_characters(scratch_content: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        build_args(scratch_content, tmp_path / "site"), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    assert "\r" not in result.stdout + result.stderr
    assert SUMMARY.fullmatch(result.stdout.strip())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from corpus import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return generate(tmp_path_factory.mktemp("corpus") / "content", 2000)


def test_a_terminal_sees_a_progress_bar(corpus: Path, tmp_path: Path) -> None:
    status, output = run_in_terminal(build_args(corpus, tmp_path / "site"))
    assert status == 0, output
    assert "\x1b[?25l" in output  # rich hides the cursor while it draws the bar
    assert "━" in output  # the bar itself
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    counts = [int(n) for n in re.findall(r"Rendering\s.*?(\d+)/\d+", plain)]
    assert len(set(counts)) > 2, plain[-2000:]  # it moved
    assert SUMMARY.search(plain)


def test_a_quiet_terminal_sees_only_the_summary(scratch_content: Path, tmp_path: Path) -> None:
    status, output = run_in_terminal(build_args(scratch_content, tmp_path / "site", "-q"))
    assert status == 0, output
    assert "\x1b" not in output
    assert SUMMARY.fullmatch(output.strip()), output


def crashing(tmp_path: Path) -> dict[str, str]:
    """An environment whose `pantau` meets an unexpected internal error while loading: a
    sitecustomize that breaks the loader, as a bug would."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import site_builder.load as load\n"
        "def broken(*args, **kwargs):\n"
        "    raise KeyError('simulated bug')\n"
        "load.load_content = broken\n"
    )
    path = os.pathsep.join([str(hooks), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def test_an_unexpected_error_is_one_sentence(scratch_content: Path, tmp_path: Path) -> None:
    env = crashing(tmp_path)
    for command in ("check", "build"):
        args = [*PANTAU, command, "--content", str(scratch_content)]
        result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr == (
            f"Error: pantau {command} stopped on an unexpected internal error (KeyError); "
            "run it again with --verbose to see the details.\n"
        )
        verbose = subprocess.run(
            [*args, "--verbose"], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        assert verbose.returncode == 1
        assert "Traceback" in verbose.stderr and "simulated bug" in verbose.stderr


def test_quiet_and_verbose_are_on_every_staff_command() -> None:
    for command in (
        ["check"],
        ["build"],
        ["new"],
        ["sync", "clone"],
        ["sync", "pull"],
        ["sync", "push"],
        ["sync", "status"],
        ["backup"],
        ["restore"],
    ):
        result = subprocess.run([*PANTAU, *command, "--help"], capture_output=True, text=True)
        assert "--quiet" in result.stdout and "--verbose" in result.stdout, command
