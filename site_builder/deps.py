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
from collections.abc import Callable, Hashable, Iterator
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


class KeptLookup(Protocol):
    def get(self, key: Hashable, /) -> Kept | None: ...


class Fragments:
    """Pieces of output (one record's list item, JSON row, calendar event ...) reused while
    everything they read is unchanged: within one build, and across builds of one process.

    A kept piece is valid only when the fingerprint of every key it read is the same now, so
    its key need only name the piece, not everything it depends on."""

    def __init__(self, kept: KeptLookup | None = None) -> None:
        self.kept: KeptLookup = kept if kept is not None else {}
        self.used: dict[Hashable, Kept] = {}
        self.made: set[Hashable] = set()
        self.fingerprint: Callable[[str], str] = lambda key: ""

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        found = self.used.get(key)
        if found is None:
            old = self.kept.get(key)
            if old is not None and all(self.fingerprint(k) == fp for k, fp in old[1]):
                found = old
            else:
                with recording() as keys:
                    value = make()
                found = (value, tuple((k, self.fingerprint(k)) for k in sorted(keys)))
                self.made.add(key)
            self.used[key] = found
        note_all({k for k, _ in found[1]})
        return found[0]  # type: ignore[no-any-return]

    def adopt(self, made: dict[Hashable, Kept]) -> None:
        """Take fragments made elsewhere (by a render worker) as made by this build."""
        for key, kept in made.items():
            if key not in self.used:
                self.used[key] = kept
                self.made.add(key)
