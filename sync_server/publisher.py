"""One background builder: debounces bursts of changes into one build, re-renders only what
the changes touch, writes a fresh build folder and switches the live site atomically."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import shutil
import threading
import time
from pathlib import Path

from site_builder.build import finish, media_files, plan_site, render, render_all
from site_builder.cache import RenderCache
from site_builder.dates import today_wita
from site_builder.errors import PantauError
from site_builder.graph import Change, History
from site_builder.offline import FINAL, digest
from site_builder.pages import widen
from site_builder.write import MARKER, replace_files, write_files

from .store import Store, now
from .workspace import Workspace

log = logging.getLogger("pantau.sync")

KEEP_BUILDS = 3
ZIP_EAGER_BYTES = 20 * 1024 * 1024  # below this the download copy is rebuilt with every change
ZIP_INTERVAL = 60.0  # seconds; above it, at most this often
LINK_COPY_FILES = 2000  # up to this many files, every build gets a fresh folder
ACTION_LABELS = {
    "create": "dibuat",
    "update": "diubah",
    "delete": "dihapus",
    "revert": "dikembalikan",
    "disk": "diubah",
}


def history_of(store: Store, limit: int = 50) -> History:
    """Revisions of live records and the latest changes, for the public change log."""
    revisions = store.revisions()
    changes = []
    for row in store.recent_changes(limit):
        title = _title(row["text"]) or row["slug"]
        changes.append(
            Change(
                seq=row["seq"],
                time=dt.datetime.fromisoformat(row["time"]),
                key=f"{row['collection']}/{row['slug']}",
                title=title,
                action=ACTION_LABELS.get(row["action"], row["action"]),
                role=row["role"],
                revision=row["revision"],
            )
        )
    return History(revisions, changes)


def link_copy(source: Path, target: Path) -> None:
    """Fill target with hard links to source's files (cheap; source stays intact because
    files are only ever replaced, never changed in place)."""
    for folder, _dirs, names in os.walk(source):
        relative = Path(folder).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in names:
            if not name.startswith(".") or name == MARKER:
                os.link(Path(folder) / name, target / relative / name)


def _title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith(("title:", "name:")):
            return line.split(":", 1)[1].strip().strip("\"'")
    return ""


class Publisher:
    """Owns the build folders and the 'live' link the public site is served from."""

    def __init__(
        self, workspace: Workspace, store: Store, data_dir: Path, debounce: float = 0.05
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.builds_dir = data_dir / "builds"
        self.live = data_dir / "live"
        self.debounce = debounce
        self._cond = threading.Condition()
        self._pending_id: int | None = None
        self._pending_keys: set[str] = set()
        self._pending_full = False
        self._last_request = 0.0
        self._unpublished: set[str] = set()
        self._deps: dict[str, frozenset[str]] | None = None
        self._today: dt.date | None = None
        self._cache = RenderCache()
        self._live_id: int | None = None
        self._hashes: dict[str, str] = {}
        self._sizes: dict[str, int] = {}
        self._zipped_at = 0.0
        self._zip_timer: threading.Timer | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="pantau-builder", daemon=True)

    def start(self) -> None:
        self.builds_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        if self._zip_timer is not None:
            self._zip_timer.cancel()
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=30)

    def live_build(self) -> int | None:
        """The last build that published successfully (full or incremental)."""
        return self._live_id

    def _live_folder_id(self) -> int | None:
        try:
            return int(os.readlink(self.live).rsplit("/", 1)[-1])
        except (OSError, ValueError):
            return None

    def request(self, keys: set[str], trigger: str, full: bool = False) -> int:
        """Ask for a build that includes these changes; returns the id of that build."""
        with self._cond:
            if self._pending_id is None:
                self._pending_id = self.store.add_build(trigger)
            self._pending_keys |= keys
            self._pending_full |= full
            self._last_request = time.monotonic()
            self._cond.notify()
            return self._pending_id

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending_id is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                first = time.monotonic()
                # Debounce: wait for a quiet moment, but never more than a second in all.
                while not self._stop:
                    quiet = self._last_request + self.debounce - time.monotonic()
                    left = first + 1.0 - time.monotonic()
                    if quiet <= 0 or left <= 0:
                        break
                    self._cond.wait(min(quiet, left))
                build_id, keys, full = self._pending_id, self._pending_keys, self._pending_full
                self._pending_id, self._pending_keys, self._pending_full = None, set(), False
            assert build_id is not None
            self._build(build_id, keys, full)

    def _build(self, build_id: int, keys: set[str], full: bool) -> None:
        started = time.perf_counter()
        self.store.update_build(build_id, status="running", started=now().isoformat())
        keys = keys | self._unpublished
        try:
            count = self._publish(build_id, keys, full)
        except Exception as exc:
            # Retry these changes with the next build; a failed full build stays full.
            self._unpublished = keys | ({"site"} if full else set())
            message = str(exc) if isinstance(exc, PantauError) else f"{type(exc).__name__}: {exc}"
            log.error("build %s failed; the previous site stays live: %s", build_id, message)
            self.store.update_build(
                build_id,
                status="failed",
                finished=now().isoformat(),
                duration=round(time.perf_counter() - started, 4),
                error=message,
            )
            return
        self._unpublished = set()
        self._live_id = build_id
        gc.freeze()  # the content and caches live long: keep them out of GC scans
        duration = time.perf_counter() - started
        log.info("build %s published %s files in %.3f s", build_id, count, duration)
        self.store.update_build(
            build_id,
            status="success",
            finished=now().isoformat(),
            duration=round(duration, 4),
            files=count,
        )
        self._cleanup()

    def _publish(self, build_id: int, keys: set[str], full: bool) -> int:
        """Render and publish. A full build renders everything; an incremental build only
        the outputs that read a changed record. Both write a fresh folder and switch the
        'live' link to it atomically, except incremental builds of a site past
        LINK_COPY_FILES, which rename each new file over its old one in the live folder.
        Every output is rendered before anything is written, and the publisher's own state
        changes only after the write, so a failed build leaves everything as it was."""
        content = self.workspace.snapshot()
        today = today_wita()
        live = self.live.resolve() if self.live.exists() else None
        incremental = (
            not full
            and self._deps is not None
            and live is not None
            and today == self._today
            and not keys & {"site", "regions"}
        )
        if not incremental:
            self._cache = RenderCache()  # templates may have changed on disk
        plan = plan_site(content, today, history_of(self.store), self._cache)
        if incremental:
            assert self._deps is not None and live is not None
            previous = self._deps
            changed = widen(keys | {"history"})
            outputs = [
                o
                for o in plan.outputs
                if o.path not in previous
                or not o.records.isdisjoint(changed)
                or not previous[o.path].isdisjoint(changed)
            ]
            files = render(plan, outputs)
            new_media = [n for n in plan.graph.content.media if f"media/{n}" not in self._hashes]
            files.update(media_files(plan, new_media))
            removed = set(previous) - {o.path for o in plan.outputs}
            hashes, sizes = self._catalogue(files, removed)
            with_zip = self._zip_due(sum(sizes.values()))

            def read(path: str) -> bytes:
                return files[path] if path in files else (live / path).read_bytes()

            files.update(finish(plan, hashes, read, hashes=hashes, sizes=sizes, with_zip=with_zip))
            if len(hashes) <= LINK_COPY_FILES:
                # Small site: a fresh folder of hard links to the live files, the new files
                # renamed into it, then one atomic switch, as for a full build.
                target = self._fresh_folder(build_id)
                link_copy(live, target)
                replace_files(files, target)
                for path in removed:
                    (target / path).unlink(missing_ok=True)
                self._switch(build_id)
            else:
                # Large site: copying thousands of folders costs seconds, so the new files are
                # renamed over the old ones in the live folder, each whole.
                replace_files(files, live)
                for path in removed:
                    (live / path).unlink(missing_ok=True)
        else:
            files = render_all(plan)
            self._hashes, self._sizes = {}, {}
            hashes, sizes = self._catalogue(files, set())
            self._zipped_at = time.monotonic()
            target = self._fresh_folder(build_id)
            write_files(files, target)
            (target / MARKER).write_text("Written by the Pantau sync server.\n")
            self._switch(build_id)
        self._hashes, self._sizes = hashes, sizes
        self._deps = {o.path: o.records for o in plan.outputs}
        self._today = today
        return len(files)

    def _fresh_folder(self, build_id: int) -> Path:
        target = self.builds_dir / str(build_id)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        return target

    def _switch(self, build_id: int) -> None:
        """Point 'live' at builds/<id> in one rename."""
        link = self.live.with_name(f".live-{build_id}")
        link.unlink(missing_ok=True)
        os.symlink(f"builds/{build_id}", link)
        os.replace(link, self.live)

    def _catalogue(
        self, files: dict[str, bytes], removed: set[str]
    ) -> tuple[dict[str, str], dict[str, int]]:
        """The content hash and size of every file after this build (the service worker lists
        them), as new dicts: the publisher keeps them only once the build is written."""
        hashes, sizes = dict(self._hashes), dict(self._sizes)
        for path, data in files.items():
            if path not in FINAL:
                hashes[path] = digest(data)
                sizes[path] = len(data)
        for path in removed:
            hashes.pop(path, None)
            sizes.pop(path, None)
        return hashes, sizes

    def _zip_due(self, site_size: int) -> bool:
        """Rebuild the downloadable copy now when the site is small; for a large site at most
        once a minute, with a follow-up build so the copy catches up with the last change."""
        if site_size <= ZIP_EAGER_BYTES:
            return True
        wait = self._zipped_at + ZIP_INTERVAL - time.monotonic()
        if wait <= 0:
            self._zipped_at = time.monotonic()
            return True
        if self._zip_timer is None or not self._zip_timer.is_alive():
            self._zip_timer = threading.Timer(
                wait, lambda: self.request({"download"}, "refresh the downloadable copy")
            )
            self._zip_timer.daemon = True
            self._zip_timer.start()
        return False

    def _cleanup(self) -> None:
        live = self._live_folder_id()
        builds = sorted(
            (int(p.name) for p in self.builds_dir.iterdir() if p.name.isdigit()), reverse=True
        )
        for old in builds[KEEP_BUILDS:]:
            if old != live:
                shutil.rmtree(self.builds_dir / str(old), ignore_errors=True)
