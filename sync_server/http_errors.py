"""The one place where errors become HTTP answers: the server's own errors (errors.py), and
Starlette's (no route, wrong method, and the 401/403 of `requires`). Every answer under
/api/ is JSON {"error": <a sentence>, "details": [...]}."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from site_builder.i18n import N_, _

from .access import Anonymous, TokenUser
from .errors import (
    Conflict,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    PreconditionRequired,
    RequestError,
    TooLarge,
    Unavailable,
    Unsupported,
)

STATUS: dict[type[RequestError], int] = {
    Malformed: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Unsupported: 415,
    Invalid: 422,
    PreconditionRequired: 428,
    Unavailable: 503,
}


def json_error(
    status: int,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"error": message, "details": details or [], **extra}
    return JSONResponse(body, status_code=status, headers=headers)


async def request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    status = next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return json_error(status, exc.message, exc.details, headers, **exc.extra)


def _unauthenticated(request: Request) -> Response:
    user = request.scope.get("user")
    if isinstance(user, Anonymous) and user.retry_after:
        return json_error(
            429,
            _("too many failed authentications from this client; try again later"),
            headers={"Retry-After": str(user.retry_after)},
        )
    if isinstance(user, Anonymous) and user.cross_site:
        return json_error(
            403,
            _(
                "a change from the editor must come from its own pages, with the session's "
                "key in the X-CSRF-Token header; reload the editor and try again"
            ),
        )
    if isinstance(user, Anonymous) and user.session:
        return json_error(
            401,
            _(
                "the editor session has ended (signed out, expired, or its token was revoked "
                "or expired): sign in again at /redaksi/"
            ),
        )
    if isinstance(user, Anonymous) and user.presented:
        message = _(
            "the token is not valid (unknown, revoked or expired): send "
            "'Authorization: Bearer <token>' with a token from your administrator"
        )
    else:
        message = _("a valid token is required: send 'Authorization: Bearer <token>'")
    return json_error(401, message, headers={"WWW-Authenticate": "Bearer"})


def _forbidden(request: Request) -> Response:
    user = request.scope.get("user")
    role = user.who.role if isinstance(user, TokenUser) else "anonymous"
    refusal = getattr(request.scope.get("endpoint"), "refusal", N_("do this"))
    return json_error(
        403, _("the role '{role}' may not {action}").format(role=role, action=_(refusal))
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/"):
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 401:
        return _unauthenticated(request)
    if exc.status_code == 403:
        return _forbidden(request)
    if exc.status_code == 404:
        message = _("there is no API endpoint at {path}; see /api/openapi.json").format(
            path=request.url.path
        )
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        if allowed:
            message = _("{method} is not allowed on {path}; use {allowed}")
        else:
            message = _("{method} is not allowed on {path}")
        message = message.format(method=request.method, path=request.url.path, allowed=allowed)
    else:
        message = str(exc.detail)
    return json_error(exc.status_code, message, headers=exc.headers)


HANDLERS = {RequestError: request_error, HTTPException: http_error}
