"""The Starlette application: the API under /api/, the browser editor under /redaksi/ and the
live static site at /, with the layers every request passes, outermost first: the security
headers, errors that end the process or become a sentence (fatal), the start-up gate, and
authentication (a token, or the editor's session)."""

from __future__ import annotations

import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from site_builder.i18n import _, from_accept_language, using
from site_builder.preview import SecurityHeaders

from .access import TokenBackend
from .editor import EDITOR_ROUTES
from .fatal import ErrorGuard
from .http_errors import HANDLERS, json_error
from .livesite import live_site
from .routes import API_FALLBACK, API_ROUTES, PUBLIC_PATHS
from .services import Services

__all__ = ["API_ROUTES", "Services", "create_app"]


class StartupGate:
    """Until start-up has loaded the content, the API answers 503 with Retry-After (the
    live site, /api/health and the API document are served from the first moment)."""

    def __init__(self, app: ASGIApp, ready: threading.Event) -> None:
        self.app = app
        self.ready = ready

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and not self.ready.is_set()
            and path.startswith("/api/")
            and path not in PUBLIC_PATHS
        ):
            response = json_error(
                503,
                _(
                    "the server is starting: the site is already served, the API answers in a "
                    "moment"
                ),
                headers={"Retry-After": "2"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Language:
    """Messages of a request in the language its Accept-Language asks for (Indonesian or
    English), else the server's own (its --lang or locale)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("accept-language")
        with using(from_accept_language(header)):
            await self.app(scope, receive, send)


def create_app(svc: Services, live: Path) -> Starlette:
    app = Starlette(
        routes=[*API_ROUTES, API_FALLBACK, *EDITOR_ROUTES, Mount("/", live_site(live))],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(Language),
            Middleware(ErrorGuard),
            Middleware(StartupGate, ready=svc.ready),
            Middleware(AuthenticationMiddleware, backend=TokenBackend(svc.store, svc.limiter)),
        ],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
    )
    app.state.services = svc
    return app
