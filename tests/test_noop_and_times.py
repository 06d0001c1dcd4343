"""Over real HTTP: a PUT that changes nothing records nothing, and the server keeps the time of
each change in the history (the record's text stays exactly as its author wrote it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .server import ServerProcess, make_token

# Real servers: left out of the quick run (-m 'not slow').
pytestmark = pytest.mark.slow

STAGE_URL = "/api/records/stages/pemungutan-suara"
CAMPAIGN_URL = "/api/records/campaigns/ayo-memilih"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    from .conftest import write_scratch

    seed = tmp_path_factory.mktemp("seed")
    write_scratch(seed)
    data = tmp_path_factory.mktemp("server") / "data"
    process = ServerProcess(data, seed).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    return {role: make_token(server.data, role, role) for role in ("admin", "editor", "campaign")}


def put(http: httpx.Client, url: str, text: str, **headers: str) -> httpx.Response:
    return http.put(
        url, content=text.encode(), headers={"Content-Type": "text/markdown", **headers}
    )


def state(http: httpx.Client, url: str) -> dict[str, Any]:
    """What a no-op must leave as it was: the record's history, the changes feed, the builds
    and the public change log."""
    history = http.get(f"{url}/history").json()["revisions"]
    feed = http.get("/api/changes", params={"since": 0, "limit": 1000}).json()
    builds = http.get("/api/builds").json()
    return {
        "revisions": [(r["revision"], r["hash"], r["time"]) for r in history],
        "last_seq": feed["last_seq"],
        "builds": builds,
    }


def wait_for_build(http: httpx.Client, build: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [b for b in http.get("/api/builds").json()["builds"] if b["id"] == build]
        if found and found[0]["status"] in ("success", "failed"):
            assert found[0]["status"] == "success", found[0]
            return
        time.sleep(0.05)
    raise AssertionError(f"build {build} did not finish")


def riwayat(server: ServerProcess) -> str:
    response = httpx.get(f"{server.url}/riwayat/", timeout=5)
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize("who", ["editor", "admin"])
def test_a_put_of_the_current_text_changes_nothing(
    server: ServerProcess, tokens: dict[str, str], who: str
) -> None:
    # The editor's PUT follows its own last change (the re-send check must not take it for
    # one); the admin's follows someone else's.
    with server.client(tokens["editor"]) as http:
        record = http.get(STAGE_URL).json()
        if who == "editor":
            edited = record["text"].replace("Isi **tahapan**.", "Isi **tahapan** baru.")
            first = put(http, STAGE_URL, edited, **{"If-Match": str(record["revision"])})
            assert first.status_code == 200, first.text
            wait_for_build(http, first.json()["build"]["id"])
            record = http.get(STAGE_URL).json()
    with server.client(tokens["admin"]) as admin:
        before = state(admin, STAGE_URL)
        log_before = riwayat(server)
        with server.client(tokens[who]) as http:
            again = put(http, STAGE_URL, record["text"], **{"If-Match": str(record["revision"])})
        assert again.status_code == 200, again.text
        body = again.json()
        assert body["unchanged"] is True
        assert "replayed" not in body
        assert body["revision"] == record["revision"]
        assert body["text"] == record["text"]
        assert body["hash"] == record["hash"]
        assert body["build"]["id"] == admin.get("/api/health").json()["live_build"]
        assert again.headers["etag"] == f'"{record["revision"]}"'
        time.sleep(0.3)  # a build, had one been asked for, would be listed by now
        assert state(admin, STAGE_URL) == before
        assert riwayat(server) == log_before


def test_a_json_put_of_the_current_text_changes_nothing(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    with server.client(tokens["campaign"]) as http, server.client(tokens["admin"]) as admin:
        record = http.get(CAMPAIGN_URL).json()
        before = state(admin, CAMPAIGN_URL)
        again = http.put(
            CAMPAIGN_URL,
            json={"text": record["text"]},
            headers={"If-Match": str(record["revision"])},
        )
        assert again.status_code == 200, again.text
        assert again.json()["unchanged"] is True
        assert state(admin, CAMPAIGN_URL) == before


def test_the_same_text_on_a_stale_revision_or_as_a_creation_is_still_refused(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    with server.client(tokens["admin"]) as http:
        record = http.get(STAGE_URL).json()
        before = state(http, STAGE_URL)
        stale = put(http, STAGE_URL, record["text"], **{"If-Match": str(record["revision"] + 5)})
        created = put(http, STAGE_URL, record["text"], **{"If-None-Match": "*"})
        missing = put(http, STAGE_URL, record["text"])
        assert (stale.status_code, created.status_code, missing.status_code) == (409, 409, 428)
        assert state(http, STAGE_URL) == before


def test_a_change_after_a_no_op_is_recorded_as_usual(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    with server.client(tokens["editor"]) as http:
        record = http.get(STAGE_URL).json()
        same = put(http, STAGE_URL, record["text"], **{"If-Match": str(record["revision"])})
        assert same.json()["unchanged"] is True
        edited = record["text"].replace("Hari pemungutan suara.", "Hari pencoblosan.")
        changed = put(http, STAGE_URL, edited, **{"If-Match": str(record["revision"])})
        assert changed.status_code == 200, changed.text
        assert changed.json()["revision"] == record["revision"] + 1
        assert "unchanged" not in changed.json()
        assert changed.json()["build"]["status"] == "queued"
