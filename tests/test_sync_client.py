"""Staff copies that edit offline, then push and pull through a real server."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from site_builder.errors import PantauError
from sync_server.client import SyncClient, describe_status, three_way

from .server import ServerProcess, free_port, make_token

# Real servers, real browsers or crash rounds: left out of the quick run (-m 'not slow').
pytestmark = pytest.mark.slow

STAGE = "stages/pemungutan-suara.md"


@pytest.fixture
def server(scratch_content: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", scratch_content).start()
    yield process
    process.stop()


@pytest.fixture
def token(server: ServerProcess) -> str:
    return make_token(server.data, "budi", "admin")


OPEN: list[SyncClient] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def staff_copy(server: ServerProcess, token: str, folder: Path) -> SyncClient:
    client = SyncClient(folder, server.url, token, say=lambda line: None)
    OPEN.append(client)
    client.pull()
    return client


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


def test_pull_into_an_empty_folder(server: ServerProcess, token: str, tmp_path: Path) -> None:
    client = staff_copy(server, token, tmp_path / "ani")
    assert (tmp_path / "ani" / STAGE).read_text() == (server.data / "content" / STAGE).read_text()
    assert describe_status(tmp_path / "ani")[-1].startswith("0 local change(s)")
    assert client.state.last_seq == 3
    assert (tmp_path / "ani" / "site.yaml").is_file()


def test_status_works_offline(server: ServerProcess, token: str, tmp_path: Path) -> None:
    folder = tmp_path / "ani"
    staff_copy(server, token, folder)
    server.stop()
    edit(folder / STAGE, "Hari pemungutan suara.", "Hari H.")
    (folder / "campaigns/ayo-memilih.md").unlink()
    (folder / "stages/baru.md").write_text("---\ntitle: B\n---\n")
    lines = describe_status(folder)
    assert any(line.startswith("modified  stages/pemungutan-suara") for line in lines)
    assert any(line.startswith("deleted   campaigns/ayo-memilih") for line in lines)
    assert any(line.startswith("added     stages/baru") for line in lines)


def test_different_fields_merge(server: ServerProcess, token: str, tmp_path: Path) -> None:
    ani = staff_copy(server, token, tmp_path / "ani")
    budi = staff_copy(server, token, tmp_path / "budi")
    edit(tmp_path / "ani" / STAGE, "summary: Hari pemungutan suara.", "summary: Ringkasan Ani.")
    edit(tmp_path / "budi" / STAGE, "title: Pemungutan suara", "title: Judul Budi")
    assert ani.push() == 1
    assert budi.push() == 1  # 409, merged against the base, pushed again
    assert not budi.state.conflicts
    ani.pull()
    for folder in ("ani", "budi"):
        text = (tmp_path / folder / STAGE).read_text()
        assert "Ringkasan Ani." in text and "Judul Budi" in text, folder
    server_text = (server.data / "content" / STAGE).read_text()
    assert "Ringkasan Ani." in server_text and "Judul Budi" in server_text


def test_same_field_conflicts_and_nothing_is_lost(
    server: ServerProcess, token: str, tmp_path: Path
) -> None:
    said: list[str] = []
    ani = staff_copy(server, token, tmp_path / "ani")
    budi = staff_copy(server, token, tmp_path / "budi")
    budi.say = said.append
    edit(tmp_path / "ani" / STAGE, "summary: Hari pemungutan suara.", "summary: Versi Ani.")
    edit(tmp_path / "budi" / STAGE, "summary: Hari pemungutan suara.", "summary: Versi Budi.")
    ani.push()
    budi.push()
    local = tmp_path / "budi" / STAGE
    copy = local.with_name("pemungutan-suara.server.md")
    assert "Versi Budi." in local.read_text()  # untouched
    assert "Versi Ani." in copy.read_text()  # the server's side, beside it
    assert any("the field 'summary' was changed both here and on the server" in s for s in said)
    assert "stages/pemungutan-suara" in budi.state.conflicts
    assert budi.push() == 0  # nothing is pushed while the conflict stands
    assert "Versi Ani." in (server.data / "content" / STAGE).read_text()
    # Resolve: keep both ideas, delete the server copy, push.
    edit(local, "summary: Versi Budi.", "summary: Versi Ani dan Budi.")
    copy.unlink()
    assert budi.push() == 1
    assert "Versi Ani dan Budi." in (server.data / "content" / STAGE).read_text()


def test_pull_keeps_local_edits_and_applies_others(
    server: ServerProcess, token: str, tmp_path: Path
) -> None:
    ani = staff_copy(server, token, tmp_path / "ani")
    budi = staff_copy(server, token, tmp_path / "budi")
    edit(tmp_path / "ani" / "campaigns/ayo-memilih.md", "Ajakan memilih.", "Ajakan Ani.")
    ani.push()
    edit(tmp_path / "budi" / STAGE, "Isi **tahapan**.", "Isi versi Budi.")
    budi.pull()
    assert "Ajakan Ani." in (tmp_path / "budi/campaigns/ayo-memilih.md").read_text()
    assert "Isi versi Budi." in (tmp_path / "budi" / STAGE).read_text()


def push(folder: Path, server_url: str, token: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sync_server", "sync", "push", "--content", str(folder)]
    return subprocess.run(
        [*command, "--server", server_url],
        capture_output=True,
        text=True,
        env={**os.environ, "PANTAU_TOKEN": token},
    )


def test_server_unreachable_then_resume(server: ServerProcess, token: str, tmp_path: Path) -> None:
    folder = tmp_path / "ani"
    staff_copy(server, token, folder)
    edit(folder / STAGE, "Hari pemungutan suara.", "Hari H, dari lapangan.")
    result = push(folder, f"http://127.0.0.1:{free_port()}", token)
    assert result.returncode == 1
    assert "cannot reach the server" in result.stderr and "Nothing is lost" in result.stderr
    assert "Traceback" not in result.stderr
    assert "dari lapangan" in (folder / STAGE).read_text()
    result = push(folder, server.url, token)
    assert result.returncode == 0, result.stderr
    assert "1 change(s) pushed." in result.stdout
    assert "dari lapangan" in (server.data / "content" / STAGE).read_text()


def test_wrong_token_is_explained(server: ServerProcess, tmp_path: Path) -> None:
    client = SyncClient(tmp_path / "x", server.url, "pantau_wrong", say=lambda line: None)
    OPEN.append(client)
    with pytest.raises(PantauError, match="refused the token"):
        client.pull()


def test_three_way_merge_rules() -> None:
    base = {"a": 1, "b": 1, "c": 1, "updated": "x"}
    local = {"a": 2, "b": 1, "c": 3, "updated": "x"}
    server = {"a": 1, "b": 2, "c": 4, "updated": "z"}
    merged, clashes = three_way(base, local, server)
    assert merged == {"a": 2, "b": 2, "c": 3, "updated": "z"}
    assert clashes == ["c"]


def test_updated_is_the_authors_field_like_any_other() -> None:
    base = {"a": 1, "updated": "x"}
    mine, clashes = three_way(base, {"a": 1, "updated": "y"}, {"a": 2, "updated": "x"})
    assert mine == {"a": 2, "updated": "y"} and clashes == []  # my own time is kept
    _, clashes = three_way(base, {"a": 1, "updated": "y"}, {"a": 1, "updated": "z"})
    assert clashes == ["updated"]  # both set another time: a conflict, as for any field


def test_push_leaves_the_file_exactly_as_written(
    server: ServerProcess, token: str, tmp_path: Path
) -> None:
    ani = staff_copy(server, token, tmp_path / "ani")
    local = tmp_path / "ani" / STAGE
    edit(local, "summary: Hari pemungutan suara.", "summary: Ringkasan Ani.   ")
    written = local.read_bytes()
    assert ani.push() == 1
    assert local.read_bytes() == written
    assert (server.data / "content" / STAGE).read_bytes() == written
    assert b"updated:" not in written
    assert describe_status(tmp_path / "ani")[-1].startswith("0 local change(s)")


def test_records_that_carry_an_updated_line_merge_field_by_field(
    server: ServerProcess, token: str, tmp_path: Path
) -> None:
    ani = staff_copy(server, token, tmp_path / "ani")
    edit(
        tmp_path / "ani" / STAGE,
        "checked: press",
        "checked: press\nupdated: 2024-11-20T10:00:00+08:00",
    )
    assert ani.push() == 1
    budi = staff_copy(server, token, tmp_path / "budi")
    edit(tmp_path / "ani" / STAGE, "summary: Hari pemungutan suara.", "summary: Ringkasan Ani.")
    edit(tmp_path / "budi" / STAGE, "title: Pemungutan suara", "title: Judul Budi")
    assert ani.push() == 1
    assert budi.push() == 1  # 409, merged against the base, pushed again
    assert not budi.state.conflicts
    server_text = (server.data / "content" / STAGE).read_text()
    assert "Ringkasan Ani." in server_text and "Judul Budi" in server_text
    assert "\nupdated: '2024-11-20T10:00:00+08:00'\n" in server_text  # as merged


def test_token_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run = [sys.executable, "-m", "sync_server", "token"]
    created = subprocess.run(
        [*run, "create", "--data", str(data), "--name", "tim-kampanye", "--role", "campaign"],
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    value = created.stdout.strip().splitlines()[-1]
    assert value.startswith("pantau_") and " " not in value
    assert value not in (data / "pantau.db").read_bytes().decode("latin-1")
    listed = subprocess.run([*run, "list", "--data", str(data)], capture_output=True, text=True)
    assert "tim-kampanye" in listed.stdout and "active" in listed.stdout
    revoked = subprocess.run(
        [*run, "revoke", "tim-kampanye", "--data", str(data)], capture_output=True, text=True
    )
    assert revoked.returncode == 0
    listed = subprocess.run([*run, "list", "--data", str(data)], capture_output=True, text=True)
    assert "revoked" in listed.stdout


def loopback(handler: type) -> tuple[Any, str]:
    """A real HTTP server on 127.0.0.1 and a free port, serving in a thread; its URL."""
    import threading
    from http.server import ThreadingHTTPServer

    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    return http, f"http://127.0.0.1:{http.server_port}"


class HostileFeed:
    """A real HTTP server on 127.0.0.1 that answers the changes feed with what an attacker
    (or a damaged server) might send."""

    def __init__(self, changes: list[object]) -> None:
        import json
        from http.server import BaseHTTPRequestHandler

        body = json.dumps({"changes": changes, "last_seq": 1, "more": False}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.http, self.url = loopback(Handler)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def change(**fields: object) -> dict[str, object]:
    base = {"collection": "stages", "slug": "x", "ext": ".md", "revision": 1, "deleted": False}
    return {**base, "text": "---\ntitle: x\n---\n", **fields}


@pytest.mark.parametrize(
    "hostile",
    [
        change(slug="../../x"),
        change(slug="nl\n"),
        change(slug="a" * 300),
        change(collection="../etc"),
        change(ext="/../../x.md"),
        change(revision="1"),
        change(text=None),
        "not a change",
    ],
)
def test_pull_writes_nothing_the_server_names_badly(tmp_path: Path, hostile: object) -> None:
    feed = HostileFeed([hostile])
    folder = tmp_path / "staff" / "content"
    try:
        client = SyncClient(folder, feed.url, "token", say=lambda line: None)
        OPEN.append(client)
        with pytest.raises(PantauError, match=r"nothing was written|no valid|without"):
            client.pull()
    finally:
        feed.close()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".pantau-sync.json"]
    assert written == []


def test_images_are_fetched_only_into_the_media_folder(tmp_path: Path) -> None:
    """Campaigns (as a hostile or damaged server could send them) naming images outside
    content/media/: nothing is fetched, nothing is written outside."""
    outside = tmp_path / "outside" / "evil.png"
    outside.parent.mkdir()
    folder = tmp_path / "staff" / "content"
    (folder / "campaigns").mkdir(parents=True)
    names = [str(outside), "../outside/evil.png", "a/../../outside/evil.png"]
    for n, name in enumerate(names):
        text = f"---\ntitle: x\nimage:\n  src: {name}\n  alt: a\n---\n"
        (folder / "campaigns" / f"c{n}.md").write_text(text)
    feed = HostileFeed([])  # it answers every GET, /media/... too, with 200
    try:
        client = SyncClient(folder, feed.url, "token", say=lambda line: None)
        OPEN.append(client)
        assert client.fetch_media() == 0
    finally:
        feed.close()
    assert not outside.exists()
    assert not (folder / "media").exists()


@pytest.mark.parametrize(
    "state",
    [
        "[]",
        '{"records": []}',
        '{"last_seq": "7"}',
        '{"records": {"stages/x": {}}}',
        "{",
        '{"x": 1}',
    ],
)
def test_a_damaged_sync_state_is_one_sentence(tmp_path: Path, state: str) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / ".pantau-sync.json").write_text(state)
    result = subprocess.run(
        [sys.executable, "-m", "sync_server", "sync", "status", "--content", str(folder)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "the sync state is damaged" in result.stderr
    assert "Traceback" not in result.stderr


class CuttingProxy:
    """A real HTTP proxy on 127.0.0.1 that passes requests to the server and, for the first
    PUT, hangs up after the server has answered, so the client never hears the answer."""

    def __init__(self, upstream: str) -> None:
        from http.server import BaseHTTPRequestHandler

        proxy = self
        self.cut = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                import httpx

                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx.request(
                    self.command, upstream + self.path, headers=headers, content=body
                )
                if self.command == "PUT" and proxy.cut == 0:
                    proxy.cut += 1
                    self.close_connection = True
                    self.connection.close()  # the change is in; its answer is lost
                    return
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_PUT = do_DELETE = forward

            def log_message(self, *args: object) -> None:
                pass

        self.http, self.url = loopback(Handler)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def test_a_cut_push_then_a_new_edit_is_no_conflict(
    server: ServerProcess, token: str, tmp_path: Path
) -> None:
    folder = tmp_path / "ani"
    staff_copy(server, token, folder)
    proxy = CuttingProxy(server.url)
    try:
        said: list[str] = []
        cut = SyncClient(folder, proxy.url, token, say=said.append)
        OPEN.append(cut)
        edit(folder / STAGE, "Hari pemungutan suara.", "Hari H, pertama.")
        with pytest.raises(PantauError, match="Nothing is lost"):
            cut.push()
        assert proxy.cut == 1
        assert "pertama" in (server.data / "content" / STAGE).read_text()  # it did arrive
    finally:
        proxy.close()
    edit(folder / STAGE, "Hari H, pertama.", "Hari H, kedua.")
    said = []
    client = SyncClient(folder, server.url, token, say=said.append)
    OPEN.append(client)
    assert client.push() == 1, said
    assert not any("CONFLICT" in line for line in said), said
    assert any("your own earlier push" in line for line in said), said
    assert "kedua" in (server.data / "content" / STAGE).read_text()
    assert not list((folder / "stages").glob("*.server.*"))


def pantau(*args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync_server", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PANTAU_TOKEN": token},
    )


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_clone_makes_a_copy_that_checks_offline(
    server: ServerProcess, token: str, tmp_path: Path
) -> None:
    with server.client(token) as api:
        image = png()
        src = api.post("/api/assets", content=image, headers={"Content-Type": "image/png"})
        assert src.status_code == 201, src.text
        name = src.json()["src"]
        record = api.get("/api/records/campaigns/ayo-memilih").json()
        text = record["text"].replace(
            "call_to_action:", f"image:\n  src: {name}\n  alt: Poster.\ncall_to_action:"
        )
        put = api.put(
            "/api/records/campaigns/ayo-memilih",
            content=text.encode(),
            headers={"If-Match": str(record["revision"]), "Content-Type": "text/markdown"},
        )
        assert put.status_code == 200, put.text
    copy = tmp_path / "clone"
    cloned = pantau("sync", "clone", "--server", server.url, str(copy), token=token)
    assert cloned.returncode == 0, cloned.stderr
    assert (copy / "site.yaml").read_text() == (server.data / "content" / "site.yaml").read_text()
    assert (copy / "regions.yaml").is_file() and (copy / ".pantau-sync.json").is_file()
    assert (copy / "campaigns" / "ayo-memilih.md").read_text() == text
    assert (copy / "media" / name).read_bytes() == image
    checked = pantau("check", "--content", str(copy))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert describe_status(copy)[-1].startswith("0 local change(s)")

    again = pantau("sync", "clone", "--server", server.url, str(copy), token=token)
    assert again.returncode != 0 and "is not empty" in again.stderr + again.stdout


def test_first_pull_of_an_old_copy_recognises_earlier_revisions(
    server: ServerProcess, token: str, scratch_content: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old-copy"
    shutil.copytree(scratch_content, old)
    changer = staff_copy(server, token, tmp_path / "changer")
    edit(changer.root / STAGE, "Hari pemungutan suara.", "Hari coblosan.")
    edit(changer.root / "site.yaml", "Situs Uji", "Situs Berubah")
    edit(changer.root / "teams/keamanan.yaml", "Mengamankan tahapan.", "Menjaga tahapan.")
    assert changer.push() == 3
    edit(changer.root / "teams/keamanan.yaml", "Menjaga tahapan.", "Menjaga semua tahapan.")
    assert changer.push() == 1

    lines: list[str] = []
    client = SyncClient(old, server.url, token, say=lines.append)
    OPEN.append(client)
    client.pull()
    assert not client.state.conflicts, lines
    assert not any("CONFLICT" in line for line in lines), lines
    assert not list(old.rglob("*.server.*"))
    for name in ("site.yaml", "regions.yaml", STAGE, "teams/keamanan.yaml"):
        assert (old / name).read_text() == (server.data / "content" / name).read_text(), name
    assert describe_status(old)[-1].startswith("0 local change(s)")
