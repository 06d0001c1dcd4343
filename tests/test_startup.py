"""Start-up reconciliation of the content folder with the database, on a real SQLite file:
a first start imports every file in one transaction, a second start changes nothing, and the
crash/hand-edit cases end with files and history in agreement."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from site_builder.models import COLLECTIONS
from sync_server.protocol import text_hash
from sync_server.store import NewRevision, Store
from sync_server.workspace import Workspace

from .conftest import CONTENT

# As scripts/benchmark.py's synthetic stage, pointing at a shipped team so the folder stays valid.
STAGE = """\
---
title: "Tahapan uji {n}"
phase: penyelenggaraan
start: 2024-{month:02d}-{day:02d}
summary: "Catatan sintetis nomor {n} untuk mengukur kecepatan."
monitoring:
  - "Hal yang dipantau {n}"
divisions:
  - sekretariat
checked: unchecked
updated: 2026-11-29T10:00:00+08:00
---
Catatan sintetis untuk uji, bukan data Pilkada.
"""

RECORD_FOLDERS = tuple(spec.folder for spec in COLLECTIONS.values())


def stage_text(n: int) -> str:
    return STAGE.format(n=n, month=n % 12 + 1, day=n % 28 + 1)


def make_content(target: Path, stages: int = 0) -> Path:
    """The shipped content (site.yaml, regions.yaml, records) plus `stages` synthetic stages."""
    shutil.copytree(CONTENT, target)
    for n in range(stages):
        (target / "stages" / f"uji-{n}.md").write_text(stage_text(n), encoding="utf-8")
    return target


def revisions(store: Store) -> dict[str, int]:
    """The current revision of every live record, by 'collection/slug'."""
    return {key: revision for key, revision, _time in store.live_revisions()}


def disk_records(content: Path) -> dict[str, str]:
    """Every record file's text by 'collection/slug'."""
    return {
        f"{folder}/{path.stem}": path.read_text(encoding="utf-8")
        for folder in RECORD_FOLDERS
        for path in sorted((content / folder).glob("*"))
        if path.is_file()
    }


def history(store: Store, key: str) -> list[dict]:
    collection, slug = key.split("/")
    return store.history(collection, slug)


def commits(store: Store) -> list[str]:
    """Start counting the COMMITs the store's connection runs; the returned list fills up."""
    seen: list[str] = []
    store.db.conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.strip().upper().startswith("COMMIT") else None
    )
    return seen


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return make_content(tmp_path / "content")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "pantau.db")
    yield store
    store.close()


@pytest.fixture
def workspace(content: Path, store: Store) -> Workspace:
    """A workspace whose files have all been imported once."""
    workspace = Workspace(content, store)
    workspace.reconcile()
    return workspace


# first and second start ------------------------------------------------------------------------


def staff_saves(store: Store, slug: str, text: str) -> None:
    """A stage revision accepted from an editor, as the API would commit it."""
    store.add_revision(
        collection="stages",
        slug=slug,
        text=text,
        ext=".md",
        deleted=False,
        action="update",
        author="staf",
        role="editor",
        submitted_hash=text_hash(text),
    )


def saved_with_a_folder_in_its_place(store: Store, content: Path, slug: str) -> None:
    """A newer revision of a stage (its title starts 'Baru -') whose file cannot be written:
    a folder stands where the file should be."""
    path = content / "stages" / f"{slug}.md"
    staff_saves(store, slug, path.read_text().replace("title:", "title: Baru -", 1))
    path.unlink()
    (path / "sesuatu").mkdir(parents=True)


def staff_deletes(store: Store, slug: str) -> None:
    """A stage deleted by an editor, as the API would commit it."""
    store.add_revision(
        collection="stages",
        slug=slug,
        text="",
        ext=".md",
        deleted=True,
        action="delete",
        author="staf",
        role="editor",
        submitted_hash=text_hash(""),
    )


def test_first_start_imports_everything_at_once_and_second_start_changes_nothing(
    tmp_path: Path,
) -> None:
    content = make_content(tmp_path / "content", stages=2000)
    files = disk_records(content)
    assert len(files) > 2000

    store = Store(tmp_path / "pantau.db")
    seen = commits(store)
    Workspace(content, store).reconcile()
    assert len(seen) == 1, "the first import is one transaction"
    assert revisions(store) == dict.fromkeys(files, 1)
    for current in store.all_current():
        assert current.text == files[current.key]
        assert current.hash == current.submitted_hash == text_hash(files[current.key])
        assert current.author == "import"
        assert not current.deleted
    assert store.last_seq() == len(files)
    assert {row["action"] for row in store.changes(0, 10 * len(files))} == {"import"}
    store.close()

    # A restart: a new connection on the same file, nothing changed on disk.
    mtimes = {p: p.stat().st_mtime_ns for p in content.rglob("*") if p.is_file()}
    store = Store(tmp_path / "pantau.db")
    try:
        seen = commits(store)
        Workspace(content, store).reconcile()
        assert seen == []
        assert store.last_seq() == len(files)
        assert revisions(store) == dict.fromkeys(files, 1)
        assert disk_records(content) == files
        assert {p: p.stat().st_mtime_ns for p in content.rglob("*") if p.is_file()} == mtimes
    finally:
        store.close()


def test_second_start_reads_history_only_for_files_that_differ(
    workspace: Workspace, store: Store, content: Path
) -> None:
    asked: list[list[str] | None] = []
    known_hashes = store.known_hashes

    def spy(keys: list[str] | None = None) -> dict[str, set[str]]:
        asked.append(None if keys is None else list(keys))
        return known_hashes(keys)

    store.known_hashes = spy  # type: ignore[method-assign]
    workspace.reconcile()
    assert asked == []
    path = content / "stages" / "coklit.md"
    path.write_text(path.read_text() + "\nDiubah.\n")
    workspace.reconcile()
    assert asked == [["stages/coklit"]]


# the cases reconcile exists for ------------------------------------------------------------------


def test_hand_edited_file_becomes_a_new_revision(
    workspace: Workspace, store: Store, content: Path
) -> None:
    path = content / "stages" / "kampanye.md"
    edited = path.read_text() + "\nDisunting langsung di folder.\n"
    path.write_text(edited)
    before = store.last_seq()

    workspace.reconcile()
    current = store.current("stages", "kampanye")
    assert current is not None
    assert (current.revision, current.text, current.author) == (2, edited, "disk")
    assert [row["action"] for row in history(store, "stages/kampanye")] == ["import", "disk"]
    assert store.last_seq() == before + 1
    assert path.read_text() == edited


def test_file_holding_an_older_revision_is_rewritten_from_the_database(
    workspace: Workspace, store: Store, content: Path
) -> None:
    # A crash between the commit of revision 2 and the rename of its file.
    path = content / "stages" / "masa-tenang.md"
    old = path.read_text()
    new = old + "\nRevisi kedua.\n"
    staff_saves(store, "masa-tenang", new)
    before = store.last_seq()

    workspace.reconcile()
    assert path.read_text() == new
    assert store.last_seq() == before
    assert store.current("stages", "masa-tenang").revision == 2  # type: ignore[union-attr]


def test_leftover_file_of_a_deleted_record_is_removed(
    workspace: Workspace, store: Store, content: Path
) -> None:
    # A crash between the commit of the deletion and the removal of the file.
    path = content / "stages" / "coklit.md"
    staff_deletes(store, "coklit")
    before = store.last_seq()

    workspace.reconcile()
    assert not path.exists()
    assert store.last_seq() == before
    current = store.current("stages", "coklit")
    assert current is not None and current.deleted

    workspace.reconcile()  # and it stays deleted
    assert not path.exists()
    assert store.last_seq() == before


def test_file_of_a_deleted_record_edited_by_hand_is_imported(
    workspace: Workspace, store: Store, content: Path
) -> None:
    path = content / "stages" / "coklit.md"
    text = path.read_text()
    staff_deletes(store, "coklit")
    path.write_text(text + "\nDikembalikan dengan tangan.\n")

    workspace.reconcile()
    current = store.current("stages", "coklit")
    assert current is not None
    assert (current.revision, current.deleted, current.author) == (3, False, "disk")
    assert current.text == path.read_text()


def test_missing_file_is_restored(workspace: Workspace, store: Store, content: Path) -> None:
    path = content / "teams" / "sekretariat.md"
    text = path.read_text()
    path.unlink()
    before = store.last_seq()

    workspace.reconcile()
    assert path.read_text() == text
    assert store.last_seq() == before


def test_all_cases_in_one_start(workspace: Workspace, store: Store, content: Path) -> None:
    """Imports are recorded together at the end; the other keys are unaffected by them."""
    stages = content / "stages"
    edited = (stages / "kampanye.md").read_text() + "\nSuntingan.\n"
    (stages / "kampanye.md").write_text(edited)
    newer = (stages / "masa-tenang.md").read_text() + "\nRevisi kedua.\n"
    staff_saves(store, "masa-tenang", newer)
    staff_deletes(store, "coklit")
    sekretariat = (content / "teams" / "sekretariat.md").read_text()
    (content / "teams" / "sekretariat.md").unlink()
    (stages / "uji-baru.md").write_text(stage_text(1))
    before = store.last_seq()

    seen = commits(store)
    workspace.reconcile()
    assert len(seen) == 1  # the two imports
    assert store.last_seq() == before + 2
    assert [row["slug"] for row in store.changes(before, 10)] == ["kampanye", "uji-baru"]
    assert (stages / "masa-tenang.md").read_text() == newer
    assert not (stages / "coklit.md").exists()
    assert (content / "teams" / "sekretariat.md").read_text() == sekretariat
    current = store.current("stages", "uji-baru")
    assert current is not None and (current.revision, current.author) == (1, "import")

    seen.clear()
    workspace.reconcile()
    assert seen == []
    assert store.last_seq() == before + 2


def test_windows_line_endings_are_imported_once(
    workspace: Workspace, store: Store, content: Path
) -> None:
    """Files are read as text (as the builder does): CRLF is stored as LF and the file, still
    CRLF, agrees with it on the next start."""
    path = content / "stages" / "uji-crlf.md"
    path.write_bytes(stage_text(7).replace("\n", "\r\n").encode())
    workspace.reconcile()
    current = store.current("stages", "uji-crlf")
    assert current is not None and current.text == stage_text(7)
    before = store.last_seq()
    workspace.reconcile()
    assert store.last_seq() == before


def test_hidden_and_foreign_files_are_left_alone(
    workspace: Workspace, store: Store, content: Path
) -> None:
    before = store.last_seq()
    for name in (".kampanye.md.tmp-1-2", "Bukan Slug.md", "catatan.txt"):
        (content / "stages" / name).write_text("apa saja\n")
    workspace.reconcile()
    assert store.last_seq() == before


# the store's bulk methods -------------------------------------------------------------------------


def change(slug: str, text: str) -> NewRevision:
    return NewRevision(
        collection="stages",
        slug=slug,
        text=text,
        ext=".md",
        deleted=False,
        action="import",
        author="import",
        role="admin",
        submitted_hash=text_hash(text),
    )


def test_add_revisions_numbers_in_order_in_one_commit(store: Store) -> None:
    staff_saves(store, "a", "satu\n")
    seen = commits(store)
    added = store.add_revisions([change("a", "dua\n"), change("b", "b\n"), change("a", "tiga\n")])
    assert len(seen) == 1
    assert [(c.slug, c.revision, c.seq) for c in added] == [("a", 2, 2), ("b", 1, 3), ("a", 3, 4)]
    assert store.current("stages", "a") == added[2]
    assert store.current("stages", "b") == added[1]
    assert store.known_hashes(["stages/a", "stages/zzz"]) == {
        "stages/a": {text_hash("satu\n"), text_hash("dua\n"), text_hash("tiga\n")}
    }
    assert store.known_hashes() == {
        "stages/a": {text_hash("satu\n"), text_hash("dua\n"), text_hash("tiga\n")},
        "stages/b": {text_hash("b\n")},
    }
    assert store.add_revisions([]) == []


def test_add_revisions_is_all_or_nothing(store: Store) -> None:
    bad = NewRevision(
        collection="stages",
        slug="rusak",
        text=None,  # type: ignore[arg-type]
        ext=".md",
        deleted=False,
        action="import",
        author="import",
        role="admin",
        submitted_hash="",
    )
    with pytest.raises((AttributeError, TypeError)):
        store.add_revisions([change("a", "a\n"), bad])
    assert store.last_seq() == 0
    assert store.all_current() == []


# hand edits that are not valid, and files that cannot be written ---------------------------------


def test_hand_broken_file_is_moved_aside_and_the_last_good_revision_stays(
    workspace: Workspace, store: Store, content: Path, tmp_path: Path
) -> None:
    path = content / "stages" / "kampanye.md"
    good = path.read_text()
    broken = "---\ntitle: [unclosed\n---\nRusak.\n"
    path.write_text(broken)
    before = store.last_seq()

    loaded = workspace.start()
    assert store.last_seq() == before  # never a revision
    assert store.current("stages", "kampanye").text == good  # type: ignore[union-attr]
    assert path.read_text() == good
    assert "kampanye" in loaded.entries["stages"]
    (kept,) = (tmp_path / "rejected").rglob("kampanye.md")
    assert kept.read_text() == broken
    (notice,) = workspace.notices
    assert notice.startswith("stages/kampanye.md was changed while the server was stopped")
    assert "stages/kampanye.md:3: invalid YAML" in notice
    assert str(tmp_path) not in notice

    workspace.start()  # and the next start has nothing left to do
    assert store.last_seq() == before


def test_a_restored_good_text_wins_over_a_broken_revision(
    workspace: Workspace, store: Store, content: Path
) -> None:
    """A broken revision that an earlier version imported: the operator puts the previous
    good text back, and that text wins instead of being overwritten by the broken one."""
    path = content / "stages" / "masa-tenang.md"
    good = path.read_text()
    staff_saves(store, "masa-tenang", "---\ntitle: [unclosed\n---\n")
    before = store.last_seq()

    workspace.start()
    current = store.current("stages", "masa-tenang")
    assert current is not None
    assert (current.text, current.author, current.revision) == (good, "disk", 3)
    assert path.read_text() == good
    assert store.last_seq() == before + 1


def test_hand_edit_pointing_at_a_missing_record_is_refused(
    workspace: Workspace, store: Store, content: Path, tmp_path: Path
) -> None:
    path = content / "stages" / "kampanye.md"
    good = path.read_text()
    dangling = good.replace("divisions:\n", "divisions:\n  - divisi-hantu\n", 1)
    assert dangling != good
    path.write_text(dangling)
    before = store.last_seq()

    workspace.start()
    assert store.last_seq() == before
    assert path.read_text() == good
    (kept,) = (tmp_path / "rejected").rglob("kampanye.md")
    assert kept.read_text() == dangling
    assert "divisi-hantu" in workspace.notices[0]


def test_new_file_that_is_not_valid_is_not_imported(
    workspace: Workspace, store: Store, content: Path, tmp_path: Path
) -> None:
    path = content / "stages" / "baru.md"
    path.write_text("---\ntitle: Baru\n---\n")  # required fields missing
    before = store.last_seq()

    loaded = workspace.start()
    assert store.last_seq() == before
    assert store.current("stages", "baru") is None
    assert not path.exists() and "baru" not in loaded.entries["stages"]
    assert [p.name for p in (tmp_path / "rejected").rglob("*.md")] == ["baru.md"]
    assert "the record is not published" in workspace.notices[0]


def test_reconcile_alone_checks_each_file_too(
    workspace: Workspace, store: Store, content: Path
) -> None:
    (content / "stages" / "kampanye.md").write_text("---\ntitle: [unclosed\n---\n")
    (content / "stages" / "uji-baru.md").write_text(stage_text(3))
    before = store.last_seq()
    workspace.reconcile()
    assert [row["slug"] for row in store.changes(before, 10)] == ["uji-baru"]


def test_a_record_file_that_cannot_be_written_is_served_from_the_database(
    workspace: Workspace, store: Store, content: Path
) -> None:
    # A stage no other record names: a record served from the database is not on disk while
    # the folder loads, so records naming it would not load.
    saved_with_a_folder_in_its_place(store, content, "pengundian-nomor-urut")

    loaded = workspace.start()
    assert loaded.entries["stages"]["pengundian-nomor-urut"].record.title.startswith("Baru -")
    assert workspace.problems == {
        "stages/pengundian-nomor-urut": "stages/pengundian-nomor-urut.md cannot be written: a "
        "folder is in its place; revision 2 is served from the database. Clear the way and "
        "restart the server."
    }
    assert workspace.obstacle("stages", "pengundian-nomor-urut", ".md") == (
        "stages/pengundian-nomor-urut.md cannot be written: something other than a file is in "
        "its place"
    )


def test_a_record_served_from_the_database_still_counts_for_those_that_name_it(
    workspace: Workspace, store: Store, content: Path
) -> None:
    """A finding names the stage masa-tenang: with the stage's file blocked, the server still
    starts, serving the stage from the database, and the finding that names it loads."""
    named_by = [
        path.name
        for path in (content / "findings").glob("*.md")
        if "masa-tenang" in path.read_text(encoding="utf-8")
    ]
    assert named_by, "the test needs a record that names masa-tenang"
    saved_with_a_folder_in_its_place(store, content, "masa-tenang")

    loaded = workspace.start()
    assert loaded.entries["stages"]["masa-tenang"].record.title.startswith("Baru -")
    assert {p.name for p in (content / "findings").glob("*.md")} >= set(named_by)
    assert all(Path(name).stem in loaded.entries["findings"] for name in named_by)
    assert list(workspace.problems) == ["stages/masa-tenang"]
