"""`pantau serve --after-build`: a command run after each build that went live, e.g. to copy
the built folder to edge servers."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync_server.hooks import AfterBuild

from .server import ServerProcess, make_token
from .test_admin_guide import guide_file

STAGE_URL = "/api/records/stages/pemungutan-suara"

#: The guide's script writes to edges over SSH; here each edge is a folder.
EDGE_DESTINATION = '"pantau@$edge:/srv/pantau/"'


def edge_script(folder: Path) -> tuple[str, Path]:
    """The guide's /usr/local/bin/pantau-to-edges as written there (rsync, no fallback), with
    each edge's SSH destination replaced by a folder under ``folder``, plus two lines that
    record each run (the build and how many changed paths it was told about). Returns the
    script's path and the first edge's folder."""
    assert shutil.which("rsync"), "rsync is not installed (apt-get install rsync; .ci/run does)"
    text = guide_file("/usr/local/bin/pantau-to-edges")
    assert EDGE_DESTINATION in text, "the guide's rsync destination changed"
    text = text.replace(EDGE_DESTINATION, f'"{folder}/$edge/"')
    text += (
        f'echo "$PANTAU_BUILD $(wc -l < "$PANTAU_CHANGED")" >> "{folder}/builds.txt"\n'
        'echo "mirrored build $PANTAU_BUILD"\n'
    )
    script = folder / "pantau-to-edges"
    script.write_text(text, encoding="utf-8")
    script.chmod(0o755)
    return str(script), folder / "edge1.example.org"


def files(root: Path) -> dict[str, bytes]:
    """Every file under root but hidden ones (and those in hidden folders), by path."""
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if not name.startswith("."):
                path = Path(folder, name)
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def edit_stage(server: ServerProcess, needle: str) -> None:
    token = make_token(server.data, f"admin-{time.monotonic_ns()}", "admin")
    with server.client(token) as http:
        record = http.get(STAGE_URL).json()
        text = record["text"].rstrip("\n") + f"\n\n{needle}\n"
        response = http.put(
            STAGE_URL,
            content=text.encode(),
            headers={"Content-Type": "text/markdown", "If-Match": str(record["revision"])},
        )
        assert response.status_code in (200, 202), response.text


def start(tmp_path: Path, command: list[str]) -> ServerProcess:
    from .conftest import write_scratch

    seed = write_scratch(tmp_path / "seed")
    server = ServerProcess(
        tmp_path / "data", seed, extra_args=("--after-build", shlex.join(command))
    )
    return server.start()


@pytest.fixture
def mirrored(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    edges = tmp_path / "edges"
    edges.mkdir()
    script, mirror = edge_script(edges)
    server = start(tmp_path, [script])
    yield server, mirror
    server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log, log


@pytest.mark.slow
def test_the_hook_mirrors_every_build_that_goes_live(mirrored: tuple[ServerProcess, Path]) -> None:
    server, mirror = mirrored
    builds = mirror.with_name("builds.txt")
    needle = "Teks untuk server tepi"
    edit_stage(server, needle)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        live = (server.data / "live").resolve()
        expected = files(live)
        pages = [
            p for p, data in expected.items() if p.endswith(".html") and needle.encode() in data
        ]
        edges = [mirror, mirror.with_name("edge2.example.org")]
        if pages and all(edge.is_dir() and files(edge) == expected for edge in edges):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the mirror never caught up:\n{server.log.read_text()}")
    live_build = httpx.get(f"{server.url}/api/health").json()["live_build"]

    # The run records itself once its copies are done, and logs its exit code after that.
    def last_run() -> str:
        lines = builds.read_text().splitlines()
        return lines[-1].split()[0] if lines else ""

    exited = f"for build {live_build} exited"
    while last_run() != str(live_build) or exited not in server.log.read_text():
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.05)
    recorded = [line.split() for line in builds.read_text().splitlines()]
    assert recorded[-1][0] == str(live_build) and int(recorded[-1][1]) > 0
    # The start-up build ran the hook too, so an edge is in step from the first moment.
    assert len(recorded) >= 2
    log = server.log.read_text()
    assert f"after-build command output for build {live_build}: mirrored build" in log
    assert f"after-build command for build {live_build} exited with 0" in log


@pytest.mark.slow
def test_a_failing_hook_is_logged_shown_in_health_and_publishing_goes_on(tmp_path: Path) -> None:
    edges_back = tmp_path / "edges-back"
    failing = (
        "import pathlib, sys; print('edge down'); "
        f"sys.exit(0 if pathlib.Path({str(edges_back)!r}).exists() else 3)"
    )
    server = start(tmp_path, [sys.executable, "-c", failing])
    try:
        first = httpx.get(f"{server.url}/api/health").json()["live_build"]
        edit_stage(server, "Masih terbit")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            log = server.log.read_text()
            live = httpx.get(f"{server.url}/api/health").json()["live_build"]
            if live != first and f"for build {live} exited with 3" in log:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(server.log.read_text())
        assert f"after-build command output for build {live}: edge down" in log
        assert "publishing goes on" in log
        page = httpx.get(f"{server.url}/tahapan/pemungutan-suara/")
        assert page.status_code == 200 and "Masih terbit" in page.text
        # Health says so, to anyone, until a later run succeeds.
        health = httpx.get(f"{server.url}/api/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert health.json()["problems"] == [
            f"the after-build command exited with 3 after build {live}; edge servers may "
            "serve an older site"
        ]
        edges_back.touch()
        edit_stage(server, "Tepi kembali")
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/api/health").json()["status"] != "ok":
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.1)
        assert httpx.get(f"{server.url}/api/health").json()["problems"] == []
    finally:
        server.stop()


def test_runs_never_pile_up(tmp_path: Path) -> None:
    record = tmp_path / "runs.txt"
    script = (
        "import os, time; time.sleep(0.3); "
        f"open({str(record)!r}, 'a').write(os.environ['PANTAU_BUILD'] + ' ' "
        "+ open(os.environ['PANTAU_CHANGED']).read().replace(chr(10), ',') + chr(10))"
    )
    hook = AfterBuild(shlex.join([sys.executable, "-c", script]))
    try:
        for build in range(1, 6):
            hook(build, tmp_path, [f"page-{build}.html"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = record.read_text().splitlines() if record.exists() else []
            if lines and lines[-1].startswith("5 "):
                break
            time.sleep(0.05)
        time.sleep(0.5)  # nothing more comes
        lines = record.read_text().splitlines()
        assert 1 <= len(lines) <= 2 and lines[-1].startswith("5 ")
        # Every changed path reached one run or another.
        told = {p for line in lines for p in line.split(" ", 1)[1].split(",") if p}
        assert told == {f"page-{n}.html" for n in range(1, 6)}
        assert hook.failure is None
    finally:
        hook.stop()


def test_a_run_that_takes_too_long_is_stopped(tmp_path: Path) -> None:
    hook = AfterBuild(shlex.join([sys.executable, "-c", "import time; time.sleep(30)"]), 0.5)
    hook.stop()
    started = time.monotonic()
    assert hook.run_once(7, tmp_path, []) is None
    assert time.monotonic() - started < 10
    assert hook.failure is not None and "timed out" in hook.failure
    assert hook.problem is not None and hook.problem.sentence() == (
        "the after-build command was stopped after 0 s after build 7; edge servers may serve "
        "an older site"
    )
    missing = AfterBuild(shlex.quote(str(tmp_path / "no-such-command")))
    missing.stop()
    assert missing.run_once(8, tmp_path, []) == 127 and shutil.which("x" * 20) is None
    assert missing.problem is not None and "exited with 127 after build 8" in (
        missing.problem.sentence()
    )
