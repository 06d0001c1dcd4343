"""Slow down clients that keep failing to authenticate, without ever refusing a valid token.

Failures are counted per client address and presented token, and per address over all
tokens (with a higher limit, so that guessing with ever new tokens is slowed too). Only
failing attempts are answered 429: the caller looks the token up first, and a valid one is
accepted whatever others sent from the same address (many staff may share one address
behind a proxy or a NAT). The address is the connection's own unless the server is told to
trust a proxy's forwarding headers, so no header can aim the limit at someone else."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque

#: Guesses with ever new tokens from one address are slowed after this many times the limit.
ADDRESS_FACTOR = 10
#: Clients remembered at most; the oldest are forgotten first (memory stays bounded).
MAX_CLIENTS = 10_000


class FailureLimiter:
    """After ``limit`` failures of one token from one address within ``window`` seconds (or
    ``limit * ADDRESS_FACTOR`` failures from the address), further failing attempts from
    there are answered 429 until the window has passed."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(address: str, token: str) -> list[tuple[str, int]]:
        presented = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]
        return [(f"{address} {presented}", 1), (address, ADDRESS_FACTOR)]

    def _recent(self, key: str, at: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            if len(self._failures) >= MAX_CLIENTS:
                self._forget(at)
            failures = self._failures[key] = deque()
        while failures and failures[0] <= at - self.window:
            failures.popleft()
        return failures

    def _forget(self, at: float) -> None:
        """Drop clients with no recent failure; if all are recent, the oldest half."""
        stale = [k for k, v in self._failures.items() if not v or v[-1] <= at - self.window]
        if not stale:
            by_age = sorted(self._failures, key=lambda k: self._failures[k][-1])
            stale = by_age[: len(by_age) // 2]
        for key in stale:
            del self._failures[key]

    def retry_after(self, address: str, token: str) -> int:
        """Seconds to wait before a failing attempt from this address with this token is
        answered again, or 0."""
        at = time.monotonic()
        wait = 0
        with self._lock:
            for key, factor in self._keys(address, token):
                failures = self._recent(key, at)
                if len(failures) >= self.limit * factor:
                    wait = max(wait, int(failures[0] + self.window - at) + 1)
        return max(wait, 1) if wait else 0

    def failed(self, address: str, token: str) -> None:
        at = time.monotonic()
        with self._lock:
            for key, _ in self._keys(address, token):
                self._recent(key, at).append(at)
