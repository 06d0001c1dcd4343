"""Errors the server cannot recover from end the process with a non-zero code, so that a
supervisor (systemd's Restart=on-failure) starts it again rather than leave it serving
half-alive: memory exhausted anywhere, or a background thread (the builder, start-up)
stopped by an error. Any other error of a request is answered with a sentence, logged with
one line, and never shows a traceback."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import NoReturn

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("pantau.sync")

#: The exit code of a server that stopped itself.
EXIT_FATAL = 1


def die(reason: str) -> NoReturn:
    """Log why (``reason`` starts with "the server ..."), then end the process at once, with
    no clean-up that could hang."""
    log.critical("%s; the process ends so that it can be restarted", reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_FATAL)


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "a background thread"
    die(f"the server's {name} thread stopped on an error ({describe(args.exc_value)})")


def install() -> None:
    """Make an error that ends any thread of this process end the process."""
    threading.excepthook = _thread_failed


class ErrorGuard:
    """The outermost layer of the application: memory exhausted ends the process; any other
    unexpected error gets a 500 with a sentence (JSON under /api/) and one log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except MemoryError:
            die(f"the server ran out of memory answering {scope['method']} {scope['path']}")
        except Exception as exc:
            log.error("%s %s failed: %s", scope["method"], scope["path"], describe(exc))
            if not started:
                await self._failure(scope)(scope, receive, send)

    @staticmethod
    def _failure(scope: Scope) -> Response:
        message = "the server failed on this request; its administrator can find why in the log"
        if scope["path"].startswith("/api/"):
            return JSONResponse({"error": message, "details": []}, status_code=500)
        return PlainTextResponse(message, status_code=500)
