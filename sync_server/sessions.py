"""Sessions of the browser editor: a token is presented once, on the sign-in form, and the
browser then holds a random session key in an HttpOnly, SameSite=Strict cookie (Secure over
HTTPS); the token itself never reaches the page. Only a hash of the key is stored. The token
the session was opened with is looked up on every request, so signing out, a token that
expires or is revoked, and a change of its role take effect at once. Every change made
through a session also carries the session's CSRF key (see ``access``)."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from .auth import Identity, hash_token, identify, token_status
from .store import Store, now

COOKIE = "pantau_sesi"
#: How long a session lasts after signing in (an editor that works offline for days keeps
#: its waiting edits; it asks to sign in again when they are sent after this).
DAYS = 7
#: The header (or sign-out form field) that carries a session's CSRF key.
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Session:
    """A valid session: who it speaks for, and its CSRF key."""

    key_hash: str
    who: Identity
    csrf: str


def open_session(store: Store, token: str) -> tuple[str, Session] | None:
    """Start a session for a valid token: (the cookie's value, the session), or None."""
    identity = identify(store, token)
    if identity is None:
        return None
    key = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    started = now()
    store.add_session(
        {
            "id_hash": hash_token(key),
            "token_hash": hash_token(token),
            "csrf": csrf,
            "created": started.isoformat(),
            "expires": (started + dt.timedelta(days=DAYS)).isoformat(),
        }
    )
    store.audit(identity.name, "session.open", identity.name, identity.role)
    return key, Session(hash_token(key), identity, csrf)


def find_session(store: Store, key: str) -> Session | None:
    """The session behind a cookie's value, if it and its token are both still valid."""
    key_hash = hash_token(key)
    row = store.session_by_hash(key_hash)
    if row is None or not hmac.compare_digest(str(row["id_hash"]), key_hash):
        return None
    if dt.datetime.fromisoformat(str(row["session_expires"])) <= now():
        return None
    if token_status(row) != "active":
        return None
    return Session(key_hash, Identity(str(row["name"]), str(row["role"])), str(row["csrf"]))


def close_session(store: Store, session: Session) -> None:
    store.delete_session(session.key_hash)
    store.audit(session.who.name, "session.close", session.who.name)


def csrf_matches(session: Session, presented: str | None) -> bool:
    """Whether a request carries the session's CSRF key (compared as bytes: a header or form
    field may hold any character)."""
    if presented is None:
        return False
    sent = presented.encode("utf-8", "surrogatepass")
    return hmac.compare_digest(session.csrf.encode("ascii"), sent)
