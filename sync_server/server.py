"""Open a data folder (database, content, builds) and run the server on it."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import threading
from pathlib import Path

from site_builder.errors import PantauError
from site_builder.themes import shipped

from .app import Services, create_app
from .auth import FailureLimiter
from .publisher import Publisher
from .store import Store
from .workspace import Workspace

log = logging.getLogger("pantau.sync")

DB_NAME = "pantau.db"


def open_store(data: Path) -> Store:
    data.mkdir(parents=True, exist_ok=True)
    return Store(data / DB_NAME)


def open_services(
    data: Path, seed: Path | None = None, debounce: float = 0.05, auth_failures: int = 10
) -> Services:
    """The server's parts on a data folder; a new folder starts from ``seed`` (by default the
    shipped content)."""
    content_dir = data / "content"
    if not content_dir.exists():
        source = seed or shipped("content")
        if not (source / "site.yaml").is_file():
            raise PantauError(f"{source} is not a content folder (it has no site.yaml)")
        data.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, content_dir, ignore=shutil.ignore_patterns(".pantau-sync*"))
        log.info("new data folder %s: content copied from %s", data, source)
    elif seed is not None:
        log.info("%s already holds content; --content is used only for a new data folder", data)
    store = open_store(data)
    workspace = Workspace(content_dir, store)
    publisher = Publisher(workspace, store, data, debounce=debounce)
    return Services(store, workspace, publisher, FailureLimiter(limit=auth_failures))


def start_services(svc: Services) -> None:
    """Reconcile and load the content, then start publishing; the API answers from then on
    (the live site is served before, from the first moment)."""
    svc.workspace.start(cache=svc.publisher.engine.state)
    svc.publisher.start()
    svc.publisher.request("startup")
    # What start-up loaded lives as long as the process: keep it out of the garbage
    # collector's full scans (once; objects released later are still freed).
    gc.collect()
    gc.freeze()
    svc.ready.set()


def _start_in_background(svc: Services) -> None:
    try:
        start_services(svc)
    except Exception as exc:
        # The server cannot publish: say why and end the process, so that a supervisor
        # restarts it or an operator sees it, rather than serve an API that never answers.
        message = str(exc) if isinstance(exc, PantauError) else f"{type(exc).__name__}: {exc}"
        log.critical("the server cannot start: %s", message)
        os._exit(1)


def serve(data: Path, seed: Path | None, host: str, port: int, auth_failures: int = 10) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    svc = open_services(data, seed, auth_failures=auth_failures)
    threading.Thread(
        target=_start_in_background, args=(svc,), name="pantau-startup", daemon=True
    ).start()
    app = create_app(svc, data / "live")
    log.info("serving the site and the API on http://%s:%s/", host, port)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        svc.publisher.stop()
        svc.store.close()
