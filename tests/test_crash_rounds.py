"""Twenty rounds of kill -9 during concurrent writes on one data folder: after each restart
every acknowledged change is in the files and the history, the database passes its own
integrity check, and the live site is a complete build of the current content."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from site_builder.load import load_content
from sync_server.server import DB_NAME

from .conftest import CONTENT
from .server import ServerProcess, make_token
from .test_crash import SLUGS, writer

pytestmark = pytest.mark.slow

ROUNDS = 20


def wait_for_live(server: ServerProcess, slug: str, marker: str, timeout: float = 30) -> None:
    """Until the public page of ``slug`` shows ``marker`` (the start-up build is live)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = httpx.get(f"{server.url}/tahapan/{slug}/", timeout=5)
        if page.status_code == 200 and marker in page.text:
            return
        time.sleep(0.05)
    raise AssertionError(f"the live site never showed {marker} on tahapan/{slug}/")


def test_twenty_rounds_of_kill_9_lose_nothing(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", CONTENT).start()
    token = make_token(server.data, "admin", "admin")
    chooser = random.Random(2024)
    acked: list[tuple[str, int, str]] = []
    try:
        for round_number in range(ROUNDS):
            before = len(acked)
            stop = threading.Event()
            threads = [
                threading.Thread(target=writer, args=(server.url, token, slug, acked, stop))
                for slug in SLUGS
            ]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 20
            while len(acked) == before and time.monotonic() < deadline:
                time.sleep(0.01)  # a loaded machine may take a while for the first answer
            time.sleep(chooser.uniform(0.05, 0.4))  # then kill at a different moment each round
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            assert len(acked) > before, f"round {round_number}: no write was acknowledged"

            with sqlite3.connect(server.data / DB_NAME) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

            server.start()
            with server.client(token) as http:
                history = {
                    slug: {
                        row["revision"]: row["text"]
                        for row in http.get(f"/api/records/stages/{slug}/history").json()[
                            "revisions"
                        ]
                    }
                    for slug in SLUGS
                }
                for slug, revision, marker in acked:
                    assert marker in history[slug][revision], (round_number, slug, revision)
                for slug in SLUGS:
                    current = http.get(f"/api/records/stages/{slug}").json()
                    on_disk = (server.data / "content" / "stages" / f"{slug}.md").read_text()
                    assert on_disk == current["text"], (round_number, slug)
                    last = [m for s, _, m in acked if s == slug]
                    if last:
                        assert last[-1] in current["text"]
                        wait_for_live(server, slug, last[-1])
            assert_live_site_complete(server)
    finally:
        server.stop()
    load_content(server.data / "content")


def assert_live_site_complete(server: ServerProcess) -> None:
    """Every published record has its page, and the exports list exactly the records."""
    content = load_content(server.data / "content")
    live = server.data / "live"
    for collection, folder in (("stages", "tahapan"), ("teams", "tim"), ("campaigns", "kampanye")):
        slugs = set(content.entries[collection])
        exported = {row["id"] for row in json.loads((live / f"data/{collection}.json").read_text())}
        assert exported == slugs, collection
        for slug in slugs:
            assert (live / folder / slug / "index.html").is_file(), (collection, slug)
    assert (live / "index.html").is_file() and (live / "sw.js").is_file()
