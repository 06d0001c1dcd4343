"""The sync server over real HTTP: auth matrix, records, history, conflicts, limits, builds."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from sync_server.server import open_store

from .server import ServerProcess, make_token

# Real servers, real browsers or crash rounds: left out of the quick run (-m 'not slow').
pytestmark = pytest.mark.slow

STAGE_URL = "/api/records/stages/pemungutan-suara"


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    found = {role: make_token(server.data, role, role) for role in ("admin", "editor", "campaign")}
    found["revoked"] = make_token(server.data, "old", "admin")
    found["expired"] = make_token(server.data, "late", "admin", expires=1)
    store = open_store(server.data)
    store.update_token("old", revoked="2024-01-01T00:00:00+08:00")
    store.update_token("late", expires="2024-01-01T00:00:00+08:00")
    store.close()
    return found


#: What a published record needs besides its fields (a draft needs none).
SOURCES = "sources:\n  - title: Sumber uji\n    url: https://example.org/sumber\n"


def current(server: ServerProcess, token: str, url: str = STAGE_URL) -> dict:
    with server.client(token) as http:
        response = http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["revision"]}"'
    return response.json()


def put(http: httpx.Client, url: str, text: str, **headers: str) -> httpx.Response:
    return http.put(
        url, content=text.encode(), headers={"Content-Type": "text/markdown", **headers}
    )


def wait_for_page(server: ServerProcess, path: str, needle: str, timeout: float = 10) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        response = httpx.get(f"{server.url}/{path}", timeout=5)
        if response.status_code == 200 and needle in response.text:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{needle!r} never appeared on /{path}")


WRITES = [
    ("PUT", STAGE_URL, "editor"),
    ("PUT", "/api/records/campaigns/ayo-memilih", "campaign"),
    ("DELETE", "/api/records/teams/keamanan", "editor"),
    ("POST", f"{STAGE_URL}/revert", "admin"),
    ("POST", "/api/assets", "campaign"),
    ("POST", "/api/builds", "admin"),
]


@pytest.mark.parametrize(("method", "url", "allowed"), WRITES)
def test_write_endpoints_refuse_missing_bad_revoked_expired_tokens(
    server: ServerProcess, tokens: dict[str, str], method: str, url: str, allowed: str
) -> None:
    for token in (None, "pantau_not-a-real-token", tokens["revoked"], tokens["expired"]):
        with server.client(token) as http:
            response = http.request(method, url, content=b"x")
        assert response.status_code == 401, (token, response.text)
        assert set(response.json()) >= {"error", "details"}


@pytest.mark.parametrize(("method", "url", "allowed"), WRITES)
def test_roles_out_of_scope_get_403(
    server: ServerProcess, tokens: dict[str, str], method: str, url: str, allowed: str
) -> None:
    scope = {"editor": {"editor", "admin"}, "campaign": {"campaign", "admin"}, "admin": {"admin"}}
    for role in ("admin", "editor", "campaign"):
        if role in scope[allowed]:
            continue
        with server.client(tokens[role]) as http:
            response = http.request(method, url, content=b"x")
        assert response.status_code == 403, (role, method, url, response.text)
        assert role in response.json()["error"]


def test_reads_need_a_token_too(server: ServerProcess, tokens: dict[str, str]) -> None:
    with server.client() as http:
        assert http.get("/api/records/stages").status_code == 401
        assert http.get("/api/health").status_code == 200
    with server.client(tokens["campaign"]) as http:
        listing = http.get("/api/records/stages").json()
    assert [r["slug"] for r in listing["records"]] == ["pemungutan-suara"]
    assert listing["records"][0]["fields"]["title"] == "Pemungutan suara"


def test_update_then_stale_revision_gets_409_with_current_text(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    record = current(server, tokens["editor"])
    edited = record["text"].replace("Hari pemungutan suara.", "Hari pemungutan suara serentak.")
    with server.client(tokens["editor"]) as http:
        first = put(http, STAGE_URL, edited, **{"If-Match": str(record["revision"])})
        assert first.status_code == 200, first.text
        assert first.json()["revision"] == record["revision"] + 1
        assert first.json()["build"]["id"] > 0
        assert first.json()["text"] == edited  # stored as sent: the server writes nothing in
        other = edited.replace("serentak", "nasional")
        stale = put(http, STAGE_URL, other, **{"If-Match": str(record["revision"])})
    assert stale.status_code == 409
    body = stale.json()
    assert body["revision"] == first.json()["revision"]
    assert body["text"] == first.json()["text"]
    assert current(server, tokens["editor"])["text"] == first.json()["text"]


def test_resending_the_same_change_is_not_applied_twice(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    record = current(server, tokens["editor"])
    edited = record["text"].replace("Isi **tahapan**.", "Isi **tahapan** kedua.")
    with server.client(tokens["editor"]) as http:
        first = put(http, STAGE_URL, edited, **{"If-Match": str(record["revision"])})
        again = put(http, STAGE_URL, edited, **{"If-Match": str(record["revision"])})
        history = http.get(f"{STAGE_URL}/history").json()["revisions"]
    assert first.status_code == 200 and again.status_code == 200
    assert again.json()["revision"] == first.json()["revision"]
    assert again.json()["replayed"] is True
    assert history[-1]["revision"] == first.json()["revision"]


def test_preconditions_are_required(server: ServerProcess, tokens: dict[str, str]) -> None:
    text = current(server, tokens["editor"])["text"] + "\nLagi."
    with server.client(tokens["editor"]) as http:
        assert put(http, STAGE_URL, text).status_code == 428
        created = put(http, STAGE_URL, text, **{"If-None-Match": "*"})
    assert created.status_code == 409


def test_invalid_record_gets_422_with_check_messages(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    bad = "---\ntitle: X\nphase: pasca\nstart: 2025-02-01\nend: 2025-01-01\nsummary: Y\n"
    bad += "divisions: [hantu]\n---\n"
    with server.client(tokens["editor"]) as http:
        response = put(http, "/api/records/stages/baru", bad, **{"If-None-Match": "*"})
        assert http.get("/api/records/stages/baru").status_code == 404
    assert response.status_code == 422
    (problem,) = response.json()["details"]
    assert problem["path"] == "stages/baru.md"
    assert problem["field"] == "end"
    assert problem["line"] == 5
    assert "ends (2025-01-01) before it starts (2025-02-01)" in problem["message"]


def test_create_delete_history_revert(server: ServerProcess, tokens: dict[str, str]) -> None:
    text = "---\ntitle: Pelantikan\nphase: pasca\nstart: 2025-02-20\nsummary: Pelantikan.\n"
    text += SOURCES + "---\n"
    url = "/api/records/stages/pelantikan"
    with server.client(tokens["editor"]) as http:
        created = put(http, url, text, **{"If-None-Match": "*"})
        assert created.status_code == 201, created.text
        deleted = http.delete(url, headers={"If-Match": str(created.json()["revision"])})
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True
        assert http.get(url).status_code == 404
        history = http.get(f"{url}/history").json()["revisions"]
    assert [(r["revision"], r["deleted"], r["author"], r["role"]) for r in history] == [
        (1, False, "editor", "editor"),
        (2, True, "editor", "editor"),
    ]
    assert history[0]["text"] == created.json()["text"]
    with server.client(tokens["admin"]) as http:
        reverted = http.post(f"{url}/revert", json={"revision": 1})
        assert reverted.status_code == 200, reverted.text
        assert reverted.json()["revision"] == 3
        assert http.get(url).json()["text"].startswith("---\ntitle: Pelantikan")
    assert (server.data / "content/stages/pelantikan.md").is_file()


def test_delete_refused_while_referenced(server: ServerProcess, tokens: dict[str, str]) -> None:
    team = current(server, tokens["editor"], "/api/records/teams/keamanan")
    with server.client(tokens["editor"]) as http:
        response = http.delete(
            "/api/records/teams/keamanan", headers={"If-Match": str(team["revision"])}
        )
    assert response.status_code == 422
    assert "still refers to teams/keamanan" in response.json()["details"][0]["message"]


def test_changes_feed_is_ordered_and_resumable(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    with server.client(tokens["campaign"]) as http:
        everything = http.get("/api/changes", params={"since": 0}).json()
        seqs = [c["seq"] for c in everything["changes"]]
        assert seqs == sorted(seqs) and everything["last_seq"] == seqs[-1]
        later = http.get("/api/changes", params={"since": seqs[1]}).json()
    assert [c["seq"] for c in later["changes"]] == seqs[2:]


def test_update_to_live_and_public_change_log(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    record = current(server, tokens["campaign"], "/api/records/campaigns/ayo-memilih")
    text = record["text"].replace("Ajakan memilih.", "Ajakan memilih bersama keluarga.")
    with server.client(tokens["campaign"]) as http:
        response = put(
            http,
            "/api/records/campaigns/ayo-memilih",
            text,
            **{"If-Match": str(record["revision"])},
        )
    assert response.status_code == 200
    seconds = wait_for_page(server, "kampanye/ayo-memilih/", "bersama keluarga")
    assert seconds < 5
    page = httpx.get(f"{server.url}/kampanye/ayo-memilih/").text
    assert f"Revisi ke-{response.json()['revision']}" in page
    log = httpx.get(f"{server.url}/riwayat/").text
    assert "Ayo memilih" in log and "Tim partisipasi pemilih" in log


def test_burst_of_changes_becomes_few_builds(server: ServerProcess, tokens: dict[str, str]) -> None:
    with server.client(tokens["admin"]) as http:
        before = http.get("/api/builds").json()["builds"][0]["id"]
        record = current(server, tokens["admin"])
        builds = set()
        for index in range(8):
            text = record["text"].replace("Pemungutan suara", f"Pemungutan suara {index}", 1)
            response = put(http, STAGE_URL, text, **{"If-Match": str(record["revision"])})
            assert response.status_code == 200, response.text
            record = response.json()
            builds.add(record["build"]["id"])
    wait_for_page(server, "tahapan/pemungutan-suara/", "Pemungutan suara 7")
    # Eight changes, a handful of builds at most: the builder debounces, and changes that
    # arrive while a build runs wait together for the next one (how many depends on how
    # fast this machine answers; on an idle one it is usually one or two).
    assert len(builds) <= 4
    with server.client(tokens["admin"]) as http:
        after = http.get("/api/builds").json()["builds"][0]["id"]
    assert after - before <= 4


def test_asset_upload_checked_by_decoding(server: ServerProcess, tokens: dict[str, str]) -> None:
    image = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(image, "PNG")
    with server.client(tokens["campaign"]) as http:
        fake = http.post(
            "/api/assets", content=b"\x89PNG not really", headers={"Content-Type": "image/png"}
        )
        assert fake.status_code == 415
        wrong = http.post(
            "/api/assets", content=image.getvalue(), headers={"Content-Type": "image/jpeg"}
        )
        assert wrong.status_code == 415
        ok = http.post(
            "/api/assets", content=image.getvalue(), headers={"Content-Type": "image/png"}
        )
        assert ok.status_code == 201, ok.text
        src = ok.json()["src"]
        record = http.get("/api/records/campaigns/ayo-memilih").json()
        text = record["text"].replace(
            "checked: unchecked", f"checked: unchecked\nimage:\n  src: {src}\n  alt: Poster"
        )
        response = put(
            http,
            "/api/records/campaigns/ayo-memilih",
            text,
            **{"If-Match": str(record["revision"])},
        )
        assert response.status_code == 200, response.text
    wait_for_page(server, "kampanye/ayo-memilih/", src)
    assert httpx.get(f"{server.url}/media/{src}").content == image.getvalue()


def test_limits_and_path_safety(server: ServerProcess, tokens: dict[str, str]) -> None:
    with server.client(tokens["admin"]) as http:
        huge = put(http, STAGE_URL, "x" * (1024 * 1024 + 1), **{"If-Match": "1"})
        assert huge.status_code == 413
        for url in (
            "/api/records/stages/..%2F..%2Fsite",
            "/api/records/stages/Bad_Slug",
            "/api/records/..%2Fetc/passwd",
            "/api/records/secrets/x",
        ):
            response = put(http, url, "---\ntitle: x\n---\n", **{"If-None-Match": "*"})
            # 404 from the API, or 405 where the path does not reach the API at all
            assert response.status_code in (404, 405), (url, response.text)
    written = {p.name for p in server.data.rglob("*") if p.is_file()}
    assert not written & {"site.md", "passwd", "x.md", "Bad_Slug.md"}


def test_openapi_matches_the_routes(server: ServerProcess) -> None:
    from sync_server.app import API_ROUTES

    document = httpx.get(f"{server.url}/api/openapi.json").json()
    for route in API_ROUTES:
        for method in route.methods or []:
            if method == "HEAD":
                continue
            assert method.lower() in document["paths"][route.path], (method, route.path)
    assert len(document["paths"]) == len({r.path for r in API_ROUTES})


def test_failed_build_keeps_the_old_site(server: ServerProcess, tokens: dict[str, str]) -> None:
    before = httpx.get(f"{server.url}/tahapan/").text
    broken = server.data / "content/templates/base.html"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text("{{ this_is_not_defined }}")
    try:
        with server.client(tokens["admin"]) as http:
            build = http.post("/api/builds").json()["build"]["id"]
            for _ in range(200):
                row = next(b for b in http.get("/api/builds").json()["builds"] if b["id"] == build)
                if row["status"] in ("success", "failed"):
                    break
                time.sleep(0.05)
        assert row["status"] == "failed"
        assert "base.html:1" in row["error"] and "this_is_not_defined" in row["error"]
        assert httpx.get(f"{server.url}/tahapan/").text == before
    finally:
        broken.unlink()
    with server.client(tokens["admin"]) as http:
        http.post("/api/builds")
    wait_for_page(server, "tahapan/", "Pemungutan suara")


def test_repeated_failed_logins_are_slowed(tmp_path: Path) -> None:
    strict = ServerProcess(tmp_path / "data", auth_failures=5).start()
    token = make_token(strict.data, "admin", "admin")
    try:
        with strict.client("pantau_wrong") as http:
            codes = [http.get("/api/records/stages").status_code for _ in range(7)]
            slowed = http.get("/api/records/stages")
        with strict.client(token) as http:
            valid = http.get("/api/records/stages")
    finally:
        strict.stop()
    assert codes == [401] * 5 + [429] * 2
    assert int(slowed.headers["retry-after"]) > 0
    # Someone else's failures never lock out a valid token from the same address.
    assert valid.status_code == 200


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a built site, the marker (which names the build) left out."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".pantau-build"
    }


def test_incremental_builds_equal_a_full_build(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    record = current(server, tokens["editor"], "/api/records/teams/keamanan")
    text = record["text"].replace("Mengamankan tahapan.", "Mengamankan semua tahapan.")
    old_folder = (server.data / "live").resolve()
    old_page = (old_folder / "tim/keamanan/index.html").read_bytes()
    with server.client(tokens["editor"]) as http:
        response = http.put(
            "/api/records/teams/keamanan",
            content=text.encode(),
            headers={"Content-Type": "application/yaml", "If-Match": str(record["revision"])},
        )
        assert response.status_code == 200, response.text
    wait_for_page(server, "tim/keamanan/", "Mengamankan semua tahapan.")
    incremental = snapshot((server.data / "live").resolve())
    # A small site gets a fresh folder per build, switched atomically; the old one is intact.
    assert (server.data / "live").resolve() != old_folder
    assert (old_folder / "tim/keamanan/index.html").read_bytes() == old_page
    with server.client(tokens["admin"]) as http:
        build = http.post("/api/builds").json()["build"]["id"]
        for _ in range(200):
            if http.get("/api/health").json()["live_build"] == build:
                break
            time.sleep(0.05)
    full = snapshot((server.data / "live").resolve())
    assert sorted(full) == sorted(incremental)
    assert [p for p in full if full[p] != incremental[p]] == []


def test_live_site_serving(server: ServerProcess) -> None:
    missing = httpx.get(f"{server.url}/tidak-ada/")
    assert missing.status_code == 404 and "Halaman tidak ditemukan" in missing.text
    worker = httpx.get(f"{server.url}/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    head = httpx.head(f"{server.url}/tahapan/")
    assert head.status_code == 200 and int(head.headers["content-length"]) > 1000
    sneaky = httpx.get(f"{server.url}/%2e%2e/%2e%2e/pantau.db")
    assert sneaky.status_code == 404
    assert httpx.post(f"{server.url}/index.html").status_code == 405


def test_revert_to_a_deletion(server: ServerProcess, tokens: dict[str, str]) -> None:
    team = "name: Divisi Sementara\nrole: divisi\nsummary: S.\ntupoksi: [T]\n" + SOURCES
    url = "/api/records/teams/sementara"
    headers = {"Content-Type": "application/yaml"}
    with server.client(tokens["admin"]) as http:
        created = http.put(url, content=team, headers={**headers, "If-None-Match": "*"})
        assert created.status_code == 201, created.text
        gone = http.delete(url, headers={"If-Match": "1"})
        assert gone.status_code == 200
        assert http.post(f"{url}/revert", json={"revision": 1}).json()["revision"] == 3
        stage = "---\ntitle: T\nphase: pasca\nstart: 2025-03-01\nsummary: S.\n"
        stage += "divisions: [sementara]\n" + SOURCES + "---\n"
        made = put(http, "/api/records/stages/rujuk", stage, **{"If-None-Match": "*"})
        assert made.status_code == 201, made.text
        refused = http.post(f"{url}/revert", json={"revision": 2})
        assert refused.status_code == 422
        assert "still refers to teams/sementara" in refused.json()["details"][0]["message"]
        assert (server.data / "content/teams/sementara.yaml").exists()
        assert (
            http.delete("/api/records/stages/rujuk", headers={"If-Match": "1"}).status_code == 200
        )
        reverted = http.post(f"{url}/revert", json={"revision": 2})
        assert reverted.status_code == 200 and reverted.json()["deleted"] is True
        assert http.get(url).status_code == 404
    assert not (server.data / "content/teams/sementara.yaml").exists()


def test_tokens_made_while_the_server_writes_never_hit_a_locked_database(tmp_path: Path) -> None:
    """`pantau token create` (another process writing the same database) while the server
    commits changes and records builds: neither side fails with 'database is locked'."""
    import threading

    from .conftest import CONTENT

    server = ServerProcess(tmp_path / "data", CONTENT).start()
    editor = make_token(server.data, "editor", "editor")
    stop = threading.Event()
    failures: list[str] = []

    def writer(slug: str) -> None:
        url = f"/api/records/stages/{slug}"
        with server.client(editor) as http:
            record = http.get(url).json()
            for index in range(400):
                if stop.is_set():
                    return
                text = record["text"].rstrip("\n") + f"\n\nCatatan {index}.\n"
                response = put(http, url, text, **{"If-Match": str(record["revision"])})
                if response.status_code != 200:
                    failures.append(response.text)
                    return
                record = response.json()

    threads = [threading.Thread(target=writer, args=(s,)) for s in ("kampanye", "coklit")]
    for thread in threads:
        thread.start()
    try:
        for index in range(150):
            make_token(server.data, f"staf-{index}", "campaign")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        alive = server.process is not None and server.process.poll() is None
        server.stop()
    assert alive, server.log.read_text()[-2000:]
    assert failures == []
    assert "database is locked" not in server.log.read_text()


def test_a_published_record_must_be_ready_as_check_says(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    """The server applies `pantau check`'s publishing rule: a skeleton is accepted as a draft,
    and refused once draft: true is gone while it still holds a placeholder or no source."""
    from site_builder.models import COLLECTIONS

    skeleton = COLLECTIONS["stages"].skeleton
    url = "/api/records/stages/dari-kerangka"
    with server.client(tokens["editor"]) as http:
        draft = put(http, url, skeleton, **{"If-None-Match": "*"})
        assert draft.status_code == 201, draft.text
        published = skeleton.replace("draft: true", "draft: false")
        refused = put(http, url, published, **{"If-Match": "1"})
        assert refused.status_code == 422
        said = {(d["field"], d["message"].split(";")[0]) for d in refused.json()["details"]}
        assert ("title", "still holds the placeholder 'Judul tahapan' from `pantau new`") in said
        assert any(field == "sources" for field, _ in said)
        assert http.get(url).json()["revision"] == 1
