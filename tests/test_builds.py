"""`pantau builds list|rollback|resume` on a real server's data folder: the live site served
over HTTP goes back to an earlier build and stays there, pinned, while the server goes on
building, across a restart, until publishing resumes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from site_builder.write import MARKER
from sync_server.builds import PIN_FILE, build_folders, held_file, kept_builds, read_pin
from sync_server.publisher import KEEP_BUILDS
from sync_server.server import open_store

from .conftest import write_scratch
from .server import ServerProcess, make_token
from .test_hooks import edge_script, files

STAGE_URL = "/api/records/stages/pemungutan-suara"
PAGE = "/tahapan/pemungutan-suara/"


def pantau(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync_server", *args], capture_output=True, text=True, timeout=60
    )


def until(check: Callable[[], bool], what: str, server: ServerProcess, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}, not within {seconds} s:\n{server.log.read_text()}")
        time.sleep(0.05)


def edit(server: ServerProcess, token: str, needle: str) -> int:
    """Put `needle` in the stage's text; returns the build that will publish it."""
    with server.client(token) as http:
        record = http.get(STAGE_URL).json()
        text = record["text"].split("\n\nVersi ", 1)[0].rstrip("\n") + f"\n\n{needle}\n"
        answer = http.put(
            STAGE_URL,
            content=text.encode(),
            headers={"Content-Type": "text/markdown", "If-Match": str(record["revision"])},
        )
        assert answer.status_code == 200, answer.text
        return int(answer.json()["build"]["id"])


def build_status(server: ServerProcess, token: str, build: int) -> str:
    with server.client(token) as http:
        rows = http.get("/api/builds").json()["builds"]
    return next((row["status"] for row in rows if row["id"] == build), "unknown")


def page(server: ServerProcess) -> str:
    answer = httpx.get(server.url + PAGE, timeout=10)
    assert answer.status_code == 200
    return answer.text


def health(server: ServerProcess) -> dict[str, object]:
    return httpx.get(server.url + "/api/health", timeout=10).json()  # type: ignore[no-any-return]


@pytest.mark.slow
def test_rollback_pins_the_live_site_until_resume(tmp_path: Path) -> None:
    seed = write_scratch(tmp_path / "seed")
    data = tmp_path / "data"
    edges = tmp_path / "edges"
    edges.mkdir()
    hook, mirror = edge_script(edges)
    server = ServerProcess(data, seed, extra_args=("--after-build", hook)).start()
    try:
        token = make_token(data, "admin", "admin")
        published: dict[str, int] = {}
        for needle in ("Versi satu", "Versi dua"):
            build = edit(server, token, needle)
            until(lambda n=needle: n in page(server), f"{needle} published", server)
            published[needle] = build
        one, two = published["Versi satu"], published["Versi dua"]
        assert health(server)["live_build"] == two and health(server)["pinned"] is None

        listing = pantau("builds", "list", "--data", str(data))
        assert listing.returncode == 0, listing.stderr
        rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
        assert str(one) in rows and "kept" in rows[str(one)]
        assert "live" in rows[str(two)] and "pinned" not in rows[str(two)]
        assert "can be rolled back to" in listing.stdout

        # Rollback: the old page is served at once, and publishing is pinned to it.
        done = pantau("builds", "rollback", str(one), "--data", str(data))
        assert done.returncode == 0, done.stderr
        assert f"Build {one} is live again" in done.stdout
        text = page(server)
        assert "Versi satu" in text and "Versi dua" not in text
        state = health(server)
        assert state["status"] == "ok" and state["live_build"] == one
        pin = state["pinned"]
        assert isinstance(pin, dict) and pin["build"] == one
        assert "pantau builds resume" in pin["message"]
        # The edge servers follow the rollback too.
        until(lambda: files(mirror) == files(data / "live"), "the mirror rolled back", server)

        # Changes are accepted and built, never published, and the pinned folder is kept
        # however many builds follow.
        newest = 0
        for n in range(KEEP_BUILDS + 1):
            newest = edit(server, token, f"Versi tiga {n}")
            until(lambda b=newest: build_status(server, token, b) == "success", "built", server)
        text = page(server)
        assert "Versi satu" in text and "Versi tiga" not in text
        assert health(server)["live_build"] == one
        assert newest > two
        store = open_store(data)
        try:
            kept = [k.build for k in kept_builds(data, store)]
        finally:
            store.close()
        assert kept[0] == newest and one in kept
        assert len(build_folders(data)) <= KEEP_BUILDS + 1
        listing = pantau("builds", "list", "--data", str(data))
        assert f"Publishing is pinned to build {one}" in listing.stdout
        assert any(
            line.split()[:1] == [str(one)] and "live, pinned" in line
            for line in listing.stdout.splitlines()
        )
        assert f"The newest build is {newest} (success)" in listing.stdout

        # A restart keeps the pin: the start-up build is made, the old page stays.
        server.stop()
        server.start()
        pinned_again = health(server)["pinned"]
        assert isinstance(pinned_again, dict) and pinned_again["build"] == one
        until(lambda: "Versi satu" in page(server), "the pinned site served", server)
        with server.client(token) as http:
            after = http.get("/api/builds").json()
        assert after["pinned"]["build"] == one
        startup = after["builds"][0]
        until(lambda: build_status(server, token, startup["id"]) == "success", "built", server)
        assert "Versi satu" in page(server)

        # Resume: the newest content is served within a few seconds, without a restart.
        resumed = pantau("builds", "resume", "--data", str(data))
        assert resumed.returncode == 0, resumed.stderr
        assert f"it was pinned to build {one}" in resumed.stdout
        until(lambda: "Versi tiga 3" in page(server), "the newest site published", server, 5)
        assert health(server)["pinned"] is None and not (data / PIN_FILE).exists()
        until(lambda: files(mirror) == files(data / "live"), "the mirror resumed", server)
        again = pantau("builds", "resume", "--data", str(data))
        assert again.returncode == 0 and "not pinned" in again.stdout
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


@pytest.mark.slow
def test_rollback_refuses_builds_it_cannot_serve(tmp_path: Path) -> None:
    seed = write_scratch(tmp_path / "seed")
    data = tmp_path / "data"
    server = ServerProcess(data, seed).start()
    try:
        token = make_token(data, "admin", "admin")
        first = health(server)["live_build"]
        edit(server, token, "Versi satu")
        until(lambda: "Versi satu" in page(server), "published", server)
    finally:
        server.stop()
    # The server is stopped: the commands work on the folder alone.
    live = (data / "live").resolve()
    for bad, says in (
        ("abc", "'abc' is not a build number"),
        ("4.5", "'4.5' is not a build number"),
        ("999", "Build 999 is not kept"),
    ):
        done = pantau("builds", "rollback", bad, "--data", str(data))
        assert done.returncode == 1, done
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {says}"), done.stderr
        assert done.stdout == ""
    # An incomplete folder (its marker is written last) is refused too.
    (data / "builds" / str(first) / MARKER).unlink()
    done = pantau("builds", "rollback", str(first), "--data", str(data))
    assert done.returncode == 1 and f"Build {first} is not kept" in done.stderr
    assert (data / "live").resolve() == live and read_pin(data) is None
    missing = pantau("builds", "list", "--data", str(tmp_path / "nothing"))
    assert missing.returncode == 1 and "is not a server's data folder" in missing.stderr
    assert not (tmp_path / "nothing").exists()


def test_a_folder_written_in_place_lists_the_build_it_holds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_store(data)
    try:
        ids = [store.add_build("test") for _ in range(3)]
        for build in ids:
            store.update_build(build, status="success", finished="2024-11-27T10:00:00+08:00")
        folder = data / "builds" / str(ids[0])
        folder.mkdir(parents=True)
        (folder / MARKER).write_text("complete")
        held_file(folder).write_text(f"{ids[2]}\n")
        (data / "live").symlink_to(f"builds/{ids[0]}")
        kept = kept_builds(data, store)
    finally:
        store.close()
    assert [(k.build, k.folder.name, k.live) for k in kept] == [(ids[2], str(ids[0]), True)]
    listing = pantau("builds", "list", "--data", str(data))
    assert listing.returncode == 0
    assert [line.split()[:2] for line in listing.stdout.splitlines()[1:2]] == [
        [str(ids[2]), "2024-11-27"]
    ]
