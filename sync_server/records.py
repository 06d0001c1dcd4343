"""The record transactions: create or update, delete, revert. Each checks the revision it is
based on (never a silent overwrite), validates with the builder's models, commits a new
revision, writes the file and asks for a build. They raise the server's own errors (see
errors.py) and know nothing of HTTP.

Validation of a record on its own (the costly part: YAML and the models) runs before the
content lock is taken, so a slow or hostile update never holds up another; only the checks
against the current state, the commit and the file write run under it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from site_builder.errors import ContentError
from site_builder.i18n import _
from site_builder.load import Entry

from .auth import Identity
from .errors import Conflict, Invalid, NotFound, PreconditionRequired, Unavailable
from .protocol import text_hash
from .publisher import Publisher
from .store import SETTINGS, Current, NewRevision, Store
from .workspace import SETTINGS_FILES, Workspace

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """The record after a change, and the build that will publish it (for a change that was
    already in, or a text identical to the current one: the live build, which shows it)."""

    current: Current
    build: int | None
    created: bool = False
    replayed: bool = False
    unchanged: bool = False
    reverted_to: int | None = None


def checked(error: str, check: Callable[..., T], *args: object) -> T:
    """Run a content check; its problems become Invalid, with file, line and field each."""
    try:
        return check(*args)
    except ContentError as exc:
        raise Invalid(error, [p.to_json() for p in exc.problems]) from None


def nothing_changed(obstacle: str) -> str:
    return _("{obstacle}; nothing was changed. Tell the server's administrator.").format(
        obstacle=obstacle
    )


def _stale(current: Current | None, message: str) -> Conflict:
    """A stale edit: the answer holds the current revision, and who made it and the hash of
    the text they sent, so a client can tell its own earlier push (whose answer it never
    got) from someone else's change."""
    return Conflict(
        message,
        revision=current.revision if current else None,
        deleted=current.deleted if current else None,
        text=current.text if current else None,
        author=current.author if current else None,
        submitted_hash=current.submitted_hash if current else None,
    )


class Records:
    """Changes to records, one at a time under the workspace's lock."""

    def __init__(self, store: Store, workspace: Workspace, publisher: Publisher) -> None:
        self.store = store
        self.workspace = workspace
        self.publisher = publisher

    def _replayed(self, current: Current | None, who: Identity, submitted: str) -> bool:
        """A re-sent request whose change is already in: answered as before, not applied."""
        return (
            current is not None
            and not current.deleted
            and current.submitted_hash == submitted
            and current.author == who.name
        )

    @staticmethod
    def _unchanged(current: Current | None, if_match: int | None, submitted: str) -> bool:
        """An update based on the current revision whose text is that revision's own (as it
        was sent, or as it is stored): nothing to change, so nothing is recorded, nobody is
        told of a change and nothing is rebuilt."""
        return (
            current is not None
            and not current.deleted
            and if_match == current.revision
            and submitted in (current.submitted_hash, current.hash)
        )

    @staticmethod
    def _ext(current: Current | None, hint: str | None, text: str) -> str:
        if current is not None and not current.deleted:
            return current.ext
        return hint or (".md" if text.lstrip().startswith("---") else ".yaml")

    def _check_precondition(
        self, current: Current | None, key: str, if_match: int | None, create: bool
    ) -> None:
        exists = current is not None and not current.deleted
        if create:
            if exists:
                raise _stale(
                    current, _("{key} already exists; update it with If-Match").format(key=key)
                )
        elif if_match is None:
            raise PreconditionRequired(
                _(
                    "send If-Match with the revision your edit is based on, "
                    "or If-None-Match: * to create a record"
                )
            )
        elif not exists or current is None or current.revision != if_match:
            if current is None:
                message = _(
                    "your edit is based on revision {base}, but the record does not exist; "
                    "create it with If-None-Match: *"
                )
            elif current.deleted:
                message = _(
                    "your edit is based on revision {base}, but the current revision is "
                    "{current} (deleted); merge with the current text and send again"
                )
            else:
                message = _(
                    "your edit is based on revision {base}, but the current revision is "
                    "{current}; merge with the current text and send again"
                )
            raise _stale(
                current,
                message.format(base=if_match, current=current.revision if current else 0),
            )

    def _entry(self, collection: str, slug: str, text: str, ext: str) -> Entry:
        return checked(
            _("the record is not valid"), self.workspace.read, collection, slug, text, ext
        )

    def put(
        self,
        who: Identity,
        collection: str,
        slug: str,
        text: str,
        ext_hint: str | None,
        if_match: int | None,
        create: bool,
    ) -> Outcome:
        """Create (``create``) or update (``if_match``) a record from its file text."""
        key = f"{collection}/{slug}"
        submitted = text_hash(text)
        current = self.store.current(collection, slug)
        if not create and self._unchanged(current, if_match, submitted):
            assert current is not None
            return Outcome(current, self.publisher.live_build(), unchanged=True)
        if self._replayed(current, who, submitted):
            assert current is not None
            return Outcome(current, self.publisher.live_build(), replayed=True)
        self._check_precondition(current, key, if_match, create)
        ext = self._ext(current, ext_hint, text)
        # The text is kept exactly as its author wrote it: the time of the change is the
        # revision's own (see Store.live_revisions), never written into the text.
        entry = self._entry(collection, slug, text, ext)  # the costly part, unlocked
        with self.workspace.lock:
            current = self.store.current(collection, slug)
            if not create and self._unchanged(current, if_match, submitted):
                assert current is not None
                return Outcome(current, self.publisher.live_build(), unchanged=True)
            if self._replayed(current, who, submitted):
                assert current is not None
                return Outcome(current, self.publisher.live_build(), replayed=True)
            self._check_precondition(current, key, if_match, create)
            if self._ext(current, ext_hint, text) != ext:  # created meanwhile with another
                ext = self._ext(current, ext_hint, text)
                entry = self._entry(collection, slug, text, ext)
            checked(_("the record is not valid"), self.workspace.check_references, entry)
            obstacle = self.workspace.obstacle(collection, slug, ext)
            if obstacle is not None:
                raise Unavailable(nothing_changed(obstacle))
            exists = current is not None and not current.deleted
            saved = self.store.add_revision(
                collection=collection,
                slug=slug,
                text=text,
                ext=ext,
                deleted=False,
                action="update" if exists else "create",
                author=who.name,
                role=who.role,
                submitted_hash=submitted,
            )
            self.workspace.save(entry, ext)
        build = self.publisher.request(f"{saved.key}@{saved.revision}")
        return Outcome(saved, build, created=not exists)

    def delete(self, who: Identity, collection: str, slug: str, if_match: int | None) -> Outcome:
        """Delete a record: a new revision that marks it deleted (history stays)."""
        with self.workspace.lock:
            current = self.store.current(collection, slug)
            if current is None:
                raise NotFound(_("there is no record {key}").format(key=f"{collection}/{slug}"))
            if current.deleted:
                return Outcome(current, self.publisher.live_build(), replayed=True)
            if if_match is None:
                raise PreconditionRequired(_("send If-Match with the revision you are deleting"))
            if current.revision != if_match:
                raise _stale(
                    current,
                    _("the current revision is {current}, not {base}").format(
                        current=current.revision, base=if_match
                    ),
                )
            checked(
                _("other records still refer to this one"),
                self.workspace.check_delete,
                collection,
                slug,
            )
            saved = self.store.add_revision(
                collection=collection,
                slug=slug,
                text="",
                ext=current.ext,
                deleted=True,
                action="delete",
                author=who.name,
                role=who.role,
                submitted_hash=text_hash(""),
            )
            self.workspace.remove(collection, slug, current.ext)
        build = self.publisher.request(f"{saved.key}@{saved.revision}")
        return Outcome(saved, build)

    def revert(self, who: Identity, collection: str, slug: str, revision: int) -> Outcome:
        """Make an old revision current again, as a new revision."""
        with self.workspace.lock:
            old = self.store.revision(collection, slug, revision)
            current = self.store.current(collection, slug)
            if old is None or current is None:
                raise NotFound(
                    _("{key} has no revision {revision}").format(
                        key=f"{collection}/{slug}", revision=revision
                    )
                )
            entry: Entry | None = None
            if old["deleted"]:
                text = ""
                if not current.deleted:
                    checked(
                        _("other records still refer to this one"),
                        self.workspace.check_delete,
                        collection,
                        slug,
                    )
            else:
                text = old["text"]
                entry = checked(
                    _("that revision is no longer valid"),
                    self.workspace.prepare,
                    collection,
                    slug,
                    text,
                    old["ext"],
                )
                obstacle = self.workspace.obstacle(collection, slug, old["ext"])
                if obstacle is not None:
                    raise Unavailable(nothing_changed(obstacle))
            saved = self.store.add_revision(
                collection=collection,
                slug=slug,
                text=text,
                ext=old["ext"],
                deleted=bool(old["deleted"]),
                action="revert",
                author=who.name,
                role=who.role,
                submitted_hash=text_hash(text),
            )
            if entry is not None:
                self.workspace.save(entry, old["ext"])
            elif not current.deleted:
                self.workspace.remove(collection, slug, current.ext)
        self.store.audit(who.name, "revert", saved.key, f"to revision {revision}")
        build = self.publisher.request(f"revert {saved.key}@{revision}")
        return Outcome(saved, build, reverted_to=revision)

    def settings(self, name: str) -> Current:
        """A settings file's current revision. One the API never changed has no history
        yet: it is shown as revision 1, the file as the server loaded it (an import)."""
        current = self.store.current(SETTINGS, name)
        if current is not None:
            return current
        text = self.workspace.settings_text(name)
        return Current(
            collection=SETTINGS,
            slug=name,
            revision=1,
            hash=text_hash(text),
            text=text,
            deleted=False,
            ext=".yaml",
            submitted_hash=text_hash(text),
            author="import",
            seq=0,
        )

    def settings_history(self, name: str) -> list[dict[str, Any]]:
        rows = self.store.history(SETTINGS, name)
        if rows:
            return rows
        first = self.settings(name)
        return [
            {
                "seq": 0,
                "revision": 1,
                "hash": first.hash,
                "text": first.text,
                "ext": ".yaml",
                "deleted": 0,
                "action": "import",
                "author": "import",
                "role": "admin",
                "time": None,
            }
        ]

    def put_settings(self, who: Identity, name: str, text: str, if_match: int | None) -> Outcome:
        """Change a settings file (site.yaml, regions.yaml): a new revision of
        'settings/<name>', validated with the builder's models and against every record.
        The first change also records the file as it was, as revision 1."""
        submitted = text_hash(text)
        filename = SETTINGS_FILES[name]
        with self.workspace.lock:
            stored = self.store.current(SETTINGS, name)
            current = self.settings(name)
            if self._unchanged(current, if_match, submitted):
                return Outcome(current, self.publisher.live_build(), unchanged=True)
            if self._replayed(stored, who, submitted):
                assert stored is not None
                return Outcome(stored, self.publisher.live_build(), replayed=True)
            self._check_precondition(current, filename, if_match, False)
            content = checked(
                _("{file} is not valid").format(file=filename),
                self.workspace.check_settings,
                name,
                text,
            )
            changes = [] if stored is not None else [_imported(current)]
            changes.append(
                NewRevision(
                    collection=SETTINGS,
                    slug=name,
                    text=text,
                    ext=".yaml",
                    deleted=False,
                    action="update",
                    author=who.name,
                    role=who.role,
                    submitted_hash=submitted,
                )
            )
            saved = self.store.add_revisions(changes)[-1]
            self.workspace.save_settings(name, text, content)
        self.store.audit(who.name, "settings", saved.key, f"revision {saved.revision}")
        build = self.publisher.request(f"{saved.key}@{saved.revision}")
        return Outcome(saved, build)


def _imported(current: Current) -> NewRevision:
    """A settings file as the server loaded it, recorded before its first change."""
    return NewRevision(
        collection=SETTINGS,
        slug=current.slug,
        text=current.text,
        ext=".yaml",
        deleted=False,
        action="import",
        author="import",
        role="admin",
        submitted_hash=current.hash,
    )
