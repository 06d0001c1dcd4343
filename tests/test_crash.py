"""kill -9 during a burst of writes: after a restart every acknowledged change is there."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from site_builder.load import load_content

from .conftest import CONTENT
from .server import ServerProcess, make_token

# Real servers, real browsers or crash rounds: left out of the quick run (-m 'not slow').
pytestmark = pytest.mark.slow

SLUGS = ["kampanye", "masa-tenang", "pemungutan-suara", "coklit"]


def writer(
    url: str, token: str, slug: str, acked: list[tuple[str, int, str]], stop: threading.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=5) as http:
        try:
            record = http.get(f"/api/records/stages/{slug}").json()
            index = 0
            while not stop.is_set() and index < 500:
                marker = f"penanda-{slug}-{time.monotonic_ns()}"  # unique across restarts
                text = record["text"].rstrip("\n") + f"\n\n{marker}\n"
                response = http.put(
                    f"/api/records/stages/{slug}",
                    content=text.encode(),
                    headers={"Content-Type": "text/markdown", "If-Match": str(record["revision"])},
                )
                if response.status_code != 200:
                    return
                record = response.json()
                acked.append((slug, record["revision"], marker))
                index += 1
        except httpx.HTTPError:
            return  # the server died mid-request: that change was never acknowledged


def test_kill_9_during_writes_loses_no_acknowledged_change(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", CONTENT).start()
    token = make_token(server.data, "admin", "admin")
    acked: list[tuple[str, int, str]] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=writer, args=(server.url, token, slug, acked, stop))
        for slug in SLUGS
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(acked) >= 40

    server.start()
    try:
        with server.client(token) as http:
            for slug, revision, marker in acked:
                history = http.get(f"/api/records/stages/{slug}/history").json()["revisions"]
                texts = {row["revision"]: row["text"] for row in history}
                assert marker in texts[revision], (slug, revision)
            for slug in SLUGS:
                current = http.get(f"/api/records/stages/{slug}").json()
                on_disk = (server.data / "content" / "stages" / f"{slug}.md").read_text()
                assert on_disk == current["text"], slug
                last = max(r for s, r, _ in acked if s == slug)
                assert current["revision"] >= last
    finally:
        server.stop()
    load_content(server.data / "content")  # the folder is valid and complete


def test_content_that_cannot_load_ends_the_process_with_the_reason(tmp_path: Path) -> None:
    """The server listens (and serves the live site) before the content is loaded; content
    that then cannot load ends the process with the reason in its log, rather than leaving an
    API that never answers."""
    server = ServerProcess(tmp_path / "data", CONTENT)
    server.start()
    server.stop()
    (server.data / "content" / "site.yaml").write_text("title: [unclosed\n")
    args = [sys.executable, "-m", "sync_server", "serve", "--data", str(server.data)]
    args += ["--port", str(server.port)]
    with open(server.log, "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 1
    text = server.log.read_text()
    assert "the server cannot start" in text and "site.yaml" in text
