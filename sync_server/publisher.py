"""One background builder: debounces bursts of changes into one build, has the builder's
incremental engine render what changed, puts it in place and switches the live site
atomically, and reports each build."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from site_builder.download import DownloadSchedule
from site_builder.engine import Changes, Engine, apply_changes, write_marker
from site_builder.errors import ContentError, PantauError
from site_builder.graph import Change, History, next_change
from site_builder.i18n import _
from site_builder.load import read_record
from site_builder.models import COLLECTIONS, WITA, on_site
from site_builder.state import state_path
from site_builder.write import MARKER

from . import builds
from .store import Store, now
from .workspace import Workspace

log = logging.getLogger("pantau.sync")

KEEP_BUILDS = 3
LINK_COPY_FILES = 300  # up to this many files, every build gets a fresh folder
#: The longest the builder sleeps before looking at the clock again (a clock set forward or
#: back, or a suspended machine, is noticed within this time).
SCHEDULE_RECHECK = 600.0
#: How often an idle builder looks whether `pantau builds rollback` or `resume` changed the
#: pin (seconds).
PIN_POLL = 0.5
ACTION_LABELS = {
    "create": "dibuat",
    "update": "diubah",
    "delete": "dihapus",
    "revert": "dikembalikan",
    "disk": "diubah",
}


class LiveRevisions:
    """Every live record's revision and the time it last changed, kept up to date from the
    revisions added since the last look (at 10,000 records, reading them all before each
    build cost more than a tenth of a second). A deletion or an import may uncover an
    older revision's time, so after one of those everything is read again."""

    #: More new revisions than this since the last look: read everything again.
    DELTA_LIMIT = 500

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seq: int | None = None
        self.revisions: dict[str, int] = {}
        self.times: dict[str, dt.datetime] = {}

    def read(self) -> tuple[dict[str, int], dict[str, dt.datetime]]:
        """Copies of the revisions and change times, as of now."""
        rows = (
            self.store.revisions_after(self.seq, self.DELTA_LIMIT) if self.seq is not None else []
        )
        simple = all(not deleted and action != "import" for _, _, _, action, deleted, _ in rows)
        if self.seq is None or len(rows) >= self.DELTA_LIMIT or not simple:
            self.seq = self.store.last_seq()  # before reading: a later revision is read twice
            live = self.store.live_revisions()
            self.revisions = {key: revision for key, revision, _time in live}
            self.times = {key: dt.datetime.fromisoformat(t) for key, _rev, t in live if t}
        else:
            for seq, key, revision, _action, _deleted, time in rows:
                self.revisions[key] = revision
                self.times[key] = dt.datetime.fromisoformat(time)
                self.seq = seq
        return dict(self.revisions), dict(self.times)


def history_of(
    store: Store,
    limit: int = 50,
    moment: dt.datetime | None = None,
    live: LiveRevisions | None = None,
) -> History:
    """Revisions of live records, when each last changed, and the latest changes for the
    public change log. A change is listed only if the record was on the site at that revision
    (for a deletion: just before it), so a draft's title never reaches the public log, nor
    does the title of a record scheduled for later (or expired) at ``moment``. ``live`` keeps
    the revisions and times between calls."""
    revisions, times = (live or LiveRevisions(store)).read()
    changes = []
    for row in store.recent_changes(limit):
        shown = row
        if row["deleted"]:
            shown = store.revision(row["collection"], row["slug"], row["revision"] - 1) or row
        found = public_record(shown["collection"], shown["slug"], shown["ext"], shown["text"])
        if found is None or (moment is not None and not on_site(found[1], moment)):
            continue
        title = found[0]
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
    return History(revisions, changes, times)


@functools.lru_cache(maxsize=4096)
def public_record(collection: str, slug: str, ext: str, text: str) -> tuple[str, Any] | None:
    """A revision's title in the public change log and its record (whose schedule says
    when it is on the site); None if that revision was not meant for the site."""
    spec = COLLECTIONS.get(collection)
    if spec is None or not text or ext not in (".md", ".yaml"):
        return None
    try:
        entry = read_record(spec, slug, text, f"{spec.folder}/{slug}{ext}")
    except ContentError:
        return None
    if not spec.published(entry.data):
        return None
    return _title(text) or slug, entry.data


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


@dataclass(frozen=True)
class BuildFailure:
    """A build that failed: the site served is still the last one that succeeded."""

    build: int
    live: int | None
    error: str

    def sentence(self, with_error: bool) -> str:
        if self.live is None:
            sentence = _("build {build} failed, so the previous site is still served")
        else:
            sentence = _("build {build} failed, so build {live} is still served")
        sentence = sentence.format(build=self.build, live=self.live)
        if with_error:
            return f"{sentence}: {self.error}"
        return sentence + _("; GET /api/builds with a token says why")


class Publisher:
    """Owns the build folders and the 'live' link the public site is served from."""

    def __init__(
        self, workspace: Workspace, store: Store, data_dir: Path, debounce: float = 0.05
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.data = data_dir
        self.builds_dir = data_dir / "builds"
        self.live = data_dir / "live"
        self.debounce = debounce
        self.engine = Engine(state_path(self.live))
        self._live_revisions = LiveRevisions(store)
        self._cond = threading.Condition()
        self._pending_id: int | None = None
        self._pending_full = False
        self._last_request = 0.0
        self._retry_full = False
        self._live_id: int | None = None
        self.download = DownloadSchedule(lambda: self.request("refresh the downloadable copy"))
        self._stop = False
        #: When the site next changes with time alone (a record's publish_at or expire_at, or
        #: midnight WITA), worked out from the content of the last build.
        self.next_scheduled: dt.datetime | None = None
        #: The last finished build if it failed; None once one succeeds.
        self.failure: BuildFailure | None = None
        #: Called with (build id, live folder's real path, site paths written or removed)
        #: after each build that changed the live site, and after the first one; also after
        #: a rollback or a resume changed it.
        self.after_build: Callable[[int, Path, list[str]], None] | None = None
        #: The pin the builder last acted on (see _notice_pin).
        self._seen_pin: builds.Pin | None = None
        self._rolled_back: builds.Pin | None = None
        self._thread = threading.Thread(target=self._run, name="pantau-builder", daemon=True)

    def start(self) -> None:
        self.builds_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self.download.cancel()
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=30)

    def live_build(self) -> int | None:
        """The build the site is served from: the pinned one while publishing is pinned,
        else the last build that published successfully (full or incremental)."""
        pin = self.pinned()
        return pin.build if pin is not None else self._live_id

    def pinned(self) -> builds.Pin | None:
        """The pin `pantau builds rollback` set, or None (read from the data folder)."""
        return builds.read_pin(self.data)

    def request(self, trigger: str, full: bool = False) -> int:
        """Ask for a build that includes every change made so far; returns its id."""
        with self._cond:
            if self._pending_id is None:
                self._pending_id = self.store.add_build(trigger)
            self._pending_full |= full
            self._last_request = time.monotonic()
            self._cond.notify()
            return self._pending_id

    def _run(self) -> None:
        while True:
            build_id: int | None = None
            with self._cond:
                while self._pending_id is None and not self._stop:
                    self._notice_pin()
                    if self._pending_id is not None or self._rolled_back is not None:
                        break
                    wait = self._until_scheduled()
                    if wait is not None and wait <= 0:
                        due = self.next_scheduled
                        # The build works out the next one; should it fail before that, look
                        # again later rather than never.
                        self.next_scheduled = dt.datetime.now(WITA) + dt.timedelta(
                            seconds=SCHEDULE_RECHECK
                        )
                        self.request(f"schedule {due.isoformat() if due else ''}".strip())
                        break
                    self._cond.wait(PIN_POLL if wait is None else min(wait, PIN_POLL))
                if self._stop:
                    return
                rolled_back, self._rolled_back = self._rolled_back, None
                if self._pending_id is not None:
                    first = time.monotonic()
                    # Debounce: wait for a quiet moment, but never more than a second in all.
                    while not self._stop:
                        quiet = self._last_request + self.debounce - time.monotonic()
                        left = first + 1.0 - time.monotonic()
                        if quiet <= 0 or left <= 0:
                            break
                        self._cond.wait(min(quiet, left))
                    build_id, full = self._pending_id, self._pending_full
                    self._pending_id, self._pending_full = None, False
            if rolled_back is not None:
                self._announce_rollback(rolled_back)
            if build_id is not None:
                self._build(build_id, full)

    def _notice_pin(self) -> None:
        """Act on a pin set or removed from the command line: a new pin (a rollback) is
        passed on to the after-build command, a removed one (resume) asks for a build that
        publishes the newest content."""
        pin = self.pinned()
        if pin == self._seen_pin:
            return
        before, self._seen_pin = self._seen_pin, pin
        if pin is None:
            log.info("publishing resumed after build %s was pinned", before and before.build)
            self.request("resume publishing")
        else:
            log.info("publishing is pinned to build %s; new builds are not published", pin.build)
            self._rolled_back = pin

    def _announce_rollback(self, pin: builds.Pin) -> None:
        """Run the after-build command for the build a rollback made live, with every path
        of it and of the newest build listed as changed."""
        if self.after_build is None:
            return
        live = self.live.resolve()
        if live.name != pin.folder:
            return  # rolled back again, or resumed, since: that change is announced instead
        changed = builds.site_paths(live) | builds.site_paths(self._head())
        self.after_build(pin.build, live, sorted(changed))

    def _until_scheduled(self) -> float | None:
        """Seconds until the next scheduled build (at most SCHEDULE_RECHECK, so a clock that
        jumps is noticed), or None when none is known yet (before the first build)."""
        if self.next_scheduled is None:
            return None
        left = (self.next_scheduled - dt.datetime.now(WITA)).total_seconds()
        return min(left, SCHEDULE_RECHECK)

    def _build(self, build_id: int, full: bool) -> None:
        started = time.perf_counter()
        self.store.update_build(build_id, status="running", started=now().isoformat())
        full = full or self._retry_full
        try:
            changes, published = self._publish(build_id, full)
        except MemoryError:
            raise  # fatal: the thread ends, and with it the process (see fatal.install)
        except Exception as exc:
            # A failed full build is retried as a full build; any other is retried by the next
            # build, which re-renders whatever still differs from the live site.
            self._retry_full = full
            message = str(exc) if isinstance(exc, PantauError) else f"{type(exc).__name__}: {exc}"
            message = self._relative(message)
            log.error("build %s failed; the previous site stays live: %s", build_id, message)
            self.failure = BuildFailure(build_id, self.live_build(), message)
            self.store.update_build(
                build_id,
                status="failed",
                finished=now().isoformat(),
                duration=round(time.perf_counter() - started, 4),
                error=message,
            )
            return
        self._retry_full = False
        first, self._live_id = self._live_id is None, build_id
        self.failure = None
        duration = time.perf_counter() - started
        log.info("build %s: %s", build_id, changes.summary(duration))
        if published is None:
            log.info("build %s is not published: publishing is pinned", build_id)
        self.store.update_build(
            build_id,
            status="success",
            finished=now().isoformat(),
            duration=round(duration, 4),
            files=len(changes.written),
        )
        self._cleanup()
        if self.after_build is not None and published:
            self.after_build(build_id, self.live.resolve(), published)
        elif self.after_build is not None and first and published is not None:
            self.after_build(build_id, self.live.resolve(), [])

    def _relative(self, message: str) -> str:
        """A message with the data folder's own location left out of the paths it names."""
        for folder in (self.workspace.root, self.builds_dir.parent):
            for form in {str(folder), str(folder.resolve())}:
                message = message.replace(form + os.sep, "")
        return message

    def _publish(self, build_id: int, full: bool) -> tuple[Changes, list[str] | None]:
        """Render what changed (the engine decides) and publish it. A build that renders
        everything is written to a fresh folder; so is an incremental build of a site of up to
        LINK_COPY_FILES files (hard links to the live files, the changed files renamed in).
        Both are published by switching the 'live' link atomically. Past that size, copying
        the folder tree costs seconds, so the changed files are renamed over the live ones,
        each whole. Nothing is written before every output has rendered, and the engine
        remembers a build only once it is in place, so a failed build changes nothing.

        While publishing is pinned (`pantau builds rollback`), builds go on from the newest
        build's folder (the one the engine's state describes) into fresh folders, and 'live'
        stays where it is. Returns the changes and the site paths that changed for readers
        ([] when none did), or None when the build was not published because of the pin."""
        content = self.workspace.snapshot()
        # The site as it is at this moment: records scheduled for later (or expired) stay
        # off it, and the builder wakes up again when that next changes.
        moment = dt.datetime.now(WITA)
        with self._cond:
            self.next_scheduled = next_change(content, moment)
        head = self._head()
        stage = self.builds_dir / f".stage-{build_id}"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        try:
            changes = self.engine.render(
                content,
                moment,
                history_of(self.store, moment=moment, live=self._live_revisions),
                stage=stage,
                previous=head,
                full=full,
                download_later=self.download.later(),
                look_for_missing=False,  # only this process writes the build folders
            )
            # Putting the build in place and switching 'live' happen under the data folder's
            # publishing lock, so a rollback from the command line waits for them, and they
            # see any pin it set.
            with builds.publishing_lock(self.data):
                published = self._place(build_id, changes, head)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        self.engine.commit(changes)
        self.download.built(changes)
        return changes, published

    def _place(self, build_id: int, changes: Changes, head: Path | None) -> list[str] | None:
        """Put a rendered build in place and, unless publishing is pinned, make it live.
        Returns the site paths readers now get differently, or None if pinned."""
        pin = self.pinned()
        live = self.live.resolve() if self.live.exists() else None
        changed = changes.written + changes.removed
        if changes.full:
            write_marker(changes.stage, changes)
            target = self.builds_dir / str(build_id)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(changes.stage, target)
            builds.record_held(target, build_id)
        elif not changed and head is not None:
            target = head  # nothing new: the newest folder already is this build
        elif head is not None and (
            len(changes.sizes) <= LINK_COPY_FILES or (pin is not None and head == live)
        ):
            # A pinned live folder is never written into, however large the site.
            target = self._fresh_folder(build_id)
            link_copy(head, target)
            apply_changes(changes, target)
            builds.record_held(target, build_id)
        elif head is not None:
            apply_changes(changes, head)
            builds.record_held(head, build_id)
            target = head
        else:  # pragma: no cover - an incremental build always has a folder it builds on
            raise RuntimeError("an incremental build without a previous folder")
        if pin is not None:
            return None
        if target != live:
            self._switch(target.name)
            if live is not None and live != head:
                # Leaving a rolled-back build: readers may get any file differently.
                return sorted(builds.site_paths(live) | builds.site_paths(target))
        return changed

    def _head(self) -> Path | None:
        """The folder of the newest build, which the next one builds on: the one the engine's
        state describes (the live folder, unless publishing is pinned to an older one), else
        the live folder (the engine then renders everything)."""
        live = self.live.resolve() if self.live.exists() else None
        state = self.engine.state
        for folder in (live, *builds.build_folders(self.data)):
            if folder is not None and state.describes(folder):
                return folder
        return live

    def _fresh_folder(self, build_id: int) -> Path:
        target = self.builds_dir / str(build_id)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        return target

    def _switch(self, folder: str) -> None:
        """Point 'live' at builds/<folder> in one rename."""
        builds.switch_live(self.data, folder)

    def _cleanup(self) -> None:
        """Remove build folders past the newest KEEP_BUILDS; never the live one, the one
        publishing is pinned to, or the newest build's."""
        with builds.publishing_lock(self.data):
            pin, head = self.pinned(), self._head()
            keep = {self.live.resolve().name, pin and pin.folder, head and head.name}
            for old in builds.build_folders(self.data)[KEEP_BUILDS:]:
                if old.name not in keep:
                    builds.remove_folder(old)
