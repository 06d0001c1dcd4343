"""The browser editor in real headless Chromium against a real server on 127.0.0.1: signing
in, editing a campaign in its form and publishing it to the live site, what the campaign role
may not open, field errors beside their fields, script typed into fields never running,
accessibility (axe-core) and screenshots at 360 and 1280 px."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from site_builder.i18n import _, using

from .conftest import TEAM
from .server import ServerProcess, make_token, scratch_server
from .test_browser import AXE, CHROMIUM, CHROMIUM_ARGS

# Real servers, real browsers or crash rounds: left out of the quick run (-m 'not slow').
pytestmark = pytest.mark.slow

SHOTS = Path(__file__).parent.parent / "test-artifacts" / "editor"
XSS = '<img src=x onerror="window.__xss=1">"><script>window.__xss=1</script>'


@pytest.fixture
def context(browser: Any, server: ServerProcess) -> Iterator[Any]:
    ctx = browser.new_context(base_url=server.url)
    foreign: list[str] = []
    ctx.on("request", lambda r: None if r.url.startswith(server.url) else foreign.append(r.url))
    yield ctx
    ctx.close()
    assert foreign == []


def sign_in(page: Any, server: ServerProcess, role: str, name: str) -> None:
    token = make_token(server.data, name, role)
    page.goto("/redaksi/")
    assert page.url.endswith("/redaksi/masuk")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/redaksi/")
    page.wait_for_selector(f"text={name} ({role})")
    assert token not in page.content()


def no_serious_violations(page: Any, where: str) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{where}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def wait_for_live(server: ServerProcess, path: str, needle: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{server.url}/{path}", timeout=5)
        if answer.status_code == 200 and needle in answer.text:
            return answer.text
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared on /{path}")


def test_a_campaign_is_edited_in_its_form_and_published(
    context: Any, server: ServerProcess
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/redaksi/masuk")
    problems = no_serious_violations(page, "masuk")
    sign_in(page, server, "campaign", "tim-partisipasi")
    problems += no_serious_violations(page, "beranda")
    nav = page.get_by_role("navigation", name="Koleksi")
    assert nav.get_by_role("link").all_inner_texts() == ["Kampanye Partisipasi", "Menunggu dikirim"]
    nav.get_by_role("link", name="Kampanye Partisipasi").click()
    page.get_by_label("Cari").fill("ayo")
    page.wait_for_selector("text=1 rekaman")
    assert page.get_by_role("button", name="Tampilkan lebih banyak").is_hidden()
    problems += no_serious_violations(page, "daftar")
    shoot(page, "daftar")
    page.get_by_role("link", name="Ayo memilih").click()
    summary = page.get_by_label("Ringkasan", exact=False).first
    summary.wait_for()
    assert summary.input_value() == "Ajakan memilih."
    problems += no_serious_violations(page, "formulir")
    shoot(page, "formulir")
    summary.fill("Ajakan memilih dari ruang redaksi.")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Pratinjau").click()
    shown = opened.value
    shown.wait_for_load_state()
    # The real page as the builder renders it, with the site's own style sheet.
    assert "Ajakan memilih dari ruang redaksi." in shown.content()
    assert shown.get_by_role("note").inner_text().startswith("Pratinjau dari ruang redaksi")
    assert shown.evaluate("getComputedStyle(document.body).margin") == "0px"
    assert "dari ruang redaksi" not in httpx.get(f"{server.url}/kampanye/ayo-memilih/").text
    shoot(shown, "pratinjau")
    shown.close()
    page.get_by_role("button", name="Terbitkan").click()
    page.wait_for_selector("text=Tersimpan sebagai revisi 2")
    live = wait_for_live(server, "kampanye/ayo-memilih/index.html", "dari ruang redaksi")
    assert "Ajakan memilih dari ruang redaksi." in live
    page.wait_for_selector("text=sudah terbit")  # the build that publishes it, then the link
    page.get_by_role("link", name="Lihat halamannya di situs").click()
    page.wait_for_selector("text=Ajakan memilih dari ruang redaksi.")
    assert problems == []
    assert errors == []


def test_the_campaign_role_cannot_open_a_stage(context: Any, server: ServerProcess) -> None:
    page = context.new_page()
    sign_in(page, server, "campaign", "tim-partisipasi-2")
    page.goto("/redaksi/#/stages/pemungutan-suara")
    refusal = page.get_by_role("alert")
    refusal.wait_for()
    assert "tidak boleh mengubah Tahapan" in refusal.inner_text()
    assert page.get_by_role("button", name="Terbitkan").count() == 0


def test_a_field_error_is_shown_beside_its_field(context: Any, server: ServerProcess) -> None:
    page = context.new_page()
    sign_in(page, server, "editor", "redaktur")
    page.goto("/redaksi/#/teams/keamanan")
    summary = page.get_by_label("Ringkasan", exact=False).first
    summary.wait_for()
    summary.fill("")
    page.get_by_role("button", name="Terbitkan").click()
    beside = page.locator(".field-text", has=page.get_by_label("Ringkasan", exact=False))
    error = beside.locator(".field-error")
    error.wait_for()
    # The words of `pantau check --lang id`, beside the field and in the summary above.
    with using("id"):
        missing = _("this required field is missing")
    assert error.inner_text() == missing
    assert f"summary: {missing}" in page.locator(".summary").inner_text()
    shoot(page, "galat")


def test_script_typed_into_every_field_never_runs(context: Any, server: ServerProcess) -> None:
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, server, "admin", "admin-xss")
    open_record(page, "campaigns/ayo-memilih")
    boxes = page.locator("#isi .field input[type=text], #isi .field textarea")
    assert boxes.count() >= 10
    for n in range(boxes.count()):
        boxes.nth(n).fill(f"Isian {n} {XSS}")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Pratinjau").click()
    refused = opened.value
    refused.wait_for_load_state()
    assert refused.evaluate("window.__xss") is None  # the problems page, values as text
    assert no_serious_violations(refused, "masalah") == []
    refused.close()
    page.get_by_role("button", name="Terbitkan").click()
    page.wait_for_selector("text=Periksa isian yang ditandai")
    assert page.evaluate("window.__xss") is None
    # Addresses and the poster's file name must be real: the rest is published as typed.
    for label in ("Berkas *", "Teks alternatif *", "Label *"):
        page.get_by_label(label, exact=True).fill("")
    addresses = page.get_by_label("Alamat (URL) *", exact=True)
    addresses.nth(0).fill("")
    addresses.nth(1).fill("https://example.org/sumber-xss")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Pratinjau").click()
    preview = opened.value
    preview.wait_for_load_state()
    assert "Isian 0 <img src=x" in preview.get_by_role("heading", level=1).inner_text()
    assert preview.evaluate("window.__xss") is None
    preview.close()
    page.get_by_role("button", name="Terbitkan").click()
    page.wait_for_selector("text=Tersimpan sebagai revisi")
    for view in ("", "/riwayat"):
        page.goto(f"/redaksi/#/campaigns/ayo-memilih{view}")
        page.reload()
        page.wait_for_selector("text=Isian 0", state="attached")
        assert page.evaluate("window.__xss") is None
    assert no_serious_violations(page, "riwayat") == []
    shoot(page, "riwayat")
    wait_for_live(server, "kampanye/ayo-memilih/index.html", "Isian 0 &lt;img")
    page.goto("/kampanye/ayo-memilih/index.html")
    assert page.evaluate("window.__xss") is None
    assert "<img src=x" in page.get_by_role("heading", level=1).inner_text()
    assert dialogs == []


def test_a_new_campaign_with_a_poster_starts_from_the_skeleton_and_is_published(
    context: Any, server: ServerProcess, tmp_path: Path
) -> None:
    poster = tmp_path / "poster.png"
    Image.new("RGB", (64, 96), (11, 58, 91)).save(poster)
    page = context.new_page()
    sign_in(page, server, "campaign", "tim-poster")
    page.goto("/redaksi/#/campaigns/+baru")
    page.get_by_label("Slug", exact=False).wait_for()
    assert no_serious_violations(page, "baru") == []
    page.get_by_label("Slug", exact=False).fill("poster-uji")
    page.get_by_role("button", name="Lanjut").click()
    title = page.get_by_label("Judul *", exact=True)
    title.wait_for()
    assert title.input_value() == "Judul kampanye"  # the skeleton of `pantau new`
    page.get_by_text("Keadaan: draf").wait_for()
    title.fill("Poster uji")
    page.get_by_label("Ringkasan *", exact=True).fill("Kampanye dengan poster.")
    page.get_by_label("Penyelenggara *", exact=True).fill("Tim Uji")
    page.get_by_label("Ajakan *", exact=True).fill("Datang ke TPS.")
    page.get_by_label("Isi", exact=True).fill("Ayo datang.")
    page.get_by_label("Unggah poster", exact=False).set_input_files(str(poster))
    page.wait_for_selector("text=Terunggah sebagai")
    page.get_by_label("Teks alternatif *", exact=True).fill("Poster biru uji")
    page.get_by_role("button", name="Terbitkan").click()
    # Published records need a source: the server's sentence shows beside the field.
    sources = page.get_by_role("group", name="Sumber", exact=True)
    sources.locator(".field-error").filter(has_text="sumber").wait_for()
    sources.get_by_role("button", name="Tambah sumber").click()
    row = sources.get_by_role("group", name="Sumber 1")
    row.get_by_label("Judul *").fill("Sumber poster")
    row.get_by_label("Alamat (URL) *").fill("https://example.org/poster")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Pratinjau").click()
    preview = opened.value
    poster_shown = preview.get_by_role("img", name="Poster biru uji")
    poster_shown.wait_for()
    assert poster_shown.evaluate("i => i.complete && i.naturalWidth") == 64
    preview.close()
    page.get_by_role("button", name="Terbitkan").click()
    page.wait_for_selector("text=Tersimpan sebagai revisi 1")
    live = wait_for_live(server, "kampanye/poster-uji/index.html", "Poster biru uji")
    assert 'alt="Poster biru uji"' in live
    page.goto("/kampanye/poster-uji/index.html")
    image = page.get_by_role("img", name="Poster biru uji")
    assert image.evaluate("i => i.complete && i.naturalWidth") == 64


def open_record(page: Any, path: str) -> Any:
    page.goto(f"/redaksi/#/{path}")
    page.reload()  # the record as the server has it now, even if the page showed it already
    summary = page.get_by_label("Ringkasan *", exact=True)
    summary.wait_for()
    return summary


def test_edits_made_offline_survive_a_closed_tab_and_reach_the_site(
    browser: Any, server: ServerProcess
) -> None:
    context = browser.new_context(base_url=server.url, service_workers="allow")
    try:
        page = context.new_page()
        sign_in(page, server, "editor", "luring")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        # One visit to each record while online, as a member does before leaving the office.
        for path in ("teams/keamanan", "stages/pemungutan-suara"):
            open_record(page, path)
        context.set_offline(True)
        for path, words in (
            ("teams/keamanan", "Diubah tanpa sinyal di Long Apari."),
            ("stages/pemungutan-suara", "Hari pemungutan suara, diubah tanpa sinyal."),
        ):
            open_record(page, path).fill(words)
            page.get_by_role("button", name="Terbitkan").click()
            page.wait_for_selector("text=Tidak tersambung: perubahan disimpan di perangkat ini")
        page.close()
        page = context.new_page()  # the tab was closed; the editor opens again offline
        page.goto("/redaksi/#/antrean")
        page.wait_for_selector("text=Menunggu dikirim (2)")
        page.get_by_text("Menunggu koneksi.").nth(1).wait_for()
        assert page.get_by_text("Menunggu koneksi.").count() == 2
        assert no_serious_violations(page, "antrean") == []
        shoot(page, "antrean")
        context.set_offline(False)
        page.wait_for_selector("text=Menunggu dikirim", state="attached")
        page.wait_for_function(
            "() => !document.getElementById('antrean').textContent.includes('(')"
        )
        wait_for_live(server, "tim/keamanan/index.html", "Diubah tanpa sinyal di Long Apari.")
        wait_for_live(
            server, "tahapan/pemungutan-suara/index.html", "Hari pemungutan suara, diubah tanpa"
        )
        # Signing out leaves none of the records the editor kept for offline use.
        kept = """async () => {
            const urls = [];
            for (const key of await caches.keys())
                for (const request of await (await caches.open(key)).keys()) urls.push(request.url);
            return urls;
        }"""
        assert any("/api/records/" in url for url in page.evaluate(kept))
        page.get_by_role("button", name="Keluar").click()
        page.wait_for_url("**/redaksi/masuk")
        assert not any("/api/" in url for url in page.evaluate(kept))
    finally:
        context.close()


@contextlib.contextmanager
def two_editors(
    browser: Any, server: ServerProcess, *people: tuple[str, str]
) -> Iterator[tuple[Any, Any]]:
    """Two browsers (contexts of their own), each signed in with a new token: (role, name)."""
    contexts = [browser.new_context(base_url=server.url) for _ in people]
    try:
        pages = []
        for context, (role, name) in zip(contexts, people, strict=True):
            page = context.new_page()
            sign_in(page, server, role, name)
            pages.append(page)
        yield pages[0], pages[1]
    finally:
        for context in contexts:
            context.close()


def test_two_editors_merge_and_choose_and_nothing_typed_is_lost(
    browser: Any, server: ServerProcess
) -> None:
    with two_editors(browser, server, ("campaign", "pertama"), ("admin", "kedua")) as (one, two):

        def both_edit(page: Any, change: tuple[str, str]) -> None:
            """Both pages open the campaign as it is now; then ``page`` changes one field
            and publishes (the first to do so saves; the other's base is then stale)."""
            if page is one:
                open_record(one, "campaigns/ayo-memilih")
                open_record(two, "campaigns/ayo-memilih")
            page.get_by_label(change[0], exact=True).fill(change[1])
            page.get_by_role("button", name="Terbitkan").click()
            if page is one:
                one.wait_for_selector("text=Tersimpan sebagai revisi")

        # Different fields: merged without asking.
        both_edit(one, ("Ringkasan *", "Ringkasan dari editor pertama."))
        both_edit(two, ("Penyelenggara *", "Penyelenggara dari editor kedua"))
        two.wait_for_selector("text=Perubahan Anda sudah digabungkan")
        # The form now shows both changes, so a next save cannot undo the other one.
        summary = two.get_by_label("Ringkasan *", exact=True)
        assert summary.input_value() == "Ringkasan dari editor pertama."
        with httpx.Client(base_url=server.url) as http:
            token = make_token(server.data, "pemeriksa", "admin")
            headers = {"Authorization": f"Bearer {token}"}
            data = http.get("/api/records/campaigns/ayo-memilih", headers=headers).json()["data"]
            assert data["summary"] == "Ringkasan dari editor pertama."
            assert data["organiser"] == "Penyelenggara dari editor kedua"
        # The same field: both values side by side, and the member chooses.
        both_edit(one, ("Ajakan *", "Datang pagi ke TPS."))
        both_edit(two, ("Ajakan *", "Datang siang ke TPS."))
        two.wait_for_url("**/redaksi/#/antrean")
        conflict = two.get_by_role("group", name="Ajakan: diubah di dua tempat")
        conflict.wait_for()
        assert "Datang pagi ke TPS." in conflict.inner_text()
        assert "Datang siang ke TPS." in conflict.inner_text()
        shoot(two, "konflik")
        assert no_serious_violations(two, "konflik") == []
        conflict.get_by_label("Versi server").check()
        two.get_by_role("button", name="Kirim pilihan").click()
        # The value not chosen stays on screen; the chosen one is in the history.
        two.wait_for_selector("text=Nilai Anda yang tidak dipilih")
        assert "Datang siang ke TPS." in two.locator(".waiting").inner_text()
        with httpx.Client(base_url=server.url, headers=headers) as http:
            history = http.get("/api/records/campaigns/ayo-memilih/history").json()
            texts = [r["text"] for r in history["revisions"]]
            assert any("Datang pagi ke TPS." in t for t in texts)
            assert "Datang pagi ke TPS." in texts[-1]


def test_a_reference_to_a_large_collection_is_searched_as_the_member_types(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    teams = {
        f"teams/divisi-{n:03}.yaml": TEAM.replace("Keamanan dan Ketertiban", f"Divisi Uji {n:03}")
        for n in range(120)
    }
    server = scratch_server(tmp_path_factory, teams)
    context = browser.new_context(base_url=server.url)
    try:
        token = make_token(server.data, "besar", "editor")
        with server.client(token) as http:
            form = http.get("/api/forms/stages").json()
            divisions = next(f for f in form["fields"] if f["name"] == "divisions")
            assert divisions["search"] == "teams" and "options" not in divisions
            assert len(json.dumps(form)) < 20_000  # not 121 teams' names
        page = context.new_page()
        sign_in(page, server, "editor", "besar-2")
        open_record(page, "stages/pemungutan-suara")
        search = page.get_by_label("Divisi", exact=True)
        search.fill("Uji 117")
        page.wait_for_function(
            "() => [...document.querySelectorAll('datalist option')].some("
            "o => o.value === 'divisi-117')"
        )
        search.fill("divisi-117")
        page.get_by_role("button", name="Tambah divisi").click()
        page.get_by_role("button", name="Terbitkan").click()
        page.wait_for_selector("text=Tersimpan sebagai revisi 2")
        with server.client(token) as http:
            data = http.get("/api/records/stages/pemungutan-suara").json()["data"]
            assert data["divisions"] == ["keamanan", "divisi-117"]
    finally:
        context.close()
        server.stop()


def test_an_admin_sees_the_history_and_reverts_to_an_earlier_revision(
    browser: Any, context: Any, server: ServerProcess
) -> None:
    token = make_token(server.data, "pemeriksa-riwayat", "admin")
    with server.client(token) as http:
        first = http.get("/api/records/campaigns/ayo-memilih/history").json()["revisions"][0]
    page = context.new_page()
    sign_in(page, server, "admin", "admin-riwayat")
    page.goto("/redaksi/#/campaigns/ayo-memilih/riwayat")
    revert = page.get_by_role("button", name="Kembalikan ke revisi 1")
    revert.click()
    page.wait_for_selector("text=sama dengan revisi 1")
    with server.client(token) as http:
        now = http.get("/api/records/campaigns/ayo-memilih").json()
    assert now["text"] == first["text"]
    # Only an admin is offered the revert.
    campaign = browser.new_context(base_url=server.url)
    try:
        other = campaign.new_page()
        sign_in(other, server, "campaign", "tanpa-kembalikan")
        other.goto("/redaksi/#/campaigns/ayo-memilih/riwayat")
        other.wait_for_selector("text=Riwayat ayo-memilih")
        assert other.get_by_role("button", name="Kembalikan ke revisi 1").count() == 0
    finally:
        campaign.close()


def test_a_waiting_change_survives_a_restart_of_the_browser(
    browser: Any, server: ServerProcess, tmp_path: Path
) -> None:
    """The browser itself is closed and started again (as a phone restarts), on the same
    profile: the change typed offline is still waiting, and is sent once online."""
    profile = tmp_path / "profil"

    def start() -> Any:
        return browser.browser_type.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            base_url=server.url,
            service_workers="allow",
        )

    first = start()
    try:
        page = first.new_page()
        sign_in(page, server, "editor", "mulai-ulang")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        open_record(page, "teams/keamanan")
        first.set_offline(True)
        open_record(page, "teams/keamanan").fill("Diubah sebelum ponsel dimatikan.")
        page.get_by_role("button", name="Terbitkan").click()
        page.wait_for_selector("text=Tidak tersambung: perubahan disimpan di perangkat ini")
    finally:
        first.close()
    again = start()
    try:
        again.set_offline(True)
        page = again.new_page()
        page.goto("/redaksi/#/antrean")
        page.get_by_text("Menunggu koneksi.").wait_for()
        again.set_offline(False)
        wait_for_live(server, "tim/keamanan/index.html", "Diubah sebelum ponsel dimatikan.")
        page.wait_for_function(
            "() => !document.getElementById('antrean').textContent.includes('(')"
        )
    finally:
        again.close()


def test_a_raw_text_merged_with_another_change_stays_on_screen_as_typed(
    browser: Any, server: ServerProcess
) -> None:
    people = (("editor", "teks-pertama"), ("editor", "teks-kedua"))
    with two_editors(browser, server, *people) as (one, two):
        open_record(one, "teams/keamanan")
        open_record(two, "teams/keamanan")
        one.get_by_label("Ringkasan *", exact=True).fill("Ringkasan dari formulir.")
        one.get_by_role("button", name="Terbitkan").click()
        one.wait_for_selector("text=Tersimpan sebagai revisi")
        two.get_by_role("button", name="Tampilan teks mentah").click()
        raw = two.get_by_label("Teks berkas (YAML dan Markdown)")
        typed = (
            raw.input_value()
            .replace("role: divisi", "role: divisi  # catatan saya: dicek ulang besok")
            .replace("Mengamankan TPS.", "Mengamankan TPS dan logistik.")
        )
        raw.fill(typed)
        two.get_by_role("button", name="Terbitkan").click()
        two.wait_for_url("**/redaksi/#/antrean")
        kept = two.locator(".waiting")
        kept.get_by_text("catatan saya: dicek ulang besok").wait_for()
        assert "Mengamankan TPS dan logistik." in kept.inner_text()
        token = make_token(server.data, "pemeriksa-teks", "admin")
        with server.client(token) as http:
            data = http.get("/api/records/teams/keamanan").json()["data"]
        assert data["summary"] == "Ringkasan dari formulir."
        assert data["tupoksi"] == ["Mengamankan TPS dan logistik."]
        two.get_by_role("button", name="Tutup").click()
        two.get_by_text("Tidak ada perubahan yang menunggu.").wait_for()
