"""Tokens and roles: random tokens stored only as hashes, checked in constant time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from site_builder.errors import PantauError
from site_builder.models import COLLECTIONS, writable

from .store import Store, now

ROLES = ("admin", "editor", "campaign")


@dataclass(frozen=True)
class Identity:
    """Who made a request."""

    name: str
    role: str

    def may_write(self, collection: str) -> bool:
        """Each collection's declaration names the roles that may write it."""
        return collection in writable(self.role)

    def may_upload(self) -> bool:
        """Images are uploaded by whoever may write a collection whose records show one."""
        return any("image" in COLLECTIONS[name].model.model_fields for name in writable(self.role))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: Store, name: str, role: str, expires_days: int | None = None) -> str:
    """Create a token and return it; only its hash is stored."""
    if role not in ROLES:
        raise PantauError(f"unknown role '{role}'; choose one of: {', '.join(ROLES)}")
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise PantauError(f"the token name '{name}' may use letters, digits, '-', '_' and '.'")
    if any(row["name"] == name for row in store.tokens()):
        raise PantauError(f"a token named '{name}' already exists; revoke it or pick another name")
    token = "pantau_" + secrets.token_urlsafe(32)
    created = now()
    expires = created + dt.timedelta(days=expires_days) if expires_days else None
    store.add_token(
        {
            "name": name,
            "token_hash": hash_token(token),
            "role": role,
            "created": created.isoformat(),
            "expires": expires.isoformat() if expires else None,
            "revoked": None,
        }
    )
    store.audit("cli", "token.create", name, role)
    return token


def revoke_token(store: Store, name: str) -> None:
    if not any(row["name"] == name for row in store.tokens()):
        raise PantauError(f"there is no token named '{name}'")
    store.update_token(name, revoked=now().isoformat())
    store.audit("cli", "token.revoke", name)


def token_status(row: dict[str, object], at: dt.datetime | None = None) -> str:
    if row.get("revoked"):
        return "revoked"
    expires = row.get("expires")
    if expires and dt.datetime.fromisoformat(str(expires)) <= (at or now()):
        return "expired"
    return "active"


def authenticate(store: Store, header: str | None) -> Identity | None:
    """The identity behind an 'Authorization: Bearer <token>' header, or None."""
    if not header or not header.startswith("Bearer "):
        return None
    presented = hash_token(header.removeprefix("Bearer ").strip())
    row = store.token_by_hash(presented)
    if row is None or not hmac.compare_digest(str(row["token_hash"]), presented):
        return None
    if token_status(row) != "active":
        return None
    return Identity(str(row["name"]), str(row["role"]))


class FailureLimiter:
    """Slows clients that keep failing to authenticate: after ``limit`` failures within
    ``window`` seconds, further attempts get 429 until the window has passed."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, at: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= at - self.window:
            failures.popleft()
        return failures

    def retry_after(self, client: str) -> int:
        """Seconds to wait, or 0 when the client may try."""
        at = time.monotonic()
        with self._lock:
            failures = self._recent(client, at)
            if len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - at) + 1)

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client, time.monotonic()).append(time.monotonic())
