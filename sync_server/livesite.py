"""Serve the live site: the 'live' link is resolved on every request (so an atomic switch
takes effect at once), and each file is opened before its size is read, so a file renamed over
by a rebuild is still sent whole, old or new, never cut short."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")
CHUNK = 64 * 1024


class LiveSite:
    def __init__(self, live: Path) -> None:
        self.live = live

    def _resolve(self, path: str) -> tuple[Path, int] | None:
        root = os.path.realpath(self.live)
        candidate = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if os.path.commonpath([candidate, root]) != root:
            return None
        if os.path.isdir(candidate):
            candidate = os.path.join(candidate, "index.html")
        try:
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            return None
        return Path(candidate), fd

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method not in ("GET", "HEAD"):
            await PlainTextResponse("Method Not Allowed", 405)(scope, receive, send)
            return
        found = self._resolve(request.url.path)
        status = 200
        if found is None:
            found, status = self._resolve("404.html"), 404
        if found is None:
            await PlainTextResponse("Not Found", 404)(scope, receive, send)
            return
        path, fd = found
        size = os.fstat(fd).st_size
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith(("json", "javascript", "xml")):
            kind += "; charset=utf-8"
        headers = {"Content-Length": str(size), "Cache-Control": "no-cache"}
        if request.method == "HEAD":
            os.close(fd)
            response: Response = Response(status_code=status, headers=headers, media_type=kind)
        else:
            response = StreamingResponse(_chunks(fd), status, headers, media_type=kind)
        await response(scope, receive, send)


def _chunks(fd: int) -> Iterator[bytes]:
    try:
        while chunk := os.read(fd, CHUNK):
            yield chunk
    finally:
        os.close(fd)
