"""The browser editor's server side over real HTTP: signing in and out with a session cookie,
CSRF protection of every change, a session that ends with its token, and the form-shaped
writes the editor makes."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from sync_server.auth import revoke_token
from sync_server.server import open_store
from sync_server.sessions import COOKIE

from .server import ServerProcess, make_token

# Real servers, real browsers or crash rounds: left out of the quick run (-m 'not slow').
pytestmark = pytest.mark.slow

CAMPAIGN_URL = "/api/records/campaigns/ayo-memilih"
STAGE_URL = "/api/records/stages/pemungutan-suara"


@contextlib.contextmanager
def signed_in(server: ServerProcess, role: str, name: str) -> Iterator[tuple[httpx.Client, dict]]:
    """A client holding a fresh session of a new token of ``role``, and /api/session."""
    token = make_token(server.data, name, role)
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as http:
        answer = http.post("/redaksi/masuk", data={"token": token})
        assert answer.status_code == 303, answer.text
        assert token not in answer.text
        yield http, http.get("/api/session").json()


def test_signing_in_sets_a_strict_http_only_cookie_and_never_shows_the_token(
    server: ServerProcess,
) -> None:
    token = make_token(server.data, "masuk", "campaign")
    with httpx.Client(base_url=server.url, follow_redirects=False) as http:
        assert http.get("/redaksi/").headers["location"] == "/redaksi/masuk"
        answer = http.post("/redaksi/masuk", data={"token": token})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/redaksi/"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert token not in cookie
        for flag in ("HttpOnly", "SameSite=strict", "Path=/"):
            assert flag in cookie
        assert "Secure" not in cookie  # plain HTTP on loopback; over HTTPS it is set
        page = http.get("/redaksi/")
        assert page.status_code == 200
        assert token not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert http.get("/api/session").json()["role"] == "campaign"


def test_a_wrong_token_gets_a_sentence_and_no_session(server: ServerProcess) -> None:
    token = make_token(server.data, "lintas-situs", "admin")
    with httpx.Client(base_url=server.url, follow_redirects=False) as http:
        # Another site's form may not sign this browser in, even with a valid token.
        for header in ({"Origin": "https://penyerang.example"}, {"Sec-Fetch-Site": "cross-site"}):
            answer = http.post("/redaksi/masuk", data={"token": token}, headers=header)
            assert answer.status_code == 403
            assert "set-cookie" not in answer.headers
        answer = http.post("/redaksi/masuk", data={"token": "pantau_salah"})
        assert answer.status_code == 401
        assert "Token tidak dikenal" in answer.text
        assert "set-cookie" not in answer.headers
        assert http.get("/api/session").status_code == 401


def test_every_change_needs_the_csrf_key_and_this_site(server: ServerProcess) -> None:
    with signed_in(server, "campaign", "csrf-uji") as (http, session):
        record = http.get(CAMPAIGN_URL).json()
        fields = {**record["data"], "summary": "Ringkasan dari editor."}
        base = {"If-Match": f'"{record["revision"]}"'}
        refused = [
            {},  # a cross-site form or script: no key
            {"X-CSRF-Token": "bukan-kuncinya"},
            {"X-CSRF-Token": b"kunci-\xe9"},  # not ASCII: refused, not a server error
            {"X-CSRF-Token": session["csrf"], "Origin": "https://penyerang.example"},
            {"X-CSRF-Token": session["csrf"], "Sec-Fetch-Site": "cross-site"},
        ]
        for headers in refused:
            answer = http.put(CAMPAIGN_URL, json={"fields": fields}, headers={**base, **headers})
            assert answer.status_code == 403, headers
            assert "X-CSRF-Token" in answer.json()["error"]
        # A form posted from another site: the url-encoded body of a plain HTML form.
        answer = http.post(
            f"{CAMPAIGN_URL}/revert",
            content=b"revision=1",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "null"},
        )
        assert answer.status_code == 403
        assert http.get(CAMPAIGN_URL).json()["revision"] == record["revision"]
        headers = {**base, "X-CSRF-Token": session["csrf"], "Origin": server.url}
        answer = http.put(CAMPAIGN_URL, json={"fields": fields}, headers=headers)
        assert answer.status_code == 200, answer.text
        saved = http.get(CAMPAIGN_URL).json()
        assert saved["data"]["summary"] == "Ringkasan dari editor."
        assert saved["data"]["title"] == record["data"]["title"]
        assert saved["text"].startswith("---\n")


def test_the_campaign_role_cannot_save_a_stage_through_its_session(server: ServerProcess) -> None:
    with signed_in(server, "campaign", "kampanye-uji") as (http, session):
        assert session["collections"] == ["campaigns"]
        stage = http.get("/api/records/stages/pemungutan-suara").json()
        answer = http.put(
            "/api/records/stages/pemungutan-suara",
            json={"fields": {**stage["data"], "title": "Diubah"}},
            headers={"If-Match": f'"{stage["revision"]}"', "X-CSRF-Token": session["csrf"]},
        )
        assert answer.status_code == 403
        assert "campaign" in answer.json()["error"]


def test_a_session_ends_with_signing_out_and_with_its_token(server: ServerProcess) -> None:
    with signed_in(server, "editor", "keluar-uji") as (http, session):
        key = http.cookies[COOKIE]
        refused = http.post("/redaksi/keluar", data={"csrf": "salah-\u00e9\U0001f600"})
        assert refused.status_code == 403
        assert http.get("/api/session").status_code == 200
        answer = http.post("/redaksi/keluar", data={"csrf": session["csrf"]})
        assert answer.status_code == 303
        assert f'{COOKIE}=""' in answer.headers["set-cookie"]
    # The old cookie, kept by whoever copied it, is worth nothing now.
    with httpx.Client(base_url=server.url, cookies={COOKIE: key}) as stale:
        answer = stale.get("/api/session")
        assert answer.status_code == 401
        assert "session has ended" in answer.json()["error"]
        assert stale.get("/redaksi/", follow_redirects=False).status_code == 303

    with signed_in(server, "editor", "dicabut-uji") as (http, session):
        assert http.get("/api/session").status_code == 200
        store = open_store(server.data)
        try:
            revoke_token(store, "dicabut-uji")
        finally:
            store.close()
        answer = http.get("/api/session")
        assert answer.status_code == 401
        assert "session has ended" in answer.json()["error"]


def test_a_change_of_role_takes_effect_at_once(server: ServerProcess) -> None:
    with signed_in(server, "editor", "berganti-peran") as (http, session):
        stage = http.get("/api/records/stages/pemungutan-suara").json()
        headers = {"If-Match": f'"{stage["revision"]}"', "X-CSRF-Token": session["csrf"]}
        fields = {**stage["data"], "summary": "Diubah sebelum perannya berganti."}
        assert http.put(STAGE_URL, json={"fields": fields}, headers=headers).status_code == 200
        store = open_store(server.data)
        try:
            store.update_token("berganti-peran", role="campaign")
        finally:
            store.close()
        assert http.get("/api/session").json()["collections"] == ["campaigns"]
        stage = http.get(STAGE_URL).json()
        headers["If-Match"] = f'"{stage["revision"]}"'
        fields["summary"] = "Diubah sesudahnya."
        answer = http.put(STAGE_URL, json={"fields": fields}, headers=headers)
        assert answer.status_code == 403


def test_the_form_of_a_collection_comes_with_its_choices(server: ServerProcess) -> None:
    with signed_in(server, "admin", "formulir-uji") as (http, _session):
        form = http.get("/api/forms/stages").json()
        by_name = {f["name"]: f for f in form["fields"]}
        assert by_name["title"]["label"] == "Judul"
        assert by_name["divisions"]["kind"] == "choices"
        assert by_name["divisions"]["options"] == [["keamanan", "Keamanan dan Ketertiban"]]
        assert by_name["body"]["kind"] == "markdown"
        assert http.get("/api/forms/rahasia").status_code == 404


def test_a_form_write_keeps_the_records_file_format(server: ServerProcess) -> None:
    with signed_in(server, "editor", "yaml-uji") as (http, session):
        team = http.get("/api/records/teams/keamanan").json()
        assert not team["text"].startswith("---")
        fields = {**team["data"], "summary": "Mengamankan setiap tahapan."}
        answer = http.put(
            "/api/records/teams/keamanan",
            json={"fields": fields},
            headers={"If-Match": f'"{team["revision"]}"', "X-CSRF-Token": session["csrf"]},
        )
        assert answer.status_code == 200, answer.text
        saved = http.get("/api/records/teams/keamanan").json()
        assert not saved["text"].startswith("---")
        assert "summary: Mengamankan setiap tahapan." in saved["text"]
        assert saved["data"] == fields


def test_a_preview_needs_the_csrf_key_and_shows_problems_in_indonesian(
    server: ServerProcess,
) -> None:
    url = "/redaksi/pratinjau/campaigns/ayo-memilih"
    with signed_in(server, "campaign", "pratinjau-uji") as (http, session):
        record = http.get(CAMPAIGN_URL).json()
        text = record["text"].replace("title: Ayo memilih", "title: Ayo memilih <b>sekarang</b>")
        assert http.post(url, data={"text": text, "csrf": "salah"}).status_code == 403
        shown = http.post(url, data={"text": text, "csrf": session["csrf"]})
        assert shown.status_code == 200
        assert "Ayo memilih &lt;b&gt;sekarang&lt;/b&gt;" in shown.text
        assert '<base href="/kampanye/ayo-memilih/">' in shown.text
        assert http.get(CAMPAIGN_URL).json()["revision"] == record["revision"]  # not saved
        broken = http.post(
            url, data={"fields": '{"title": "Tanpa ringkasan"}', "csrf": session["csrf"]}
        )
        assert broken.status_code == 422
        assert "summary: kolom wajib ini belum diisi" in broken.text
        stage = http.post(
            "/redaksi/pratinjau/stages/pemungutan-suara",
            data={"text": "title: x", "csrf": session["csrf"]},
        )
        assert stage.status_code == 403
    with httpx.Client(base_url=server.url) as anonymous:
        answer = anonymous.post(url, data={"text": "x"}, follow_redirects=False)
        assert answer.status_code == 303


def test_the_merge_endpoint_merges_field_by_field_against_the_common_base(
    server: ServerProcess,
) -> None:
    token = make_token(server.data, "gabung-uji", "admin")
    url = "/api/records/pages/gabung"
    page = "---\ntitle: Halaman gabung\nsummary: Awal.\nmenu: Gabung\ndraft: true\n---\nIsi awal.\n"
    with server.client(token) as http:
        created = http.put(
            url,
            content=page.encode(),
            headers={"If-None-Match": "*", "Content-Type": "text/markdown"},
        )
        assert created.status_code == 201, created.text
        base = created.json()["revision"]
        theirs = page.replace("summary: Awal.", "summary: Dari server.")
        answer = http.put(
            url,
            content=theirs.encode(),
            headers={"If-Match": f'"{base}"', "Content-Type": "text/markdown"},
        )
        assert answer.status_code == 200
        now = answer.json()["revision"]
        mine = {"title": "Halaman gabung", "summary": "Awal.", "menu": "Gabungan", "draft": True,
                "body": "Isi awal."}  # fmt: skip
        merged = http.post(f"{url}/merge", json={"base": base, "fields": mine}).json()
        assert merged["revision"] == now
        assert merged["conflicts"] == []
        assert merged["merged"]["summary"] == "Dari server."
        assert merged["merged"]["menu"] == "Gabungan"
        both = http.post(
            f"{url}/merge",
            json={"base": base, "text": page.replace("summary: Awal.", "summary: Dari saya.")},
        ).json()
        assert both["conflicts"] == [
            {"field": "summary", "base": "Awal.", "local": "Dari saya.", "server": "Dari server."}
        ]
        assert http.post(f"{url}/merge", json={"base": 99, "fields": mine}).status_code == 404
        assert http.post(f"{url}/merge", json={"base": "1", "fields": mine}).status_code == 400
        assert http.post(f"{url}/merge", content=b"[]").status_code == 400


#: What each editor screen loads before anything is cached: the page, its script, style sheet
#: and manifest, and the API answers the screen asks for.
SHELL = ["/redaksi/", "/redaksi/aset/app.js", "/redaksi/aset/app.css",
         "/redaksi/aset/manifest.webmanifest", "/redaksi/sw.js", "/api/session"]  # fmt: skip
SCREENS = {
    "list": ["/api/records/campaigns?brief=1&limit=50&offset=0&q="],
    "form": ["/api/forms/campaigns", CAMPAIGN_URL],
    "history": [f"{CAMPAIGN_URL}/history"],
    "waiting": ["/api/forms/campaigns"],
}


def test_every_editor_screen_is_under_100_kb(server: ServerProcess) -> None:
    with signed_in(server, "campaign", "ukuran-uji") as (http, _session):
        paths = {*SHELL, *(path for screen in SCREENS.values() for path in screen)}
        sizes = {path: len(http.get(path).content) for path in paths}
    for screen, paths in SCREENS.items():
        total = sum(sizes[p] for p in [*SHELL, *paths])
        assert total < 100_000, (screen, total, sizes)
    sign_in_page = httpx.get(f"{server.url}/redaksi/masuk").content
    assert len(sign_in_page) + sizes["/redaksi/aset/app.css"] < 100_000


def test_a_list_is_searched_and_paged_on_the_server(server: ServerProcess) -> None:
    token = make_token(server.data, "daftar-uji", "admin")
    with server.client(token) as http:
        for n in range(3):
            text = f"---\ntitle: Halaman daftar {n}\ndraft: true\n---\nIsi.\n"
            answer = http.put(
                f"/api/records/pages/daftar-{n}",
                content=text.encode(),
                headers={"If-None-Match": "*", "Content-Type": "text/markdown"},
            )
            assert answer.status_code == 201, answer.text
        whole = http.get("/api/records/pages").json()
        assert whole["total"] == len(whole["records"]) >= 3
        assert "fields" in whole["records"][0]
        page = http.get("/api/records/pages", params={"q": "DAFTAR", "brief": 1, "limit": 2}).json()
        assert page["total"] == 3
        assert page["records"] == [
            {"slug": f"daftar-{n}", "revision": 1, "title": f"Halaman daftar {n}", "draft": True}
            for n in (0, 1)
        ]
        rest = http.get("/api/records/pages", params={"q": "daftar", "brief": 1, "offset": 2})
        assert [r["slug"] for r in rest.json()["records"]] == ["daftar-2"]
        drafts = http.get("/api/records/pages", params={"draft": 1, "brief": 1}).json()
        others = http.get("/api/records/pages", params={"draft": 0, "brief": 1}).json()
        assert {r["slug"] for r in drafts["records"]} >= {"daftar-0", "daftar-1", "daftar-2"}
        assert all(r["draft"] for r in drafts["records"])
        assert not any(r["draft"] for r in others["records"])
        assert drafts["total"] + others["total"] == whole["total"]
        for bad in ({"limit": "x"}, {"offset": "-1"}, {"brief": "yes"}, {"draft": "2"}):
            answer = http.get("/api/records/pages", params=bad)
            assert answer.status_code == 400, bad


def test_fields_nested_too_deeply_are_refused_with_a_sentence(server: ServerProcess) -> None:
    nested = '{"title": ' + "[" * 900 + "]" * 900 + "}"
    with signed_in(server, "campaign", "dalam-uji") as (http, session):
        revision = http.get(CAMPAIGN_URL).json()["revision"]
        answer = http.put(
            CAMPAIGN_URL,
            content=b'{"fields": ' + nested.encode() + b"}",
            headers={
                "Content-Type": "application/json",
                "If-Match": f'"{revision}"',
                "X-CSRF-Token": session["csrf"],
            },
        )
        assert answer.status_code == 400
        assert "nested more than 40 levels" in answer.json()["error"]
        shown = http.post(
            "/redaksi/pratinjau/campaigns/ayo-memilih",
            data={"fields": nested, "csrf": session["csrf"]},
        )
        assert shown.status_code == 400
        assert "bersarang lebih dari 40 tingkat" in shown.text  # in Indonesian, as a page


def test_unpublished_posters_reach_previews_of_signed_in_sessions_only(
    server: ServerProcess,
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (30, 20), (200, 30, 30)).save(image, "PNG")
    with signed_in(server, "campaign", "media-uji") as (http, session):
        uploaded = http.post(
            "/api/assets",
            content=image.getvalue(),
            headers={"Content-Type": "image/png", "X-CSRF-Token": session["csrf"]},
        )
        assert uploaded.status_code == 201, uploaded.text
        src = uploaded.json()["src"]
        assert http.get(f"/redaksi/media/{src}").content == image.getvalue()
        for bad in ("../pantau.db", "..%2F..%2Fpantau.db", "tidak-ada.png", "%00.png"):
            assert http.get(f"/redaksi/media/{bad}").status_code == 404, bad
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.get(f"/redaksi/media/{src}").status_code == 404


def test_behind_an_https_proxy_the_cookie_is_secure(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from .conftest import write_scratch

    seed = write_scratch(tmp_path_factory.mktemp("seed-https") / "content")
    data = tmp_path_factory.mktemp("data-https") / "data"
    proxied = ServerProcess(data, seed, extra_args=("--forwarded-allow-ips", "127.0.0.1"))
    proxied.start()
    try:
        token = make_token(data, "lewat-proxy", "campaign")
        with httpx.Client(base_url=proxied.url, follow_redirects=False) as http:
            answer = http.post(
                "/redaksi/masuk", data={"token": token}, headers={"X-Forwarded-Proto": "https"}
            )
            assert answer.status_code == 303
            assert "Secure" in answer.headers["set-cookie"]
    finally:
        proxied.stop()
