"""The server's SQLite state (via sqlite-utils): revisions, tokens, builds, assets, audit.

Every accepted change is one row in ``revisions``; its ``seq`` orders all changes and is the
changes feed's cursor. ``records`` holds the current revision of each record. One writer at a
time (the server holds a lock around every call); WAL mode with synchronous=FULL, so a commit
that returned survives a crash.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from site_builder.models import WITA

from .protocol import text_hash

#: The pseudo-collection the site's settings files are kept under ('settings/site',
#: 'settings/regions'): their revisions share the table, the history and the changes feed,
#: but they are no record (no page, no public change log, no record listing).
SETTINGS = "settings"


def now() -> dt.datetime:
    return dt.datetime.now(WITA).replace(microsecond=0)


@dataclass(frozen=True)
class Current:
    """The current state of one record."""

    collection: str
    slug: str
    revision: int
    hash: str
    text: str
    deleted: bool
    ext: str
    submitted_hash: str
    author: str
    seq: int

    @property
    def key(self) -> str:
        return f"{self.collection}/{self.slug}"


@dataclass(frozen=True)
class NewRevision:
    """One change to record (see Store.add_revision for the fields)."""

    collection: str
    slug: str
    text: str
    ext: str
    deleted: bool
    action: str
    author: str
    role: str
    submitted_hash: str

    @property
    def key(self) -> str:
        return f"{self.collection}/{self.slug}"


class Store:
    """All reads and writes of the database, serialised by one lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = sqlite3.connect(path, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.lock = threading.RLock()
        self._create()
        # Tokens are looked up on a connection of their own, so that checking one never
        # waits for a write in progress (WAL lets a reader see the last commit meanwhile).
        self._tokens = sqlite3.connect(path, check_same_thread=False)
        self._tokens.row_factory = sqlite3.Row
        self._tokens_lock = threading.Lock()
        #: The sequence number of the last committed change, readable without any lock.
        self.latest_seq = self.last_seq()

    def close(self) -> None:
        self._tokens.close()
        self.db.close()

    def _create(self) -> None:
        db = self.db
        if "revisions" not in db.table_names():
            db["revisions"].create(
                {
                    "seq": int,
                    "collection": str,
                    "slug": str,
                    "revision": int,
                    "hash": str,
                    "submitted_hash": str,
                    "text": str,
                    "ext": str,
                    "deleted": int,
                    "action": str,
                    "author": str,
                    "role": str,
                    "time": str,
                },
                pk="seq",
                not_null={"collection", "slug", "revision", "hash", "text", "time"},
            )
            db["revisions"].create_index(["collection", "slug", "revision"], unique=True)
        if "records" not in db.table_names():
            db["records"].create(
                {"collection": str, "slug": str, "seq": int},
                pk=("collection", "slug"),
                foreign_keys=[("seq", "revisions", "seq")],
            )
        if "tokens" not in db.table_names():
            db["tokens"].create(
                {
                    "name": str,
                    "token_hash": str,
                    "role": str,
                    "created": str,
                    "expires": str,
                    "revoked": str,
                },
                pk="name",
            )
            db["tokens"].create_index(["token_hash"], unique=True)
        if "sessions" not in db.table_names():
            # Sessions of the browser editor: only a hash of the cookie's value is kept, and
            # the token it was opened with decides, at every request, whether it still holds.
            db["sessions"].create(
                {"id_hash": str, "token_hash": str, "csrf": str, "created": str, "expires": str},
                pk="id_hash",
            )
        if "builds" not in db.table_names():
            db["builds"].create(
                {
                    "id": int,
                    "trigger": str,
                    "status": str,
                    "created": str,
                    "started": str,
                    "finished": str,
                    "duration": float,
                    "error": str,
                    "files": int,
                },
                pk="id",
            )
        if "assets" not in db.table_names():
            db["assets"].create(
                {"name": str, "hash": str, "type": str, "size": int, "author": str, "time": str},
                pk="name",
            )
        if "audit" not in db.table_names():
            db["audit"].create(
                {
                    "id": int,
                    "time": str,
                    "actor": str,
                    "action": str,
                    "target": str,
                    "detail": str,
                },
                pk="id",
            )

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.db.query(sql, params or []))

    def _row(self, sql: str, params: list[Any]) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work, under the store's lock. It takes the database's write
        lock when it begins (BEGIN IMMEDIATE), waiting for another process's write (such as
        `pantau token create`) to finish: a transaction that read first and asked to write
        later would instead fail at once if that process committed in between. A nested
        unit is a savepoint (sqlite-utils' atomic)."""
        with self.lock:
            conn = self.db.conn
            if conn.in_transaction:
                with self.db.atomic():
                    yield
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.rollback()
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                conn.rollback()
                raise

    # records -------------------------------------------------------------------------------

    def current(self, collection: str, slug: str) -> Current | None:
        row = self._row(
            "SELECT r.* FROM records c JOIN revisions r ON r.seq = c.seq "
            "WHERE c.collection = ? AND c.slug = ?",
            [collection, slug],
        )
        return _current(row) if row else None

    def all_current(self, collection: str | None = None) -> list[Current]:
        sql = "SELECT r.* FROM records c JOIN revisions r ON r.seq = c.seq"
        params: list[Any] = []
        if collection:
            sql += " WHERE c.collection = ?"
            params.append(collection)
        else:
            sql += " WHERE c.collection != ?"
            params.append(SETTINGS)
        return [_current(row) for row in self._rows(sql + " ORDER BY r.slug", params)]

    def heads(self, collection: str) -> list[tuple[str, int, str]]:
        """(slug, revision, hash) of a collection's live records, by slug: what a list shows,
        without reading every record's text."""
        with self.lock:
            return self.db.conn.execute(
                "SELECT r.slug, r.revision, r.hash FROM records c JOIN revisions r "
                "ON r.seq = c.seq WHERE c.collection = ? AND NOT r.deleted ORDER BY r.slug",
                [collection],
            ).fetchall()

    def add_revision(
        self,
        *,
        collection: str,
        slug: str,
        text: str,
        ext: str,
        deleted: bool,
        action: str,
        author: str,
        role: str,
        submitted_hash: str,
    ) -> Current:
        """Record a new revision as current, in one transaction."""
        change = NewRevision(
            collection=collection,
            slug=slug,
            text=text,
            ext=ext,
            deleted=deleted,
            action=action,
            author=author,
            role=role,
            submitted_hash=submitted_hash,
        )
        with self.transaction():
            previous = self.current(collection, slug)
            saved = self._insert_revision(change, previous.revision if previous else 0)
        self._committed(saved.seq)
        return saved

    def add_revisions(self, changes: Iterable[NewRevision]) -> list[Current]:
        """Record many new revisions as current, in order, in ONE transaction (one commit, so
        one fsync): all of them or none."""
        changes = list(changes)
        if not changes:
            return []
        with self.transaction():
            latest = self._current_revisions({change.key for change in changes})
            added = []
            for change in changes:
                current = self._insert_revision(change, latest.get(change.key, 0))
                latest[change.key] = current.revision
                added.append(current)
        self._committed(added[-1].seq)
        return added

    def _committed(self, seq: int) -> None:
        with self.lock:
            self.latest_seq = max(self.latest_seq, seq)

    def _insert_revision(self, change: NewRevision, previous_revision: int) -> Current:
        """Insert one revision after `previous_revision` and make it current; the caller
        holds the transaction."""
        row = {
            "collection": change.collection,
            "slug": change.slug,
            "revision": previous_revision + 1,
            "hash": text_hash(change.text),
            "submitted_hash": change.submitted_hash,
            "text": change.text,
            "ext": change.ext,
            "deleted": int(change.deleted),
            "action": change.action,
            "author": change.author,
            "role": change.role,
            "time": now().isoformat(),
        }
        # Plain SQL rather than sqlite-utils' insert/upsert: those look the table up on every
        # call, which dominates a bulk import.
        columns = ", ".join(row)
        values = ", ".join(f":{column}" for column in row)
        seq = self.db.execute(f"INSERT INTO revisions ({columns}) VALUES ({values})", row).lastrowid
        self.db.execute(
            "INSERT INTO records (collection, slug, seq) VALUES (?, ?, ?) "
            "ON CONFLICT (collection, slug) DO UPDATE SET seq = excluded.seq",
            [change.collection, change.slug, seq],
        )
        return _current({**row, "seq": seq})

    def _current_revisions(self, keys: Iterable[str]) -> dict[str, int]:
        """The current revision number of each of `keys` ('collection/slug') that has one."""
        rows = self._rows(
            _KEYS + "SELECT c.collection, c.slug, r.revision FROM k "
            "JOIN records c ON c.collection = k.collection AND c.slug = k.slug "
            "JOIN revisions r ON r.seq = c.seq",
            [_key_pairs(keys)],
        )
        return {f"{row['collection']}/{row['slug']}": row["revision"] for row in rows}

    def known_hashes(self, keys: Iterable[str] | None = None) -> dict[str, set[str]]:
        """The hashes of every revision ever recorded, by 'collection/slug', in one query: of
        the given keys only, or of all records. A key with no history is left out."""
        if keys is None:
            rows = self._rows(
                "SELECT DISTINCT collection, slug, hash FROM revisions WHERE collection != ?",
                [SETTINGS],
            )
        else:
            rows = self._rows(
                _KEYS + "SELECT DISTINCT r.collection, r.slug, r.hash FROM k "
                "JOIN revisions r ON r.collection = k.collection AND r.slug = k.slug",
                [_key_pairs(keys)],
            )
        hashes: dict[str, set[str]] = {}
        for row in rows:
            hashes.setdefault(f"{row['collection']}/{row['slug']}", set()).add(row["hash"])
        return hashes

    def live_revisions(self) -> list[tuple[str, int, str | None]]:
        """('collection/slug', current revision, time of last change) for every live record,
        in one query (the publisher asks before each build), with the time of each
        record's latest revision other than the first import (a record copied
        in when the server first started has no known change time: None)."""
        with self.lock:
            return self.db.conn.execute(
                "SELECT c.collection || '/' || c.slug, cur.revision, ("
                "  SELECT r.time FROM revisions r WHERE r.collection = c.collection"
                "  AND r.slug = c.slug AND r.action != 'import' ORDER BY r.revision DESC LIMIT 1"
                ") FROM records c JOIN revisions cur ON cur.seq = c.seq "
                "WHERE cur.deleted = 0 AND c.collection != ?",
                [SETTINGS],
            ).fetchall()

    def history(self, collection: str, slug: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT seq, revision, hash, text, ext, deleted, action, author, role, time "
            "FROM revisions WHERE collection = ? AND slug = ? ORDER BY revision",
            [collection, slug],
        )

    def revision(self, collection: str, slug: str, revision: int) -> dict[str, Any] | None:
        return self._row(
            "SELECT * FROM revisions WHERE collection = ? AND slug = ? AND revision = ?",
            [collection, slug, revision],
        )

    def changes(self, since: int, limit: int) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT seq, collection, slug, revision, hash, text, ext, deleted, action, "
            "author, role, time FROM revisions WHERE seq > ? ORDER BY seq LIMIT ?",
            [since, limit],
        )

    def revisions_after(self, seq: int, limit: int) -> list[tuple[int, str, int, str, int, str]]:
        """(seq, 'collection/slug', revision, action, deleted, time) of the revisions of
        records (not settings) after ``seq``, oldest first: what changed since a look."""
        with self.lock:
            return self.db.conn.execute(
                "SELECT seq, collection || '/' || slug, revision, action, deleted, time "
                "FROM revisions WHERE seq > ? AND collection != ? ORDER BY seq LIMIT ?",
                [seq, SETTINGS, limit],
            ).fetchall()

    def last_seq(self) -> int:
        row = self._row("SELECT COALESCE(MAX(seq), 0) AS seq FROM revisions", [])
        return int(row["seq"]) if row else 0

    def recent_changes(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT seq, collection, slug, revision, action, role, time, text, ext, deleted "
            "FROM revisions WHERE action != 'import' AND collection != ? "
            "ORDER BY seq DESC LIMIT ?",
            [SETTINGS, limit],
        )

    # tokens ---------------------------------------------------------------------------------

    def token_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        with self._tokens_lock:
            row = self._tokens.execute(
                "SELECT * FROM tokens WHERE token_hash = ?", [token_hash]
            ).fetchone()
        return dict(row) if row is not None else None

    def tokens(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM tokens ORDER BY name")

    def add_token(self, row: dict[str, Any]) -> None:
        with self.transaction():
            self.db["tokens"].insert(row)

    def update_token(self, name: str, **fields: Any) -> None:
        with self.transaction():
            self.db["tokens"].update(name, fields)

    # editor sessions --------------------------------------------------------------------------

    def add_session(self, row: dict[str, Any]) -> None:
        with self.transaction():
            self.db["sessions"].insert(row)
            # Sessions past their end are removed whenever one starts.
            self.db.execute("DELETE FROM sessions WHERE expires <= ?", [row["created"]])

    def session_by_hash(self, id_hash: str) -> dict[str, Any] | None:
        """A session with the row of the token it was opened with (on the token lookups' own
        connection, so that it never waits for a write)."""
        with self._tokens_lock:
            row = self._tokens.execute(
                "SELECT s.id_hash, s.csrf, s.expires AS session_expires, t.* FROM sessions s "
                "JOIN tokens t ON t.token_hash = s.token_hash WHERE s.id_hash = ?",
                [id_hash],
            ).fetchone()
        return dict(row) if row is not None else None

    def delete_session(self, id_hash: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE id_hash = ?", [id_hash])

    # builds, assets, audit ------------------------------------------------------------------

    def add_build(self, trigger: str) -> int:
        with self.transaction():
            return int(
                self.db["builds"]
                .insert({"trigger": trigger, "status": "queued", "created": now().isoformat()})
                .last_pk
            )

    def update_build(self, build_id: int, **fields: Any) -> None:
        with self.transaction():
            self.db["builds"].update(build_id, fields)

    def builds(self, limit: int = 20) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM builds ORDER BY id DESC LIMIT ?", [limit])

    def add_asset(self, row: dict[str, Any]) -> None:
        with self.transaction():
            self.db["assets"].upsert(row, pk="name")

    def audit(self, actor: str, action: str, target: str = "", detail: str = "") -> None:
        with self.transaction():
            self.db["audit"].insert(
                {
                    "time": now().isoformat(),
                    "actor": actor,
                    "action": action,
                    "target": target,
                    "detail": detail,
                }
            )


# The keys given as one JSON parameter (see _key_pairs), as a table k(collection, slug).
_KEYS = (
    "WITH k(collection, slug) AS (SELECT json_extract(value, '$[0]'), "
    "json_extract(value, '$[1]') FROM json_each(?)) "
)


def _key_pairs(keys: Iterable[str]) -> str:
    """'collection/slug' keys as a JSON list of [collection, slug] pairs, for json_each."""
    return json.dumps([key.split("/", 1) for key in keys])


def _current(row: dict[str, Any]) -> Current:
    return Current(
        collection=row["collection"],
        slug=row["slug"],
        revision=row["revision"],
        hash=row["hash"],
        text=row["text"],
        deleted=bool(row["deleted"]),
        ext=row["ext"],
        submitted_hash=row["submitted_hash"] or row["hash"],
        author=row["author"],
        seq=row["seq"],
    )
