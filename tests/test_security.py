"""Hostile and broken input against the real sync server (`pantau serve` on 127.0.0.1, a real
SQLite file): names, payloads that cost, image bombs, failed logins, malformed requests,
broken builds and broken files. Each test names the defect it guards against; SECURITY.md
cites them."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import shutil
import stat
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from .conftest import CAMPAIGN, CONTENT, STAGE, write_scratch
from .server import ServerProcess, make_token

# Real servers: left out of the quick run (-m 'not slow').
pytestmark = pytest.mark.slow

STAGE_URL = "/api/records/stages/pemungutan-suara"
CAMPAIGN_URL = "/api/records/campaigns/ayo-memilih"
MARKDOWN = {"Content-Type": "text/markdown"}
VALID_STAGE = (
    "---\ntitle: Baru\nphase: pasca\nstart: 2025-02-20\nsummary: Baru.\n"
    "sources:\n  - title: Sumber uji\n    url: https://example.org/uji\n---\n"
)


def write_seed(folder: Path) -> Path:
    return write_scratch(folder)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    seed = write_seed(tmp_path_factory.mktemp("seed"))
    process = ServerProcess(tmp_path_factory.mktemp("server") / "data", seed).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    return {role: make_token(server.data, role, role) for role in ("admin", "editor", "campaign")}


def last_seq(server: ServerProcess) -> int:
    return int(httpx.get(f"{server.url}/api/health", timeout=5).json()["last_seq"])


def wait_for_build(http: httpx.Client, build: int) -> dict:
    for _ in range(400):
        row = next(b for b in http.get("/api/builds").json()["builds"] if b["id"] == build)
        if row["status"] in ("success", "failed"):
            return row
        time.sleep(0.05)
    raise AssertionError(f"build {build} never finished")


def assert_sentence(response: httpx.Response) -> str:
    """A 4xx answered with a sentence: no traceback, no memory address, no server path."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert isinstance(error, str) and len(error) > 10
    for leak in ("Traceback", " object at 0x", "/tmp/", "/work/", "BytesIO"):
        assert leak not in response.text, (leak, response.text[:300])
    return error


# 1. names ----------------------------------------------------------------------------------------


ODD_SLUGS = [
    "a" * 300,
    "a" * 81,
    "a--b",
    "-a",
    "a-",
    "A",
    "a.b",
    "a_b",
    "%C3%A9",  # é
    "%EF%BC%A1",  # a fullwidth A
    "%D9%A1",  # an Arabic-Indic digit one
    "a%0A",
    "a%20b",
    "a%00",
    "..",
]


def test_long_and_odd_names_are_refused_before_anything_is_committed(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    before = last_seq(server)
    files = sorted(str(p) for p in server.data.rglob("*") if p.is_file() and "content" in p.parts)
    with server.client(tokens["admin"]) as http:
        for slug in ODD_SLUGS:
            url = f"/api/records/stages/{slug}"
            put = http.put(url, content=VALID_STAGE, headers={**MARKDOWN, "If-None-Match": "*"})
            assert put.status_code in (404, 405), (slug, put.status_code, put.text[:200])
            if put.status_code == 404:
                assert_sentence(put)
            assert http.delete(url, headers={"If-Match": "1"}).status_code in (404, 405)
        longest = http.put(
            "/api/records/stages/" + "a" * 80,
            content=VALID_STAGE,
            headers={**MARKDOWN, "If-None-Match": "*"},
        )
        assert longest.status_code == 201, longest.text
        assert http.delete("/api/records/stages/" + "a" * 80, headers={"If-Match": "1"}).is_success
    assert last_seq(server) == before + 2  # the 80-character record, and its deletion
    after = sorted(str(p) for p in server.data.rglob("*") if p.is_file() and "content" in p.parts)
    assert after == files


def test_start_up_survives_a_record_file_it_cannot_write(tmp_path: Path) -> None:
    """A folder where a record's file should be: start-up logs a sentence, keeps serving the
    record from the database and says so in /api/health; an update of that record is
    refused before anything is committed."""
    server = ServerProcess(tmp_path / "data", write_seed(tmp_path / "seed")).start()
    token = make_token(server.data, "admin", "admin")
    url = "/api/records/stages/terhalang"
    with server.client(token) as http:
        made = http.put(url, content=VALID_STAGE, headers={**MARKDOWN, "If-None-Match": "*"})
        assert made.status_code == 201, made.text
    server.stop()
    record = server.data / "content/stages/terhalang.md"
    record.unlink()
    (record / "isi").mkdir(parents=True)  # a folder in the file's place
    try:
        server.start()
        with server.client(token) as http:
            health = http.get("/api/health")
            assert health.status_code == 503 and health.json()["status"] == "degraded"
            (problem,) = health.json()["problems"]
            assert problem.startswith("stages/terhalang.md cannot be written: a folder is in")
            assert http.get(url).json()["revision"] == 1  # served from the database
            seq = health.json()["last_seq"]
            refused = http.put(
                url,
                content=VALID_STAGE.replace("Baru.", "Lagi."),
                headers={**MARKDOWN, "If-Match": "1"},
            )
            assert refused.status_code == 503
            assert "stages/terhalang.md cannot be written" in refused.json()["error"]
            assert http.get("/api/health").json()["last_seq"] == seq  # nothing committed
            assert len(http.get(f"{url}/history").json()["revisions"]) == 1
        page = httpx.get(f"{server.url}/tahapan/terhalang/")
        assert page.status_code == 200 and "Baru" in page.text
    finally:
        server.stop()
    log = server.log.read_text()
    assert "stages/terhalang.md cannot be written: a folder is in its place" in log
    assert "Traceback" not in log


# 2. costly payloads do not stall the site --------------------------------------------------------


def costly_stage(values: int = 19_800) -> str:
    """As large as the YAML bounds allow: 6,600 one-entry mappings where text is expected
    (19,800 values), each a problem the server must find, place and report."""
    items = "".join(f"  - {{k{i}: v}}\n" for i in range(values // 3))
    return f"---\ntitle: X\nphase: pasca\nstart: 2025-01-01\nsummary: Y\nmonitoring:\n{items}---\n"


def test_costly_updates_do_not_stall_the_public_site_or_health(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    text = costly_stage().encode()
    stop = threading.Event()
    refused: list[int] = []

    def hostile() -> None:
        with server.client(tokens["editor"]) as http:
            http.timeout = httpx.Timeout(60)
            while not stop.is_set():
                response = http.put(STAGE_URL, content=text, headers={**MARKDOWN, "If-Match": "1"})
                refused.append(response.status_code)

    def reader() -> None:  # reads records while the updates are validated
        with server.client(tokens["editor"]) as http:
            http.timeout = httpx.Timeout(60)
            while not stop.is_set():
                http.get(STAGE_URL)

    threads = [threading.Thread(target=hostile) for _ in range(8)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    latencies: dict[str, list[float]] = {"/api/health": [], "/": [], "/tahapan/": []}
    try:
        time.sleep(0.3)
        deadline = time.monotonic() + 4
        with httpx.Client(base_url=server.url, timeout=30) as http:
            while time.monotonic() < deadline:
                for path, seen in latencies.items():
                    started = time.monotonic()
                    assert http.get(path).status_code == 200
                    seen.append(time.monotonic() - started)
                time.sleep(0.02)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert len(refused) >= 8 and set(refused) == {422}, refused[:10]
    worst = {path: max(seen) for path, seen in latencies.items()}
    assert all(seconds < 1.0 for seconds in worst.values()), worst


def test_an_error_in_a_background_thread_ends_the_process(tmp_path: Path) -> None:
    """The builder cannot record that a build started (the database refuses): rather than
    live on with no publishing, the process ends with a sentence, so a supervisor restarts
    it."""
    import sqlite3

    server = ServerProcess(tmp_path / "data", write_seed(tmp_path / "seed")).start()
    token = make_token(server.data, "admin", "admin")
    db = sqlite3.connect(server.data / "pantau.db")
    db.execute(
        "CREATE TRIGGER refuse BEFORE UPDATE ON builds WHEN NEW.status = 'running' "
        "BEGIN SELECT RAISE(ABORT, 'the disk refuses'); END"
    )
    db.commit()
    db.close()
    try:
        with server.client(token) as http:
            assert http.post("/api/builds").status_code == 202
        assert server.process is not None
        code = server.process.wait(timeout=20)
    finally:
        server.kill()
    assert code != 0
    log = server.log.read_text()
    assert "the server's pantau-builder thread stopped on an error" in log
    assert "the disk refuses" in log and "Traceback" not in log


def test_an_unexpected_server_error_is_one_sentence(tmp_path: Path) -> None:
    """A fault of the server itself (here its database refuses to record an upload) is a
    500 with a sentence, and one log line: no traceback for the client or the log."""
    import sqlite3

    server = ServerProcess(tmp_path / "data", write_seed(tmp_path / "seed")).start()
    token = make_token(server.data, "campaign", "campaign")
    db = sqlite3.connect(server.data / "pantau.db")
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON assets "
        "BEGIN SELECT RAISE(ABORT, 'the disk refuses'); END"
    )
    db.commit()
    db.close()
    image = io.BytesIO()
    Image.new("RGB", (8, 8)).save(image, "PNG")
    try:
        with server.client(token) as http:
            failed = http.post("/api/assets", content=image.getvalue(), headers=PNG)
            assert http.get("/api/records/campaigns").status_code == 200  # still serving
    finally:
        server.stop()
    assert failed.status_code == 500
    assert failed.json()["error"].startswith("the server failed on this request")
    assert "disk refuses" not in failed.text
    log = server.log.read_text()
    assert "POST /api/assets failed: IntegrityError: the disk refuses" in log
    assert "Traceback" not in log


def test_memory_running_out_ends_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding an image when the process may not grow any more: MemoryError ends the
    process (non-zero) instead of leaving it hung."""
    import resource

    # One malloc arena, so that the address-space limit set below is where memory ends
    # (other arenas reserve address space ahead of use).
    monkeypatch.setenv("MALLOC_ARENA_MAX", "1")
    server = ServerProcess(tmp_path / "data", write_seed(tmp_path / "seed")).start()
    token = make_token(server.data, "campaign", "campaign")
    image = io.BytesIO()
    Image.new("RGB", (8, 8)).save(image, "PNG")
    with server.client(token) as http:
        assert http.post("/api/assets", content=image.getvalue(), headers=PNG).status_code == 201
    assert server.process is not None
    pid = server.process.pid
    size = server.memory("VmSize")
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (size + 24 * 2**20, size + 24 * 2**20))
        # The process ends while it answers.
        with server.client(token) as http, contextlib.suppress(httpx.HTTPError):
            http.post("/api/assets", content=png(4000, 4000), headers=PNG)
        code = server.process.wait(timeout=20)
    finally:
        server.kill()
    assert code != 0
    log = server.log.read_text()
    assert "the server ran out of memory answering POST /api/assets" in log
    assert "Traceback" not in log


# 3. a failing publisher shows in /api/health ---------------------------------------------------


def test_health_reports_a_failing_publisher(server: ServerProcess, tokens: dict[str, str]) -> None:
    with server.client(tokens["editor"]) as http:
        far = STAGE.replace("start: 2024-11-27", "start: 2024-11-27\nend: 9999-12-31")
        text = http.get(STAGE_URL).json()
        refused = http.put(
            STAGE_URL, content=far, headers={**MARKDOWN, "If-Match": str(text["revision"])}
        )
        assert refused.status_code == 422
        assert refused.json()["details"][0]["field"] == "end"
    assert httpx.get(f"{server.url}/api/health").json()["status"] == "ok"
    broken = server.data / "content/templates/base.html"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text("{{ this_is_not_defined }}")
    try:
        with server.client(tokens["admin"]) as http:
            build = http.post("/api/builds").json()["build"]["id"]
            assert wait_for_build(http, build)["status"] == "failed"
            detailed = http.get("/api/health")
        public = httpx.get(f"{server.url}/api/health")
        for response in (public, detailed):
            assert response.status_code == 503
            assert response.json()["status"] == "degraded"
            assert response.json()["problems"][0].startswith(f"build {build} failed, so build ")
        assert "this_is_not_defined" in detailed.json()["problems"][0]
        assert "base.html:1" in detailed.json()["problems"][0]
        assert "this_is_not_defined" not in public.text  # the reason is for token holders
        assert str(server.data) not in detailed.text
    finally:
        broken.unlink()
    with server.client(tokens["admin"]) as http:
        build = http.post("/api/builds").json()["build"]["id"]
        assert wait_for_build(http, build)["status"] == "success"
    health = httpx.get(f"{server.url}/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["problems"] == []


# 4. image bombs ----------------------------------------------------------------------------------

PNG = {"Content-Type": "image/png"}


@functools.cache
def png(width: int, height: int, pixels: bool = True) -> bytes:
    """A real RGB PNG of zeros, compressed: a few hundred kilobytes that decode to
    width * height * 3 bytes (without ``pixels``, only its header is right: enough for a
    server that reads the header first)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    data = b"".join(packer.compress(row) for _ in range(height if pixels else 1))
    data += packer.flush()
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_image_bombs_are_refused_before_decoding(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    bomb = png(12000, 12000)
    assert len(bomb) < 500_000  # 420 KB that would decode to 432 MB
    before = server.memory()
    with server.client(tokens["campaign"]) as http:
        huge = http.post("/api/assets", content=png(20000, 20000, False), headers=PNG)
        assert huge.status_code == 413
        assert "at most 16,777,216 pixels" in assert_sentence(huge)
        over = http.post("/api/assets", content=png(5000, 5000, False), headers=PNG)
        assert over.status_code == 413
        assert "5000 x 5000 pixels" in assert_sentence(over)
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(lambda _: http.post("/api/assets", content=bomb, headers=PNG), range(6))
            )
    assert [a.status_code for a in answers] == [413] * 6
    grown = server.memory() - before
    assert grown < 100 * 2**20, f"the server's peak memory grew by {grown / 2**20:.0f} MiB"


def test_image_errors_are_sentences(server: ServerProcess, tokens: dict[str, str]) -> None:
    good = io.BytesIO()
    Image.new("RGB", (64, 32), (10, 120, 200)).save(good, "PNG")
    with server.client(tokens["campaign"]) as http:
        for data, kind in (
            (b"\x89PNG not really", "image/png"),
            (b"GIF89a" + b"\x00" * 64, "image/png"),
            (good.getvalue()[:60], "image/png"),  # cut short
            (good.getvalue(), "image/jpeg"),
        ):
            response = http.post("/api/assets", content=data, headers={"Content-Type": kind})
            assert response.status_code == 415
            assert_sentence(response)
        gif = http.post("/api/assets", content=b"GIF89a", headers={"Content-Type": "image/gif"})
        assert gif.status_code == 415
        assert_sentence(gif)
        ok = http.post("/api/assets", content=good.getvalue(), headers=PNG)
        assert ok.status_code == 201, ok.text
        record = http.get(CAMPAIGN_URL).json()
        for src in ("../x.png", "/etc/x.png", "{src: a.png}", "a.gif", "tidak-ada.png"):
            text = record["text"].replace(
                "checked: unchecked", f"checked: unchecked\nimage:\n  src: {src}\n  alt: Poster"
            )
            response = http.put(
                CAMPAIGN_URL,
                content=text,
                headers={**MARKDOWN, "If-Match": str(record["revision"])},
            )
            assert response.status_code == 422, (src, response.text)
            assert_sentence(response)
            (problem,) = response.json()["details"]
            assert problem["field"] == "image.src", (src, problem)
            assert problem["path"] == "campaigns/ayo-memilih.md"


# 5. failed logins --------------------------------------------------------------------------------


def local_client(server: ServerProcess, address: str, token: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.x.y.z is this machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(
        base_url=server.url,
        transport=transport,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_failed_logins_are_slowed_per_token_and_address_never_by_forwarded_headers(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "data", auth_failures=5).start()
    admin = make_token(server.data, "admin", "admin")
    victim = make_token(server.data, "victim", "editor")
    url = "/api/records/stages"
    try:
        # A rotating X-Forwarded-For neither escapes the limit...
        with local_client(server, "127.0.0.1", "pantau_wrong") as http:
            codes = [
                http.get(url, headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
                for n in range(7)
            ]
        assert codes == [401] * 5 + [429] * 2
        # ...nor aims it at someone else.
        with local_client(server, "127.0.0.1", "pantau_aimed") as http:
            for _ in range(7):
                http.get(url, headers={"X-Forwarded-For": "127.0.0.2"})
        with local_client(server, "127.0.0.2", victim) as http:
            assert http.get(url).status_code == 200
        with local_client(server, "127.0.0.2", "pantau_victim-typo") as http:
            assert http.get(url).status_code == 401
        # A valid token is never refused because others failed from the same address.
        with local_client(server, "127.0.0.1", admin) as http:
            assert http.get(url).status_code == 200
        # Guessing with ever new tokens is slowed too (ten times the limit per address).
        answers = []
        for n in range(52):
            with local_client(server, "127.0.0.3", f"pantau_guess-{n}") as http:
                answers.append(http.get(url).status_code)
        assert answers[:50] == [401] * 50 and answers[50:] == [429, 429]
        with local_client(server, "127.0.0.3", admin) as http:
            assert http.get(url).status_code == 200
    finally:
        server.stop()


def test_forwarded_addresses_count_only_from_a_configured_proxy(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data", auth_failures=2, extra_args=("--forwarded-allow-ips", "127.0.0.1")
    ).start()
    url = "/api/records/stages"
    try:
        with local_client(server, "127.0.0.1", "pantau_wrong") as http:
            behind = [
                http.get(url, headers={"X-Forwarded-For": "203.0.113.9"}).status_code
                for _ in range(3)
            ]
            other = http.get(url, headers={"X-Forwarded-For": "203.0.113.10"}).status_code
        assert behind == [401, 401, 429] and other == 401
        with local_client(server, "127.0.0.4", "pantau_wrong") as http:  # not the proxy
            spoofed = [
                http.get(url, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
                for n in range(3)
            ]
        assert spoofed == [401, 401, 429]
    finally:
        server.stop()


# 6. malformed requests get a 4xx with a sentence -------------------------------------------------


def test_malformed_requests_get_a_4xx_with_a_sentence(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    deep = b'{"text": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    json_bodies = [
        b'{"text": "\\ud800"}',  # an unpaired surrogate
        b'{"text": ["a list"]}',
        b'{"text": "---\\ntitle: X\\n---\\n", "format": ["md"]}',
        b'{"text": "---\\ntitle: X\\n---\\n", "format": {"md": 1}}',
        b'["text"]',
        deep,
        b"\xff\xfe not json",
    ]
    with server.client(tokens["admin"]) as http:
        for value in (b"\xb2", "\u0661".encode(), b"1e3", b"-1", b"99999999999999999999999"):
            response = http.put(STAGE_URL, content=STAGE, headers={**MARKDOWN, "If-Match": value})
            assert response.status_code == 400, (value, response.text)
            assert_sentence(response)
        for body in json_bodies:
            response = http.put(
                STAGE_URL,
                content=body,
                headers={"Content-Type": "application/json", "If-Match": "1"},
            )
            assert response.status_code == 400, (body[:40], response.text)
            assert_sentence(response)
        for revision in ("1e400", "true", "1.9", '"1"', "-1", "0", "[1]", "null", str(2**70)):
            response = http.post(
                f"{STAGE_URL}/revert",
                content=f'{{"revision": {revision}}}',
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 400, (revision, response.text)
            assert_sentence(response)
        for query in (
            "since=" + "9" * 40,
            "since=-1",
            "since=abc",
            "since=",
            "since=1e3",
            "limit=" + "9" * 40,
            "since=%D9%A1",
        ):
            response = http.get(f"/api/changes?{query}")
            assert response.status_code == 400, (query, response.text)
            assert_sentence(response)
        listed = http.put(
            STAGE_URL,
            content=STAGE.replace("title: Pemungutan suara", "title: [a, b]"),
            headers={**MARKDOWN, "If-Match": "1"},
        )
        assert listed.status_code in (409, 422)
        assert_sentence(listed)


def test_every_api_path_answers_json(server: ServerProcess, tokens: dict[str, str]) -> None:
    with server.client(tokens["admin"]) as http:
        wrong_method = http.get("/api/assets")
        assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
        assert_sentence(wrong_method)
        for path in ("/api/tidak-ada", "/api//records", "/api/records/stages/a/history/x"):
            missing = http.get(path)
            assert missing.status_code == 404, path
            assert "see /api/openapi.json" in assert_sentence(missing)


# 7. a file broken by hand while the server was down ---------------------------------------------


def test_a_file_broken_while_the_server_was_down_is_not_imported(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", write_seed(tmp_path / "seed")).start()
    token = make_token(server.data, "admin", "admin")
    with server.client(token) as http:
        good = http.get(STAGE_URL).json()
    server.stop()
    path = server.data / "content/stages/pemungutan-suara.md"
    broken = "---\ntitle: [unclosed\n---\nRusak.\n"
    path.write_text(broken)
    try:
        server.start()
        with server.client(token) as http:
            now = http.get(STAGE_URL).json()
            assert (now["revision"], now["text"]) == (good["revision"], good["text"])
            assert len(http.get(f"{STAGE_URL}/history").json()["revisions"]) == 1
            health = http.get("/api/health").json()
        (notice,) = health["notices"]
        assert notice.startswith("stages/pemungutan-suara.md was changed while the server")
        assert httpx.get(f"{server.url}/api/health").json()["notices"] == []  # token holders
        assert path.read_text() == good["text"]  # the last good revision is back in place
        (kept,) = (server.data / "rejected").rglob("pemungutan-suara.md")
        assert kept.read_text() == broken  # and nothing is lost
        assert "Pemungutan suara" in httpx.get(f"{server.url}/tahapan/pemungutan-suara/").text
    finally:
        server.stop()


# 8. messages name content-relative paths ---------------------------------------------------------


def test_refused_delete_names_content_relative_paths(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    with server.client(tokens["editor"]) as http:
        team = http.get("/api/records/teams/keamanan").json()
        response = http.delete(
            "/api/records/teams/keamanan", headers={"If-Match": str(team["revision"])}
        )
    assert response.status_code == 422
    (problem,) = response.json()["details"]
    assert problem["path"] == "stages/pemungutan-suara.md"
    assert problem["line"] == 7 and problem["field"] == "divisions[0]"
    assert str(server.data) not in response.text and "/content/" not in response.text


# 9. headers --------------------------------------------------------------------------------------


def assert_hardened(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff", response.url
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "server" not in headers, headers.get("server")


def test_every_answer_is_hardened(server: ServerProcess, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for method, path in (
            ("GET", "/"),
            ("GET", "/tahapan/"),
            ("GET", "/static/pantau.js"),
            ("GET", "/tahapan"),
            ("GET", "/tidak-ada/"),
            ("POST", "/index.html"),
            ("GET", "/api/health"),
            ("GET", "/api/openapi.json"),
            ("GET", "/api/records/stages"),
            ("GET", "/api/tidak-ada"),
            ("DELETE", "/api/health"),
        ):
            assert_hardened(http.request(method, path))
    for scheme in ("Bearer", "bearer", "BEARER"):
        headers = {"Authorization": f"{scheme} {tokens['editor']}"}
        response = httpx.get(f"{server.url}/api/records/stages", headers=headers)
        assert response.status_code == 200, scheme
        assert_hardened(response)


def test_the_built_site_needs_no_inline_script_or_style(server: ServerProcess) -> None:
    """What the Content-Security-Policy forbids is not in the site: inline scripts, event
    handler attributes, style attributes or elements, javascript: links."""
    live = (server.data / "live").resolve()
    pages = [p for p in live.rglob("*") if p.suffix in (".html", ".svg")]
    assert len(pages) > 10
    forbidden = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<[a-z][^>]*\s(on[a-z]+|style)\s*=|<style"
        r"""|(href|src|action)\s*=\s*["']?\s*javascript:""",
        re.I,
    )
    found = {
        str(p.relative_to(live)): m.group(0)
        for p in pages
        if (m := forbidden.search(p.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_preview_is_hardened_too(tmp_path: Path, server: ServerProcess) -> None:
    from site_builder.preview import make_server

    folder = tmp_path / "site"
    shutil.copytree((server.data / "live").resolve(), folder)
    preview = make_server(folder, port=0)
    thread = threading.Thread(target=preview.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{preview.server_port}"
        for _ in range(100):
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        for path in ("/", "/tahapan/", "/tahapan", "/tidak-ada/", "/static/pantau.js"):
            assert_hardened(httpx.get(url + path, timeout=5))
        assert_hardened(httpx.post(url + "/", timeout=5))
    finally:
        preview.shutdown()
        preview.server_close()


# 10. the API document stays the same -------------------------------------------------------------


def test_api_document_lists_each_route_with_its_summary(server: ServerProcess) -> None:
    document = httpx.get(f"{server.url}/api/openapi.json").json()
    summaries = {
        (path, method): operation["summary"]
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert summaries[("/api/records/{collection}/{slug}/revert", "post")] == (
        "Make an old revision current again (admin)."
    )
    assert summaries[("/api/health", "get")].startswith("Liveness")
    assert len(summaries) == 18
    assert json.dumps(document).count("requestBody") == 5


# the threat model (SECURITY.md) ------------------------------------------------------------------

ROLES = ("admin", "editor", "campaign")


def test_each_role_writes_exactly_its_collections(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    from site_builder.models import COLLECTIONS

    seen: dict[tuple[str, str], int] = {}
    for role in ROLES:
        with server.client(tokens[role]) as http:
            for name, spec in COLLECTIONS.items():
                assert http.get(f"/api/records/{name}").status_code == 200  # every role reads
                url = f"/api/records/{name}/peran-{role}"
                made = http.put(
                    url, content=spec.skeleton, headers={**MARKDOWN, "If-None-Match": "*"}
                )
                seen[(role, name)] = made.status_code
                if made.status_code == 201:
                    assert http.delete(url, headers={"If-Match": "1"}).status_code == 200
                else:
                    assert "may not change" in assert_sentence(made)
    assert seen == {
        (role, name): 201 if role in spec.writers else 403
        for role in ROLES
        for name, spec in COLLECTIONS.items()
    }
    assert {(r, n) for (r, n), code in seen.items() if code == 201} == {
        ("admin", "stages"),
        ("admin", "teams"),
        ("admin", "campaigns"),
        ("admin", "pages"),
        ("admin", "findings"),
        ("editor", "stages"),
        ("editor", "teams"),
        ("editor", "findings"),
        ("campaign", "campaigns"),
    }


def test_only_admin_reverts_and_starts_builds_and_editors_upload_nothing(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(image, "PNG")
    answers: dict[str, tuple[int, int, int]] = {}
    for role in ROLES:
        with server.client(tokens[role]) as http:
            revert = http.post(f"{STAGE_URL}/revert", json={"revision": 1}).status_code
            build = http.post("/api/builds").status_code
            upload = http.post("/api/assets", content=image.getvalue(), headers=PNG).status_code
        answers[role] = (revert, build, upload)
    assert answers == {
        "admin": (200, 202, 201),
        "editor": (403, 403, 403),
        "campaign": (403, 403, 201),
    }


def test_a_campaign_token_cannot_put_script_on_the_site(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    with server.client(tokens["campaign"]) as http:
        record = http.get(CAMPAIGN_URL).json()
        text = record["text"].replace(
            "Isi kampanye.",
            "Isi kampanye naskah-uji.\n\n<script>alert(1)</script>\n\n"
            '<img src="x" onerror="alert(2)">\n\n[klik](javascript:alert(3))\n\n'
            '<a href="x" onclick="alert(4)">a</a> <iframe src="https://example.org"></iframe>',
        )
        text = text.replace("call_to_action: Datang ke TPS.", "call_to_action: '<b onmouseover=x>'")
        response = http.put(
            CAMPAIGN_URL, content=text, headers={**MARKDOWN, "If-Match": str(record["revision"])}
        )
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 10
    while "naskah-uji" not in (page := httpx.get(f"{server.url}/kampanye/ayo-memilih/").text):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    body = page.split("<main", 1)[1]
    assert "&lt;b onmouseover=x&gt;" in body  # shown as text, not as a tag
    for markup in (
        r"<script",
        r"<iframe",
        r"<[a-z][^>]*\son[a-z]+\s*=",  # an event handler attribute in a tag
        r"""(href|src)\s*=\s*["']?\s*javascript:""",
    ):
        assert not re.search(markup, body, re.I), markup


def test_tokens_are_stored_only_as_hashes(server: ServerProcess, tokens: dict[str, str]) -> None:
    import hashlib

    stored = b"".join(p.read_bytes() for p in server.data.glob("pantau.db*"))
    for token in tokens.values():
        assert token.encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored


def test_an_anonymous_reader_gets_the_published_site_and_nothing_else(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    draft = CAMPAIGN.replace("title: Ayo memilih", "title: Rencana rahasia\ndraft: true")
    with server.client(tokens["campaign"]) as http:
        made = http.put(
            "/api/records/campaigns/rahasia",
            content=draft,
            headers={**MARKDOWN, "If-None-Match": "*"},
        )
        assert made.status_code == 201, made.text
        build = made.json()["build"]["id"]
    with server.client(tokens["admin"]) as http:
        assert wait_for_build(http, build)["status"] == "success"
    with httpx.Client(base_url=server.url, timeout=10) as anonymous:
        for path in (
            "/api/records/campaigns",
            "/api/records/campaigns/rahasia",
            "/api/records/campaigns/rahasia/history",
            "/api/changes",
            "/api/builds",
        ):
            assert anonymous.get(path).status_code == 401, path
        assert anonymous.get("/kampanye/rahasia/").status_code == 404
        for path in ("/", "/kampanye/", "/riwayat/", "/data/campaigns.json", "/feed.xml"):
            assert "Rencana rahasia" not in anonymous.get(path).text, path
        for path in (
            "/pantau.db",
            "/%2e%2e/pantau.db",
            "/..%2fpantau.db",
            "/%2e%2e/content/site.yaml",
            "/%2e%2e/builds/",
            "/.pantau-build",
        ):
            assert anonymous.get(path).status_code == 404, path
        health = anonymous.get("/api/health").json()
        assert set(health) == {
            "status",
            "last_seq",
            "live_build",
            "problems",
            "notices",
            "pinned",
        }


def test_a_new_data_folder_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The database (token hashes, every revision) and the copied content (drafts) are the
    owner's alone even under a permissive umask; nginx's group must not read them."""
    from sync_server.server import open_store, private_copy

    old = os.umask(0o022)
    try:
        open_store(tmp_path / "data").close()
        private_copy(CONTENT, tmp_path / "data" / "content")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "data" / "pantau.db").stat().st_mode) == 0o600
    for path in [tmp_path / "data" / "content", *(tmp_path / "data" / "content").rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
