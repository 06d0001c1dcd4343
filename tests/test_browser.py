"""The built site in real headless Chromium (Debian's, driven by Playwright): offline
reading, offline search, the file:// copy, the update banner, no foreign requests, no console
errors, accessibility (axe-core) and screenshots of every page type."""

from __future__ import annotations

import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from site_builder.build import build
from site_builder.preview import make_server

from .conftest import CONTENT, VOTING_DAY

# Real servers, real browsers or crash rounds: left out of the quick run (-m 'not slow').
pytestmark = pytest.mark.slow

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser tests (.ci/run installs it)")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "screenshots"
PAGE_TYPES = {
    "beranda": "index.html",
    "tahapan": "tahapan/index.html",
    "tahapan-detail": "tahapan/pemungutan-suara/index.html",
    "tim": "tim/index.html",
    "tim-detail": "tim/keamanan-ketertiban/index.html",
    "kampanye": "kampanye/index.html",
    "kampanye-detail": "kampanye/pemilih-hulu-mahakam/index.html",
    "wilayah": "wilayah/index.html",
    "wilayah-detail": "wilayah/mahakam-ulu/index.html",
    "tentang": "tentang/index.html",
    "data": "data/index.html",
    "cari": "cari/index.html?q=kampa",
    "luring": "offline/index.html",
    "404": "404.html",
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Site:
    """The default site built into a folder and served over HTTP on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.content = root / "content"
        shutil.copytree(CONTENT, self.content)
        self.out = root / "public"
        build(self.content, self.out, today=VOTING_DAY)
        self.server = make_server(self.out, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.server.RequestHandlerClass.log_message = lambda *args: None  # type: ignore[assignment]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def rebuild(self) -> None:
        build(self.content, self.out, today=VOTING_DAY)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    served = Site(tmp_path_factory.mktemp("browser"))
    yield served
    served.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(service_workers="allow")
    yield ctx
    ctx.close()


def until_controlled(page: Any) -> None:
    """Wait until the service worker has precached the site and controls the page."""
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
    )


def test_offline_reading_after_one_visit(site: Site, context: Any) -> None:
    page = context.new_page()
    page.goto(site.url + "index.html")
    until_controlled(page)
    context.set_offline(True)
    for path, heading in [
        ("tahapan/index.html", "Tahapan Pilkada 2024"),
        ("tahapan/masa-tenang/index.html", "Masa tenang"),
        ("kampanye/tolak-politik-uang/index.html", "Tolak politik uang"),
        ("wilayah/kutai-barat/index.html", "Kabupaten Kutai Barat"),
    ]:
        page.goto(site.url + path)
        assert heading in page.locator("h1").inner_text()
        assert page.locator("link[rel=stylesheet]").count() == 1
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # CSS cached too
    page.goto(site.url + "belum-pernah-ada/index.html")
    assert page.locator("h1").inner_text() == "Anda sedang luring"
    page.wait_for_selector("#tersedia a[href$='tahapan/index.html']")
    assert page.locator("#tersedia li").count() > 40  # lists what the cache holds


def test_search_works_offline_and_by_keyboard(site: Site, context: Any) -> None:
    page = context.new_page()
    page.goto(site.url + "index.html")
    until_controlled(page)
    context.set_offline(True)
    page.goto(site.url + "cari/index.html")
    page.fill("#q", "kampa")
    page.wait_for_selector("#hasil li")
    titles = page.locator("#hasil li a").all_inner_texts()
    assert "Pelaksanaan kampanye" in titles
    assert "hasil untuk" in page.locator("#search-status").inner_text()
    assert page.locator("#search-status").get_attribute("role") == "status"
    page.fill("#q", "MAHAKAM ulu")
    page.wait_for_function(
        "() => document.querySelector('#hasil a').textContent.includes('Mahakam')"
    )
    page.focus("#q")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.closest('#hasil') !== null")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Mahakam" in page.locator("h1").inner_text()


def test_unzipped_copy_works_from_file_urls(site: Site, browser: Any, tmp_path: Path) -> None:
    with zipfile.ZipFile(site.out / "unduh" / "pantau-situs.zip") as archive:
        archive.extractall(tmp_path / "copy")
    page = browser.new_page()
    try:
        page.goto((tmp_path / "copy" / "index.html").as_uri())
        page.click("nav >> text=Tahapan")
        assert page.url.endswith("/tahapan/index.html")
        page.click("text=Masa tenang")
        assert page.locator("h1").inner_text() == "Masa tenang"
        page.goto((tmp_path / "copy" / "cari" / "index.html").as_uri() + "?q=kampa")
        page.wait_for_selector("#hasil li")
        page.click("#hasil >> text=Pelaksanaan kampanye")
        assert page.url.startswith("file://") and page.url.endswith("/tahapan/kampanye/index.html")
        page.goto((tmp_path / "copy" / "data" / "index.html").as_uri())
        assert page.locator("h1").inner_text() == "Data terbuka"
    finally:
        page.close()


def test_new_build_shows_the_banner(site: Site, context: Any) -> None:
    page = context.new_page()
    page.goto(site.url + "tahapan/masa-tenang/index.html")
    until_controlled(page)
    assert page.locator("#pembaruan").is_hidden()
    stage = site.content / "stages" / "masa-tenang.md"
    original = stage.read_text()
    stage.write_text(original.replace("Tiga hari tanpa", "Tiga hari penuh tanpa"))
    try:
        site.rebuild()
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_selector("#pembaruan:not([hidden])")
        assert "Konten baru tersedia" in page.locator("#pembaruan").inner_text()
        with page.expect_navigation():
            page.click("#muat-ulang")
        assert "Tiga hari penuh tanpa" in page.content()
    finally:
        stage.write_text(original)
        site.rebuild()


def visit_all(site: Site, context: Any, width: int) -> tuple[list[str], list[str]]:
    requests: list[str] = []
    errors: list[str] = []
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, path in PAGE_TYPES.items():
        page.goto(site.url + path)
        if name == "cari":
            page.wait_for_selector("#hasil li")
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.close()
    return requests, errors


def test_no_foreign_requests_no_console_errors_and_screenshots(site: Site, context: Any) -> None:
    requests, errors = [], []
    for width in (360, 1280):
        seen, failed = visit_all(site, context, width)
        requests += seen
        errors += [e for e in failed if "404.html" not in e and "belum" not in e]
    foreign = [url for url in requests if not url.startswith(site.url)]
    assert foreign == []
    assert errors == []
    for name in PAGE_TYPES:
        for width in (360, 1280):
            assert (ARTIFACTS / f"{name}-{width}.png").stat().st_size > 1000


def test_no_serious_accessibility_violations(site: Site, context: Any) -> None:
    page = context.new_page()
    problems = []
    for name, path in PAGE_TYPES.items():
        page.goto(site.url + path)
        # Evaluated through the browser's debugging protocol, which the site's
        # Content-Security-Policy (no inline script) rightly does not allow a page to do.
        page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        for violation in result["violations"]:
            if violation["impact"] in ("serious", "critical"):
                targets = [node["target"] for node in violation["nodes"]][:3]
                problems.append(f"{name}: {violation['id']} ({violation['impact']}) {targets}")
    assert problems == []


def test_pages_are_readable_without_javascript(site: Site, browser: Any) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(site.url + "tahapan/index.html")
        assert page.locator(".stage").count() > 20
        page.goto(site.url + "cari/index.html")
        assert page.locator(".all-pages a").count() >= 6  # the sections, as a fallback
    finally:
        ctx.close()
