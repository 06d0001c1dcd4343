"""`pantau backup` and `pantau restore`: a backup taken while the server writes restores to
exactly the history, tokens and media at the backup's point; damaged backups are refused."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from sync_server.server import open_store

from .conftest import write_scratch
from .server import ServerProcess, make_token

PANTAU = [sys.executable, "-m", "sync_server"]
STAGE_URL = "/api/records/stages/pemungutan-suara"
TEAM_URL = "/api/records/teams/keamanan"
CAMPAIGN_URL = "/api/records/campaigns/ayo-memilih"


def pantau(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PANTAU, *args], capture_output=True, text=True, timeout=120)


def refused(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: ") and words in result.stderr, result.stderr


def integrity(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder as the server keeps it, without running one: database and content."""
    folder = tmp_path / "data"
    write_scratch(folder / "content")
    make_token(folder, "admin", "admin")
    return folder


def test_backup_refuses_a_folder_that_is_not_empty(data: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    dest.mkdir()
    (dest / "old.txt").write_text("keep me")
    refused(pantau("backup", "--data", str(data), str(dest)), "not empty")
    assert [p.name for p in dest.iterdir()] == ["old.txt"]
    refused(pantau("backup", "--data", str(tmp_path / "nothing"), str(tmp_path / "b")), "no ")


def test_backup_into_an_empty_folder_then_restore(data: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    dest.mkdir()
    result = pantau("backup", "--data", str(data), str(dest))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    assert "1 tokens" in result.stdout
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["counts"]["tokens"] == 1
    assert "pantau.db" in manifest["files"]
    assert "content/stages/pemungutan-suara.md" in manifest["files"]
    restored = tmp_path / "restored"
    result = pantau("restore", "--data", str(restored), str(dest))
    assert result.returncode == 0, result.stderr
    assert integrity(restored / "pantau.db") == ["ok"]
    for path in (data / "content").rglob("*"):
        if path.is_file():
            relative = path.relative_to(data)
            assert (restored / relative).read_bytes() == path.read_bytes(), relative
    refused(pantau("restore", "--data", str(restored), str(dest)), "not empty")


def test_restore_refuses_a_tampered_backup(data: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    assert pantau("backup", "--data", str(data), str(dest)).returncode == 0
    target = tmp_path / "restored"

    record = dest / "content" / "stages" / "pemungutan-suara.md"
    original = record.read_bytes()
    record.write_bytes(original.replace(b"Pemungutan suara", b"Pemungutan palsu"))
    refused(pantau("restore", "--data", str(target), str(dest)), "pemungutan-suara.md")
    assert not target.exists()
    record.write_bytes(original)

    (dest / "content" / "stages" / "extra.md").write_text("---\ntitle: x\n---\n")
    refused(pantau("restore", "--data", str(target), str(dest)), "does not list")
    (dest / "content" / "stages" / "extra.md").unlink()

    # A damaged database whose manifest was made to match: SQLite's integrity check refuses.
    db = dest / "pantau.db"
    saved = db.read_bytes()
    damaged = bytearray(saved)
    damaged[4096 : 4096 * 3] = b"\xa5" * (4096 * 2)
    db.write_bytes(bytes(damaged))
    manifest = json.loads((dest / "manifest.json").read_text())
    manifest["files"]["pantau.db"] = hashlib.sha256(damaged).hexdigest()
    (dest / "manifest.json").write_text(json.dumps(manifest))
    refused(pantau("restore", "--data", str(target), str(dest)), "pantau.db")
    assert not target.exists()

    shutil.rmtree(dest)
    refused(pantau("restore", "--data", str(target), str(dest)), "not a folder")


def put(http: httpx.Client, url: str, text: str, revision: int) -> httpx.Response:
    return http.put(
        url,
        content=text.encode(),
        headers={"Content-Type": "text/markdown", "If-Match": str(revision)},
    )


def edit(http: httpx.Client, url: str, change: str) -> dict[str, Any]:
    record = http.get(url).json()
    response = put(http, url, record["text"].rstrip("\n") + f"\n{change}\n", record["revision"])
    assert response.status_code == 200, response.text
    return response.json()


def every_key(http: httpx.Client) -> set[str]:
    keys: set[str] = set()
    since = 0
    while True:
        page = http.get("/api/changes", params={"since": since}).json()
        keys |= {f"{row['collection']}/{row['slug']}" for row in page["changes"]}
        since = page["last_seq"]
        if not page["more"]:
            return keys


def histories(http: httpx.Client, keys: set[str]) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for key in sorted(keys):
        response = http.get(f"/api/records/{key}/history")
        assert response.status_code == 200, response.text
        found[key] = response.json()["revisions"]
    return found


@pytest.fixture
def original(tmp_path: Path) -> Iterator[ServerProcess]:
    seed = write_scratch(tmp_path / "seed")
    process = ServerProcess(tmp_path / "data", seed).start()
    yield process
    process.stop()


@pytest.mark.slow
def test_backup_while_writing_restores_the_state_at_the_backup(
    original: ServerProcess, tmp_path: Path
) -> None:
    tokens = {role: make_token(original.data, role, role) for role in ("admin", "editor")}
    tokens["campaign"] = make_token(original.data, "kampanye", "campaign")
    revoked = make_token(original.data, "old", "admin")
    store = open_store(original.data)
    store.update_token("old", revoked="2024-01-01T00:00:00+08:00")
    store.close()

    image = io.BytesIO()
    Image.new("RGB", (40, 20), (30, 120, 200)).save(image, "PNG")
    with original.client(tokens["admin"]) as http:
        for number in range(3):
            edit(http, TEAM_URL, f"# change {number}")
        upload = http.post(
            "/api/assets", content=image.getvalue(), headers={"Content-Type": "image/png"}
        )
        assert upload.status_code == 201, upload.text
        src = upload.json()["src"]
        record = http.get(CAMPAIGN_URL).json()
        text = record["text"].replace(
            "checked: unchecked", f"checked: unchecked\nimage:\n  src: {src}\n  alt: Poster"
        )
        assert put(http, CAMPAIGN_URL, text, record["revision"]).status_code == 200

    # A writer that keeps changing the stage, before, during and after the backup.
    stop = threading.Event()
    written: list[int] = []
    failures: list[str] = []

    def writer() -> None:
        with original.client(tokens["editor"]) as http:
            number = 0
            while not stop.is_set():
                try:
                    written.append(edit(http, STAGE_URL, f"Perubahan {number}.")["revision"])
                except AssertionError as exc:  # pragma: no cover - reported below
                    failures.append(str(exc))
                    return
                number += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(written) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = len(written)
        backup = tmp_path / "backup"
        result = pantau("backup", "--data", str(original.data), str(backup))
        during = len(written) - before
        deadline = time.monotonic() + 20
        while len(written) < before + during + 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not failures, failures
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Backed up ") and len(result.stdout.splitlines()) == 1
    manifest = json.loads((backup / "manifest.json").read_text())
    point = manifest["last_seq"]

    with original.client(tokens["admin"]) as http:
        keys = every_key(http)
        before_history = histories(http, keys)
    expected = {
        key: [row for row in rows if row["seq"] <= point] for key, rows in before_history.items()
    }
    expected = {key: rows for key, rows in expected.items() if rows}
    assert any(row["seq"] > point for row in before_history["stages/pemungutan-suara"]), (
        "the writer wrote nothing after the backup"
    )
    assert sum(len(rows) for rows in expected.values()) == manifest["counts"]["revisions"]
    assert len(expected) == manifest["counts"]["records"]

    restored_data = tmp_path / "restored"
    result = pantau("restore", "--data", str(restored_data), str(backup))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Restored ")
    assert integrity(restored_data / "pantau.db") == ["ok"]

    listed = [pantau("token", "list", "--data", str(d)) for d in (original.data, restored_data)]
    assert listed[0].returncode == 0 and listed[0].stdout == listed[1].stdout
    assert len(listed[1].stdout.splitlines()) == 4

    restored = ServerProcess(restored_data).start()
    try:
        for role, value in tokens.items():
            with restored.client(value) as http:
                assert http.get("/api/records/stages").status_code == 200, role
        with restored.client(revoked) as http:
            assert http.get("/api/records/stages").status_code == 401
        with restored.client(tokens["admin"]) as http:
            assert every_key(http) == set(expected)
            assert histories(http, set(expected)) == expected
            for key, rows in expected.items():
                current = http.get(f"/api/records/{key}")
                if rows[-1]["deleted"]:
                    continue
                assert current.status_code == 200, key
                assert current.json()["revision"] == rows[-1]["revision"]
                assert current.json()["text"] == rows[-1]["text"]
        assert httpx.get(f"{restored.url}/media/{src}").content == image.getvalue()
        stage = (restored_data / "content" / "stages" / "pemungutan-suara.md").read_text()
        assert stage == expected["stages/pemungutan-suara"][-1]["text"]
    finally:
        restored.stop()
    assert integrity(restored_data / "pantau.db") == ["ok"]
