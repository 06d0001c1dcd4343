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

STAGE_URL = "/api/records/stages/pemungutan-suara"

#: Mirrors $PANTAU_LIVE into the folder given as its argument (with rsync when installed),
#: then records the build and the changed paths it was told about.
MIRROR = """\
import os, shutil, subprocess, sys
from pathlib import Path

live, mirror = os.environ["PANTAU_LIVE"], Path(sys.argv[1])
if shutil.which("rsync"):
    mirror.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rsync", "-a", "--delete", live + "/", str(mirror) + "/"], check=True)
else:
    fresh = mirror.with_name(mirror.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(live, fresh)
    shutil.rmtree(mirror, ignore_errors=True)
    fresh.rename(mirror)
changed = Path(os.environ["PANTAU_CHANGED"]).read_text().split()
with open(mirror.with_name("builds.txt"), "a") as log:
    log.write(f"{os.environ['PANTAU_BUILD']} {len(changed)}\\n")
print("mirrored build", os.environ["PANTAU_BUILD"])
"""


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
    token = make_token(server.data, "admin", "admin")
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
    script = tmp_path / "mirror.py"
    script.write_text(MIRROR, encoding="utf-8")
    mirror = tmp_path / "edge" / "site"
    mirror.parent.mkdir()
    server = start(tmp_path, [sys.executable, str(script), str(mirror)])
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
        if pages and mirror.is_dir() and files(mirror) == expected:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the mirror never caught up:\n{server.log.read_text()}")
    recorded = [line.split() for line in builds.read_text().splitlines()]
    live_build = httpx.get(f"{server.url}/api/health").json()["live_build"]
    assert recorded[-1][0] == str(live_build) and int(recorded[-1][1]) > 0
    # The start-up build ran the hook too, so an edge is in step from the first moment.
    assert len(recorded) >= 2
    log = server.log.read_text()
    assert f"after-build command output for build {live_build}: mirrored build" in log
    assert f"after-build command for build {live_build} exited with 0" in log


@pytest.mark.slow
def test_a_failing_hook_is_logged_and_publishing_goes_on(tmp_path: Path) -> None:
    server = start(tmp_path, [sys.executable, "-c", "import sys; print('edge down'); sys.exit(1)"])
    try:
        first = httpx.get(f"{server.url}/api/health").json()["live_build"]
        edit_stage(server, "Masih terbit")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            log = server.log.read_text()
            live = httpx.get(f"{server.url}/api/health").json()["live_build"]
            if live != first and f"for build {live} exited with 1" in log:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(server.log.read_text())
        assert f"after-build command output for build {live}: edge down" in log
        assert "publishing goes on" in log
        page = httpx.get(f"{server.url}/tahapan/pemungutan-suara/")
        assert page.status_code == 200 and "Masih terbit" in page.text
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
    missing = AfterBuild(shlex.quote(str(tmp_path / "no-such-command")))
    missing.stop()
    assert missing.run_once(8, tmp_path, []) == 127 and shutil.which("x" * 20) is None
