"""The server's canonical content folder: validate updates, write files atomically, keep the
validated content in memory; start-up reconciliation is in reconcile.py."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

from site_builder.errors import ContentError, Problem
from site_builder.i18n import _
from site_builder.load import (
    Content,
    Entry,
    RecordCache,
    publish_problems,
    read_record,
    record_reference_problems,
    reference_problems,
    validate_model,
)
from site_builder.models import COLLECTIONS, Region, Regions, Site
from site_builder.readers import READER_EXTENSIONS, parse_yaml
from site_builder.write import safe_join

from .protocol import atomic_remove, atomic_write, valid_key
from .reconcile import SETTINGS_FILES, Reconciler
from .store import Store

__all__ = ["SETTINGS_FILES", "Workspace"]

log = logging.getLogger("pantau.sync")


class Workspace:
    """The content folder and its validated in-memory copy.

    The database is the truth; the files are its copy. A record file that cannot be written
    (something other than a file is in its place, the disk refuses) is reported in
    ``problems`` and served from the database; a file edited by hand that is not valid is
    moved to the ``rejected`` folder, reported in ``notices``, and the last good revision is
    written in its place."""

    def __init__(self, root: Path, store: Store, rejected: Path | None = None) -> None:
        self.root = root
        self.store = store
        self.rejected = rejected if rejected is not None else root.parent / "rejected"
        self.lock = threading.RLock()
        self.content: Content | None = None
        #: Record files that could not be written, by 'collection/slug': one sentence each.
        self.problems: dict[str, str] = {}
        #: What start-up refused to import, one sentence each.
        self.notices: list[str] = []

    def path(self, collection: str, slug: str, ext: str) -> Path:
        if not valid_key(collection, slug) or ext not in READER_EXTENSIONS:
            raise ValueError(f"invalid record {collection}/{slug}{ext}")
        return safe_join(self.root, f"{COLLECTIONS[collection].folder}/{slug}{ext}")

    def name(self, path: Path | str) -> str:
        """A path as the content-relative name messages show (e.g. 'stages/kampanye.md')."""
        path = Path(path)
        return (
            path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)
        )

    def relative(self, problem: Problem) -> Problem:
        return replace(problem, path=self.name(problem.path))

    # start-up (see reconcile.py) ------------------------------------------------------------

    def start(self, cache: RecordCache | None = None) -> Content:
        """Reconcile files with the database, then load and validate everything (records
        whose files are unchanged since the last build come from the builder's cache). A
        file edited by hand becomes a revision only once the whole content loads with it."""
        return Reconciler(self).start(cache)

    def reconcile(self) -> None:
        """Make files and history agree, recording every file the history does not hold and
        that is valid on its own as a new revision."""
        Reconciler(self).reconcile()

    # files that cannot be written ----------------------------------------------------------

    def why(self, path: Path, exc: OSError) -> str:
        """Why a write failed, in a few words."""
        if path.is_dir() and not path.is_symlink():
            return _("a folder is in its place")
        return exc.strerror or type(exc).__name__

    def cannot_write(self, key: str, name: str, why: str, revision: int | None = None) -> None:
        """Log and keep (for /api/health) that a record's file could not be written."""
        if revision:
            sentence = _(
                "{name} cannot be written: {why}; revision {revision} is served from the "
                "database. Clear the way and restart the server."
            )
        else:
            sentence = _("{name} cannot be written: {why}. Clear the way and restart the server.")
        sentence = sentence.format(name=name, why=why, revision=revision)
        log.error("%s", sentence)
        self.problems[key] = sentence

    # updates ---------------------------------------------------------------------------------

    def snapshot(self) -> Content:
        """The validated content as of the last change (read without waiting for a change in
        progress: the attribute is replaced whole, never changed in place)."""
        content = self.content
        if content is None:
            raise RuntimeError("the workspace has not started")
        return content

    def read(self, collection: str, slug: str, text: str, ext: str) -> Entry:
        """Validate one record's text on its own (no lock needed); raise ContentError."""
        name = f"{COLLECTIONS[collection].folder}/{slug}{ext}"
        entry = read_record(COLLECTIONS[collection], slug, text, name)
        problems = publish_problems(COLLECTIONS[collection], entry)
        if problems:
            raise ContentError(problems)
        return entry

    def check_references(self, entry: Entry) -> None:
        """Refuse a record that points at records, regions or images that do not exist."""
        content = self.snapshot().with_entry(entry)
        problems = [p for p, _ in record_reference_problems(content, entry)]
        if problems:
            raise ContentError([self.relative(p) for p in problems])

    def prepare(self, collection: str, slug: str, text: str, ext: str) -> Entry:
        """Validate one record's new text with the builder's models and the references it
        makes; raise ContentError with the same messages as `pantau check`."""
        entry = self.read(collection, slug, text, ext)
        self.check_references(entry)
        return entry

    def check_delete(self, collection: str, slug: str) -> None:
        """Refuse to delete a record that other records still point at."""
        content = self.snapshot().without(collection, slug)
        target = f"{collection}/{slug}"
        problems = [
            Problem(
                self.name(p.path),
                p.line,
                p.field,
                _("still refers to {target}, which would be deleted").format(target=target),
            )
            for p, points_at in reference_problems(content)
            if points_at == target
        ]
        if problems:
            raise ContentError(problems)

    def obstacle(self, collection: str, slug: str, ext: str) -> str | None:
        """Why a record's file could not be written, checked before a change is committed;
        None when nothing is in the way."""
        path = self.path(collection, slug, ext)
        name = self.name(path)
        for folder in (path.parent, *path.parent.parents):
            if folder == self.root.parent:
                break
            if folder.exists() and not folder.is_dir():
                return _("{name} cannot be written: {folder} is not a folder").format(
                    name=name, folder=self.name(folder)
                )
        if path.is_symlink() or (path.exists() and not path.is_file()):
            return _(
                "{name} cannot be written: something other than a file is in its place"
            ).format(name=name)
        return None

    def save(self, entry: Entry, ext: str) -> None:
        """Write a committed revision's file and make it part of the content. A file that
        cannot be written is reported in `problems`; the content (and the site) follows the
        database all the same."""
        with self.lock:
            content = self.snapshot()
            old = content.entries.get(entry.collection, {}).get(entry.slug)
            path = self.path(entry.collection, entry.slug, ext)
            try:
                atomic_write(path, entry.text.encode("utf-8"))
                if old is not None and Path(old.path).suffix != ext:
                    atomic_remove(self.path(entry.collection, entry.slug, Path(old.path).suffix))
                self.problems.pop(entry.key, None)
            except OSError as exc:
                self.cannot_write(entry.key, self.name(path), self.why(path, exc))
            self.content = content.with_entry(entry)

    def remove(self, collection: str, slug: str, ext: str) -> None:
        with self.lock:
            path = self.path(collection, slug, ext)
            try:
                atomic_remove(path)
                self.problems.pop(f"{collection}/{slug}", None)
            except OSError as exc:
                self.cannot_write(f"{collection}/{slug}", self.name(path), self.why(path, exc))
            self.content = self.snapshot().without(collection, slug)

    # settings (site.yaml, regions.yaml) ----------------------------------------------------

    def settings_text(self, name: str) -> str:
        content = self.snapshot()
        return content.site_text if name == "site" else content.regions_text

    def check_settings(self, name: str, text: str) -> Content:
        """The content with a new text of a settings file, validated with the builder's
        models; every record must still point at regions that exist. Raise ContentError
        with the same messages as `pantau check`."""
        filename = SETTINGS_FILES[name]
        parsed = parse_yaml(text.removeprefix("\ufeff"), filename)
        content = self.snapshot()
        if name == "site":
            site = validate_model(Site, parsed, filename)
            return replace(content, site=site, site_text=text)
        regions: dict[str, Region] = {}
        problems: list[Problem] = []
        for index, region in enumerate(validate_model(Regions, parsed, filename).regions):
            if region.slug in regions:
                problems.append(
                    Problem(
                        filename,
                        parsed.line_of(("regions", index, "slug")),
                        f"regions[{index}].slug",
                        _("the region slug '{slug}' is listed twice").format(slug=region.slug),
                    )
                )
            regions[region.slug] = region
        changed = replace(content, regions=regions, regions_text=text)
        problems += [self.relative(p) for p, _ in reference_problems(changed)]
        if problems:
            raise ContentError(problems)
        return changed

    def save_settings(self, name: str, text: str, content: Content) -> None:
        """Write a committed settings revision's file and make it part of the content."""
        with self.lock:
            path = self.root / SETTINGS_FILES[name]
            try:
                atomic_write(path, text.encode("utf-8"))
                self.problems.pop(f"settings/{name}", None)
            except OSError as exc:
                self.cannot_write(f"settings/{name}", self.name(path), self.why(path, exc))
            self.content = content

    def add_media(self, name: str, data: bytes) -> None:
        with self.lock:
            atomic_write(safe_join(self.root / "media", name), data)
            self.content = self.snapshot().with_media(name)
