"""The server's canonical content folder: validate updates, write files atomically, and
bring files and database back into agreement after a crash."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
from pathlib import Path

from site_builder.errors import ContentError, Problem
from site_builder.load import (
    Content,
    Entry,
    RecordCache,
    load_content,
    read_record,
    reference_problems,
)
from site_builder.models import COLLECTIONS, is_slug
from site_builder.readers import READER_EXTENSIONS
from site_builder.write import safe_join

from .protocol import atomic_remove, atomic_write, text_hash, valid_key
from .store import NewRevision, Store

log = logging.getLogger("pantau.sync")

_UPDATED = re.compile(r"^updated:.*$", re.M)


def set_updated(text: str, ext: str, when: dt.datetime) -> str:
    """Set the top-level 'updated' field of a record's text, keeping everything else as is."""
    line = f"updated: {when.isoformat()}"
    if ext == ".md":
        lines = text.splitlines(keepends=True)
        if not lines or lines[0].rstrip() != "---":
            return text  # invalid; validation reports it
        for index in range(1, len(lines)):
            if lines[index].rstrip() in ("---", "..."):
                front = "".join(lines[1:index])
                if _UPDATED.search(front):
                    front = _UPDATED.sub(line, front, count=1)
                else:
                    front = (
                        front + ("" if front.endswith("\n") or not front else "\n") + line + "\n"
                    )
                return lines[0] + front + "".join(lines[index:])
        return text
    if _UPDATED.search(text):
        return _UPDATED.sub(line, text, count=1)
    return text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"


def _import(collection: str, slug: str, text: str, ext: str, action: str) -> NewRevision:
    """A file found on disk, as a new revision of its record."""
    return NewRevision(
        collection=collection,
        slug=slug,
        text=text,
        ext=ext,
        deleted=False,
        action=action,
        author=action,
        role="admin",
        submitted_hash=text_hash(text),
    )


class Workspace:
    """The content folder and its validated in-memory copy."""

    def __init__(self, root: Path, store: Store) -> None:
        self.root = root
        self.store = store
        self.lock = threading.RLock()
        self.content: Content | None = None

    def path(self, collection: str, slug: str, ext: str) -> Path:
        if not valid_key(collection, slug) or ext not in READER_EXTENSIONS:
            raise ValueError(f"invalid record {collection}/{slug}{ext}")
        return safe_join(self.root, f"{COLLECTIONS[collection].folder}/{slug}{ext}")

    # start-up -------------------------------------------------------------------------------

    def start(self, cache: RecordCache | None = None) -> Content:
        """Reconcile files with the database, then load and validate everything (records
        whose files are unchanged since the last build come from the builder's cache)."""
        with self.lock:
            self.reconcile()
            self.content = load_content(self.root, cache)
            return self.content

    def _disk_records(self) -> dict[str, tuple[Path, str]]:
        """Every record file by 'collection/slug': one directory scan per collection, hidden
        files left out, in name order (as `record_files`, so of two files of one record the
        last name wins). Read as text, so line endings are normalised as everywhere else."""
        found: dict[str, tuple[Path, str]] = {}
        for spec in COLLECTIONS.values():
            folder = self.root / spec.folder
            if not folder.is_dir():
                continue
            with os.scandir(folder) as entries:
                names = sorted(
                    entry.name
                    for entry in entries
                    if not entry.name.startswith(".") and entry.is_file()
                )
            for name in names:
                stem, ext = os.path.splitext(name)  # as Path.stem/suffix for unhidden names
                if ext in READER_EXTENSIONS and is_slug(stem):
                    path = folder / name
                    found[f"{spec.name}/{stem}"] = (path, path.read_text(encoding="utf-8"))
        return found

    def reconcile(self) -> None:
        """Make files and history agree. The database wins where a file holds an older
        revision (a crash between commit and rename); a file the database has never seen
        (a manual edit) is imported as a new revision, so nothing is lost either way.

        A file whose text is the current revision needs nothing more; only the other keys'
        history is read (in one query), and every import is recorded in one transaction at
        the end. Files written here hold revisions that are already committed."""
        disk = self._disk_records()
        known = {c.key: c for c in self.store.all_current()}
        hashes = {key: text_hash(text) for key, (_, text) in disk.items()}
        suspect = [
            key
            for key, current in known.items()
            if key in disk and (current.deleted or hashes[key] != current.hash)
        ]
        history = self.store.known_hashes(suspect) if suspect else {}
        imports: list[NewRevision] = []
        for key in sorted(set(disk) | set(known)):
            collection, slug = key.split("/", 1)
            current = known.get(key)
            path, text = disk.get(key, (None, None))
            if current is None:
                assert path is not None and text is not None
                imports.append(_import(collection, slug, text, path.suffix, "import"))
                continue
            if current.deleted:
                if path is None or text is None:
                    continue
                if hashes[key] in history.get(key, ()):
                    log.warning("removing %s: it was deleted before the last stop", path)
                    atomic_remove(path)
                else:
                    imports.append(_import(collection, slug, text, path.suffix, "disk"))
            elif path is None or text is None:
                log.warning("restoring %s/%s from its last revision", collection, slug)
                atomic_write(self.path(collection, slug, current.ext), current.text.encode())
            elif hashes[key] != current.hash:
                if hashes[key] in history.get(key, ()):
                    log.warning("rewriting %s from revision %s", path, current.revision)
                    atomic_write(path, current.text.encode())
                else:
                    imports.append(_import(collection, slug, text, path.suffix, "disk"))
        if imports:
            self.store.add_revisions(imports)
            log.info("imported %d record file(s) into the history", len(imports))

    # updates ---------------------------------------------------------------------------------

    def snapshot(self) -> Content:
        with self.lock:
            if self.content is None:
                raise RuntimeError("the workspace has not started")
            return self.content

    def prepare(self, collection: str, slug: str, text: str, ext: str) -> Entry:
        """Validate one record's new text with the builder's models and the references it
        makes; raise ContentError with the same messages as `pantau check`."""
        name = f"{COLLECTIONS[collection].folder}/{slug}{ext}"
        entry = read_record(COLLECTIONS[collection], slug, text, name)
        content = self.snapshot().with_entry(entry)
        problems = [p for p, _ in reference_problems(content) if p.path == name]
        if problems:
            raise ContentError(problems)
        return entry

    def check_delete(self, collection: str, slug: str) -> None:
        """Refuse to delete a record that other records still point at."""
        content = self.snapshot().without(collection, slug)
        target = f"{collection}/{slug}"
        problems = [
            Problem(p.path, p.line, p.field, f"still refers to {target}, which would be deleted")
            for p, points_at in reference_problems(content)
            if points_at == target
        ]
        if problems:
            raise ContentError(problems)

    def save(self, entry: Entry, ext: str) -> None:
        with self.lock:
            content = self.snapshot()
            old = content.entries.get(entry.collection, {}).get(entry.slug)
            path = self.path(entry.collection, entry.slug, ext)
            atomic_write(path, entry.text.encode("utf-8"))
            if old is not None and Path(old.path).suffix != ext:
                atomic_remove(self.path(entry.collection, entry.slug, Path(old.path).suffix))
            self.content = content.with_entry(entry)

    def remove(self, collection: str, slug: str, ext: str) -> None:
        with self.lock:
            atomic_remove(self.path(collection, slug, ext))
            self.content = self.snapshot().without(collection, slug)

    def add_media(self, name: str, data: bytes) -> None:
        with self.lock:
            atomic_write(safe_join(self.root / "media", name), data)
            self.content = self.snapshot().with_media(name)
