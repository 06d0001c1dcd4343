"""Open a data folder (database, content, builds) and run the server on it."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
from pathlib import Path

from site_builder.errors import PantauError
from site_builder.i18n import _
from site_builder.themes import shipped

from .app import create_app
from .fatal import describe, die, install
from .hooks import AfterBuild
from .limiter import FailureLimiter
from .publisher import Publisher
from .records import Records
from .services import Services
from .store import Store
from .workspace import Workspace

log = logging.getLogger("pantau.sync")

DB_NAME = "pantau.db"


def open_store(data: Path) -> Store:
    """The database of a data folder; a new one is created readable by its owner only (it
    holds every token's hash and every revision, drafts included), whatever the umask."""
    data.mkdir(parents=True, exist_ok=True)
    db = data / DB_NAME
    with contextlib.suppress(FileExistsError):
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return Store(db)


def private_copy(source: Path, target: Path) -> None:
    """Copy a content folder into the data folder, readable by the server's user only
    (the shipped files are installed readable by all; drafts must not be)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".pantau-sync*"))
    for folder, _dirs, names in os.walk(target):
        os.chmod(folder, 0o700)
        for name in names:
            os.chmod(os.path.join(folder, name), 0o600)


def open_services(
    data: Path, seed: Path | None = None, debounce: float = 0.05, auth_failures: int = 10
) -> Services:
    """The server's parts on a data folder; a new folder starts from ``seed`` (by default the
    shipped content)."""
    content_dir = data / "content"
    if not content_dir.exists():
        source = seed or shipped("content")
        if not (source / "site.yaml").is_file():
            raise PantauError(
                _("{folder} is not a content folder (it has no site.yaml)").format(folder=source)
            )
        data.mkdir(parents=True, exist_ok=True)
        private_copy(source, content_dir)
        log.info("new data folder %s: content copied from %s", data, source)
    elif seed is not None:
        log.info("%s already holds content; --content is used only for a new data folder", data)
    store = open_store(data)
    workspace = Workspace(content_dir, store)
    publisher = Publisher(workspace, store, data, debounce=debounce)
    records = Records(store, workspace, publisher)
    return Services(store, workspace, publisher, FailureLimiter(limit=auth_failures), records)


def start_services(svc: Services) -> None:
    """Reconcile and load the content, then start publishing; the API answers from then on
    (the live site is served before, from the first moment)."""
    svc.workspace.start(cache=svc.publisher.engine.state)
    svc.publisher.start()
    svc.publisher.request("startup")
    svc.ready.set()


def _start_in_background(svc: Services) -> None:
    try:
        start_services(svc)
    except Exception as exc:
        # The server cannot publish: say why and end the process, so that a supervisor
        # restarts it or an operator sees it, rather than serve an API that never answers.
        message = str(exc) if isinstance(exc, PantauError) else describe(exc)
        die(_("the server cannot start: {reason}").format(reason=message))


def serve(
    data: Path,
    seed: Path | None,
    host: str,
    port: int,
    auth_failures: int = 10,
    forwarded_allow_ips: str | None = None,
    after_build: str | None = None,
) -> None:
    """Serve until stopped. Forwarding headers (X-Forwarded-For) are ignored unless
    ``forwarded_allow_ips`` names the proxies allowed to send them. ``after_build``, a
    command, runs after every build that goes live (see hooks.AfterBuild)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    install()
    # The event loop shares the interpreter with the threads that validate updates and build
    # the site; switching between threads every millisecond (rather than five) keeps the
    # public site and /api/health answering quickly while they work.
    sys.setswitchinterval(0.001)
    svc = open_services(data, seed, auth_failures=auth_failures)
    hook = AfterBuild(after_build) if after_build else None
    svc.publisher.after_build = hook
    threading.Thread(
        target=_start_in_background, args=(svc,), name="pantau-startup", daemon=True
    ).start()
    app = create_app(svc, data / "live")
    log.info("serving the site and the API on http://%s:%s/", host, port)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            server_header=False,
            proxy_headers=bool(forwarded_allow_ips),
            forwarded_allow_ips=forwarded_allow_ips or None,
        )
    finally:
        svc.publisher.stop()
        if hook is not None:
            hook.stop()
        svc.store.close()
