"""When a long-lived builder (the sync server, ``pantau dev``) may leave the downloadable copy
behind: on a large site, zipping it again costs more than the change itself, so after a
change it follows at most once a minute, in a follow-up build that catches up. A small site's
copy follows every change, and ``pantau build`` always makes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .offline import ZIP_PATH
from .state import Changes

#: Below this many bytes of site, the download copy follows every change.
EAGER_BYTES = 20 * 1024 * 1024
#: Above it, at most this often (seconds).
INTERVAL = 60.0


class DownloadSchedule:
    """Tells a builder whether its next build may defer the downloadable copy, and asks for
    the follow-up build (``request``, called from a timer thread) once one is owed."""

    def __init__(self, request: Callable[[], None], interval: float = INTERVAL) -> None:
        self.request = request
        self.interval = interval
        self.site_bytes = 0
        self.downloaded_at = 0.0
        self._timer: threading.Timer | None = None

    def later(self) -> bool:
        """Whether the next build may leave the downloadable copy as it is."""
        if self.site_bytes <= EAGER_BYTES:
            return False
        return time.monotonic() - self.downloaded_at < self.interval

    def built(self, changes: Changes) -> None:
        """Note what a build that was put in place did with the copy."""
        if changes.sizes:  # a build that did nothing knows no sizes
            self.site_bytes = sum(changes.sizes.values())
        if changes.download_pending:
            self._follow_up()
        elif changes.full or ZIP_PATH in changes.written:
            self.downloaded_at = time.monotonic()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _follow_up(self) -> None:
        if self._timer is not None and self._timer.is_alive():
            return
        wait = max(0.0, self.downloaded_at + self.interval - time.monotonic())
        self._timer = threading.Timer(wait, self.request)
        self._timer.daemon = True
        self._timer.start()
