"""Every page usable on a 360 px phone and on a desktop: real headless Chromium (Debian's,
driven by Playwright) against the built site served over HTTP, under a sub-path and from the
unzipped copy (file://). No page may scroll sideways and no table column may be hidden; the
404 page is styled and links to the site root at any depth (a site served under a sub-path
names it in base_url). Screenshots of every page type at both widths go to
test-artifacts/layout/.

The quick tests at the end (not marked slow) check what the change log and the data page say,
without a browser."""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
import shutil
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from site_builder.build import build
from site_builder.dates import WITA
from site_builder.graph import Change, History
from site_builder.preview import make_server

from .conftest import CONTENT, VOTING_DAY

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "layout"
WIDTHS = (360, 1280)
PAGES = {
    "beranda": "",
    "tahapan": "tahapan/",
    "tahapan-detail": "tahapan/pemungutan-suara/",
    "tim": "tim/",
    "tim-detail": "tim/keamanan-ketertiban/",
    "kampanye": "kampanye/",
    "kampanye-detail": "kampanye/pemilih-hulu-mahakam/",
    "wilayah": "wilayah/",
    "wilayah-detail": "wilayah/mahakam-ulu/",
    "wilayah-partisipasi": "wilayah/kalimantan-timur/",
    "partisipasi": "partisipasi/",
    "evaluasi": "evaluasi/",
    "data": "data/",
    "riwayat": "riwayat/",
    "cari": "cari/?q=kampa",
    "tentang": "tentang/",
    "404": "a/b/c/",
}
BRAND = "rgb(11, 58, 91)"  # --brand, the header's background
# A function, not an expression: wait_for_function evaluates an expression with eval(), which
# a Content-Security-Policy without 'unsafe-eval' forbids.
CONTROLLED = "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
SUB_PATH = "/pilkada/"


def _time(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 11, day, hour, minute, tzinfo=WITA)


# What a sync server would pass: recent changes, one of them to a record since deleted.
HISTORY = History(
    revisions={"campaigns/tolak-politik-uang": 3, "stages/masa-tenang": 2},
    changes=[
        Change(5, _time(26, 16, 45), "campaigns/tolak-politik-uang", "Tolak politik uang",
               "diubah", "campaign", 3),
        Change(4, _time(25, 9, 5), "campaigns/lomba-lama", "Lomba poster lama", "dihapus",
               "admin", 2),
        Change(3, _time(24, 14), "stages/masa-tenang", "Masa tenang", "diubah", "editor", 2),
        Change(2, _time(23, 8, 30), "teams/keamanan-ketertiban", "Keamanan dan Ketertiban",
               "dibuat", "admin", 1),
        Change(1, _time(22, 7), "pages/tentang", "Tentang situs ini", "diubah", "admin", 4),
    ],
)  # fmt: skip

# Problems of layout in the page shown, as sentences (empty: none). A cell is hidden when it
# has no box, no width or height, or lies outside a box that clips it, unless that box scrolls
# and shows it does (a visible scroll bar, or a visible [data-scroll-hint] in or before it).
# A column header hidden on purpose (a stacked table on a phone) is fine when every cell of
# its column shows the header's text as its own label (data-label, shown by ::before), or is
# the visible header of its row.
LAYOUT_PROBLEMS = """
() => {
  const problems = [];
  const width = window.innerWidth;
  const page = document.scrollingElement;
  if (page.scrollWidth > width) {
    const wide = Array.from(document.querySelectorAll("body *"))
      .filter((el) => el.getBoundingClientRect().right > width + 1)
      .slice(0, 3).map((el) => el.tagName.toLowerCase() + "." + el.className);
    problems.push(`page is ${page.scrollWidth}px wide in a ${width}px window: ${wide}`);
  }
  const text = (el) => el.textContent.trim().replace(/\\s+/g, " ").slice(0, 40);
  const shows = (el) => {
    const box = el.getBoundingClientRect();
    return el.getClientRects().length > 0 && box.width >= 1 && box.height >= 1
      && getComputedStyle(el).visibility === "visible";
  };
  const affordance = (box) => {
    const bar = box.offsetHeight - box.clientHeight
      - parseFloat(getComputedStyle(box).borderTopWidth)
      - parseFloat(getComputedStyle(box).borderBottomWidth);
    const hints = [...box.querySelectorAll("[data-scroll-hint]")];
    if (box.previousElementSibling) hints.push(box.previousElementSibling);
    return bar > 0 || hints.some((h) => h.matches("[data-scroll-hint]") && shows(h));
  };
  const cut = (cell) => {
    if (!shows(cell)) return "has no visible box";
    const box = cell.getBoundingClientRect();
    for (let el = cell.parentElement; el && el !== document.body; el = el.parentElement) {
      const style = getComputedStyle(el);
      if (style.overflowX === "visible" && style.overflowY === "visible") continue;
      const outer = el.getBoundingClientRect();
      const outside = box.right > outer.right + 1 || box.left < outer.left - 1
        || box.bottom > outer.bottom + 1 || box.top < outer.top - 1;
      if (!outside) continue;
      const scrolls = ["auto", "scroll"].includes(style.overflowX)
        && el.scrollWidth > el.clientWidth;
      if (scrolls && affordance(el)) return "";
      return `is clipped by ${el.tagName.toLowerCase()}.${el.className}`;
    }
    if (box.right > width + 1 || box.left < -1) return "lies outside the window";
    return "";
  };
  const labelled = (th) => {
    const table = th.closest("table");
    const rows = [...table.tBodies].flatMap((body) => [...body.rows]);
    const label = text(th);
    return rows.length > 0 && rows.every((row) => {
      const cell = row.cells[th.cellIndex];
      if (!cell || cut(cell)) return false;
      if (cell.tagName === "TH" && cell.scope === "row") return true;  // heads its row
      const before = getComputedStyle(cell, "::before");
      return cell.dataset.label === label && before.display !== "none"
        && !["none", "normal", ""].includes(before.content);
    });
  };
  for (const cell of document.querySelectorAll("th, td")) {
    const why = cut(cell);
    if (!why) continue;
    if (cell.tagName === "TH" && cell.closest("thead") && labelled(cell)) continue;
    problems.push(`${cell.tagName.toLowerCase()} "${text(cell)}" ${why}`);
  }
  for (const caption of document.querySelectorAll("caption")) {
    const why = cut(caption);
    if (why) problems.push(`caption "${text(caption)}" ${why}`);
  }
  return problems;
}
"""


def settle(content: Path, **settings: Any) -> None:
    """Set some of the content's site settings."""
    path = content / "site.yaml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    values.update(settings)
    path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")


class SubPathHandler(BaseHTTPRequestHandler):
    """A folder served under /pilkada/, its 404.html sent for anything missing, as a web
    server set up for a site at a sub-path does (nginx: error_page 404 /pilkada/404.html)."""

    folder: Path

    def do_GET(self) -> None:
        self.send(body=True)

    def do_HEAD(self) -> None:
        self.send(body=False)

    def send(self, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        file = None
        if path.startswith(SUB_PATH) and ".." not in path:
            file = self.folder / path[len(SUB_PATH) :]
            if path.endswith("/"):
                file = file / "index.html"
        status = 200
        if file is None or not file.is_file():
            status, file = 404, self.folder / "404.html"
        data = file.read_bytes()
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class SubPathServer:
    def __init__(self, folder: Path) -> None:
        handler = type("Handler", (SubPathHandler,), {"folder": folder})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{SUB_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Site:
    """The shipped content (with a change log) built once, served at the root of a server
    (the project's preview server) and under a sub-path, and unzipped into a folder."""

    def __init__(self, root: Path, base_url: str | None = None) -> None:
        content = root / "content"
        shutil.copytree(CONTENT, content)
        if base_url:
            settle(content, base_url=base_url)
        self.out = root / "public"
        build(content, self.out, today=VOTING_DAY, history=HISTORY)
        self.preview = make_server(self.out, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.preview.server_port}/"
        threading.Thread(target=self.preview.serve_forever, daemon=True).start()
        self.sub_path = SubPathServer(self.out)
        self.copy = root / "copy"
        with zipfile.ZipFile(self.out / "unduh" / "pantau-situs.zip") as archive:
            archive.extractall(self.copy)

    def close(self) -> None:
        self.preview.shutdown()
        self.preview.server_close()
        self.sub_path.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    served = Site(tmp_path_factory.mktemp("layout"))
    yield served
    served.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(service_workers="block")
    yield ctx
    ctx.close()


def open_page(context: Any, url: str, width: int = 360) -> Any:
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(url)
    return page


def screenshot(page: Any, name: str) -> None:
    """test-artifacts/layout/<name>-<width>.png, the whole page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)


def header_colour(page: Any) -> str:
    return str(
        page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    )


def link_target(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.evaluate("a => a.href"))


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_no_hidden_column_and_no_sideways_scrolling(
    site: Site, context: Any, name: str, width: int
) -> None:
    page = open_page(context, site.url + PAGES[name], width)
    if name == "cari":
        page.wait_for_selector("#hasil li")
    screenshot(page, name)
    assert header_colour(page) == BRAND
    assert page.evaluate(LAYOUT_PROBLEMS) == []


#: The size at which a chart's words show (its SVG is scaled to its column), in CSS pixels:
#: readable on a phone, and never much larger than the text around it on a wide screen.
CHART_TEXT = """() => [...document.querySelectorAll('svg.chart-svg')].map(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const text = svg.querySelector('text');
    return parseFloat(getComputedStyle(text).fontSize) * scale;
})"""


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["partisipasi", "evaluasi", "wilayah-partisipasi"])
def test_chart_words_are_the_size_of_the_text_around_them(
    site: Site, context: Any, name: str, width: int
) -> None:
    page = open_page(context, site.url + PAGES[name], width)
    sizes = page.evaluate(CHART_TEXT)
    body = float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))
    assert sizes, "no chart on the page"
    assert all(11 <= size <= body * 1.05 for size in sizes), (sizes, body)


@pytest.mark.slow
def test_main_content_keeps_clear_of_the_footer(site: Site, context: Any) -> None:
    page = open_page(context, site.url + "tim/")
    for path in ("kampanye/", "tim/", "wilayah/", "data/"):
        page.goto(site.url + path)
        gap = page.evaluate(
            """() => {
              const main = document.querySelector("main");
              const last = main.lastElementChild.getBoundingClientRect().bottom;
              return document.querySelector(".site-footer").getBoundingClientRect().top - last;
            }"""
        )
        assert gap >= 16, f"{path}: {gap}px between the content and the footer"


@pytest.mark.slow
@pytest.mark.parametrize("path", ["a/b/c/", "tidak-ada/", "tidak-ada.html", "tahapan/x/y/"])
def test_404_is_styled_and_links_to_the_root_at_any_depth(
    site: Site, context: Any, path: str
) -> None:
    page = context.new_page()
    response = page.goto(site.url + path)
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Halaman tidak ditemukan"
    assert header_colour(page) == BRAND
    assert link_target(page, "a.brand") == site.url + "index.html"
    assert link_target(page, "main a") == site.url + "index.html"
    assert link_target(page, "nav a[href*=wilayah]") == site.url + "wilayah/index.html"
    assert page.locator("a.skip").count() == 0  # "#isi" would lead to the home page
    page.click("main a")
    assert page.url == site.url + "index.html"


@pytest.mark.slow
def test_404_without_javascript_at_the_server_root(site: Site, browser: Any) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(site.url + "a/b/c/")
        assert header_colour(page) == BRAND
        assert link_target(page, "a.brand") == site.url + "index.html"
    finally:
        ctx.close()


@pytest.mark.slow
def test_404_from_the_downloaded_copy(site: Site, context: Any) -> None:
    page = open_page(context, (site.copy / "404.html").as_uri())
    screenshot(page, "404-salinan")
    assert header_colour(page) == BRAND
    assert link_target(page, "a.brand") == (site.copy / "index.html").as_uri()
    page.click("main a")
    assert page.url == (site.copy / "index.html").as_uri()


@pytest.mark.slow
def test_offline_page_at_any_depth(site: Site, browser: Any) -> None:
    """The service worker answers a page it never cached with the offline page, at any
    address: styled, its links resolved from the root."""
    ctx = browser.new_context(service_workers="allow")
    try:
        page = ctx.new_page()
        page.goto(site.url)
        page.wait_for_function(CONTROLLED)
        ctx.set_offline(True)
        page.set_viewport_size({"width": 360, "height": 800})
        page.goto(site.url + "belum/pernah/ada/")
        screenshot(page, "luring-bertingkat")
        assert page.locator("h1").inner_text() == "Anda sedang luring"
        assert header_colour(page) == BRAND
        assert link_target(page, "a.brand") == site.url + "index.html"
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def site_with_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    served = Site(tmp_path_factory.mktemp("layout-base"), "https://pantau.example/pilkada/")
    yield served
    served.close()


@pytest.mark.slow
@pytest.mark.parametrize("path", ["a/b/c/", "tidak-ada/", "tahapan/x/"])
def test_404_under_the_sub_path_of_base_url(
    site_with_base_url: Site, browser: Any, path: str
) -> None:
    """A site served under a sub-path names it in base_url: the 404 page's links start from
    that path, with or without JavaScript, and never lead to the public address while the
    site is served elsewhere. Once the service worker controls the site, its 404s stay so."""
    url = site_with_base_url.sub_path.url
    requests: list[str] = []
    for javascript in (False, True):
        ctx = browser.new_context(java_script_enabled=javascript, service_workers="allow")
        try:
            page = ctx.new_page()
            page.set_viewport_size({"width": 360, "height": 800})
            page.on("request", lambda request: requests.append(request.url))
            response = page.goto(url + path)
            assert response.status == 404
            if path == "a/b/c/" and not javascript:
                screenshot(page, "404-sub-path")
            assert header_colour(page) == BRAND
            assert link_target(page, "a.brand") == url + "index.html"
            assert link_target(page, "nav a[href*=wilayah]") == url + "wilayah/index.html"
            page.click("main a")
            assert page.url == url + "index.html"
            if javascript:
                page.wait_for_function(CONTROLLED)
                page.goto(url + path)
                assert header_colour(page) == BRAND
                assert link_target(page, "a.brand") == url + "index.html"
            assert [r for r in requests if not r.startswith(url)] == []
        finally:
            ctx.close()


@pytest.mark.slow
def test_downloaded_data_page_points_to_the_online_copy(site: Site, context: Any) -> None:
    page = open_page(context, (site.copy / "data" / "index.html").as_uri())
    screenshot(page, "data-salinan")
    assert page.locator("a[href$='.zip']").count() == 0
    assert "situs yang diterbitkan" in page.locator("main").inner_text()


# Without a browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logged_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logged")
    content = root / "content"
    shutil.copytree(CONTENT, content)
    settle(
        content,
        base_url="https://pantau.example/pilkada/",
        licence={"name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
    )
    out = root / "public"
    build(content, out, today=VOTING_DAY, history=HISTORY)
    return out


def test_change_log_links_each_change_to_its_record(logged_site: Path) -> None:
    html = (logged_site / "riwayat" / "index.html").read_text(encoding="utf-8")
    assert '<a href="../kampanye/tolak-politik-uang/index.html">Tolak politik uang</a>' in html
    assert '<a href="../tahapan/masa-tenang/index.html">Masa tenang</a>' in html
    assert '<a href="../tentang/index.html">Tentang situs ini</a>' in html
    # A record no longer published is named, not linked.
    assert "Lomba poster lama" in html
    assert not re.search(r"<a [^>]*>Lomba poster lama", html)
    assert 'data-label="Peran"' in html and 'data-label="Revisi"' in html


def test_data_page_speaks_plainly(logged_site: Path) -> None:
    html = (logged_site / "data" / "index.html").read_text(encoding="utf-8")
    for code in ("<code>sources</code>", "verified", "<code>id</code>"):
        assert code not in html
    for level in ("Dicek pada dokumen resmi", "Dicek pada pemberitaan", "Belum dicek", "Ilustrasi"):
        assert level in html
    size = (logged_site / "data" / "stages.csv").stat().st_size
    assert f"{round(size / 1024)} KB" in html  # every file's size
    assert 'href="https://creativecommons.org/licenses/by/4.0/"' in html
    assert "CC BY 4.0" in html
    assert 'href="../unduh/pantau-situs.zip"' in html
    zip_size = (logged_site / "unduh" / "pantau-situs.zip").stat().st_size
    assert f"{zip_size / 1024 / 1024:.1f} MB".replace(".", ",") in html or "KB)" in html


def test_pages_sent_for_any_address_have_a_base_but_not_in_the_copy(logged_site: Path) -> None:
    base = re.compile(r'<base href="([^"]*)">')
    pages = {"404.html": "/pilkada/", "offline/index.html": "/pilkada/offline/"}
    with zipfile.ZipFile(logged_site / "unduh" / "pantau-situs.zip") as archive:
        for path, href in pages.items():
            html = (logged_site / path).read_text(encoding="utf-8")
            assert base.findall(html) == [href]
            assert html.index("<base ") < html.index('rel="stylesheet"')
            inside = archive.read(path).decode("utf-8")
            assert base.findall(inside) == []
            assert 'href="../static/style.css"' in inside or 'href="static/style.css"' in inside
    stage = (logged_site / "tahapan" / "index.html").read_text(encoding="utf-8")
    assert base.findall(stage) == []


def test_a_site_without_base_url_has_its_root_at_the_server_root(built_site: Any) -> None:
    html = (built_site.out / "404.html").read_text(encoding="utf-8")
    assert '<base href="/">' in html


def test_downloaded_data_page_names_the_published_site(logged_site: Path) -> None:
    with zipfile.ZipFile(logged_site / "unduh" / "pantau-situs.zip") as archive:
        inside = archive.read("data/index.html").decode("utf-8")
    assert "pantau-situs.zip" not in inside
    assert 'href="https://pantau.example/pilkada/data/index.html"' in inside
    assert "stages.csv" in inside  # the files themselves are in the copy


def test_data_page_without_licence_says_nothing_of_one(
    scratch_content: Path, tmp_path: Path
) -> None:
    build(scratch_content, tmp_path / "public", today=VOTING_DAY)
    html = (tmp_path / "public" / "data" / "index.html").read_text(encoding="utf-8")
    assert "Lisensi" not in html and "lisensi" not in html


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_in_season_the_home_page_shows_one_stage_now(
    tmp_path: Path, context: Any, width: int
) -> None:
    """28 August 2024: seven stages are running; one is shown as now, the next one after it,
    and the others stay folded until asked for."""
    out = tmp_path / "public"
    build(CONTENT, out, today=dt.date(2024, 8, 28))
    page = open_page(context, (out / "index.html").as_uri(), width)
    screenshot(page, "beranda-musim")
    visible = """sel => [...document.querySelectorAll(sel)].filter(
        e => e.checkVisibility()).map(e => e.querySelector('h3').textContent.trim())"""
    assert page.evaluate(visible, "[data-now] li") == ["Pendaftaran pasangan calon"]
    shown = page.evaluate(visible, "section[aria-labelledby=sekarang] li.stage")
    assert shown == ["Pendaftaran pasangan calon", "Penetapan pasangan calon"]
    page.click("details.others summary")
    assert len(page.evaluate(visible, "section[aria-labelledby=sekarang] li.stage")) == 8
    assert page.evaluate(LAYOUT_PROBLEMS) == []
