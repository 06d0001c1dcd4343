"""Memoised pieces of output, for rebuilds that re-render large list pages.

A key must fully determine its value (for a record: its key and its text, plus whatever else
the piece shows, such as the build's date). Values unused for a whole build are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class RenderCache:
    def __init__(self) -> None:
        self._current: dict[Hashable, Any] = {}
        self._previous: dict[Hashable, Any] = {}

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        try:
            return self._current[key]
        except KeyError:
            value = self._previous.pop(key) if key in self._previous else make()
            self._current[key] = value
            return value

    def put(self, key: Hashable, value: Any) -> None:
        self._current[key] = value

    def next_build(self) -> None:
        """Start a build: what the last build used stays available, the rest goes."""
        self._previous, self._current = self._current, {}

    def __len__(self) -> int:
        return len(self._current)
