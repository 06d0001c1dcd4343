"""The corpus of malformed content (tests/corpus/content), sent to a real server as API
payloads: every record file is refused with a 4xx and a sentence, before anything is
committed, and the server keeps publishing. Plus payloads that are malformed as HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from site_builder.models import COLLECTIONS

from .conftest import STAGE
from .server import ServerProcess, make_token, scratch_server
from .test_corpus import CASES, CORPUS

pytestmark = pytest.mark.slow

#: Every corpus file that is a record (site.yaml and regions.yaml go through other routes).
RECORD_CASES = [c for c in CASES if c["into"].split("/", 1)[0] in COLLECTIONS]

#: Payloads malformed as requests rather than as records: (method, path, headers, body).
REQUESTS: list[tuple[str, str, dict[str, str | bytes], bytes]] = [
    ("PUT", "/api/records/stages/x", {"Content-Type": "application/json"}, b'{"text": 1}'),
    ("PUT", "/api/records/stages/x", {"Content-Type": "application/json"}, b'{"text": [""]}'),
    ("PUT", "/api/records/stages/x", {"Content-Type": "application/json"}, b'"\\ud800"'),
    ("PUT", "/api/records/stages/x", {"Content-Type": "application/json"}, b"[" * 10000),
    ("PUT", "/api/records/stages/x", {"Content-Type": "application/json"}, b"{"),
    ("PUT", "/api/records/stages/x", {"Content-Type": "image/png"}, b"\x89PNG"),
    ("PUT", "/api/records/stages/x", {"Content-Type": "text/markdown"}, b"\xff\xfe\x00"),
    ("PUT", "/api/records/stages/x", {"If-Match": "\u00b2".encode()}, b""),
    ("PUT", "/api/records/stages/x", {"If-Match": "-1"}, b"---\ntitle: x\n---\n"),
    ("PUT", "/api/records/stages/x", {"If-Match": "99999999999999999999999"}, b""),
    ("POST", "/api/records/stages/kampanye/revert", {}, b'{"revision": 1e400}'),
    ("POST", "/api/records/stages/kampanye/revert", {}, b'{"revision": true}'),
    ("POST", "/api/records/stages/kampanye/revert", {}, b'{"revision": 1.9}'),
    ("POST", "/api/records/stages/kampanye/revert", {}, b'{"revision": "2"}'),
    ("POST", "/api/records/stages/kampanye/revert", {}, b"[]"),
    ("GET", "/api/changes?since=" + "9" * 400, {}, b""),
    ("GET", "/api/changes?since=-1", {}, b""),
    ("GET", "/api/changes?since=satu", {}, b""),
    ("GET", "/api/records/" + "x" * 5000, {}, b""),
    ("DELETE", "/api/records/stages/..%2F..%2Fsite", {}, b""),
    ("POST", "/api/assets", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
    ("POST", "/api/assets", {"Content-Type": "application/octet-stream"}, b"\x00" * 100),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    kampanye = STAGE.replace("Pemungutan suara", "Kampanye")
    process = scratch_server(tmp_path_factory, {"stages/kampanye.md": kampanye})
    yield process
    process.stop()


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client(make_token(server.data, "penguji", "admin")) as client:
        yield client


def assert_refused_in_a_sentence(answer: httpx.Response) -> dict[str, Any]:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    body = answer.json()
    assert isinstance(body["error"], str) and len(body["error"]) > 10
    assert "Traceback" not in answer.text
    return body


def test_every_record_of_the_corpus_is_sent(http: httpx.Client) -> None:
    assert len(RECORD_CASES) + len(REQUESTS) >= 100


@pytest.mark.parametrize("case", RECORD_CASES, ids=[c["file"] for c in RECORD_CASES])
def test_each_malformed_record_is_refused_before_anything_is_committed(
    http: httpx.Client, server: ServerProcess, case: dict[str, Any]
) -> None:
    collection, name = case["into"].split("/", 1)
    slug, _, ext = name.rpartition(".")
    before = http.get("/api/changes", params={"since": 0}).json()["last_seq"]
    answer = http.put(
        f"/api/records/{collection}/{quote(slug, safe='')}",
        content=(CORPUS / case["file"]).read_bytes(),
        headers={
            "If-None-Match": "*",
            "Content-Type": "application/yaml" if ext in ("yaml", "yml") else "text/markdown",
        },
    )
    assert_refused_in_a_sentence(answer)
    assert http.get("/api/changes", params={"since": 0}).json()["last_seq"] == before
    assert httpx.get(server.url + "/", timeout=5).status_code == 200  # still publishing


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    REQUESTS,
    ids=[f"{m} {p[:40]} {h!r:.30} {b[:20]!r}" for m, p, h, b in REQUESTS],
)
def test_each_malformed_request_is_a_4xx_with_a_sentence(
    http: httpx.Client, method: str, path: str, headers: dict[str, str | bytes], body: bytes
) -> None:
    answer = http.request(method, path, headers=headers, content=body)
    assert_refused_in_a_sentence(answer)
