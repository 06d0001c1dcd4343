"""`pantau dev`: a private build served with a reload script, rebuilt on every edit."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from site_builder.dev import DevSite, dev_app, dev_folder, inject

DEV = [sys.executable, "-m", "sync_server", "dev"]
TEAM = "teams/keamanan.yaml"
GOOD = "summary: Mengamankan tahapan."
BROKEN = "summary: [Mengamankan tahapan."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client:
    """Requests answered by an ASGI app in this process."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://dev") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def head(self, path: str) -> httpx.Response:
        return self.request("HEAD", path)


def until(check: Callable[[], Any], what: str, timeout: float = 8) -> Any:
    """Poll `check` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_the_script_goes_before_the_closing_body_tag() -> None:
    tag = b'<script src="/__pantau/reload.js?v=1" defer></script>'
    assert inject(b"<p>a</p></BODY></html>", tag) == b"<p>a</p>" + tag + b"</BODY></html>"
    assert inject(b"<p>a</p>", tag) == b"<p>a</p>" + tag


def test_pages_carry_the_script_and_the_last_good_build_survives_an_error(
    scratch_content: Path,
) -> None:
    site = DevSite(scratch_content)
    site.prepare()
    assert site.out.parent == dev_folder(scratch_content) == scratch_content.parent / ".pantau-dev"
    assert (site.out.parent / ".gitignore").read_text().splitlines()[-1] == "*"
    assert site.rebuild()
    built = (site.out / "tim/keamanan/index.html").read_bytes()
    assert b"__pantau" not in built, "the script is added while serving, never built in"
    client = Client(dev_app(site))
    page = client.get("/tim/keamanan/")
    assert page.status_code == 200
    assert '<script src="/__pantau/reload.js?v=1" defer></script></body>' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    # The browser's copy would carry an old build number: always answered in full.
    again = client.get("/tim/keamanan/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 200
    head = client.head("/tim/keamanan/")
    assert int(head.headers["content-length"]) == len(page.content)
    script = client.get("/__pantau/reload.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/__pantau/status" in script.text
    assert "unregister" in client.get("/sw.js").text
    assert client.get("/__pantau/status").json() == {
        "version": 1,
        "ok": True,
        "error": "",
        "problems": [],
    }

    team = scratch_content / TEAM
    team.write_text(team.read_text().replace(GOOD, BROKEN))
    assert not site.rebuild()
    status = client.get("/__pantau/status").json()
    assert status["version"] == 1 and not status["ok"]
    (problem,) = status["problems"]
    assert problem["path"] == str(team) and problem["line"] > 0
    assert f"{team}:{problem['line']}:" in status["error"]
    assert "Mengamankan tahapan." in client.get("/tim/keamanan/").text

    empty = DevSite(scratch_content.parent / "elsewhere" / "content")
    waiting = Client(dev_app(empty)).get("/")
    assert waiting.status_code == 404
    assert "/__pantau/reload.js?v=0" in waiting.text


def test_a_large_sites_downloadable_copy_follows_edits_in_a_follow_up_build(
    scratch_content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on the server: on a site past download.EAGER_BYTES (here every site), an edit's
    build leaves the zip as it was, and a follow-up build brings it up to date."""
    from site_builder import download
    from site_builder.build import verify_build
    from site_builder.dates import today_wita
    from site_builder.offline import ZIP_PATH

    monkeypatch.setattr(download, "EAGER_BYTES", 0)
    site = DevSite(scratch_content)
    site.download.interval = 1.0
    site.prepare()
    assert site.rebuild()  # the first build makes the zip

    def zipped_page() -> str:
        with zipfile.ZipFile(site.out / ZIP_PATH) as archive:
            return archive.read("tim/keamanan/index.html").decode()

    team = scratch_content / TEAM
    team.write_text(team.read_text().replace(GOOD, "summary: Menjaga tahapan."))
    site.download.downloaded_at = time.monotonic()  # as if made this moment, however slow
    assert site.rebuild()
    assert "Menjaga tahapan." in (site.out / "tim/keamanan/index.html").read_text()
    assert "Mengamankan tahapan." in zipped_page(), "the zip waits for the follow-up build"
    until(lambda: "Menjaga tahapan." in zipped_page(), "the follow-up build", timeout=10)
    assert site.status.ok
    verify_build(scratch_content, site.out, today_wita())


@pytest.fixture
def dev_server(scratch_content: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`pantau dev` on the scratch content in a child process; yields its address and log."""
    port = free_port()
    log = tmp_path / "dev.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*DEV, "--content", str(scratch_content), "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        until(
            lambda: process.poll() is not None or httpx.get(base + "/__pantau/status").is_success,
            "pantau dev to start",
            timeout=30,
        )
        assert process.poll() is None, log.read_text()
        yield base, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
    text = log.read_text()
    assert process.returncode == 0, text
    assert "Stopped." in text and "Traceback" not in text, text


@pytest.mark.slow
def test_dev_rebuilds_on_edit_and_shows_a_broken_record(
    dev_server: tuple[str, Path], scratch_content: Path
) -> None:
    base, log = dev_server
    page = httpx.get(base + "/tahapan/pemungutan-suara/")
    assert page.status_code == 200 and "Hari pemungutan suara." in page.text
    assert '<script src="/__pantau/reload.js?v=1" defer></script>' in page.text
    assert httpx.get(base + "/__pantau/status").json()["ok"] is True

    stage = scratch_content / "stages/pemungutan-suara.md"
    stage.write_text(stage.read_text().replace("Hari pemungutan suara.", "Hari yang diubah."))
    started = time.monotonic()
    changed = until(
        lambda: (
            "Hari yang diubah." in (text := httpx.get(base + "/tahapan/pemungutan-suara/").text)
            and text
        ),
        "the edited stage to be served",
    )
    assert time.monotonic() - started < 5
    assert "/__pantau/reload.js?v=2" in changed
    assert httpx.get(base + "/__pantau/status").json()["version"] == 2

    team = scratch_content / TEAM
    team.write_text(team.read_text().replace(GOOD, BROKEN))
    status = until(
        lambda: (found := httpx.get(base + "/__pantau/status").json())["ok"] is False and found,
        "the broken record to be reported",
    )
    (problem,) = status["problems"]
    assert problem["path"].endswith(TEAM) and problem["line"] > 0
    assert re.search(rf"{re.escape(TEAM)}:{problem['line']}: invalid YAML", status["error"])
    assert status["version"] == 2
    old = httpx.get(base + "/tim/keamanan/")
    assert old.status_code == 200 and "Mengamankan tahapan." in old.text
    until(lambda: "invalid YAML" in log.read_text(), "the problem in the terminal")

    team.write_text(team.read_text().replace(BROKEN, GOOD.replace("tahapan", "semua tahapan")))
    status = until(
        lambda: (found := httpx.get(base + "/__pantau/status").json())["ok"] and found,
        "recovery",
    )
    assert status == {"version": 3, "ok": True, "error": "", "problems": []}
    assert "Mengamankan semua tahapan." in httpx.get(base + "/tim/keamanan/").text


@pytest.mark.slow
def test_dev_on_a_port_in_use_is_one_sentence(scratch_content: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*DEV, "--content", str(scratch_content), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: the port is in use; choose another with --port"
    ]
    assert not (scratch_content.parent / ".pantau-dev").exists()
