"""Who is asking and what they may do, through Starlette's authentication machinery: a
backend that turns 'Authorization: Bearer <token>' into a user with the scopes of its role,
and the decorators endpoints declare what they need with.

Scopes: every valid token has 'authenticated'; 'admin' for the admin role; 'upload' for a role
that may write a collection whose records show an image; 'write:<collection>' for each
collection the role may write (as each collection's declaration says)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    BaseUser,
    UnauthenticatedUser,
    requires,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from site_builder.models import writable

from .auth import Identity, identify
from .limiter import FailureLimiter
from .store import Store

AUTHENTICATED = "authenticated"
ADMIN = "admin"
UPLOAD = "upload"
#: Longer than any token the server issues; a longer header is not looked up.
MAX_TOKEN_CHARS = 512


def write_scope(collection: str) -> str:
    return f"write:{collection}"


def scopes_of(identity: Identity) -> list[str]:
    scopes = [AUTHENTICATED]
    if identity.role == "admin":
        scopes.append(ADMIN)
    if identity.may_upload():
        scopes.append(UPLOAD)
    scopes += [write_scope(name) for name in sorted(writable(identity.role))]
    return scopes


class TokenUser(BaseUser):
    """A caller with a valid token."""

    def __init__(self, who: Identity) -> None:
        self.who = who

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.who.name

    @property
    def identity(self) -> str:
        return self.who.name


class Anonymous(UnauthenticatedUser):
    """A caller without a valid token: none was sent, or the one sent is not valid (then
    ``retry_after`` is set while failed attempts from this client are being slowed)."""

    def __init__(self, presented: bool = False, retry_after: int = 0) -> None:
        self.presented = presented
        self.retry_after = retry_after


def bearer_token(header: str) -> str | None:
    """The token of an Authorization header; the scheme's case does not matter."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    return token


def client_address(conn: HTTPConnection) -> str:
    """The connection's peer (a proxy's forwarded address only if the server was told to
    trust that proxy)."""
    return conn.client.host if conn.client else "unknown"


class TokenBackend(AuthenticationBackend):
    """Looks up bearer tokens on requests under ``prefix``; the public site is never
    authenticated. Never raises: whether a request needs a user is up to its endpoint."""

    def __init__(self, store: Store, limiter: FailureLimiter, prefix: str = "/api/") -> None:
        self.store = store
        self.limiter = limiter
        self.prefix = prefix

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None or not conn.url.path.startswith(self.prefix):
            return None
        token = bearer_token(header)
        identity = await run_in_threadpool(identify, self.store, token) if token else None
        if identity is not None:
            return AuthCredentials(scopes_of(identity)), TokenUser(identity)
        address, presented = client_address(conn), token or header[:MAX_TOKEN_CHARS]
        wait = self.limiter.retry_after(address, presented)
        if not wait:
            self.limiter.failed(address, presented)
        return AuthCredentials(), Anonymous(presented=True, retry_after=wait)


Endpoint = Callable[..., Any]

#: Endpoints that answer only with a valid token (401 otherwise).
signed_in: Callable[[Endpoint], Endpoint] = requires(AUTHENTICATED, status_code=401)


def needs(scope: str, refusal: str) -> Callable[[Endpoint], Endpoint]:
    """A valid token with ``scope`` (401 without a token, 403 without the scope).
    ``refusal`` ends the sentence a refused caller reads: "the role 'x' may not <refusal>"."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        checked = signed_in(requires(scope, status_code=403)(endpoint))
        checked.refusal = refusal  # type: ignore[attr-defined]
        return checked

    return decorate


def who(conn: HTTPConnection) -> Identity:
    """The identity of a request that passed `signed_in`."""
    user = conn.user
    assert isinstance(user, TokenUser)
    return user.who
