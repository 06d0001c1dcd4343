"""Serve a built site over HTTP: `pantau preview` on 127.0.0.1, and the sync server's live site.

Starlette's static files do the serving (ETag and Last-Modified with 304 answers, byte ranges,
the site's own 404 page), with four changes for a site that is rebuilt while it is served:

- the folder is resolved once per request, so a folder swapped in by renaming a link is served
  from the next request on, and each request sees one folder, old or new, never a mix;
- each file is opened before its size is read and is sent from that open file, so a file
  renamed over by a rebuild is still sent whole, old or new, never cut short;
- names starting with '.' (the build state, hidden markers) are never served;
- a folder asked for without its trailing slash answers 301 to the slashed URL, as nginx does,
  because the pages' relative links resolve against it.

Text is gzip-compressed for clients that accept it. Every answer carries the security
headers (SECURITY_HEADERS): no type sniffing, a Content-Security-Policy that allows the
site's own files only (no inline script, no framing), and a referrer policy.
"""

from __future__ import annotations

import io
import mimetypes
import os
import socket
import stat
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Types that must not depend on the machine's MIME tables.
MEDIA_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml",
    ".csv": "text/csv",
    ".ics": "text/calendar",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".zip": "application/zip",
}
# Already compressed, or not worth it; the text types are compressed.
NOT_COMPRESSED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream", "application/pdf")
NOT_FOUND_PAGE = "404.html"
#: Sent with every answer: the site needs nothing but its own files (and data: images).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP answer of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, sending)


def media_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    kind = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith(("json", "javascript", "xml")):
        kind += "; charset=utf-8"
    return kind


class OpenFileResponse(FileResponse):
    """A FileResponse sent from a file opened beforehand: its headers come from that open
    file and its bytes are read from it, whatever is renamed over its path meanwhile. The
    response owns the file and closes it once sent."""

    def __init__(self, file: io.BufferedReader, status_code: int = 200) -> None:
        super().__init__(
            file.name,
            status_code=status_code,
            headers={"Cache-Control": "no-cache"},
            media_type=media_type(file.name),
            stat_result=os.fstat(file.fileno()),
        )
        self.file = file

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        yield anyio.wrap_file(self.file)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A server able to send a file by its path would open the path again.
        extensions = {
            key: value
            for key, value in scope.get("extensions", {}).items()
            if key != "http.response.pathsend"
        }
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            self.file.close()


class SiteFiles(StaticFiles):
    """A built site's folder (or a link to it) served as nginx would serve it; a folder that
    does not exist yet answers 404."""

    def __init__(self, folder: Path) -> None:
        super().__init__(directory=folder, html=True, check_dir=False)
        self.folder = folder

    async def check_config(self) -> None:
        """Nothing to check: the folder may appear, or be replaced, while serving."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        slash = scope["path"].endswith("/")
        found = await anyio.to_thread.run_sync(self.find, path, slash)
        if isinstance(found, str):
            location = scope.get("root_path", "") + "/" + (quote(found) + "/" if found else "")
            if scope.get("query_string"):
                location += "?" + scope["query_string"].decode("latin-1")
            return RedirectResponse(location, status_code=301)
        if isinstance(found, io.BufferedReader):
            response = OpenFileResponse(found)
            if self.is_not_modified(response.headers, Headers(scope=scope)):
                found.close()
                return NotModifiedResponse(response.headers)
            return response
        page = await anyio.to_thread.run_sync(self.find, NOT_FOUND_PAGE, False)
        if isinstance(page, io.BufferedReader):
            return OpenFileResponse(page, status_code=404)
        raise HTTPException(status_code=404)

    def find(self, path: str, slash: bool) -> io.BufferedReader | str | None:
        """The open file to send for a normalised request path; or, for a folder asked for
        without its slash, its path to redirect to; or None: there is nothing to send."""
        parts = [] if path == "." else path.split(os.sep)
        if any(part.startswith(".") for part in parts):
            return None  # hidden, or above the folder
        try:
            root = os.path.realpath(self.folder)
            target = os.path.realpath(os.path.join(root, *parts))
            inside = os.path.relpath(target, root)
            if inside != "." and any(p.startswith(".") for p in inside.split(os.sep)):
                return None  # a link to a hidden file, or out of the folder
            info = os.stat(target)
            if stat.S_ISDIR(info.st_mode):
                index = os.path.join(target, "index.html")
                if not os.path.isfile(index):
                    return None
                if not slash:
                    return "/".join(parts)
                target = index
            elif slash or not stat.S_ISREG(info.st_mode):
                return None
            file = open(target, "rb")  # noqa: SIM115 - the response closes it once sent
        except (OSError, ValueError):
            return None  # missing, unreadable, a name too long, a NUL byte
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            file.close()
            return None
        return file


def site_app(folder: Path) -> ASGIApp:
    """The site in `folder` as an ASGI app, text compressed for clients that accept gzip,
    with the security headers."""
    return SecurityHeaders(GZipMiddleware(SiteFiles(folder), exclude_content_types=NOT_COMPRESSED))


def request_log() -> dict[str, Any]:
    """Logging for the command line: one line per request on stdout, problems on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "request": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(client_addr)s "%(request_line)s" %(status_code)s',
                "use_colors": False,
            },
            "problem": {"format": "%(levelname)s: %(message)s"},
        },
        "handlers": {
            "request": {
                "class": "logging.StreamHandler",
                "formatter": "request",
                "stream": "ext://sys.stdout",
            },
            "problem": {
                "class": "logging.StreamHandler",
                "formatter": "problem",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "uvicorn.access": {"handlers": ["request"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"handlers": ["problem"], "level": "WARNING", "propagate": False},
        },
    }


class PreviewServer:
    """The site served by uvicorn on a socket bound at creation, so that a port in use is an
    OSError here; used like a socketserver: serve_forever(), shutdown(), server_close()."""

    # Callers of the former http.server-based preview silenced its request log through this
    # attribute; the request log is now off unless asked for, so it has nothing left to do.
    RequestHandlerClass: type = type("RequestHandler", (), {})

    def __init__(self, folder: Path, host: str, port: int, log_requests: bool = False) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
            self.socket.listen(128)
        except OSError:
            self.socket.close()
            raise
        self.server_port: int = self.socket.getsockname()[1]
        app = SecurityHeaders(Starlette(routes=[Mount("/", site_app(folder))]))
        config = uvicorn.Config(
            app,
            lifespan="off",
            server_header=False,
            log_config=request_log() if log_requests else None,
            access_log=log_requests,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._running = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        """Serve until shutdown() (or, in the main thread, Ctrl+C: KeyboardInterrupt)."""
        self._running.set()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serve_forever() and wait until it has returned."""
        self._server.should_exit = True
        if self._running.is_set():
            self._stopped.wait()

    def server_close(self) -> None:
        self.socket.close()


def make_server(
    folder: Path, host: str = "127.0.0.1", port: int = 8000, log_requests: bool = False
) -> PreviewServer:
    return PreviewServer(folder, host, port, log_requests)
