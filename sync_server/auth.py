"""Tokens and roles: random tokens stored only as hashes, checked in constant time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from site_builder.errors import PantauError
from site_builder.i18n import N_, _
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
        raise PantauError(
            _("unknown role '{role}'; choose one of: {roles}").format(
                role=role, roles=", ".join(ROLES)
            )
        )
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise PantauError(
            _("the token name '{name}' may use letters, digits, '-', '_' and '.'").format(name=name)
        )
    if any(row["name"] == name for row in store.tokens()):
        raise PantauError(
            _("a token named '{name}' already exists; revoke it or pick another name").format(
                name=name
            )
        )
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
        raise PantauError(_("there is no token named '{name}'").format(name=name))
    store.update_token(name, revoked=now().isoformat())
    store.audit("cli", "token.revoke", name)


#: What token_status says (translated where shown).
TOKEN_STATUSES = (N_("active"), N_("revoked"), N_("expired"))


def token_status(row: dict[str, object], at: dt.datetime | None = None) -> str:
    if row.get("revoked"):
        return "revoked"
    expires = row.get("expires")
    if expires and dt.datetime.fromisoformat(str(expires)) <= (at or now()):
        return "expired"
    return "active"


def identify(store: Store, token: str) -> Identity | None:
    """The identity behind a presented token, or None if it is unknown, revoked or expired."""
    presented = hash_token(token)
    row = store.token_by_hash(presented)
    if row is None or not hmac.compare_digest(str(row["token_hash"]), presented):
        return None
    if token_status(row) != "active":
        return None
    return Identity(str(row["name"]), str(row["role"]))
