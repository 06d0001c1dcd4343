"""`pantau backup` and `pantau restore`: a consistent copy of a server's data folder.

The database is copied with SQLite's online backup API, which reads one consistent snapshot
even while the server writes (never a WAL file caught mid-write). The record files in the
backup are written from that snapshot, not copied from the live folder, so a change committed
after the snapshot is either wholly absent or, for a file copied later, not there at all:
restored files and history always agree. Media files are content-addressed and written before
their database row, so every image the snapshot knows is in the copy. Builds, the live link
and the builder's cache are not kept: a server started on a restored folder builds the site
again. A manifest lists every file with its SHA-256; restore checks them all, and the
database's integrity, before it puts anything in place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from site_builder.errors import PantauError
from site_builder.i18n import _
from site_builder.models import COLLECTIONS, WITA, is_slug
from site_builder.progress import Report, no_report
from site_builder.readers import READER_EXTENSIONS

DB_NAME = "pantau.db"
MANIFEST = "manifest.json"
FORMAT = 1
#: Folders of a data folder kept in a backup besides the database: the canonical content
#: (with its media) and the files start-up set aside as invalid (so nothing is lost).
KEPT = ("content", "rejected")
COUNTED = ("records", "revisions", "tokens", "assets", "builds", "audit")


@dataclass(frozen=True)
class Summary:
    """What a backup holds (or a restore put back)."""

    counts: dict[str, int]
    last_seq: int
    files: int
    size: int

    def describe(self) -> str:
        return _(
            "{records} records, {revisions} revisions, {tokens} tokens, {assets} assets, "
            "{files} files ({size:.1f} KB), up to change {last}"
        ).format(**self.counts, files=self.files, size=self.size / 1024, last=self.last_seq)


def _why(exc: OSError) -> str:
    """An OS error in a few words, with the file it concerns."""
    reason = exc.strerror or str(exc)
    return f"{reason} ({exc.filename})" if exc.filename else reason


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_empty_or_missing(folder: Path) -> bool:
    if not folder.exists():
        return True
    return folder.is_dir() and not any(folder.iterdir())


def _integrity(db: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise PantauError(
            _("{db} is not a readable database ({reason})").format(db=db, reason=exc)
        ) from None
    if rows != ["ok"]:
        raise PantauError(
            _("{db} fails SQLite's integrity check: {reason}").format(
                db=db, reason="; ".join(rows[:5])
            )
        )


def _counts(conn: sqlite3.Connection) -> tuple[dict[str, int], int]:
    counts = {
        name: int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in COUNTED
    }
    last_seq = int(conn.execute("SELECT coalesce(max(seq), 0) FROM revisions").fetchone()[0])
    return counts, last_seq


def _snapshot_db(source: Path, target: Path) -> None:
    """Copy the database with the online backup API: one step, so one consistent snapshot
    (a read transaction in WAL mode; the server's writers are never blocked). The copy is
    switched to a rollback journal so that it is one self-contained file."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _is_record_file(relative: Path) -> bool:
    """Whether a path under content/ is a record's file (written from the snapshot instead)."""
    if len(relative.parts) != 2 or relative.parts[0] not in {
        s.folder for s in COLLECTIONS.values()
    }:
        return False
    name = relative.name
    stem, ext = os.path.splitext(name)
    return not name.startswith(".") and ext in READER_EXTENSIONS and is_slug(stem)


def _copy_content(data: Path, db: Path, target: Path) -> None:
    """Copy content/ as the snapshot sees it. Files other than records are copied as they
    are. A record file is copied as it is too (a hand edit or an older revision left by a
    crash: start-up reconciles it as it would on the original), unless its text is a change
    committed after the snapshot; then the snapshot's revision is written instead, or no file
    for a record the snapshot does not hold. Deleted records have no file."""
    source = data / "content"

    def ignore(folder: str, names: list[str]) -> list[str]:
        # Records are written below from the snapshot; hidden files are a writer's temporary
        # files (renamed away at any moment) and never content.
        here = Path(folder).relative_to(source)
        return [n for n in names if n.startswith(".") or _is_record_file(here / n)]

    def copy(src: str, dst: str) -> None:
        # A file removed while copying (a deleted image) is one the snapshot no longer needs.
        with contextlib.suppress(FileNotFoundError):
            shutil.copy2(src, dst)

    shutil.copytree(source, target, ignore=ignore, symlinks=False, copy_function=copy)
    snapshot = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        last_seq = int(
            snapshot.execute("SELECT coalesce(max(seq), 0) FROM revisions").fetchone()[0]
        )
        current = {
            (collection, slug): (ext, text, bool(deleted))
            for collection, slug, ext, text, deleted in snapshot.execute(
                "SELECT r.collection, r.slug, r.ext, r.text, r.deleted FROM records c "
                "JOIN revisions r ON r.seq = c.seq"
            )
        }
    finally:
        snapshot.close()
    # The live database, read after each file: a change's revision commits before its file
    # is written, so a file holding a later change always finds that change here.
    live = sqlite3.connect(f"file:{data / DB_NAME}?mode=ro", uri=True, timeout=30)
    try:
        for spec in COLLECTIONS.values():
            folder = source / spec.folder
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if not (path.is_file() and _is_record_file(Path(spec.folder) / path.name)):
                    continue
                try:
                    raw = path.read_bytes()
                except FileNotFoundError:
                    continue  # deleted meanwhile: the snapshot decides below
                try:
                    # As the server reads it: line endings normalised.
                    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
                except UnicodeDecodeError:
                    text = None  # no revision's text: copied for start-up to set aside
                later = (
                    text is not None
                    and live.execute(
                        "SELECT 1 FROM revisions WHERE collection = ? AND slug = ? AND seq > ? "
                        "AND text = ?",
                        [spec.name, path.stem, last_seq, text],
                    ).fetchone()
                )
                if not later:
                    (target / spec.folder).mkdir(parents=True, exist_ok=True)
                    (target / spec.folder / path.name).write_bytes(raw)
    finally:
        live.close()
    for (collection, slug), (ext, text, deleted) in current.items():
        folder = target / COLLECTIONS[collection].folder if collection in COLLECTIONS else None
        if deleted or folder is None:
            continue
        if any((folder / f"{slug}{other}").exists() for other in READER_EXTENSIONS):
            continue  # copied above, as it was on disk
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{slug}{ext}").write_bytes(text.encode("utf-8"))


def _files(root: Path) -> list[Path]:
    return sorted(
        path.relative_to(root)
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root) != Path(MANIFEST)
    )


def backup(data: Path, dest: Path, progress: Report = no_report) -> Summary:
    """Write a backup of the data folder ``data`` into ``dest`` (missing or empty);
    ``progress`` hears where it is (see ``site_builder.progress``)."""
    db = data / DB_NAME
    if not db.is_file():
        raise PantauError(
            _("{data} is not a server data folder: it has no {db}").format(data=data, db=DB_NAME)
        )
    if not (data / "content").is_dir():
        raise PantauError(
            _("{data} is not a server data folder: it has no content folder").format(data=data)
        )
    if not _is_empty_or_missing(dest):
        raise PantauError(
            _("{dest} already exists and is not empty; back up into a new folder").format(dest=dest)
        )
    partial = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        progress(_("Copying the database"), 0, None)
        _snapshot_db(db, partial / DB_NAME)
        _integrity(partial / DB_NAME)
        progress(_("Copying the content"), 0, None)
        _copy_content(data, partial / DB_NAME, partial / "content")
        for name in KEPT[1:]:
            if (data / name).is_dir():
                shutil.copytree(data / name, partial / name, symlinks=False)
        summary = _write_manifest(partial, progress)
        if dest.exists():
            dest.rmdir()
        partial.rename(dest)
    except sqlite3.Error as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise PantauError(
            _("cannot back up the database {db}: {reason}").format(db=db, reason=exc)
        ) from None
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise PantauError(
            _("cannot write the backup {dest}: {reason}").format(dest=dest, reason=_why(exc))
        ) from None
    return summary


def _write_manifest(root: Path, progress: Report = no_report) -> Summary:
    conn = sqlite3.connect(f"file:{root / DB_NAME}?mode=ro", uri=True)
    try:
        counts, last_seq = _counts(conn)
    finally:
        conn.close()
    paths = _files(root)
    files: dict[str, str] = {}
    for done, path in enumerate(paths):
        progress(_("Hashing the files"), done, len(paths))
        files[path.as_posix()] = _sha256(root / path)
    progress(_("Hashing the files"), len(paths), len(paths))
    size = sum((root / name).stat().st_size for name in files)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": dt.datetime.now(WITA).replace(microsecond=0).isoformat(),
        "counts": counts,
        "last_seq": last_seq,
        "files": files,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Summary(counts, last_seq, len(files), size)


def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PantauError(
            _("{src} is not a backup: it has no {manifest}").format(src=src, manifest=MANIFEST)
        ) from None
    except (OSError, ValueError) as exc:
        raise PantauError(_("cannot read {path}: {reason}").format(path=path, reason=exc)) from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), dict)
        or not isinstance(manifest.get("counts"), dict)
    ):
        raise PantauError(
            _("{path} is not a manifest this version of pantau can read").format(path=path)
        )
    return manifest


def _verify(root: Path, manifest: dict[str, Any], progress: Report = no_report) -> None:
    """Every file the manifest lists, with its hash, and no other; then the database."""
    listed: dict[str, str] = manifest["files"]
    present = {path.as_posix() for path in _files(root)}
    missing = sorted(set(listed) - present)
    if missing:
        raise PantauError(
            _("the backup is incomplete: {name} is missing ({count} in all)").format(
                name=missing[0], count=len(missing)
            )
        )
    extra = sorted(present - set(listed))
    if extra:
        raise PantauError(
            _("the backup holds a file its manifest does not list: {name}").format(name=extra[0])
        )
    for done, (name, expected) in enumerate(sorted(listed.items())):
        progress(_("Checking the files"), done, len(listed))
        if _sha256(root / name) != expected:
            raise PantauError(
                _("the backup was altered or damaged: {name} does not match its hash").format(
                    name=name
                )
            )
    if DB_NAME not in listed:
        raise PantauError(_("the backup holds no {db}").format(db=DB_NAME))
    progress(_("Checking the database"), 0, None)
    _integrity(root / DB_NAME)
    conn = sqlite3.connect(f"file:{root / DB_NAME}?mode=ro", uri=True)
    try:
        counts, _last = _counts(conn)
    except sqlite3.Error as exc:
        raise PantauError(
            _("the backup's database cannot be read: {reason}").format(reason=exc)
        ) from None
    finally:
        conn.close()
    for name, value in manifest["counts"].items():
        if counts.get(name) != value:
            raise PantauError(
                _("the backup's database holds {found} {table}, its manifest {listed}").format(
                    found=counts.get(name), table=name, listed=value
                )
            )


def restore(src: Path, data: Path, progress: Report = no_report) -> Summary:
    """Restore the backup ``src`` into the data folder ``data`` (missing or empty). The files
    are copied to a folder beside it, checked there, and only then moved into place.
    ``progress`` hears where it is (see ``site_builder.progress``)."""
    if not src.is_dir():
        raise PantauError(
            _("{src} is not a folder; name the folder `pantau backup` wrote").format(src=src)
        )
    manifest = read_manifest(src)
    if not _is_empty_or_missing(data):
        raise PantauError(
            _("{data} already exists and is not empty; restore into a new folder").format(data=data)
        )
    partial = data.parent / f".{data.name}.restoring-{os.getpid()}"
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        progress(_("Copying the backup"), 0, None)
        shutil.copytree(src, partial, symlinks=False)
        (partial / MANIFEST).unlink()
        _verify(partial, manifest, progress)
        if data.exists():
            data.rmdir()
        partial.rename(data)
    except PantauError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise PantauError(
            _("cannot restore into {data}: {reason}").format(data=data, reason=_why(exc))
        ) from None
    listed = manifest["files"]
    return Summary(
        {name: int(manifest["counts"].get(name, 0)) for name in COUNTED},
        int(manifest.get("last_seq", 0)),
        len(listed),
        sum((data / name).stat().st_size for name in listed),
    )
