"""Over real HTTP: a PUT that changes nothing records nothing, and the server keeps the time of
each change in the history (the record's text stays exactly as its author wrote it)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from site_builder.build import build, verify_build
from site_builder.dates import tanggal_jam
from site_builder.graph import History
from site_builder.models import WITA

from .server import ServerProcess, make_token

# Real servers: left out of the quick run (-m 'not slow').
slow = pytest.mark.slow

STAGE_URL = "/api/records/stages/pemungutan-suara"
CAMPAIGN_URL = "/api/records/campaigns/ayo-memilih"


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


@slow
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


@slow
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


@slow
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


@slow
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


# the time of a change lives in the history, not in the text ---------------------------------


def page(server: ServerProcess, path: str) -> str:
    response = httpx.get(f"{server.url}/{path}", timeout=5)
    assert response.status_code == 200, path
    return response.text


def last_time(http: httpx.Client, url: str) -> dt.datetime:
    history = http.get(f"{url}/history").json()["revisions"]
    return dt.datetime.fromisoformat(history[-1]["time"])


@slow
def test_a_record_only_imported_shows_no_change_time(server: ServerProcess) -> None:
    html = page(server, "tim/keamanan/index.html")
    assert "Terakhir diperbarui" not in html  # never a made-up time


@slow
def test_a_put_keeps_the_text_byte_for_byte_and_the_page_shows_the_historys_time(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    with server.client(tokens["editor"]) as http:
        record = http.get(STAGE_URL).json()
        assert "updated:" not in record["text"]
        # Odd but valid spacing and a comment: kept exactly as written.
        edited = record["text"].replace(
            "checked: press", "checked:   press   # dicek ulang\n# catatan staf"
        )
        response = put(http, STAGE_URL, edited, **{"If-Match": str(record["revision"])})
        assert response.status_code == 200, response.text
        assert response.json()["text"] == edited
        wait_for_build(http, response.json()["build"]["id"])
        assert http.get(STAGE_URL).json()["text"] == edited
        history = http.get(f"{STAGE_URL}/history").json()["revisions"]
        assert history[-1]["text"] == edited
        when = last_time(http, STAGE_URL)
    assert (server.data / "content/stages/pemungutan-suara.md").read_text() == edited
    html = page(server, "tahapan/pemungutan-suara/index.html")
    assert f"Terakhir diperbarui {tanggal_jam(when)}." in html
    assert f'Data per <time datetime="{when.isoformat()}">' in html


@slow
def test_an_updated_field_the_author_wrote_stays_and_is_shown(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    own = dt.datetime(2024, 11, 20, 10, 0, tzinfo=WITA)
    with server.client(tokens["campaign"]) as http:
        record = http.get(CAMPAIGN_URL).json()
        edited = record["text"].replace("---\n", f"---\nupdated: {own.isoformat()}\n", 1)
        response = put(http, CAMPAIGN_URL, edited, **{"If-Match": str(record["revision"])})
        assert response.status_code == 200, response.text
        assert response.json()["text"] == edited
    with server.client(tokens["admin"]) as admin:
        wait_for_build(admin, response.json()["build"]["id"])
    html = page(server, "kampanye/ayo-memilih/index.html")
    assert f"Terakhir diperbarui {tanggal_jam(own)}." in html
    # Removing it again: the page falls back on the history's time of that change.
    with server.client(tokens["campaign"]) as http:
        again = put(http, CAMPAIGN_URL, record["text"], **{"If-Match": str(record["revision"] + 1)})
        assert again.status_code == 200, again.text
        when = last_time(http, CAMPAIGN_URL)
    with server.client(tokens["admin"]) as admin:
        wait_for_build(admin, again.json()["build"]["id"])
    html = page(server, "kampanye/ayo-memilih/index.html")
    assert f"Terakhir diperbarui {tanggal_jam(when)}." in html
    assert tanggal_jam(own) not in html


@slow
def test_a_new_change_re_renders_the_pages_that_show_its_time(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    """Reverting to the current revision keeps the text as it is, yet its time is new: the
    page must follow the history's time, not only the text."""
    with server.client(tokens["admin"]) as http:
        history = http.get(f"{STAGE_URL}/history").json()["revisions"]
        wanted = history[-1]  # the current text: only the time (and revision) change
        time.sleep(1.1)  # times are kept to the second
        reverted = http.post(f"{STAGE_URL}/revert", json={"revision": wanted["revision"]})
        assert reverted.status_code == 200, reverted.text
        wait_for_build(http, reverted.json()["build"]["id"])
        when = last_time(http, STAGE_URL)
    html = page(server, "tahapan/pemungutan-suara/index.html")
    assert f"Terakhir diperbarui {tanggal_jam(when)}." in html


# the engine: a page that shows a time depends on it ------------------------------------------

WHEN = dt.datetime(2024, 11, 21, 9, 15, tzinfo=WITA)
LATER = dt.datetime(2024, 11, 22, 16, 40, tzinfo=WITA)
TODAY = dt.date(2024, 11, 25)


def history(when: dt.datetime) -> History:
    """The same revisions and change log, only the change time of the stage differs."""
    return History({"stages/pemungutan-suara": 2}, [], {"stages/pemungutan-suara": when})


def test_an_incremental_build_follows_a_new_change_time(
    scratch_content: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    stage_page = out / "tahapan/pemungutan-suara/index.html"
    build(scratch_content, out, today=TODAY, history=history(WHEN))
    assert f"Terakhir diperbarui {tanggal_jam(WHEN)}." in stage_page.read_text()
    result = build(scratch_content, out, today=TODAY, history=history(LATER))
    html = stage_page.read_text()
    assert f"Terakhir diperbarui {tanggal_jam(LATER)}." in html
    assert tanggal_jam(WHEN) not in html
    assert "tahapan/pemungutan-suara/index.html" in result.changes.written
    verify_build(scratch_content, out, TODAY, history(LATER))
    # Without a known time: nothing is shown, never a placeholder.
    unknown = History({"stages/pemungutan-suara": 2}, [])
    build(scratch_content, out, today=TODAY, history=unknown)
    assert "Terakhir diperbarui" not in stage_page.read_text()
    verify_build(scratch_content, out, TODAY, unknown)


def test_the_publishers_kept_revisions_follow_every_kind_of_change(tmp_path: Path) -> None:
    """LiveRevisions applies the revisions added since its last look; after puts, imports,
    deletions and restores it must hold what reading everything again gives."""
    from sync_server.publisher import LiveRevisions
    from sync_server.server import open_store
    from sync_server.store import NewRevision

    store = open_store(tmp_path / "data")
    kept = LiveRevisions(store)

    def change(slug: str, action: str, deleted: bool = False, text: str = "x") -> None:
        store.add_revisions(
            [
                NewRevision(
                    "stages",
                    slug,
                    f"{text}{time.time_ns()}",
                    ".md",
                    deleted,
                    action,
                    "tester",
                    "admin",
                    "-",
                )
            ]
        )

    def check() -> None:
        assert kept.read() == LiveRevisions(store).read()

    check()
    change("a", "import")
    change("b", "import")
    check()
    for slug in ("a", "b", "a"):  # the delta: puts only
        change(slug, "put")
        check()
    change("b", "delete", deleted=True)  # a deletion: everything is read again
    check()
    change("b", "restore")
    change("c", "import")  # an import among other changes
    change("a", "put")
    check()
    assert kept.read()[0] == {"stages/a": 4, "stages/b": 4, "stages/c": 1}
    assert set(kept.read()[1]) == {"stages/a", "stages/b"}
