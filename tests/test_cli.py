"""The `pantau` command as a user runs it: real processes, real files, real HTTP."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import click
import pytest

from site_builder.cli import main
from site_builder.load import load_content
from site_builder.models import writable
from sync_server.auth import ROLES
from sync_server.cli import main as full_main

PANTAU = [sys.executable, "-m", "site_builder"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PANTAU, *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_with_an_example(command: str) -> None:
    # `pantau` is sync_server's command: the builder's with serve, token and sync added.
    result = subprocess.run(
        [sys.executable, "-m", "sync_server", command, "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "Example:" in result.stdout


def every_command() -> list[tuple[str, click.Command]]:
    """Every command of `pantau`, with the sync server's, subcommands as 'group sub'."""
    found: list[tuple[str, click.Command]] = []

    def walk(prefix: str, group: click.Group) -> None:
        for name, command in sorted(group.commands.items()):
            found.append((f"{prefix}{name}", command))
            if isinstance(command, click.Group):
                walk(f"{prefix}{name} ", command)

    walk("", full_main)
    return found


@pytest.mark.parametrize(("name", "command"), every_command(), ids=lambda x: str(x))
def test_every_command_and_option_has_help_with_an_example(
    name: str, command: click.Command
) -> None:
    assert command.help and "Example:" in command.help, name
    for param in command.params:
        if not isinstance(param, click.Option) or param.name == "help":
            continue
        text = param.help or ""
        assert text.strip(), f"{name} {param.opts[0]} has no help text"
        shown = param.is_flag or param.show_default or isinstance(param.type, click.Choice)
        assert shown or "e.g." in text, f"{name} {param.opts[0]}: give an example (e.g. ...)"
        if param.envvar:
            assert str(param.envvar) in text, f"{name} {param.opts[0]}: name {param.envvar}"


def test_the_role_option_says_what_each_role_may_edit() -> None:
    (create,) = (c for n, c in every_command() if n == "token create")
    (role,) = (p for p in create.params if p.name == "role")
    for name in ROLES:
        folders = ", ".join(sorted(writable(name)))
        assert re.search(rf"\b{name} \({folders}[;,)]", role.help or ""), (name, folders)


def test_build_prints_one_summary_line(scratch_content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = run(
        "build", "--content", str(scratch_content), "--out", str(out), "--today", "2024-11-27"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    first = re.fullmatch(
        r"Re-rendered (\d+) of (\d+) outputs, wrote (\d+) files, removed 0, [\d.]+ s "
        r"\((\d+) pages, search index [\d.]+ KB\) into .+",
        lines[0],
    )
    assert first, lines[0]
    assert first[1] == first[2] == first[3] and int(first[4]) > 10
    assert (out / "index.html").is_file()
    again = run(
        "build", "--content", str(scratch_content), "--out", str(out), "--today", "2024-11-27"
    )
    assert again.stdout.startswith(f"Re-rendered 0 of {first[2]} outputs, wrote 0 files,")


def test_bad_today_is_a_clear_error(scratch_content: Path) -> None:
    result = run("build", "--content", str(scratch_content), "--today", "27-11-2024")
    assert result.returncode != 0
    assert "is not a date; write it as YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_refuses_a_malformed_source_address(scratch_content: Path) -> None:
    stage = scratch_content / "stages/pemungutan-suara.md"
    text = stage.read_text()
    stage.write_text(text.replace("https://example.org/", "https://rmol.id/amp/1/whatsapp:/send#"))
    result = run("check", "--content", str(scratch_content))
    assert result.returncode == 1
    assert re.search(
        rf"{re.escape(str(stage))}:\d+: sources\[0\]\.url: .* stray 'whatsapp:/'", result.stderr
    ), result.stderr
    assert "Traceback" not in result.stderr


def test_missing_content_folder(tmp_path: Path) -> None:
    result = run("check", "--content", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "the content folder does not exist" in result.stderr


@pytest.mark.parametrize("kind", ["stage", "team", "campaign", "page"])
def test_new_writes_a_valid_skeleton(scratch_content: Path, kind: str) -> None:
    result = run("new", kind, "catatan-baru", "--content", str(scratch_content))
    assert result.returncode == 0, result.stderr
    load_content(scratch_content)  # still valid with the skeleton in place
    again = run("new", kind, "catatan-baru", "--content", str(scratch_content))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_new_refuses_a_bad_slug(scratch_content: Path) -> None:
    result = run("new", "stage", "Bad Slug", "--content", str(scratch_content))
    assert result.returncode == 1
    assert "not a valid slug" in result.stderr


def test_schema_writes_json_schema(tmp_path: Path) -> None:
    result = run("schema", "--out", str(tmp_path / "schema"))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "schema").iterdir())
    assert names == [
        f"{n}.schema.json"
        for n in ("campaigns", "findings", "pages", "regions", "site", "stages", "teams")
    ]
    stage = json.loads((tmp_path / "schema/stages.schema.json").read_text())
    assert stage["properties"]["phase"]["enum"] == ["persiapan", "penyelenggaraan", "pasca"]
    assert "description" in stage["properties"]["monitoring"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_preview_serves_the_site_on_loopback(scratch_content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert run("build", "--content", str(scratch_content), "--out", str(out)).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [*PANTAU, "preview", "--dir", str(out), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(base, timeout=2) as response:
                    body = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(
                        f"preview did not start: {server.stdout.read() if server.stdout else ''}"
                    ) from None
                time.sleep(0.1)
        assert '<html lang="id"' in body
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(base + "tidak-ada/", timeout=2)
        with info.value as error:
            assert error.code == 404
            assert "Halaman tidak ditemukan" in error.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()
