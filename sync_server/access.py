"""Who is asking and what they may do, through Starlette's authentication machinery: a
backend that turns 'Authorization: Bearer <token>' into a user with the scopes of its role,
and the decorators endpoints declare what they need with.

A browser signed in to the editor is known instead by its session cookie (see ``sessions``);
a change it asks for must also carry the session's CSRF key and come from this site.

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
from .sessions import COOKIE, CSRF_HEADER, Session, csrf_matches, find_session
from .store import Store

AUTHENTICATED = "authenticated"
ADMIN = "admin"
UPLOAD = "upload"
#: Longer than any token the server issues; a longer header is not looked up.
MAX_TOKEN_CHARS = 512
#: Methods that change nothing: the only ones a session may use without its CSRF key.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


class SessionUser(TokenUser):
    """A browser signed in to the editor, known by its session cookie."""

    def __init__(self, session: Session) -> None:
        super().__init__(session.who)
        self.session = session


class Anonymous(UnauthenticatedUser):
    """A caller without a valid token: none was sent, or the one sent is not valid (then
    ``retry_after`` is set while failed attempts from this client are being slowed). For a
    session cookie, ``session`` is set; ``cross_site`` when a change came without the
    session's CSRF key or from another site."""

    def __init__(
        self,
        presented: bool = False,
        retry_after: int = 0,
        session: bool = False,
        cross_site: bool = False,
    ) -> None:
        self.presented = presented
        self.retry_after = retry_after
        self.session = session
        self.cross_site = cross_site


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
        path = conn.url.path
        if header is None:
            key = conn.cookies.get(COOKIE)
            if key and path.startswith((self.prefix, EDITOR_PREFIX)):
                return await self._session(conn, key[:MAX_TOKEN_CHARS])
            return None
        if not path.startswith(self.prefix):
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

    async def _session(
        self, conn: HTTPConnection, key: str
    ) -> tuple[AuthCredentials, BaseUser] | None:
        session = await run_in_threadpool(find_session, self.store, key)
        if session is None:
            return AuthCredentials(), Anonymous(presented=True, session=True)
        changes = conn.scope.get("method", "GET") not in SAFE_METHODS
        if changes and conn.url.path.startswith(self.prefix):
            # The editor's own pages check the key of the forms they post themselves.
            presented = conn.headers.get(CSRF_HEADER)
            if not same_site(conn) or not csrf_matches(session, presented):
                return AuthCredentials(), Anonymous(presented=True, session=True, cross_site=True)
        return AuthCredentials(scopes_of(session.who)), SessionUser(session)


#: Where the browser editor's pages are (a session cookie is read there and under /api/).
EDITOR_PREFIX = "/redaksi/"


def same_site(conn: HTTPConnection) -> bool:
    """Whether a request comes from this site's own pages, as far as the browser says
    (``Sec-Fetch-Site`` and ``Origin``; a client that sends neither is not a browser page)."""
    fetched = conn.headers.get("sec-fetch-site")
    if fetched is not None and fetched not in ("same-origin", "none"):
        return False
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    return origin.split("://", 1)[-1] == conn.headers.get("host", "")


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
