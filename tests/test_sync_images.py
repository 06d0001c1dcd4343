"""Posters through `pantau sync`: push uploads the images the pushed campaigns name and
renames them to the server's names; pull downloads the ones a colleague published. Against a
real server on 127.0.0.1, with real files; the text edit of ``image.src`` is also checked
alone, without a server."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from sync_server.client import SyncClient, with_image_src

from .server import ServerProcess, make_token
from .test_sync_client import loopback


def png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(out, "PNG")
    return out.getvalue()


def server_name(data: bytes, ext: str = ".png") -> str:
    return hashlib.sha256(data).hexdigest()[:32] + ext


def campaign(image: str, title: str = "Ayo ke TPS") -> str:
    """A valid published campaign whose ``image`` lines are given as written."""
    return (
        f"---\ntitle: {title}\nsummary: Ajakan datang ke TPS.\naudience: [pemilih pemula]\n"
        "regions: [samarinda]\norganiser: Tim Uji\ncall_to_action: Datang ke TPS.\n"
        f"{image}\nchecked: unchecked\nsources:\n  - title: Sumber kampanye\n"
        "    url: https://example.org/kampanye\n---\nIsi kampanye, dengan é dan ✓.\n"
    )


# the text edit alone -----------------------------------------------------------------------


def test_block_style_src_is_replaced_and_nothing_else() -> None:
    text = campaign("image:\n  src: poster-ayo.png   # poster baru\n  alt: Poster merah.")
    edited = with_image_src(text, ".md", "a" * 32 + ".png")
    assert edited == text.replace("src: poster-ayo.png", f"src: {'a' * 32}.png")


def test_flow_style_and_quotes_are_kept() -> None:
    text = campaign("image: {alt: 'Poster: merah', src: \"poster.jpeg\"}")
    edited = with_image_src(text, ".md", "b" * 32 + ".jpg")
    assert edited == text.replace('src: "poster.jpeg"', f'src: "{"b" * 32}.jpg"')


def test_yaml_records_crlf_and_a_byte_order_mark_are_kept() -> None:
    text = "\ufefftitle: Kampanye é\r\nimage:\r\n  src: 'p.webp'\r\n  alt: P\r\nx: 1\r\n"
    assert with_image_src(text, ".yaml", "c.webp") == text.replace("'p.webp'", "'c.webp'")
    md = "\ufeff---\r\ntitle: T\r\nimage:\r\n  src: p.png\r\n  alt: P\r\n---\r\nIsi.\r\n"
    assert with_image_src(md, ".md", "d.png") == md.replace("p.png", "d.png")


@pytest.mark.parametrize(
    "image",
    [
        "poster: &p poster.png\nimage:\n  src: *p\n  alt: P",  # shared with another field
        "image:\n  src: |\n    poster.png\n  alt: P",  # a block of lines
    ],
)
def test_a_value_that_cannot_be_replaced_alone_is_refused(image: str) -> None:
    with pytest.raises(ValueError, match=r"image\.src"):
        with_image_src(campaign(image), ".md", "e.png")


# against a real server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    return {role: make_token(server.data, f"staf-{role}", role) for role in ROLES}


ROLES = ("admin", "campaign", "editor")
OPEN: list[SyncClient] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def staff_copy(url: str, token: str, folder: Path, said: list[str] | None = None) -> SyncClient:
    client = SyncClient(folder, url, token, say=(said.append if said is not None else print))
    OPEN.append(client)
    client.pull()
    client.fetch_media()
    return client


def pantau(*args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync_server", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PANTAU_TOKEN": token},
        timeout=120,
    )


def sync(command: str, folder: Path, server: ServerProcess, token: str) -> tuple[int, str]:
    done = pantau("sync", command, "--content", str(folder), "--server", server.url, token=token)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    return done.returncode, output


def published(server: ServerProcess, path: str, timeout: float = 30) -> httpx.Response:
    """The live site's answer for path, once the build that publishes it is live."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(server.url + path, timeout=5)
        if answer.status_code == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


@pytest.mark.slow
def test_push_uploads_a_new_poster_renames_it_and_a_second_push_sends_nothing(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "ani"
    staff_copy(server.url, tokens["campaign"], folder)
    poster = png()
    (folder / "media").mkdir(exist_ok=True)
    (folder / "media" / "poster-ayo.png").write_bytes(poster)
    record = folder / "campaigns" / "ayo-poster.md"
    written = campaign("image:\n  src: poster-ayo.png   # dari kantor\n  alt: Poster merah.")
    record.write_text(written, encoding="utf-8")
    assert pantau("check", "--content", str(folder)).returncode == 0  # offline, as named

    status, output = sync("push", folder, server, tokens["campaign"])
    assert status == 0, output
    assert "1 change(s) pushed. 1 image uploaded." in output
    name = server_name(poster)
    assert f"uploaded {folder / 'media' / 'poster-ayo.png'}; it is now" in output
    assert (folder / "media" / name).read_bytes() == poster
    assert not (folder / "media" / "poster-ayo.png").exists()
    local = record.read_text(encoding="utf-8")
    assert local == written.replace("src: poster-ayo.png", f"src: {name}")  # only the name
    assert (server.data / "content" / "campaigns" / "ayo-poster.md").read_text() == local
    assert (server.data / "content" / "media" / name).read_bytes() == poster
    page = published(server, "/kampanye/ayo-poster/")
    assert page.status_code == 200 and f"media/{name}" in page.text
    assert httpx.get(f"{server.url}/media/{name}").content == poster
    assert pantau("check", "--content", str(folder)).returncode == 0

    status, output = sync("push", folder, server, tokens["campaign"])
    assert status == 0, output
    assert "0 change(s) pushed." in output and "upload" not in output


class CountingProxy:
    """A real HTTP proxy on 127.0.0.1 in front of the server that counts the requests it
    passes on, by method and path."""

    def __init__(self, upstream: str) -> None:
        from http.server import BaseHTTPRequestHandler

        seen: Counter[str] = Counter()
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                seen[f"{self.command} {self.path.split('?')[0]}"] += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx.request(
                    self.command, upstream + self.path, headers=headers, content=body
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                content = b"" if self.command == "HEAD" else answer.content
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = forward

            def log_message(self, *args: object) -> None:
                pass

        self.http, self.url = loopback(Handler)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.mark.slow
def test_one_poster_named_by_two_campaigns_is_uploaded_once(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "budi"
    staff_copy(server.url, tokens["admin"], folder)
    poster = png((30, 120, 200))
    (folder / "media" / "kampanye").mkdir(parents=True)
    (folder / "media" / "kampanye" / "bersama.png").write_bytes(poster)
    block = campaign('image:\n  src: "kampanye/bersama.png"\n  alt: Poster biru.', "Satu")
    flow = campaign("image: {src: kampanye/bersama.png, alt: 'Poster: biru'}", "Dua")
    (folder / "campaigns" / "bersama-satu.md").write_text(block, encoding="utf-8")
    (folder / "campaigns" / "bersama-dua.md").write_text(flow, encoding="utf-8")
    proxy = CountingProxy(server.url)
    try:
        said: list[str] = []
        client = SyncClient(folder, proxy.url, tokens["admin"], say=said.append)
        OPEN.append(client)
        assert client.push() == 2, said
    finally:
        proxy.close()
    assert proxy.seen["POST /api/assets"] == 1 and client.uploaded == 1, said
    name = server_name(poster)
    assert (folder / "campaigns" / "bersama-satu.md").read_text() == block.replace(
        '"kampanye/bersama.png"', f'"{name}"'
    )
    assert (folder / "campaigns" / "bersama-dua.md").read_text() == flow.replace(
        "src: kampanye/bersama.png", f"src: {name}"
    )
    assert not (folder / "media" / "kampanye" / "bersama.png").exists()
    assert (server.data / "content" / "media" / name).read_bytes() == poster


@pytest.mark.slow
def test_a_refused_image_holds_only_its_record(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "citra"
    staff_copy(server.url, tokens["admin"], folder)
    media = folder / "media"
    media.mkdir(exist_ok=True)
    (media / "bukan-gambar.png").write_text("ini teks, bukan gambar\n")
    (media / "terlalu-besar.png").write_bytes(png()[:16] + os.urandom(6 * 1024 * 1024))
    text = campaign("image:\n  src: bukan-gambar.png\n  alt: Poster.")
    big = campaign("image:\n  src: terlalu-besar.png\n  alt: Poster.", "Besar")
    (folder / "campaigns" / "poster-teks.md").write_text(text, encoding="utf-8")
    (folder / "campaigns" / "poster-besar.md").write_text(big, encoding="utf-8")
    stage = folder / "stages" / "pemungutan-suara.md"
    stage.write_text(stage.read_text().replace("Hari pemungutan suara.", "Hari H."))

    status, output = sync("push", folder, server, tokens["admin"])
    assert status == 1, output
    assert (
        f"could not upload {media / 'bukan-gambar.png'}: the file is not a PNG, JPEG or WebP "
        "image" in output
    )
    assert "not pushed: campaigns/poster-teks" in output
    assert f"could not upload {media / 'terlalu-besar.png'}: the body is larger than" in output
    assert "1 change(s) pushed." in output and "2 change(s) refused" in output
    assert "Hari H." in (server.data / "content" / "stages" / "pemungutan-suara.md").read_text()
    for slug in ("poster-teks", "poster-besar"):
        assert not (server.data / "content" / "campaigns" / f"{slug}.md").exists()
    assert (folder / "campaigns" / "poster-teks.md").read_text() == text  # untouched
    assert (media / "bukan-gambar.png").exists()


@pytest.mark.slow
def test_the_campaign_role_uploads_and_the_editor_role_cannot(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    poster = png((10, 160, 60))
    for role in ("editor", "campaign"):
        folder = tmp_path / role
        staff_copy(server.url, tokens[role], folder)
        (folder / "media").mkdir(exist_ok=True)
        (folder / "media" / "hijau.png").write_bytes(poster)
        text = campaign("image:\n  src: hijau.png\n  alt: Poster hijau.", "Hijau")
        (folder / "campaigns" / "poster-hijau.md").write_text(text, encoding="utf-8")
        status, output = sync("push", folder, server, tokens[role])
        if role == "editor":
            assert status == 1
            assert (
                f"could not upload {folder / 'media' / 'hijau.png'}: the role 'editor' may not "
                "upload images; not pushed: campaigns/poster-hijau" in output
            )
            assert (folder / "media" / "hijau.png").exists()
        else:
            assert status == 0, output
            assert "1 change(s) pushed. 1 image uploaded." in output
            assert (folder / "media" / server_name(poster)).read_bytes() == poster


@pytest.mark.slow
def test_a_missing_poster_is_said_with_its_record_and_line(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    said: list[str] = []
    folder = tmp_path / "dewi"
    client = staff_copy(server.url, tokens["admin"], folder, said)
    record = folder / "campaigns" / "tanpa-poster.md"
    record.write_text(campaign("image:\n  src: tidak-ada.png\n  alt: Poster."), encoding="utf-8")
    assert client.push() == 0
    assert client.failed == 1
    line = next(n for n, text in enumerate(record.read_text().splitlines(), 1) if "src:" in text)
    assert any(
        s.startswith(f"{record}:{line}: image.src: the image {folder / 'media' / 'tidak-ada.png'}")
        and "is not in the content folder" in s
        for s in said
    ), said
    assert not (server.data / "content" / "campaigns" / "tanpa-poster.md").exists()
    assert client.fetch_media() == 0  # neither is it on the server
    assert f"could not download media/tidak-ada.png (404); {record}:{line} names it" in said


@pytest.mark.slow
def test_pull_downloads_a_colleagues_new_poster(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    mine = tmp_path / "eka"
    staff_copy(server.url, tokens["campaign"], mine)
    quick = staff_copy(server.url, tokens["campaign"], tmp_path / "gita")
    colleague = staff_copy(server.url, tokens["campaign"], tmp_path / "fajar")
    poster = png((240, 200, 0))
    (colleague.root / "media").mkdir(exist_ok=True)
    (colleague.root / "media" / "kuning.png").write_bytes(poster)
    text = campaign("image:\n  src: kuning.png\n  alt: Poster kuning.", "Kuning")
    (colleague.root / "campaigns" / "poster-kuning.md").write_text(text, encoding="utf-8")
    assert colleague.push() == 1

    # At once: the colleague's build is still publishing the poster; the pull waits for it.
    quick.pull()
    assert quick.fetch_media() == 1
    assert (quick.root / "media" / server_name(poster)).read_bytes() == poster

    status, output = sync("pull", mine, server, tokens["campaign"])
    assert status == 0, output
    assert "1 image downloaded." in output
    assert (mine / "media" / server_name(poster)).read_bytes() == poster
    checked = pantau("check", "--content", str(mine))
    assert checked.returncode == 0, checked.stdout + checked.stderr
