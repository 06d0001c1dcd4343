"""The staff guide (docs/staf.md), run step by step against a real sync server.

Every command the guide shows is run, in order, so the guide cannot drift from the program.
How the guide is read:

- A ```sh block holds commands; each line (a trailing ``\\`` joins the next) is run with
  ``sh`` in one temporary working folder, with ``PANTAU_SERVER`` and ``PANTAU_TOKEN`` set.
  Lines starting with ``#`` are remarks; an ``export NAME=VALUE`` line also sets NAME for
  the commands that follow, as the reader's terminal would. Each command must exit 0, except:
  - a line ending in ``# (gagal: ...)`` shows an error: it must exit non-zero;
  - a line ending in ``# (berjalan terus; tekan Ctrl+C)`` runs until stopped (``pantau dev``,
    ``pantau preview``): it is started, must print its ``http://127.0.0.1:N/`` address and
    answer there with 200, and is then stopped.
- A ```yaml ubah=PATH block is an edit the reader makes by hand: each ``key: value`` line
  replaces the one line of PATH that starts with ``key:``.
- A ```markdown tulis=PATH block is a whole file the reader writes: it replaces PATH.
- Other blocks (```text, ```yaml without ``ubah=``) are examples and are not run.

Placeholders the guide uses, and what the test puts in their place:

- ``https://pantau.example.go.id``: the real server's address (http://127.0.0.1:PORT);
- ``isi-token-anda``: a real admin token (the guide covers stages and campaigns);
- ``--port 8000``: ``--port 0`` (a free port; the address is read from the output).

The test also plays the reader's world: the poster ``poster.png`` the reader already has is a
small PNG in the working folder; at the start of the conflict section a colleague changes
the same stage's summary on the server through the API; and at "Poster kiriman rekan" a
colleague publishes a campaign with a new poster through the API.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from site_builder.readers import parse_record
from tests.conftest import CAMPAIGN, write_scratch
from tests.server import ServerProcess, make_token

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "staf.md"
EXAMPLE_SERVER = "https://pantau.example.go.id"
EXAMPLE_TOKEN = "isi-token-anda"
RUNS_ON = "# (berjalan terus; tekan Ctrl+C)"
FAILS = "# (gagal:"
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^`]*)$")
SERVING = re.compile(r"http://127\.0\.0\.1:(\d+)/")

pytestmark = pytest.mark.slow


@dataclass
class Step:
    kind: str  # "heading", "sh", "ubah", "tulis"
    text: str
    target: str = ""
    line: int = 0


def read_guide(path: Path) -> list[Step]:
    """The guide's headings and runnable blocks, in order."""
    steps: list[Step] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            steps.append(Step("heading", line.lstrip("# "), line=i + 1))
        fence = FENCE.match(line)
        if fence is None:
            i += 1
            continue
        indent, info = len(fence["indent"]), fence["info"].split()
        body, i = [], i + 1
        while not lines[i].strip().startswith("```"):
            body.append(lines[i][indent:])
            i += 1
        i += 1
        text = "\n".join(body) + "\n"
        options = dict(word.split("=", 1) for word in info[1:] if "=" in word)
        if info[:1] == ["sh"]:
            steps.append(Step("sh", text, line=i))
        elif "ubah" in options:
            steps.append(Step("ubah", text, options["ubah"], i))
        elif "tulis" in options:
            steps.append(Step("tulis", text, options["tulis"], i))
    return steps


def commands(block: str) -> list[str]:
    """The commands of a sh block: one per line, backslash continuations joined."""
    joined = block.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def edit_fields(path: Path, edits: str) -> None:
    """Replace, for each `key: value` line of edits, the one line of path that sets key."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for edit in edits.strip().splitlines():
        key = edit.split(":", 1)[0]
        found = [n for n, line in enumerate(lines) if line.startswith(key + ":")]
        assert len(found) == 1, f"{path} has {len(found)} lines for {key!r}"
        lines[found[0]] = edit + "\n"
    path.write_text("".join(lines), encoding="utf-8")


class Guide:
    """Runs the guide's steps in a working folder against one server."""

    def __init__(self, work: Path, server: ServerProcess, token: str) -> None:
        self.work = work
        self.server = server
        self.token = token
        self.colleague_poster = ""  # the name of the poster a colleague published
        self.env = {
            **os.environ,
            "PANTAU_SERVER": server.url,
            "PANTAU_TOKEN": token,
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        self.ran: list[str] = []
        #: What the commands printed, in order.
        self.said: list[str] = []

    def fill(self, text: str) -> str:
        text = text.replace(EXAMPLE_SERVER, self.server.url).replace(EXAMPLE_TOKEN, self.token)
        return text.replace("--port 8000", "--port 0")

    def run(self, step: Step) -> None:
        if step.kind == "ubah":
            edit_fields(self.work / step.target, self.fill(step.text))
        elif step.kind == "tulis":
            (self.work / step.target).write_text(self.fill(step.text), encoding="utf-8")
        elif step.kind == "sh":
            for command in commands(step.text):
                self.command(command, step.line)

    def command(self, shown: str, line: int) -> None:
        command = self.fill(shown)
        where = f"docs/staf.md:{line}: {shown}"
        self.ran.append(shown)
        if command.endswith(RUNS_ON):
            self.long_running(command, where)
            return
        done = subprocess.run(
            ["sh", "-c", command],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = done.stdout + done.stderr
        self.said.append(output)
        exported = re.fullmatch(r"export ([A-Z_]+)=(\S+)", command)
        if exported:  # the reader's terminal keeps it for the commands that follow
            self.env[exported.group(1)] = exported.group(2)
        if FAILS in command:
            assert done.returncode != 0, f"{where}\nshould fail but did not:\n{output}"
        else:
            assert done.returncode == 0, f"{where}\nfailed ({done.returncode}):\n{output}"

    def long_running(self, command: str, where: str) -> None:
        process = subprocess.Popen(
            ["sh", "-c", f"exec {command.removesuffix(RUNS_ON).strip()}"],
            cwd=self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert process.stdout is not None
            seen = []
            port = None
            deadline = time.monotonic() + 60
            while port is None and time.monotonic() < deadline:
                out = process.stdout.readline()
                if not out:
                    break
                seen.append(out)
                found = SERVING.search(out)
                port = found and int(found[1])
            assert port, f"{where}\nprinted no address:\n{''.join(seen)}"
            answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
            assert answer.status_code == 200, f"{where}\nanswered {answer.status_code}"
            assert "<html" in answer.text.lower()
        finally:
            process.terminate()
            process.wait(timeout=15)
            if process.stdout is not None:
                process.stdout.close()


def colleague_changes_summary(guide: Guide) -> None:
    """A colleague changes the summary of the stage the guide edits, on the server."""
    with guide.server.client(guide.token) as client:
        record = client.get("/api/records/stages/pemungutan-suara").json()
        text = re.sub(
            r"(?m)^summary: .*$", "summary: Ringkasan dari rekan di kantor lain.", record["text"]
        )
        answer = client.put(
            "/api/records/stages/pemungutan-suara",
            content=text.encode(),
            headers={"If-Match": str(record["revision"]), "Content-Type": "text/markdown"},
        )
        assert answer.status_code == 200, answer.text


def colleague_publishes_a_poster(guide: Guide) -> None:
    """A colleague uploads a poster and publishes a campaign that shows it, on the server."""
    image = io.BytesIO()
    Image.new("RGB", (50, 30), (30, 90, 200)).save(image, "PNG")
    with guide.server.client(guide.token) as client:
        upload = client.post(
            "/api/assets", content=image.getvalue(), headers={"Content-Type": "image/png"}
        )
        assert upload.status_code == 201, upload.text
        guide.colleague_poster = upload.json()["src"]
        text = CAMPAIGN.replace(
            "call_to_action:",
            f"image:\n  src: {guide.colleague_poster}\n  alt: Poster biru.\ncall_to_action:",
        )
        answer = client.put(
            "/api/records/campaigns/poster-rekan",
            content=text.encode(),
            headers={"If-None-Match": "*", "Content-Type": "text/markdown"},
        )
        assert answer.status_code == 201, answer.text


#: What happens in the world as the reader reaches a section (words of its heading).
AT_SECTION: dict[str, Callable[[Guide], None]] = {
    "konflik": colleague_changes_summary,
    "kiriman rekan": colleague_publishes_a_poster,
}


def test_staff_guide_runs_against_a_real_server(tmp_path: Path) -> None:
    seed = write_scratch(tmp_path / "seed")
    server = ServerProcess(tmp_path / "data", seed=seed).start()
    try:
        token = make_token(tmp_path / "data", "staf", "admin")
        work = tmp_path / "kerja"
        work.mkdir()
        Image.new("RGB", (60, 40), (200, 30, 30)).save(work / "poster.png")
        guide = Guide(work, server, token)
        fired = []
        for step in read_guide(GUIDE):
            if step.kind == "heading":
                for word, happen in AT_SECTION.items():
                    if word in step.text.lower() and word not in fired:
                        happen(guide)
                        fired.append(word)
                continue
            guide.run(step)
        assert fired == list(AT_SECTION), "a section the test acts in is gone from the guide"

        # Every kind of step the guide promises was really shown and run.
        shown = " | ".join(guide.ran)
        for needed in ("sync clone", "pantau check", "pantau dev", "pantau build"):
            assert needed in shown
        for needed in ("pantau preview", "sync push", "sync pull", "content/media/"):
            assert needed in shown
        assert "curl" not in shown  # staff need no tool but pantau

        # After `export LANGUAGE=id`, Pantau answered in Indonesian, as the guide quotes it.
        said = "\n".join(guide.said)
        for quoted in (" catatan dan ", " wilayah valid.", "terkirim stages/pemungutan-suara"):
            assert quoted in said, quoted
        assert "KONFLIK stages/pemungutan-suara: kolom 'summary' diubah di sini" in said
        assert "records and" not in said and "pushed stages/" not in said

        # The reader's poster was uploaded by the push and renamed to the server's name in
        # the file and in image.src; the colleague's poster came with the pull.
        content = work / "content"
        poster = (work / "poster.png").read_bytes()
        media = hashlib.sha256(poster).hexdigest()[:32] + ".png"
        campaign = content / "campaigns" / "ayo-ke-tps.md"
        data = parse_record(campaign.read_text(encoding="utf-8"), campaign.name).data
        assert data["image"]["src"] == media
        assert (content / "media" / media).read_bytes() == poster
        assert not (content / "media" / "poster-ayo-ke-tps.png").exists()
        assert (content / "media" / guide.colleague_poster).is_file()

        # What the reader did is on the live site: the merged summary, the poster campaign.
        assert not list(content.rglob("*.server.md"))
        status = subprocess.run(
            ["pantau", "sync", "status"], cwd=work, env=guide.env, capture_output=True, text=True
        )
        assert status.stdout.strip().splitlines()[-1].startswith("0 perubahan lokal")
        with server.client(token) as client:
            stage = client.get("/api/records/stages/pemungutan-suara").json()
            assert "summary: Pemungutan suara serentak pada 27 November" in stage["text"]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                page = client.get("/kampanye/ayo-ke-tps/")
                if page.status_code == 200:
                    break
                time.sleep(0.1)
            assert page.status_code == 200
            assert f"media/{media}" in page.text
            published = client.get(f"/media/{media}")
            assert published.status_code == 200
            assert published.content == poster
    finally:
        server.stop()


def test_guide_reader_understands_its_conventions(tmp_path: Path) -> None:
    guide = tmp_path / "g.md"
    guide.write_text(
        "# A\n\n```sh\npantau check\npantau sync pull  # (gagal: x)\n```\n\n"
        "1. edit:\n\n   ```yaml ubah=content/x.md\n   summary: B\n   ```\n\n"
        "```text\nnot run\n```\n",
        encoding="utf-8",
    )
    steps = read_guide(guide)
    assert [s.kind for s in steps] == ["heading", "sh", "ubah"]
    assert commands(steps[1].text) == ["pantau check", "pantau sync pull  # (gagal: x)"]
    assert steps[2].text == "summary: B\n"
