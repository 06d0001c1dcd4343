"""Serving a built site over real HTTP on 127.0.0.1: `pantau preview` as a child process, and
the sync server's live site (a uvicorn thread over a 'live' link swapped while it serves, and
the real `pantau serve`). Redirects, the site's 404 page, 304s, gzip, byte ranges, no
traversal, no hidden files, and the worst requests we could think of: never a 500."""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from site_builder.build import build
from site_builder.preview import OpenFileResponse, SiteFiles
from sync_server.livesite import live_site

from .conftest import CONTENT, VOTING_DAY
from .server import ServerProcess, scratch_server

PANTAU = [sys.executable, "-m", "site_builder"]
ZIP = "unduh/pantau-situs.zip"
SECRET = "never-served-7f3a"
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    + "".join(f'<rect x="{i}" y="{i}" width="1" height="1"/>' for i in range(40))
    + "</svg>\n"
)
TEXT_FILES = {
    "index.html": "text/html",
    "static/style.css": "text/css",
    "static/pantau.js": "text/javascript",
    "data/stages.json": "application/json",
    "feed.xml": "application/xml",
    "data/stages.csv": "text/csv",
    "manifest.webmanifest": "application/manifest+json",
    "tahapan.ics": "text/calendar",
    "static/peta.svg": "image/svg+xml",
}


# helpers ---------------------------------------------------------------------------------------


def raw_request(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are (no client tidies them up) and read until the server closes
    the connection, or stays silent for `timeout` seconds."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def raw_get(port: int, target: bytes, headers: bytes = b"") -> int:
    answer = raw_request(
        port, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
        + b"Connection: close\r\n\r\n"
    )  # fmt: skip
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    assert match, answer[:200]
    return int(match.group(1))


def plant_files(site: Path, outside: Path) -> None:
    """Files that must never be served, and a text type the site has none of yet."""
    (site / "static/peta.svg").write_text(SVG)
    (site / ".rahasia").write_text(SECRET)
    (site / "static/.rahasia").write_text(SECRET)
    (site / ".git").mkdir()
    (site / ".git/config").write_text(SECRET)
    state = site.parent / f".{site.name}.pantau-state"
    if not state.exists():  # a build leaves its own there
        state.write_text(SECRET)
    outside.write_text(SECRET)
    (site / "keluar.txt").symlink_to(outside)
    (site / "tersembunyi.txt").symlink_to(site / ".rahasia")


class ThreadServer:
    """An ASGI app served by uvicorn in a thread, on a socket bound to a free port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, args=([self.socket],))

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def no_server_errors(records: list[logging.LogRecord]) -> None:
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# without a server ------------------------------------------------------------------------------


def send(response: OpenFileResponse, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """Run a response as an ASGI app and collect its status, headers and body."""
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    found: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        await anyio.sleep(3600)
        return {"type": "http.disconnect"}

    async def collect(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            found["status"] = message["status"]
            found["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            found["body"] += message.get("body", b"")

    async def run() -> None:
        await response(scope, receive, collect)

    anyio.run(run)
    return found


def test_a_file_renamed_over_after_it_was_found_is_sent_whole(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    old, new = os.urandom(300_000), os.urandom(70_000)
    whole: list[tuple[bytes, bytes]] = []
    for headers in (whole, [(b"range", b"bytes=100-199")], [(b"range", b"bytes=0-9,200000-")]):
        (site / "data.bin").write_bytes(old)
        found = SiteFiles(site).find("data.bin", slash=False)
        assert found is not None and not isinstance(found, str)
        (tmp_path / "new.bin").write_bytes(new)
        os.replace(tmp_path / "new.bin", site / "data.bin")  # a rebuild renames over it
        answer = send(OpenFileResponse(found), headers)
        assert found.closed
        assert int(answer["headers"]["content-length"]) == len(answer["body"])
        if headers is whole:
            assert answer["status"] == 200 and answer["body"] == old
        elif len(headers[0][1]) < 15:
            assert answer["status"] == 206 and answer["body"] == old[100:200]
        else:
            assert answer["status"] == 206
            assert old[:10] in answer["body"] and old[200_000:] in answer["body"]


def test_nothing_hidden_or_outside_is_found(tmp_path: Path) -> None:
    site = tmp_path / "public"
    (site / "static").mkdir(parents=True)
    (site / "index.html").write_text("home")
    (site / "tahapan").mkdir()
    (site / "tahapan/index.html").write_text("stages")
    plant_files(site, tmp_path / "luar.txt")
    files = SiteFiles(site)
    for path in (
        ".rahasia",
        "static/.rahasia",
        ".git/config",
        ".git",
        "../.public.pantau-state",
        "../luar.txt",
        "keluar.txt",
        "tersembunyi.txt",
        "index.html\x00.css",
        "a" * 300,
        "/etc/passwd",
    ):
        assert files.find(path, slash=False) is None, path
        assert files.find(path, slash=True) is None, path
    assert files.find("tahapan", slash=False) == "tahapan"
    assert files.find(".", slash=False) == ""
    assert files.find("index.html", slash=True) is None
    for path, slash in (("tahapan", True), (".", True), ("static/peta.svg", False)):
        found = files.find(path, slash)
        assert found is not None and not isinstance(found, str)
        found.close()
    assert SiteFiles(tmp_path / "not-yet").find(".", slash=True) is None


# pantau preview --------------------------------------------------------------------------------


class Preview:
    def __init__(self, site: Path, process: subprocess.Popen[str], url: str) -> None:
        self.site = site
        self.process = process
        self.url = url
        self.port = int(url.rsplit(":", 1)[1].rstrip("/"))

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Preview]:
    root = tmp_path_factory.mktemp("serve")
    site = root / "public"
    build(CONTENT, site, today=VOTING_DAY)
    plant_files(site, root / "luar.txt")
    process = subprocess.Popen(
        [*PANTAU, "preview", "--dir", str(site), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, line + (process.stderr.read() if process.stderr else "")
    # Drain the request log so that a full pipe never blocks the server.
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(process.stdout or []), daemon=True)
    reader.start()
    yield Preview(site, process, match.group(0).rstrip("/"))
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=15)
    reader.join(timeout=5)
    assert process.returncode == 0, errors
    # No traceback for anything the tests sent: at most a word on the malformed requests.
    assert set(errors.splitlines()) <= {"WARNING: Invalid HTTP request received."}, errors
    assert not [line for line in log if re.search(r'" 5\d\d ', line)], log


@pytest.mark.slow
def test_a_folder_without_its_slash_redirects_keeping_the_query(preview: Preview) -> None:
    with preview.client() as http:
        for path, location in (
            ("/tahapan", "/tahapan/"),
            ("/tahapan?q=a%20b&x=1", "/tahapan/?q=a%20b&x=1"),
            ("/tahapan/pemungutan-suara", "/tahapan/pemungutan-suara/"),
            ("/tahapan/./", None),
        ):
            response = http.get(path)
            if location is None:
                assert response.status_code == 200
                continue
            assert response.status_code == 301, path
            assert response.headers["location"] == location
        followed = http.get("/tahapan?q=1", follow_redirects=True)
        assert followed.status_code == 200 and str(followed.url).endswith("/tahapan/?q=1")
        assert '<html lang="id"' in followed.text
    # A client that does not tidy the path cannot turn the redirect into another host.
    for target in (b"//evil.example/..%2ftahapan", b"//evil.example/../tahapan", b"/./tahapan"):
        answer = raw_request(
            preview.port,
            b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 301 "), answer[:100]
        assert b"\r\nlocation: /tahapan/\r\n" in answer.lower(), answer[:300]


@pytest.mark.slow
def test_a_missing_path_answers_404_with_the_site_404_page(preview: Preview) -> None:
    page = (preview.site / "404.html").read_bytes()
    with preview.client() as http:
        for path in ("/tidak-ada", "/tidak-ada/", "/tahapan/tidak-ada.html", "/sw.js/"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert response.content == page
            assert response.headers["content-type"] == "text/html; charset=utf-8"
        head = http.head("/tidak-ada")
        assert head.status_code == 404 and head.content == b""
        assert http.post("/index.html").status_code == 405


@pytest.mark.slow
def test_conditional_requests_answer_304(preview: Preview) -> None:
    with preview.client() as http:
        for path in ("/", "/tahapan/", "/static/style.css", f"/{ZIP}"):
            first = http.get(path)
            assert first.status_code == 200
            etag, modified = first.headers["etag"], first.headers["last-modified"]
            assert first.headers["cache-control"] == "no-cache"
            same = http.get(path, headers={"If-None-Match": etag})
            assert same.status_code == 304 and same.content == b""
            assert same.headers["etag"] == etag
            assert http.get(path, headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
            assert http.get(path, headers={"If-Modified-Since": modified}).status_code == 304
            assert http.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
            older = "Mon, 01 Jan 2001 00:00:00 GMT"
            assert http.get(path, headers={"If-Modified-Since": older}).status_code == 200
            # If-None-Match wins over If-Modified-Since.
            both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
            assert http.get(path, headers=both).status_code == 200


@pytest.mark.slow
def test_text_is_gzipped_when_the_client_accepts_it(preview: Preview) -> None:
    with preview.client() as http:
        for name, kind in TEXT_FILES.items():
            original = (preview.site / name).read_bytes()
            assert len(original) > 500, name  # big enough to be worth compressing
            plain = http.get(f"/{name}", headers={"Accept-Encoding": "identity"})
            assert plain.status_code == 200 and "content-encoding" not in plain.headers, name
            assert plain.content == original
            assert plain.headers["content-type"].split(";")[0] == kind
            zipped = http.get(f"/{name}", headers={"Accept-Encoding": "gzip"})
            assert zipped.headers["content-encoding"] == "gzip", name
            assert "accept-encoding" in zipped.headers["vary"].lower()
            assert zipped.content == original  # httpx decoded it
            assert int(zipped.headers["content-length"]) < len(original)
        bare = httpx.Request("GET", f"{preview.url}/")  # no Accept-Encoding at all
        assert "accept-encoding" not in bare.headers
        assert "content-encoding" not in http.send(bare).headers
        packed = http.get(f"/{ZIP}", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in packed.headers
        assert packed.headers["content-type"] == "application/zip"
    answer = raw_request(
        preview.port,
        b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower()
    assert gzip.decompress(body) == (preview.site / "index.html").read_bytes()


@pytest.mark.slow
def test_byte_ranges(preview: Preview) -> None:
    data = (preview.site / ZIP).read_bytes()
    size = len(data)
    with preview.client() as http:
        first = http.get(f"/{ZIP}", headers={"Range": "bytes=0-99"})
        assert first.status_code == 206 and first.content == data[:100]
        assert first.headers["content-range"] == f"bytes 0-99/{size}"
        assert first.headers["content-length"] == "100"
        assert http.get(f"/{ZIP}", headers={"Range": "bytes=-10"}).content == data[-10:]
        assert http.get(f"/{ZIP}", headers={"Range": f"bytes={size - 5}-"}).content == data[-5:]
        head = http.head(f"/{ZIP}", headers={"Range": "bytes=0-99"})
        assert head.status_code == 206 and head.headers["content-length"] == "100"
        several = http.get(f"/{ZIP}", headers={"Range": "bytes=0-9,100-109"})
        assert several.status_code == 206
        assert several.headers["content-type"].startswith("multipart/byteranges")
        assert data[:10] in several.content and data[100:110] in several.content
        etag = first.headers["etag"]
        resumed = http.get(f"/{ZIP}", headers={"Range": "bytes=100-", "If-Range": etag})
        assert resumed.status_code == 206 and resumed.content == data[100:]
        stale = http.get(f"/{ZIP}", headers={"Range": "bytes=100-", "If-Range": '"old"'})
        assert stale.status_code == 200 and stale.content == data
        # A range of a text file is not compressed: the offsets are the file's own.
        page = http.get("/", headers={"Range": "bytes=0-99", "Accept-Encoding": "gzip"})
        assert page.status_code == 206 and "content-encoding" not in page.headers
        assert page.content == (preview.site / "index.html").read_bytes()[:100]
        unsatisfiable = http.get(f"/{ZIP}", headers={"Range": "bytes=99999999-"})
        assert unsatisfiable.status_code == 416
        assert unsatisfiable.headers["content-range"] == f"bytes */{size}"


@pytest.mark.slow
def test_no_traversal_and_no_hidden_files(preview: Preview) -> None:
    targets = [
        b"/.rahasia",
        b"/static/.rahasia",
        b"/.git/config",
        b"/.git/",
        b"/.pantau-build",
        b"/%2epantau-build",
        b"/../.public.pantau-state",
        b"/%2e%2e/.public.pantau-state",
        b"/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        b"/..%2f.public.pantau-state",
        b"/static/..%2f..%2f.public.pantau-state",
        b"/%252e%252e/.public.pantau-state",
        b"/%c0%ae%c0%ae/.public.pantau-state",
        b"/..\\.public.pantau-state",
        b"/../luar.txt",
        b"/keluar.txt",
        b"/tersembunyi.txt",
        b"//etc/passwd",
        b"/%2fetc%2fpasswd",
        b"/index.html%00",
        b"/static/style.css%00.html",
    ]
    for target in targets:
        assert raw_get(preview.port, target) == 404, target
    with preview.client() as http:
        missing = http.get("/.rahasia")
        assert missing.content == (preview.site / "404.html").read_bytes()
        for path in ("/.rahasia", "/.git/config", "/keluar.txt", "/tersembunyi.txt"):
            assert SECRET.encode() not in http.get(path).content


@pytest.mark.slow
def test_the_worst_requests_get_no_500(preview: Preview) -> None:
    bad_paths = [
        b"/" + b"a" * 255,
        b"/" + b"a" * 256,
        b"/" + b"a" * 6000,
        b"/" + b"a/" * 2000,
        b"/" + b"../" * 500 + b"etc/passwd",
        b"/" + b"%2e%2e%2f" * 500 + b"etc/passwd",
        b"/%ff%fe%fd",
        b"/%",
        b"/%zz",
        b"/%u002e%u002e/x",
        b"/tahapan%3f.html",
        b"/tahapan;x=1",
        b"/\xff\xfe",
        b"/tahapan/..",
        b"/.",
        b"/..",
        b"/...",
        b"/~",
        b"*",
        b"http://evil.example/tahapan",
        b"/?" + b"q=" * 3000,
        b"/tahapan?%00=%0d%0a",
    ]
    for target in bad_paths:
        assert raw_get(preview.port, target) < 500, target
    ranges = [
        "bytes=99999999-",
        "bytes=5-1",
        "bytes=-0",
        "bytes=-99999999",
        "bytes=0-99999999999999999999999999",
        "bytes=99999999999999999999999999-",
        "bytes=0-" + "9" * 5000,
        "bytes=abc",
        "bytes=",
        "bytes=-",
        "bytes=--1",
        "bytes=1--2",
        "bytes=,,,,",
        "items=0-1",
        "0-1",
        "bytes=0-0," * 200 + "1-1",
        "bytes=" + ",".join(f"{i}-{i}" for i in range(99)),
        "bytes=" + ",".join("0-" for _ in range(99)),
        "bytes=" + ",".join(f"{i * 2}-{i * 2}" for i in range(99)),
        "bytes=" + ",".join("-1" for _ in range(99)),
        "bytes=0-1, 0-",
    ]
    with preview.client() as http:
        for value in ranges:
            for path in (f"/{ZIP}", "/", "/tidak-ada"):
                response = http.get(path, headers={"Range": value, "Accept-Encoding": "gzip"})
                assert response.status_code in (200, 206, 400, 404, 416), (path, value)
                if response.status_code == 206:
                    assert int(response.headers["content-length"]) == len(response.content)
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "BREW"):
            assert http.request(method, "/").status_code == 405, method
        weird_headers = [
            {"If-None-Match": "x" * 8000},
            {"If-None-Match": ",,,*"},
            {"If-Modified-Since": "not a date"},
            {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"},
            {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
            {"If-Range": "garbage", "Range": "bytes=0-1"},
            {"If-Range": 'W/"x"', "Range": "bytes=0-1"},
            {"Accept-Encoding": "gzip;q=0, *;q=0, " + "x," * 1000},
        ]
        for headers in weird_headers:
            for path in ("/", "/tahapan", f"/{ZIP}", "/tidak-ada"):
                assert http.get(path, headers=headers).status_code < 500, (path, headers)
    for request in (
        b"GET / HTTP/1.1\r\nHost: evil\r\nHost: other\r\nConnection: close\r\n\r\n",
        b"GET /tahapan HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        b"GET /tahapan HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n"
        b"Connection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Padding: "
        + b"a" * 100_000
        + b"\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"\r\n\r\n\r\n",
    ):
        answer = raw_request(preview.port, request)
        assert not re.match(rb"HTTP/1\.[01] 5\d\d", answer), (request[:60], answer[:100])
    # A client that goes away in the middle of the zip.
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", preview.port)) as sock:
            sock.sendall(f"GET /{ZIP} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            sock.recv(100)
    with preview.client() as http:
        assert http.get("/").status_code == 200


@pytest.mark.slow
def test_preview_stops_on_ctrl_c_and_says_why_it_cannot_start(tmp_path: Path) -> None:
    site = tmp_path / "public"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>t</title>")
    process = subprocess.Popen(
        [*PANTAU, "preview", "--dir", str(site), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"at (http://127\.0\.0\.1:(\d+)/) \(Ctrl\+C stops\)", line)
    assert match, line
    port = int(match.group(2))
    assert httpx.get(match.group(1)).status_code == 200
    # A second preview on the same port: one clear sentence, exit status 1.
    taken = subprocess.run(
        [*PANTAU, "preview", "--dir", str(site), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert taken.returncode == 1
    assert taken.stderr == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    # Ctrl+C, with a download left half read on an open connection.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(10)
        process.send_signal(signal.SIGINT)
        out, errors = process.communicate(timeout=15)
    assert process.returncode == 0
    assert errors == ""
    assert '"GET / HTTP/1.1" 200' in out


# the sync server's live site -------------------------------------------------------------------


@pytest.mark.slow
def test_the_live_site_keeps_answering_while_builds_are_switched_and_files_renamed_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    builds = data / "builds"
    first = builds / "1"
    first.mkdir(parents=True)
    (first / "index.html").write_text("<p>satu</p>" * 100)
    (first / "404.html").write_text("hilang")
    (first / "tahapan").mkdir()
    (first / "tahapan/index.html").write_text("<p>tahapan satu</p>" * 100)
    (first / ".pantau-build").write_text("marker")
    second = builds / "2"
    shutil.copytree(first, second)
    (second / "index.html").write_text("<p>dua</p>" * 300)
    (second / "tahapan/index.html").write_text("<p>tahapan dua</p>" * 300)
    versions = [os.urandom(200_000), os.urandom(90_000), os.urandom(333_333)]
    for folder in (first, second):
        (folder / "unduh").mkdir()
        (folder / "unduh/besar.bin").write_bytes(versions[0])
    (data / ".live.pantau-state").write_text("state")
    live = data / "live"
    live.symlink_to("builds/1")
    pages = {
        "/": {(first / "index.html").read_bytes(), (second / "index.html").read_bytes()},
        "/tahapan/": {
            (first / "tahapan/index.html").read_bytes(),
            (second / "tahapan/index.html").read_bytes(),
        },
        "/unduh/besar.bin": set(versions),
    }
    stop = threading.Event()

    def publisher() -> None:
        """What the publisher does: switch 'live' by a rename, and rename files over live ones."""
        turn = 0
        while not stop.is_set():
            turn += 1
            link = data / f".live-{turn}"
            link.symlink_to(f"builds/{1 + turn % 2}")
            os.replace(link, live)
            for folder in (first, second):
                staged = folder / "unduh/.stage"
                staged.write_bytes(versions[turn % len(versions)])
                os.replace(staged, folder / "unduh/besar.bin")

    app = Starlette(routes=[Mount("/", live_site(live))])
    caplog.set_level(logging.INFO)
    with ThreadServer(app) as server:
        switcher = threading.Thread(target=publisher)
        switcher.start()
        seen: set[tuple[str, int]] = set()
        failures: list[str] = []

        def reader(headers: dict[str, str]) -> None:
            with httpx.Client(base_url=server.url, timeout=10, headers=headers) as http:
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    for path, bodies in pages.items():
                        response = http.get(path)
                        if response.status_code != 200 or response.content not in bodies:
                            failures.append(f"{path}: {response.status_code}")
                        seen.add((path, len(response.content)))
                    for path in ("/.pantau-build", "/../.live.pantau-state", "/%2e%2e/pantau.db"):
                        if http.get(path).status_code != 404:
                            failures.append(path)

        readers = [
            threading.Thread(target=reader, args=(headers,))
            for headers in ({"Accept-Encoding": "gzip"}, {"Accept-Encoding": "identity"}) * 3
        ]
        for thread in readers:
            thread.start()
        for thread in readers:
            thread.join()
        stop.set()
        switcher.join()
    assert failures == []
    assert {size for path, size in seen if path == "/"} == {len(b) for b in pages["/"]}
    assert len({size for path, size in seen if path == "/unduh/besar.bin"}) > 1
    no_server_errors(caplog.records)


@pytest.mark.slow
def test_the_live_site_answers_404_until_the_first_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = tmp_path / "live"
    app = Starlette(routes=[Mount("/", live_site(live))])
    with ThreadServer(app) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/").status_code == 404
        assert http.get("/tahapan").status_code == 404
        (tmp_path / "builds/1/tahapan").mkdir(parents=True)
        (tmp_path / "builds/1/tahapan/index.html").write_text("tahapan")
        live.symlink_to("builds/1")
        assert http.get("/tahapan").status_code == 301
        assert http.get("/tahapan/").text == "tahapan"
    no_server_errors(caplog.records)


@pytest.fixture(scope="module")
def sync_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = scratch_server(tmp_path_factory)
    yield process
    process.stop()
    log = process.log.read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log


@pytest.mark.slow
def test_the_sync_server_serves_its_live_site_the_same_way(sync_server: ServerProcess) -> None:
    live = (sync_server.data / "live").resolve()
    page = (live / "404.html").read_bytes()
    data = (live / ZIP).read_bytes()
    port = sync_server.port
    with sync_server.client() as http:
        moved = http.get("/tahapan?q=1")
        assert moved.status_code == 301 and moved.headers["location"] == "/tahapan/?q=1"
        missing = http.get("/tidak-ada")
        assert missing.status_code == 404 and missing.content == page
        first = http.get("/tahapan/")
        assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
        assert first.headers["cache-control"] == "no-cache"
        etag = first.headers["etag"]
        assert http.get("/tahapan/", headers={"If-None-Match": etag}).status_code == 304
        modified = first.headers["last-modified"]
        assert http.get("/tahapan/", headers={"If-Modified-Since": modified}).status_code == 304
        plain = http.get("/tahapan/", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == (live / "tahapan/index.html").read_bytes()
        part = http.get(f"/{ZIP}", headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == data[:100]
        assert http.get(f"/{ZIP}", headers={"Range": "bytes=99999999-"}).status_code == 416
        assert http.get(f"/{ZIP}", headers={"Range": "bytes=5-1"}).status_code == 400
        api = http.get("/api/health")
        assert api.status_code == 200 and api.json()["status"] in ("ok", "starting")
        assert http.get("/api/nothing-here").status_code == 404
        assert http.put("/tahapan/").status_code == 405
    for target in (
        b"/.pantau-build",
        b"/../.live.pantau-state",
        b"/%2e%2e/.live.pantau-state",
        b"/%2e%2e/pantau.db",
        b"/..%2fpantau.db",
        b"/%2e%2e/%2e%2e/builds",
        b"/%00",
        b"/" + b"a" * 5000,
    ):
        assert raw_get(port, target) == 404, target
    for value in (b"bytes=99999999-", b"bytes=5-1", b"bytes=" + b"0-0," * 300 + b"1-1"):
        assert raw_get(port, ("/" + ZIP).encode(), b"Range: " + value + b"\r\n") < 500
