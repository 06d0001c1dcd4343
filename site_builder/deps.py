"""Dependency recording: while an output renders, everything it reads notes a key here.

Keys name one input each, so the incremental engine can later ask whether that input is the
same as when the output was made:

- ``r:<collection>/<slug>``: one record's text
- ``l:<collection>``: which records a collection lists, in order
- ``q:<query>``: the result of a query over the content (stages of a division, campaigns of a
  region, the feed's entries ...), compared by the keys it returned
- ``status:<collection>/<slug>``: a stage's computed status on the build's date
- ``today``: the build's date itself
- ``site``, ``regions``: the settings files
- ``t:<template>``: a template's source (and which folder it came from)
- ``h:changes``, ``h:rev:<key>``, ``h:time:<key>``: what the sync server's history contributes
- ``f:<path>``: a file copied as it is (theme static files, content media)

Recording is explicit (a ``Recorder`` is made active for one render), so code that runs outside
a render, such as sorting records while indexing, notes nothing.
"""

from __future__ import annotations

import contextvars
import hashlib
import zlib
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

_active: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "pantau_recorder", default=None
)


def note(key: str) -> None:
    """Record that the output being rendered reads ``key`` (no-op outside a render)."""
    keys = _active.get()
    if keys is not None:
        keys.add(key)


def note_all(keys: Iterator[str] | set[str] | frozenset[str]) -> None:
    active = _active.get()
    if active is not None:
        active.update(keys)


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the keys noted inside the block (nested blocks also note into outer ones)."""
    outer = _active.get()
    keys: set[str] = set()
    token = _active.set(keys)
    try:
        yield keys
    finally:
        _active.reset(token)
        if outer is not None:
            outer.update(keys)


@contextmanager
def paused() -> Iterator[None]:
    """Note nothing inside the block (a query notes its own key instead of what it scans)."""
    if _active.get() is None:  # outside a render (fingerprints): nothing to pause
        yield
        return
    token = _active.set(None)
    try:
        yield
    finally:
        _active.reset(token)


def current() -> set[str] | None:
    """The keys noted so far by the render in progress, if any."""
    return _active.get()


class Memo:
    """Values computed once per build, with the keys their computation noted: a later use
    notes the same keys, so memoising never hides a dependency."""

    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[Any, frozenset[str]]] = {}

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        found = self._values.get(key)
        if found is None:
            with recording() as keys:
                value = make()
            found = (value, frozenset(keys))
            self._values[key] = found
        else:
            note_all(found[1])
        return found[0]  # type: ignore[no-any-return]


#: A fragment as kept between builds: its value and the fingerprint of every key it read.
Kept = tuple[Any, tuple[tuple[str, str], ...]]


#: A fragment the last build used, with the keys it read.
Trusted = tuple[Kept, frozenset[str]]


#: Items per kept run of a long list (see ``Fragments.combined``): on average, and at most.
CHUNK = 64
MAX_CHUNK = 4 * CHUNK


def _run_key(run: Sequence[tuple[Hashable, Any]]) -> tuple[str, int, str]:
    """A run's fragment key: which items it holds, in order."""
    digest = hashlib.blake2b(digest_size=16)
    for key, _ in run:
        digest.update(repr(key).encode() + b"\0")
    return ("run", len(run), digest.hexdigest())


class KeptLookup(Protocol):
    def get(self, key: Hashable, /) -> Kept | None: ...


class Fragments:
    """Pieces of output (one record's list item, JSON row, calendar event ...) reused while
    everything they read is unchanged: within one build, and across builds of one process.

    A kept piece is valid only when the fingerprint of every key it read is the same now, so
    its key need only name the piece, not everything it depends on.

    ``trusted`` holds the pieces the last build (in this process) used, with the keys each
    read: each was valid then, so it still is unless one of its keys is among ``changed``
    (the keys whose fingerprint differs from the last build's). That is one set operation
    instead of a fingerprint per key, which on a list of thousands of records is most of
    the work; until ``changed`` is set, trusted pieces are checked like any other."""

    def __init__(
        self,
        kept: KeptLookup | None = None,
        trusted: dict[Hashable, Trusted] | None = None,
    ) -> None:
        self.kept: KeptLookup = kept if kept is not None else {}
        self.trusted: dict[Hashable, Trusted] = trusted if trusted is not None else {}
        self.changed: frozenset[str] | None = None
        #: The pieces this build used, with the keys each read: the next build's ``trusted``.
        self.used: dict[Hashable, Trusted] = {}
        #: Pieces render workers made, kept without key sets until this process uses one.
        self.adopted: dict[Hashable, Kept] = {}
        self.made: set[Hashable] = set()
        self.fingerprint: Callable[[str], str] = lambda key: ""

    def get(self, key: Hashable, make: Callable[[], T], *, persist: bool = True) -> T:
        """The piece ``key``: kept, or made now with ``make``. Without ``persist``, a piece
        made now is kept in this process only (it is part of a kept run, see ``combined``)."""
        found = self.used.get(key)
        if found is None:
            trusted = self.trusted.get(key)
            changed = self.changed
            adopted = self.adopted.pop(key, None)
            if adopted is not None:
                found = (adopted, frozenset(k for k, _ in adopted[1]))
            elif trusted is not None and changed is not None and changed.isdisjoint(trusted[1]):
                found = trusted
            else:
                found = self._checked(key, trusted[0] if trusted else None, make, persist)
            self.used[key] = found
        note_all(found[1])
        return found[0][0]  # type: ignore[no-any-return]

    def combined(
        self, items: Sequence[tuple[Hashable, Callable[[], T]]], combine: Callable[[list[T]], T]
    ) -> T:
        """``combine`` of every item's value (``items`` are (key, make) pairs, as ``get``
        takes them), for a list of any length: ``combine`` must be associative (a join).

        A short list keeps a fragment per item. A long one keeps its items in runs of about
        ``CHUNK``, one fragment each (the combined values of its items), so that checking a
        list of thousands costs a check per run; a changed item makes its run again. A run
        ends after an item whose key's checksum says so: which items share a run depends only
        on their keys, so adding or removing one item changes the runs around it alone.

        A long-lived process (one that trusts the pieces of its last build) also keeps a run's
        items in memory, so that making a run again makes only its changed items."""
        if len(items) < 2 * CHUNK:
            return combine([self.get(key, make) for key, make in items])
        runs: list[list[tuple[Hashable, Callable[[], T]]]] = [[]]
        for item in items:
            run = runs[-1]
            run.append(item)
            if len(run) >= MAX_CHUNK or zlib.crc32(repr(item[0]).encode()) % CHUNK == 0:
                runs.append([])
        remember = bool(self.trusted)

        def make_run(run: list[tuple[Hashable, Callable[[], T]]]) -> T:
            if remember:
                return combine([self.get(key, make, persist=False) for key, make in run])
            return combine([make() for _, make in run])

        values = []
        for run in runs:
            if run:
                values.append(self.get(_run_key(run), lambda run=run: make_run(run)))
                if remember:
                    self._carry(run)
        return combine(values)

    def _carry(self, run: Sequence[tuple[Hashable, Any]]) -> None:
        """Keep in memory, for the next build, the items of a run this build took as kept:
        each is still valid unless it read a changed key."""
        changed, trusted, used = self.changed, self.trusted, self.used
        if changed is None:
            return
        for key, _ in run:
            found = None if key in used else trusted.get(key)
            if found is not None and changed.isdisjoint(found[1]):
                used[key] = found

    def _checked(
        self, key: Hashable, trusted: Kept | None, make: Callable[[], Any], persist: bool = True
    ) -> Trusted:
        """The kept piece if the fingerprints of what it read are the same now, else a new
        one; with the keys it read."""
        fingerprint = self.fingerprint
        valid = getattr(self.kept, "valid", None)
        if trusted is None and valid is not None:
            found: Trusted | None = valid(key, fingerprint)  # the state file checks its own
            if found is not None:
                return found
        else:
            old = trusted if trusted is not None else self.kept.get(key)
            if old is not None and all(fingerprint(k) == fp for k, fp in old[1]):
                return old, frozenset(k for k, _ in old[1])
        with recording() as keys:
            value = make()
        if persist:
            self.made.add(key)
        return (value, tuple((k, fingerprint(k)) for k in sorted(keys))), frozenset(keys)

    def made_here(self) -> dict[Hashable, Kept]:
        """The pieces this build made (to keep in the state, or to send from a worker)."""
        return {
            key: self.used[key][0] if key in self.used else self.adopted[key] for key in self.made
        }

    def adopt(self, made: dict[Hashable, Kept]) -> None:
        """Take fragments made elsewhere (by a render worker) as made by this build."""
        for key, kept in made.items():
            if key not in self.used and key not in self.adopted:
                self.adopted[key] = kept
                self.made.add(key)
