"""Messages in Indonesian for staff, English for developers: chosen from the locale or
--lang on the command line, from Accept-Language on the server, and translated from a
catalogue that is kept in step with the code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from site_builder import i18n
from site_builder.errors import ContentError
from site_builder.load import load_content, read_record
from site_builder.models import COLLECTIONS
from sync_server.cli import main

from .server import scratch_server
from .test_corpus import CASES, place

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """The command line sets the process's language; put it back for the other tests."""
    yield
    i18n.set_language("en")


def problems(root: Path, language: str) -> list[Any]:
    with i18n.using(language):
        try:
            load_content(root, publishing=True)
        except ContentError as exc:
            return list(exc.problems)
    return []


def test_the_catalogue_is_in_step_with_the_code() -> None:
    """Every message in the code and the skeletons is in the Indonesian catalogue, translated,
    with the same placeholders, and the catalogue holds nothing the code no longer says."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "messages.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("; 0 to do")


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_every_content_problem_reads_in_indonesian(
    case: dict[str, Any], scratch_content: Path
) -> None:
    place(case, scratch_content)
    english, indonesian = problems(scratch_content, "en"), problems(scratch_content, "id")
    assert english, "the corpus file gave no problem"
    assert [(p.path, p.line, p.field) for p in english] == [
        (p.path, p.line, p.field) for p in indonesian
    ]
    for en, id_ in zip(english, indonesian, strict=True):
        assert en.message != id_.message, f"not translated: {en}"


def test_placeholders_and_missing_sources_read_in_indonesian(scratch_content: Path) -> None:
    skeleton = COLLECTIONS["stages"].skeleton.replace("draft: true", "draft: false")
    (scratch_content / "stages" / "baru.md").write_text(skeleton)
    said = [p.message for p in problems(scratch_content, "id")]
    assert any(m.startswith("masih berisi teks contoh 'Judul tahapan'") for m in said), said
    assert any(m.startswith("catatan yang diterbitkan memerlukan") for m in said), said


def run(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, args, env=env)


def test_check_speaks_the_locale_and_lang_overrides_it(scratch_content: Path) -> None:
    (scratch_content / "stages" / "rusak.md").write_text("---\ntitle: [Rusak\n---\n")
    folder = ["--content", str(scratch_content)]
    cases = [
        ({"LANG": "id_ID.UTF-8"}, [], "1 masalah ditemukan."),
        ({"LANG": "C.UTF-8"}, [], "1 problem found."),
        ({"LANGUAGE": "fr:id", "LANG": "fr_FR.UTF-8"}, [], "1 masalah ditemukan."),
        ({"LANG": "id_ID.UTF-8"}, ["--lang", "en"], "1 problem found."),
        ({"LANG": "C.UTF-8"}, ["--lang", "id"], "1 masalah ditemukan."),
    ]
    for env, lang, summary in cases:
        full_env = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", **env}
        for args in (["check", *folder, *lang], [*lang, "check", *folder]):
            result = run(args, full_env)
            assert result.exit_code == 1, result.output
            assert result.output.strip().splitlines()[-1] == summary, (env, args, result.output)
            i18n.set_language("en")
    result = run(["--lang", "id", "check", *folder])
    assert "'[' yang dibuka di baris 2 tidak pernah ditutup: tutup dengan ']'" in result.output


def test_new_writes_notes_in_the_staff_language(scratch_content: Path) -> None:
    result = run(["new", "campaign", "ajakan", "--content", str(scratch_content), "--lang", "id"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Sudah ditulis: ")
    path = scratch_content / "campaigns" / "ajakan.md"
    text = path.read_text()
    assert "# hapus baris ini untuk menerbitkan" in text
    assert "delete this line" not in text
    read_record(COLLECTIONS["campaigns"], "ajakan", text, str(path))  # still a valid draft
    parsed = yaml.safe_load(text.split("---")[1])
    english = yaml.safe_load(COLLECTIONS["campaigns"].skeleton.split("---")[1])
    assert parsed == english  # only the notes differ


@pytest.mark.slow
def test_the_server_answers_in_the_language_asked_for(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = scratch_server(tmp_path_factory)
    try:
        url = f"{server.url}/api/records/stages/pemungutan-suara"
        with httpx.Client(timeout=10) as http:
            plain = http.put(url, content="x").json()["error"]
            asked = http.put(url, content="x", headers={"Accept-Language": "id-ID,id;q=0.9"})
            english = http.put(url, content="x", headers={"Accept-Language": "en-GB, id;q=0.5"})
        assert plain.startswith("a valid token is required")
        assert asked.status_code == 401
        assert asked.json()["error"].startswith("diperlukan token yang berlaku")
        assert english.json()["error"] == plain
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("id", "id"),
        ("in-ID", "id"),
        ("en-US,en;q=0.9,id;q=0.8", "en"),
        ("fr, id;q=0.1", "id"),
        ("id;q=0, en", "en"),
        ("de", None),
        ("", None),
        ("id;q=abc", None),
    ],
)
def test_accept_language(header: str, language: str | None) -> None:
    assert i18n.from_accept_language(header) == language


def test_help_is_given_in_the_language_asked_for() -> None:
    english = run(["sync", "push", "--help"]).output
    indonesian = run(["sync", "push", "--lang", "id", "--help"]).output
    assert "Send local changes, each with the revision it was based on." in english
    assert "Mengirim perubahan lokal, masing-masing dengan revisi" in indonesian
    assert "Contoh:" in indonesian and "pantau sync push --content content" in indonesian
    assert "Send local changes" not in indonesian
    i18n.set_language("en")
    assert run(["sync", "push", "--help"]).output == english  # nothing left translated


def test_sync_status_speaks_indonesian(scratch_content: Path) -> None:
    result = run(["sync", "status", "--content", str(scratch_content), "--lang", "id"])
    assert result.output.strip().splitlines()[-1].endswith("belum pernah disinkronkan.")
