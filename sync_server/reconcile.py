"""Start-up: bring the content folder and the database back into agreement (after a crash,
or files edited by hand while the server was stopped), then load the content.

The database is the truth and the files its copy; a file the history does not hold becomes a
new revision only once the content loads with it. A file that is not valid is moved to the
rejected folder and the last good revision written back, so nothing is lost either way."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from site_builder.errors import ContentError, Problem
from site_builder.i18n import _
from site_builder.load import Content, Entry, RecordCache, load_content, read_record
from site_builder.models import COLLECTIONS, is_slug
from site_builder.readers import READER_EXTENSIONS

from .protocol import atomic_remove, atomic_write, text_hash
from .store import SETTINGS, Current, NewRevision, now

#: The settings files the API serves and changes, by name ('settings/site' and so on).
SETTINGS_FILES = {"site": "site.yaml", "regions": "regions.yaml"}

if TYPE_CHECKING:
    from .workspace import Workspace

log = logging.getLogger("pantau.sync")


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


@dataclass
class _Candidate:
    """A record file found on disk that the history does not hold: a new file or a hand edit."""

    collection: str
    slug: str
    path: Path
    text: str
    action: str
    current: Current | None

    @property
    def key(self) -> str:
        return f"{self.collection}/{self.slug}"

    def revision(self) -> NewRevision:
        return _import(self.collection, self.slug, self.text, self.path.suffix, self.action)


class Reconciler:
    """Start-up work on a workspace (see the module's docstring)."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def start(self, cache: RecordCache | None = None) -> Content:
        """Reconcile files with the database, then load and validate everything (records
        whose files are unchanged since the last build come from the builder's cache). A
        file edited by hand becomes a revision only once the whole content loads with it."""
        with self.ws.lock:
            unwritten: dict[str, Current] = {}
            self._settings_files()
            candidates = self._reconcile_files(unwritten, validate=False)
            overlay = self._stand_ins(unwritten)
            content = self._load(cache, candidates, overlay)
            self._commit(candidates)
            self._settings_history({"site": content.site_text, "regions": content.regions_text})
            self.ws.content = content
            return content

    def reconcile(self) -> None:
        """Make files and history agree (see `_reconcile_files`), recording every file the
        history does not hold and that is valid on its own as a new revision."""
        with self.ws.lock:
            self._commit(self._reconcile_files({}, validate=True))

    def _settings_files(self) -> None:
        """A settings file that holds an older revision than the database's current one (a
        crash between commit and rename) is written again from the database."""
        store = self.ws.store
        for name, filename in SETTINGS_FILES.items():
            current = store.current(SETTINGS, name)
            path = self.ws.root / filename
            if current is None or not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if text_hash(text) == current.hash:
                continue
            if text_hash(text) in store.known_hashes([current.key]).get(current.key, set()):
                atomic_write(path, current.text.encode("utf-8"))

    def _settings_history(self, texts: dict[str, str]) -> None:
        """Record a settings file edited by hand (and loaded, so valid) as a new revision.
        A settings file the API never changed has no history yet: its first change records
        the file as it was (an import), then the change (see Records.put_settings)."""
        store = self.ws.store
        for name, text in texts.items():
            current = store.current(SETTINGS, name)
            if current is not None and current.hash != text_hash(text):
                store.add_revisions([_import(SETTINGS, name, text, ".yaml", "disk")])

    def _disk_records(self) -> dict[str, tuple[Path, str]]:
        """Every record file by 'collection/slug': one directory scan per collection, hidden
        files left out, in name order (as `record_files`, so of two files of one record the
        last name wins). Read as text, so line endings are normalised as everywhere else."""
        found: dict[str, tuple[Path, str]] = {}
        for spec in COLLECTIONS.values():
            folder = self.ws.root / spec.folder
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
                    try:
                        text = path.read_text(encoding="utf-8")
                    except UnicodeDecodeError:
                        text = path.read_bytes().decode("utf-8", "replace")  # refused below
                    found[f"{spec.name}/{stem}"] = (path, text)
        return found

    def _reconcile_files(self, unwritten: dict[str, Current], validate: bool) -> list[_Candidate]:
        """Make files and history agree. The database wins where a file holds an older
        revision (a crash between commit and rename), unless that revision is not valid and
        the file is (a good text restored by hand wins). A file the database has never seen
        (a manual edit) is returned to be recorded as a new revision if it is valid; one
        that is not is moved to the rejected folder and the last good revision is written
        back, so nothing is lost either way. With `validate`, each such file is checked on
        its own here; otherwise the caller loads the folder, which checks them all at once.
        Files that cannot be written are left in `unwritten` (and in `problems`).

        A file whose text is the current revision needs nothing more; only the other keys'
        history is read (in one query). Files written here hold revisions that are already
        committed."""
        disk = self._disk_records()
        known = {c.key: c for c in self.ws.store.all_current()}
        hashes = {key: text_hash(text) for key, (_, text) in disk.items()}
        suspect = [
            key
            for key, current in known.items()
            if key in disk and (current.deleted or hashes[key] != current.hash)
        ]
        history = self.ws.store.known_hashes(suspect) if suspect else {}
        candidates: list[_Candidate] = []
        for key in sorted(set(disk) | set(known)):
            collection, slug = key.split("/", 1)
            current = known.get(key)
            path, text = disk.get(key, (None, None))
            if path is None or text is None:
                if current is not None and not current.deleted:
                    log.warning("restoring %s/%s from its last revision", collection, slug)
                    self._write_current(current, unwritten)
                continue
            if current is not None and hashes[key] == current.hash and not current.deleted:
                continue
            older = current is not None and hashes[key] in history.get(key, ())
            if current is not None and current.deleted and older:
                log.warning("removing %s: it was deleted before the last stop", path)
                self._remove(key, path, current, unwritten)
            elif current is not None and older and self._valid(current.text, key, current.ext):
                log.warning("rewriting %s from revision %s", path, current.revision)
                self._write_current(current, unwritten)
            else:
                action = "import" if current is None else "disk"
                candidate = _Candidate(collection, slug, path, text, action, current)
                problems = self._problems(candidate) if validate else []
                if problems:
                    self._reject(candidate, problems, unwritten)
                else:
                    candidates.append(candidate)
        return candidates

    def _valid(self, text: str, key: str, ext: str) -> bool:
        collection, slug = key.split("/", 1)
        name = f"{COLLECTIONS[collection].folder}/{slug}{ext}"
        try:
            read_record(COLLECTIONS[collection], slug, text, name)
        except ContentError:
            return False
        return True

    def _problems(self, candidate: _Candidate) -> list[Problem]:
        """What is wrong with a file on its own (its references are checked by `_load`)."""
        name = self.ws.name(candidate.path)
        if "\ufffd" in candidate.text and not _is_utf8(candidate.path):
            return [Problem(name, 1, "", "the file is not UTF-8 text")]
        try:
            read_record(COLLECTIONS[candidate.collection], candidate.slug, candidate.text, name)
        except ContentError as exc:
            return [self.ws.relative(p) for p in exc.problems]
        return []

    def _load(
        self,
        cache: RecordCache | None,
        candidates: list[_Candidate],
        overlay: dict[str, Entry | None],
    ) -> Content:
        """Load the folder, with the database's revisions standing in for the files that
        could not be written (so that records naming them load too); while it fails because
        of files edited by hand (a reference to a record that does not exist, say), refuse
        those files and load again."""
        while True:
            try:
                return load_content(self.ws.root, cache, overlay=overlay)
            except ContentError as exc:
                blamed = [
                    (candidate, [self.ws.relative(p) for p in exc.problems if p.path == path])
                    for candidate in candidates
                    if (path := str(candidate.path)) in {p.path for p in exc.problems}
                ]
                if not blamed:
                    raise ContentError([self.ws.relative(p) for p in exc.problems]) from None
                for candidate, problems in blamed:
                    candidates.remove(candidate)
                    self._reject(candidate, problems, {})

    def _commit(self, candidates: list[_Candidate]) -> None:
        if candidates:
            self.ws.store.add_revisions(candidate.revision() for candidate in candidates)
            log.info("imported %d record file(s) into the history", len(candidates))

    def _reject(
        self, candidate: _Candidate, problems: list[Problem], unwritten: dict[str, Current]
    ) -> None:
        """Move a file that is not valid out of the content folder, keeping it for the
        operator, and put the last good revision (if any) back in its place."""
        name = self.ws.name(candidate.path)
        kept = self._aside(candidate.key, candidate.path)
        if kept is None:
            return
        current = candidate.current
        reasons = "; ".join(str(p) for p in problems[:5])
        if len(problems) > 5:
            reasons = _("{reasons} (and {more} more)").format(
                reasons=reasons, more=len(problems) - 5
            )
        if current is not None and not current.deleted:
            sentence = _(
                "{name} was changed while the server was stopped, but it is not valid "
                "({reasons}); it was moved to {kept} and revision {revision} is served. "
                "Correct it there and send it again."
            )
        else:
            sentence = _(
                "{name} was changed while the server was stopped, but it is not valid "
                "({reasons}); it was moved to {kept} and the record is not published. "
                "Correct it there and send it again."
            )
        sentence = sentence.format(
            name=name, reasons=reasons, kept=kept, revision=current.revision if current else 0
        )
        log.error("%s", sentence)
        self.ws.notices.append(sentence)
        del self.ws.notices[:-20]
        if current is not None and not current.deleted:
            self._write_current(current, unwritten)

    def _aside(self, key: str, path: Path) -> str | None:
        """Move a file under the rejected folder (rejected/<time>/<collection>/<name>);
        return where it went, relative to the data folder."""
        stamp = now().strftime("%Y-%m-%dT%H-%M-%S")
        relative = path.relative_to(self.ws.root)
        target = self.ws.rejected / stamp / relative
        number = 1
        while target.exists():
            number += 1
            target = self.ws.rejected / f"{stamp}-{number}" / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        except OSError as exc:
            key = f"{relative.parent.as_posix()}/{path.stem}"
            self.ws.cannot_write(
                key,
                self.ws.name(path),
                _("it could not be moved aside ({reason})").format(reason=exc.strerror),
            )
            return None
        return target.relative_to(self.ws.rejected.parent).as_posix()

    def _write_current(self, current: Current, unwritten: dict[str, Current]) -> None:
        path = self.ws.path(current.collection, current.slug, current.ext)
        try:
            atomic_write(path, current.text.encode("utf-8"))
        except OSError as exc:
            unwritten[current.key] = current
            self.ws.cannot_write(
                current.key, self.ws.name(path), self.ws.why(path, exc), current.revision
            )

    def _remove(
        self, key: str, path: Path, current: Current, unwritten: dict[str, Current]
    ) -> None:
        try:
            atomic_remove(path)
        except OSError as exc:
            unwritten[key] = current
            self.ws.cannot_write(key, self.ws.name(path), self.ws.why(path, exc), current.revision)

    def _stand_ins(self, unwritten: dict[str, Current]) -> dict[str, Entry | None]:
        """The database's revisions of the records whose files could not be written, by key
        (None when deleted there); one no longer valid on its own is left out."""
        found: dict[str, Entry | None] = {}
        for key, current in unwritten.items():
            if current.deleted:
                found[key] = None
                continue
            spec = COLLECTIONS[current.collection]
            name = f"{spec.folder}/{current.slug}{current.ext}"
            try:
                found[key] = read_record(spec, current.slug, current.text, name)
            except ContentError:
                continue
        return found


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return True
