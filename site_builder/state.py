"""What the incremental engine keeps on disk between builds, in one SQLite file beside the output.

- ``outputs``: every output's content hash, size and the keys it read (see ``deps``);
- ``keys``: the fingerprint every key had at the last build (each output that read a key whose
  fingerprint changed is rendered again, so one fingerprint per key describes them all);
- ``fragments``: pieces of output with the fingerprints of what they read, reused by a later
  build, in this process or another, while those are unchanged;
- ``records``: validated records by file, so an unchanged file is not parsed again;
- ``meta``: the state's format and the program version that wrote it, the id of the build it
  describes (also written into the output folder's marker), the build's date, and the size
  label the data page showed.

A state file that cannot be read, was written in another format or by another version of the
program, or describes another output folder is ignored and replaced: it is never trusted.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from .deps import Kept, Trusted
from .i18n import _
from .write import MARKER

if TYPE_CHECKING:
    from .load import Entry

FORMAT = "pantau-state-4"
#: Files changed this recently are parsed again next time: their modification time may not yet
#: tell two edits apart on a coarse-grained filesystem.
TRUST_AFTER_SECONDS = 2.0
#: The modification time kept for a record read while its file was that recent: the next
#: build compares the file's text with the kept digest instead of trusting its time.
UNTRUSTED_TIME = -1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (
    path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL, keys TEXT NOT NULL,
    crc INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, fp TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fragments (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, deps TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    digest TEXT NOT NULL, data TEXT NOT NULL
);
"""


@functools.lru_cache(maxsize=1)
def program_version() -> str:
    """A hash of the builder's own code: output made by other code is never reused."""
    digest = hashlib.blake2b(FORMAT.encode(), digest_size=16)
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class OutputState:
    """One output as the last build left it: its content hash, size, CRC-32 (as a zip records
    it: says whether a zip member holds this file) and the keys it read. Read from the state
    file, the keys stay one line each in a text until a build asks for them as a set: a small
    change asks only whether an output read any of a few keys."""

    __slots__ = ("_keys", "_lines", "crc", "hash", "size")

    def __init__(self, hash: str, size: int, keys: frozenset[str] | str, crc: int = 0) -> None:
        self.hash, self.size, self.crc = hash, size, crc
        if isinstance(keys, str):
            self._keys: frozenset[str] | None = None
            self._lines = f"\n{keys}\n"
        else:
            self._keys, self._lines = keys, ""

    @property
    def keys(self) -> frozenset[str]:
        if self._keys is None:
            self._keys = frozenset(self._lines.split("\n")) - {""}
        return self._keys

    def reads_any(self, keys: frozenset[str]) -> bool:
        """Whether this output read any of ``keys``."""
        if self._keys is None and len(keys) <= 32:
            lines = self._lines
            return any(f"\n{key}\n" in lines for key in keys)
        return not self.keys.isdisjoint(keys)

    def _fields(self) -> tuple[str, int, int, frozenset[str]]:
        return self.hash, self.size, self.crc, self.keys

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutputState) and self._fields() == other._fields()

    def __repr__(self) -> str:
        return f"OutputState({self.hash!r}, {self.size}, {sorted(self.keys)!r}, {self.crc})"


#: Between the keys (and between the fingerprints) of a fragment's dependencies, and between
#: the two lists, as the state file keeps them: control characters no key holds.
_ITEM, _LISTS = "\x1e", "\x1f"


def _pack(pairs: Iterable[tuple[str, str]]) -> str:
    """A fragment's (key, fingerprint) pairs as two lists: the keys, then the fingerprints."""
    pairs = tuple(pairs)
    return _ITEM.join(k for k, _ in pairs) + _LISTS + _ITEM.join(fp for _, fp in pairs)


def _split(text: str) -> tuple[list[str], str]:
    keys, _, fingerprints = text.partition(_LISTS)
    return (keys.split(_ITEM) if keys else []), fingerprints


def _encode(value: Any) -> str:
    """A fragment's value as text: Markup, bytes (UTF-8) or str, told apart by a prefix."""
    if isinstance(value, Markup):
        return "m" + value
    if isinstance(value, bytes):
        return "b" + value.decode("utf-8")
    if isinstance(value, str):
        return "s" + value
    raise TypeError(f"a fragment must be text, not {type(value).__name__}")


def _decode(text: str) -> Any:
    kind, value = text[:1], text[1:]
    if kind == "m":
        return Markup(value)
    if kind == "b":
        return value.encode("utf-8")
    return value


#: A record file as the cache keeps it: its modification time (or UNTRUSTED_TIME), size,
#: digest and validated data as JSON. The data is None in memory (read from the state file
#: when the record is, or made when the state is saved from the record this process holds):
#: a large site's JSON would double what loading it holds in memory.
Row = tuple[int, int, str, str | None]


class KeptFragments:
    """Fragments kept by earlier builds in the state file, read one by one as they are asked
    for: a small change asks for a few hundred of tens of thousands."""

    def __init__(self, db: sqlite3.Connection | None) -> None:
        self._db = db

    def _row(self, key: Hashable) -> tuple[str, str] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT value, deps FROM fragments WHERE key = ?", (repr(key),)
            ).fetchone()
        except sqlite3.Error:
            self._db = None  # a damaged table: nothing kept can be trusted
            return None
        return None if row is None else (row[0], row[1])

    def get(self, key: Hashable) -> Kept | None:
        row = self._row(key)
        if row is None:
            return None
        keys, fingerprints = _split(row[1])
        pairs = tuple(zip(keys, fingerprints.split(_ITEM) if keys else [], strict=False))
        return _decode(row[0]), pairs

    def valid(self, key: Hashable, fingerprint: Callable[[str], str]) -> Trusted | None:
        """The fragment, with its keys, if every key it read has the fingerprint it had:
        compared as one string, so that checking thousands of list items stays cheap."""
        row = self._row(key)
        if row is None:
            return None
        keys, fingerprints = _split(row[1])
        if _ITEM.join(map(fingerprint, keys)) != fingerprints:
            return None
        pairs = tuple(zip(keys, fingerprints.split(_ITEM) if keys else [], strict=False))
        return (_decode(row[0]), pairs), frozenset(keys)


class State:
    """The engine's memory of the last build (empty when there is none to trust)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.meta: dict[str, str] = {}
        self._outputs: dict[str, OutputState] = {}
        self._keys: dict[str, str] = {}
        self._records_: dict[str, Row] = {}
        self._loaded = True
        self._new_records: dict[str, Row] = {}
        #: Kept records' JSON, by file, until each is read (see _record_data).
        self._data: dict[str, str] | None = None
        #: The records the last saved build read through this cache in this process, by file
        #: (see ``validated``), and those read since.
        self._entries: dict[str, Entry] = {}
        self._new_entries: dict[str, Entry] = {}
        #: Whether the content was read through this cache since the last save (a server
        #: builds from the records it holds, and must not leave the cache empty).
        self._read_records = False
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._load(path)

    # reading ------------------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        if not path.is_file():
            return
        try:
            db = sqlite3.connect(path, check_same_thread=False)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != FORMAT or meta.get("version") != program_version():
                db.close()
                return
        except (sqlite3.Error, ValueError, TypeError):
            return  # damaged or foreign: start over
        # The tables are read when first needed: a build that finds nothing changed needs
        # only the meta data.
        self.meta, self._db, self._loaded = meta, db, False

    def load(self) -> None:
        """Read the tables now (a damaged table empties the whole state)."""
        if not self._loaded:
            self._load_tables()

    def _load_tables(self) -> None:
        self._loaded = True
        if self._db is None:
            return
        try:
            outputs = {
                row[0]: OutputState(row[1], row[2], row[3], row[4])
                for row in self._db.execute("SELECT path, hash, size, keys, crc FROM outputs")
            }
            keys = dict(self._db.execute("SELECT key, fp FROM keys").fetchall())
            # A record's data is read when the record is (see get).
            records = {
                row[0]: (row[1], row[2], row[3], None)
                for row in self._db.execute("SELECT path, mtime_ns, size, digest FROM records")
            }
        except (sqlite3.Error, ValueError, TypeError):
            self.meta = {}  # damaged: start over
            self._close()
            return
        self._outputs, self._keys, self._records_ = outputs, keys, records

    @property
    def outputs(self) -> dict[str, OutputState]:
        if not self._loaded:
            self._load_tables()
        return self._outputs

    @property
    def keys(self) -> dict[str, str]:
        if not self._loaded:
            self._load_tables()
        return self._keys

    @property
    def _records(self) -> dict[str, Row]:
        if not self._loaded:
            self._load_tables()
        return self._records_

    def describes(self, folder: Path | None) -> bool:
        """Whether this state is the one that wrote ``folder`` (its marker names the build)."""
        build_id = self.meta.get("build_id")
        if folder is None or not build_id:
            return False
        try:
            return (folder / MARKER).read_text(encoding="utf-8").strip().endswith(build_id)
        except OSError:
            return False

    def unchanged(self, stamp: str | None, previous: Path) -> Changes | None:
        """What a build does when nothing it reads has changed since the build that wrote
        ``previous`` (``stamp`` from ``state.input_stamp``): nothing, without loading."""
        meta = self.meta
        if stamp is None or meta.get("inputs") != stamp or not self.describes(previous):
            return None
        if meta.get("output_stamp") != input_stamp([previous], "", recent=True):
            return None  # someone changed or deleted built files: let the engine look
        total = int(meta.get("outputs", 0))
        return Changes(previous, False, total, 0, [], [], {}, dict(meta), 0.0)

    def folders(self, content_root: Path) -> list[Path]:
        """The folders whose files the last build read: the content and the theme."""
        return [content_root, *(Path(d) for d in json.loads(self.meta.get("dirs", "[]")))]

    def fragments(self) -> KeptFragments:
        return KeptFragments(self._db)

    # the record cache (see load.RecordCache) --------------------------------------------

    def get(self, path: Path) -> tuple[str, str] | None:
        name = str(path)
        found = self._records.get(name)
        if found is None:
            return None
        try:
            stat = os.stat(name)
        except OSError:
            return None
        if found[0] == UNTRUSTED_TIME:
            # Kept while the file was too recent for its time to be trusted: it is the same
            # file only if its text is (reading and hashing costs far less than parsing).
            try:
                text = Path(name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            if hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest() != found[2]:
                return None
            trusted = stat.st_mtime_ns / 1e9 <= time.time() - TRUST_AFTER_SECONDS
            found = (stat.st_mtime_ns if trusted else UNTRUSTED_TIME, *found[1:])
        elif (stat.st_mtime_ns, stat.st_size) != found[:2]:
            return None
        data = found[3]
        if data is None and self.validated(path, found[2]) is None:
            data = self._record_data(name)
            if data is None:
                return None
        self._new_records[name] = found
        self._read_records = True
        return found[2], data or ""

    def _record_data(self, name: str) -> str | None:
        """A kept record's JSON, read with all the others the first time one is asked for
        (one query costs less than one per record) and let go once taken: the records made
        from it are what the build holds."""
        if self._data is None:
            self._data = {}
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._data = dict(self._db.execute("SELECT path, data FROM records"))
        return self._data.pop(name, None)

    def validated(self, path: Path, digest: str) -> Entry | None:
        """The record this process last read from ``path``, if its text had ``digest``: a
        long-lived process (pantau dev) does not validate unchanged records again."""
        found = self._entries.get(str(path))
        return found if found is not None and found.digest == digest else None

    def put(self, path: Path, entry: Entry) -> None:
        name = str(path)
        self._new_entries[name] = entry
        if name in self._new_records:
            return
        try:
            stat = os.stat(name)
        except OSError:
            return
        recent = stat.st_mtime_ns / 1e9 > time.time() - TRUST_AFTER_SECONDS
        when = UNTRUSTED_TIME if recent else stat.st_mtime_ns
        self._new_records[name] = (when, stat.st_size, entry.digest, None)
        self._read_records = True

    # writing ------------------------------------------------------------------------------

    def save(
        self,
        meta: dict[str, str],
        changed: dict[str, OutputState],
        removed: Iterable[str],
        keys: dict[str, str],
        fragments: dict[Hashable, Kept],
        replace: bool,
    ) -> None:
        """Keep what a build did: its meta data, the outputs it changed or removed, the
        fingerprints of the keys it checked and the fragments it made (or, with ``replace``,
        all of them afresh)."""
        removed = list(removed)
        if not self._loaded:
            self._load_tables()
        if replace:
            self._outputs, self._keys = {}, {}
        else:
            # Most keys a build checks have the fingerprint they had: only the others are
            # written.
            before = self.keys
            keys = {k: fp for k, fp in keys.items() if before.get(k) != fp}
        for name in removed:
            self.outputs.pop(name, None)
        self.outputs.update(changed)
        self.keys.update(keys)
        self.meta = {**meta, "format": FORMAT, "version": program_version()}
        old = self._records
        # A build that did not read the content (a server's, from the records it holds)
        # keeps the cache as it was.
        new = self._new_records if self._read_records else old
        self._records_, self._new_records, self._read_records = new, {}, False
        self._data = None  # what is left of it may be older than what is saved now
        # A process that does not read the content again (a server) keeps no records here.
        self._entries = self._new_entries if self._new_entries else {}
        self._new_entries = {}
        if self.path is None:
            return
        upsert = new if replace else {p: row for p, row in new.items() if old.get(p) != row}
        gone = [] if replace else [p for p in old if p not in new]
        entries = self._entries
        # A record this process did not read (a server builds from the records it holds) is
        # written again from the state file itself, read before a full build replaces it.
        unread = [p for p, row in upsert.items() if row[3] is None and p not in entries]
        stored = {p: data for p in unread if (data := self._record_data(p)) is not None}
        self._data = None

        def data_of(path: str, row: Row) -> str | None:
            if row[3] is not None:
                return row[3]
            return _dumped(entries[path]) if path in entries else stored.get(path)

        try:
            self._write(
                self.path, changed, removed, keys, fragments, replace, (upsert, gone, data_of)
            )
        except (sqlite3.Error, OSError):
            # The state only saves time: a build that cannot keep it still succeeded; the next
            # one starts afresh.
            self._close()
            with contextlib.suppress(OSError):
                self.path.unlink()

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _write(
        self,
        path: Path,
        changed: dict[str, OutputState],
        removed: list[str],
        keys: dict[str, str],
        fragments: dict[Hashable, Kept],
        replace: bool,
        records: tuple[dict[str, Row], list[str], Callable[[str, Row], str | None]],
    ) -> None:
        if replace:
            self._close()
            path.unlink(missing_ok=True)
        if self._db is None:
            self._db = sqlite3.connect(path, check_same_thread=False)
        db = self._db
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        upsert, gone, data_of = records
        with db:
            db.execute("DELETE FROM meta")
            db.executemany("INSERT INTO meta VALUES (?, ?)", self.meta.items())
            db.executemany("DELETE FROM outputs WHERE path = ?", ((p,) for p in removed))
            db.executemany(
                "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?)",
                ((p, o.hash, o.size, "\n".join(sorted(o.keys)), o.crc) for p, o in changed.items()),
            )
            db.executemany("INSERT OR REPLACE INTO keys VALUES (?, ?)", keys.items())
            db.executemany(
                "INSERT OR REPLACE INTO fragments VALUES (?, ?, ?)",
                ((repr(k), _encode(v), _pack(pairs)) for k, (v, pairs) in fragments.items()),
            )
            db.executemany("DELETE FROM records WHERE path = ?", ((p,) for p in gone))
            db.executemany(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?)",
                (
                    (p, *row[:3], data)
                    for p, row in upsert.items()
                    if (data := data_of(p, row)) is not None
                ),
            )


def _dumped(entry: Entry) -> str:
    return entry.data.model_dump_json()


@dataclass
class Changes:
    """What one build changed, staged and not yet in place."""

    stage: Path
    full: bool
    total: int
    rendered: int
    written: list[str]
    removed: list[str]
    outputs: dict[str, OutputState]
    meta: dict[str, str]
    seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return int(self.meta.get("pages", 0))

    @property
    def download_pending(self) -> bool:
        """The downloadable copy was left behind and a later build owes it."""
        return bool(self.meta.get("download_pending"))

    def summary(self, seconds: float | None = None) -> str:
        pages = self.pages
        search = int(self.meta.get("search_bytes", 0))
        return _(
            "Re-rendered {rendered} of {total} outputs, wrote {written} files, removed "
            "{removed}, {seconds:.2f} s ({pages} pages, search index {search:.1f} KB)"
        ).format(
            rendered=self.rendered,
            total=self.total,
            written=len(self.written),
            removed=len(self.removed),
            seconds=seconds or self.seconds,
            pages=pages,
            search=search / 1024,
        )


def input_stamp(folders: Iterable[Path], today: str, *, recent: bool = False) -> str | None:
    """A hash of every file's name, size and modification time under the folders, with the
    build's date: equal stamps mean nothing a build reads has changed. None when a file is
    too recent for its modification time to be trusted (unless ``recent`` allows it: the
    output folder's files are stamped right after this program wrote them)."""
    digest = hashlib.blake2b(today.encode(), digest_size=16)
    newest_trusted = float("inf") if recent else (time.time() - TRUST_AFTER_SECONDS) * 1e9
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                try:
                    stat = os.stat(os.path.join(root, name))
                except OSError:
                    return None
                if stat.st_mtime_ns > newest_trusted:
                    return None
                digest.update(f"{root}/{name}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    return digest.hexdigest()


def state_path(out: Path) -> Path:
    """Where the state of the site built into ``out`` is kept: beside it, never inside it, so
    it is neither served nor zipped."""
    out = Path(os.path.abspath(out))
    return out.parent / f".{out.name}.pantau-state"
