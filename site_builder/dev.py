"""`pantau dev`: build into a private folder, serve it, rebuild on every edit, reload the page.

The site is built into `.pantau-dev/site` beside the content folder (the folder ignores itself
for git) and served on 127.0.0.1 as `pantau preview` serves a site, with these differences,
all made while serving so that the built files stay exactly what `pantau build` writes:

- every HTML page gets `<script src="/__pantau/reload.js?v=N" defer>` (an external script,
  so the Content-Security-Policy still allows the site's own files only); N is the number of
  the last good build the page was served from;
- `/__pantau/status` answers JSON: that number, whether the last build failed and, if so,
  its problems (file, line, field, message). The script polls it, reloads the page when a
  newer build is served and shows the problems in a banner while the last good build stays
  visible;
- conditional requests are answered in full (a page kept by the browser would carry an old
  build number and reload forever), and `/sw.js` is a worker that removes itself, so that no
  offline cache ever hides a rebuild;
- until a first build succeeds, every page is a short placeholder that carries the script.

A thread watches the content and theme folders (watchfiles) and runs the incremental build
after each batch of changes, which renders only what the changes touched.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .build import build
from .download import DownloadSchedule
from .engine import Engine
from .errors import ContentError, PantauError
from .i18n import _, ngettext
from .preview import NOT_COMPRESSED, SecurityHeaders, SiteFiles, request_log
from .state import State, state_path

DEV_FOLDER = ".pantau-dev"
PREFIX = "/__pantau/"
#: Headers that would let the browser keep a page served with an older build number.
CONDITIONAL = {b"if-none-match", b"if-modified-since", b"if-range", b"if-match"}
NO_STORE = {"Cache-Control": "no-store"}

RELOAD_JS = """\
/* Served by `pantau dev` only: reload after a rebuild, show the problems of a failed one. */
(function () {
  "use strict";
  var script = document.currentScript;
  var served = script ? new URL(script.src).searchParams.get("v") : null;
  var banner = null;

  function show(status) {
    if (status.ok) {
      if (banner) banner.remove();
      banner = null;
      return;
    }
    if (!banner) {
      banner = document.createElement("div");
      banner.id = "pantau-dev-error";
      banner.setAttribute("role", "alert");
      Object.assign(banner.style, {
        position: "fixed", left: "0", right: "0", bottom: "0", zIndex: "2147483647",
        maxHeight: "50vh", overflow: "auto", margin: "0", padding: "1em",
        background: "#fff3f3", color: "#8a1010", borderTop: "4px solid #c0392b",
        font: "14px/1.4 monospace", whiteSpace: "pre-wrap"
      });
      document.body.appendChild(banner);
    }
    var text = "pantau dev: the last build failed; this page is the last good build.\\n\\n" +
      status.error;
    if (banner.textContent !== text) banner.textContent = text;
  }

  function poll() {
    fetch("/__pantau/status", { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (served !== null && String(status.version) !== served) {
          location.reload();
          return;
        }
        show(status);
        setTimeout(poll, 400);
      })
      .catch(function () { setTimeout(poll, 1500); });
  }

  poll();
})();
"""

#: Replaces the site's service worker while developing: it removes itself at once.
SERVICE_WORKER_JS = """\
/* Served by `pantau dev` only: no offline cache while developing. */
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.registration.unregister()));
"""

WAITING_PAGE = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pantau dev</title></head>
<body><p>pantau dev: no good build yet. Fix the problems shown below (and in the terminal);
this page reloads by itself.</p></body></html>
"""


def dev_folder(content_dir: Path) -> Path:
    """The private folder beside the content folder that holds the dev site and its state."""
    return Path(os.path.abspath(content_dir)).parent / DEV_FOLDER


@dataclass
class Status:
    """The outcome of the last build, as /__pantau/status reports it."""

    version: int = 0
    ok: bool = True
    error: str = ""
    problems: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "ok": self.ok,
            "error": self.error,
            "problems": self.problems,
        }


class DevSite:
    """The content, its private build and the status of the last build; thread-safe."""

    def __init__(
        self,
        content_dir: Path,
        echo: Callable[[str, bool], None] | None = None,
        *,
        out: Path | None = None,
        today: dt.date | None = None,
    ) -> None:
        """``out`` (the private build, by default in the content's dev folder) and ``today``
        (the build's date, by default the date in WITA) are there for measurements."""
        self.content_dir = Path(content_dir)
        self.folder = dev_folder(content_dir)
        self.out = out if out is not None else self.folder / "site"
        self.today = today
        self._echo = echo or (lambda _text, _err: None)
        self._lock = threading.Lock()
        self._status = Status()
        # One engine for the session: what it validated and rendered stays in memory, so a
        # saved file costs a look at what changed, not a build of a fresh process.
        self._engine: Engine | None = None
        self._building = threading.Lock()
        # As on the server: a large site's downloadable copy follows edits once a minute.
        self.download = DownloadSchedule(lambda: self.rebuild(_("Downloadable copy")))

    @property
    def status(self) -> Status:
        with self._lock:
            return Status(**self._status.__dict__)

    def prepare(self) -> None:
        """Create the private folder, ignored by git whatever the repository's .gitignore."""
        self.folder.mkdir(parents=True, exist_ok=True)
        ignore = self.folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Written by pantau dev: nothing here belongs in git.\n*\n")

    def rebuild(self, reason: str = "") -> bool:
        """Build what changed; on failure keep the last good site and report the problems."""
        prefix = f"{reason}: " if reason else ""
        try:
            with self._building:
                if self._engine is None:
                    self._engine = Engine(state_path(self.out))
                result = build(
                    self.content_dir,
                    self.out,
                    today=self.today,
                    engine=self._engine,
                    download_later=self.download.later(),
                )
                self.download.built(result.changes)
        except ContentError as exc:
            problems = [p.to_json() for p in exc.problems]
            count = len(exc.problems)
            text = "\n".join(str(p) for p in exc.problems)
            self._fail(text, problems)
            found = ngettext("{count} problem found:", "{count} problems found:", count)
            self._echo(prefix + found.format(count=count), True)
            for problem in exc.problems:
                self._echo(f"  {problem}", True)
            self._echo(self._still_serving(), True)
            return False
        except PantauError as exc:
            self._fail(str(exc), [])
            self._echo(prefix + _("Error: {reason}").format(reason=exc), True)
            self._echo(self._still_serving(), True)
            return False
        except Exception as exc:  # a bug must not end the session: show it and keep serving
            self._fail(_("unexpected error: {reason}").format(reason=repr(exc)), [])
            self._echo(traceback.format_exc().rstrip(), True)
            self._echo(self._still_serving(), True)
            return False
        with self._lock:
            self._status = Status(version=self._status.version + 1)
        self._echo(f"{prefix}{result.summary()}", False)
        return True

    def _fail(self, error: str, problems: list[dict[str, object]]) -> None:
        with self._lock:
            self._status = Status(self._status.version, False, error, problems)

    def _still_serving(self) -> str:
        if self.status.version:
            return _("Still serving the last good build; fix the file and save to rebuild.")
        return _("Nothing to serve yet; fix the file and save to rebuild.")

    def watched(self) -> list[Path]:
        """The folders to watch: the content and the theme folders the last build read (the
        shipped default theme before a first build), none inside another."""
        from .themes import shipped

        folders = State(state_path(self.out)).folders(self.content_dir)
        folders.append(shipped("themes") / "default")
        found: list[Path] = []
        for folder in sorted({Path(os.path.abspath(f)) for f in folders if f.is_dir()}):
            if not any(folder.is_relative_to(outer) for outer in found):
                found.append(folder)
        return found


def describe(paths: Iterable[str], roots: Iterable[Path]) -> str:
    """A short account of the changed files, relative to the folder watched (an editor's
    temporary file, created and gone within the batch, is left out)."""
    names: list[str] = []
    for path in sorted(set(paths)):
        for root in roots:
            if Path(path).is_relative_to(root):
                path = str(Path(path).relative_to(root))
                break
        names.append(path)
    if not names:
        return _("Changed")
    shown = ", ".join(names[:3])
    if len(names) > 3:
        return _("Changed {files} and {more} more").format(files=shown, more=len(names) - 3)
    return _("Changed {files}").format(files=shown)


def watch(site: DevSite, stop: threading.Event) -> None:
    """Rebuild after each batch of changes until `stop` is set."""
    import watchfiles

    class Filter(watchfiles.DefaultFilter):
        def __call__(self, change: watchfiles.Change, path: str) -> bool:
            return not Path(path).is_relative_to(site.folder) and super().__call__(change, path)

    while not stop.is_set():
        roots = site.watched()
        for changes in watchfiles.watch(
            *roots,
            watch_filter=Filter(),
            debounce=800,
            step=50,
            stop_event=stop,
            rust_timeout=500,
            raise_interrupt=False,
        ):
            gone = {p for c, p in changes if c == watchfiles.Change.added and not os.path.exists(p)}
            site.rebuild(describe((p for _c, p in changes if p not in gone), roots))
            if site.watched() != roots:
                break  # the theme changed: watch its folders instead


class DevFiles(SiteFiles):
    """The site's files, or the placeholder page while no good build exists."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            return HTMLResponse(WAITING_PAGE, status_code=404, headers=NO_STORE)


class InjectReload:
    """Adds the reload script to every HTML page (answered in full, never from the browser's
    copy) and marks every answer not to be stored."""

    def __init__(self, app: ASGIApp, site: DevSite) -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in CONDITIONAL]
        scope = {**scope, "headers": headers}
        version = self.site.status.version
        tag = f'<script src="{PREFIX}reload.js?v={version}" defer></script>'.encode()
        start: Message | None = None
        body: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                kind = MutableHeaders(raw=list(message["headers"])).get("content-type", "")
                html = kind.startswith("text/html") and message["status"] in (200, 404)
                if not html or scope["method"] != "GET":
                    headers = MutableHeaders(scope=message)
                    headers.update(NO_STORE)
                    if html and "content-length" in headers:  # HEAD: the page would get the tag
                        headers["Content-Length"] = str(int(headers["content-length"]) + len(tag))
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = inject(b"".join(body), tag)
            headers = MutableHeaders(scope=start)
            headers["Content-Length"] = str(len(page))
            headers.update(NO_STORE)
            await send(start)
            await send({"type": "http.response.body", "body": page, "more_body": False})

        await self.app(scope, receive, sending)


def inject(page: bytes, tag: bytes) -> bytes:
    """The page with `tag` before its closing body tag (or at its end)."""
    at = page.lower().rfind(b"</body>")
    if at == -1:
        return page + tag
    return page[:at] + tag + page[at:]


def dev_app(site: DevSite) -> ASGIApp:
    """The dev site as an ASGI app: the built site with the reload script, and /__pantau/."""

    async def status(_request: Request) -> Response:
        return JSONResponse(site.status.to_json(), headers=NO_STORE)

    async def reload_js(_request: Request) -> Response:
        return Response(RELOAD_JS, media_type="text/javascript; charset=utf-8", headers=NO_STORE)

    async def service_worker(_request: Request) -> Response:
        return Response(
            SERVICE_WORKER_JS, media_type="text/javascript; charset=utf-8", headers=NO_STORE
        )

    files = GZipMiddleware(
        InjectReload(DevFiles(site.out), site), exclude_content_types=NOT_COMPRESSED
    )
    routes = [
        Route(f"{PREFIX}status", status),
        Route(f"{PREFIX}reload.js", reload_js),
        Route("/sw.js", service_worker),
        Mount("/", files),
    ]
    return SecurityHeaders(Starlette(routes=routes))


class QuietPolls(logging.Filter):
    """Leaves the reload script's polls out of the request log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (isinstance(args, tuple) and len(args) > 2 and PREFIX in str(args[2]))


def log_config() -> dict[str, Any]:
    config = request_log()
    config["filters"] = {"quiet": {"()": QuietPolls}}
    config["handlers"]["request"]["filters"] = ["quiet"]
    return config


def listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:port; a PantauError in one sentence when it cannot."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = _("the port is in use") if exc.errno == errno.EADDRINUSE else exc.strerror
        raise PantauError(
            _("cannot listen on {address}: {reason}; choose another with --port").format(
                address=f"127.0.0.1:{port}", reason=reason
            )
        ) from None
    return sock


def run(content_dir: Path, port: int, echo: Callable[[str, bool], None]) -> None:
    """Build, serve and watch until Ctrl+C (KeyboardInterrupt, which is left to the caller)."""
    import uvicorn

    sock = listen(port)
    stop = threading.Event()
    watcher: threading.Thread | None = None
    site: DevSite | None = None
    try:
        site = DevSite(content_dir, echo)
        site.prepare()
        site.rebuild(_("First build"))
        watcher = threading.Thread(target=watch, args=(site, stop), name="pantau-dev-watch")
        watcher.start()
        config = uvicorn.Config(
            dev_app(site),
            lifespan="off",
            server_header=False,
            log_config=log_config(),
            access_log=True,
            timeout_graceful_shutdown=2,
        )
        address = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        echo(
            _("Serving {folder} at {address} (rebuilt on every change; Ctrl+C stops)").format(
                folder=content_dir, address=address
            ),
            False,
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        stop.set()
        if site is not None:
            site.download.cancel()
        if watcher is not None:
            watcher.join()
        sock.close()
