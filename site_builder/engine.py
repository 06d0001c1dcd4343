"""The incremental build engine: one place that decides what to re-render and what to write.

Every caller (``pantau build``, the sync server's publisher, tests) hands it the content, the
build's date and, on the server, the history; it answers with the files that changed, written
into a staging folder, and the outputs that are gone. The caller puts them in place (a fresh
folder swapped in, files renamed over the live ones, ...) and then calls ``commit``.

An output is re-rendered when it is new, when its file is missing, or when any key it read
last time (see ``deps``) has another fingerprint now; a re-rendered output is written only when
its bytes differ. The state of the last build is kept on disk (see ``state``), so a fresh
process benefits, and it is trusted only for the folder it describes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import os
import sys
import time
import uuid
import zlib
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import offline
from .deps import Fragments, Trusted
from .graph import QUERIES, History, links_index
from .i18n import _
from .load import Content
from .pages import Output
from .parallel import Rendered, render_all
from .render import SitePlan, download_copy, make_plan, render_output, service_worker
from .state import TRUST_AFTER_SECONDS, Changes, Kept, OutputState, State
from .themes import template_fingerprint

if TYPE_CHECKING:
    from .progress import Report
from .write import MARKER, safe_join


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class Fingerprints:
    """The current fingerprint of any dependency key, computed once per build."""

    def __init__(self, plan: SitePlan) -> None:
        self.plan = plan
        self._known: dict[str, str] = {}

    def __call__(self, key: str) -> str:
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = self._compute(key)
        return found

    def changed(self, before: dict[str, str]) -> frozenset[str]:
        """The keys whose fingerprint now differs from the one in ``before``."""
        self._prime()
        self._prime_links(before)
        known, compute = self._known.get, self.__call__
        return frozenset(k for k, fp in before.items() if (known(k) or compute(k)) != fp)

    def _prime(self) -> None:
        """The fingerprints of every record's text, history and stage status (as ``_compute``
        gives them one by one) in one pass: a large site has tens of thousands of such keys,
        and one call each cost more than the rest of a small change's build."""
        graph = self.plan.graph
        history = graph.changes
        times = history.times if history else {}
        revisions = history.revisions if history else {}
        known = self._known
        windows = graph._windows()
        for stage in graph.stage_records.values():
            window = windows.get(stage.slug, (None, None))
            known["status:" + stage.key] = f"{graph.status_now(stage)}:{window}"
        for entries in graph.content.entries.values():
            for entry in entries.values():
                key = entry.key
                known["r:" + key] = entry.digest
                if history is not None:
                    when = times.get(key)
                    known["h:time:" + key] = when.isoformat() if when is not None else "-"
                    known["h:rev:" + key] = str(revisions.get(key))

    def _prime_links(self, keys: Iterable[str]) -> None:
        """The fingerprints of the 'links' queries among ``keys`` (one per record that others
        name: thousands), from each link index at once, as ``_compute`` would give them."""
        graph = self.plan.graph
        known = self._known
        for key in keys:
            if not key.startswith(_LINKS):
                continue
            where, _, slug = key.removeprefix(_LINKS).partition(":")
            if where.partition(".")[0] not in graph.lists:
                continue  # a collection this version does not have: left to _compute
            entries = links_index(graph, where).get(slug, [])
            known[key] = _digest("|".join([e.key for e in entries]))

    def _compute(self, key: str) -> str:
        graph = self.plan.graph
        content = graph.content
        kind, _, rest = key.partition(":")
        if kind in ("r", "status"):
            collection, _, slug = rest.partition("/")
            entry = content.entries.get(collection, {}).get(slug)
            if entry is None:
                return "-"
            if kind == "r":
                return entry.digest
            window = graph.window(entry) if entry.collection == "stages" else None
            return f"{graph.status_now(entry)}:{window}"
        if kind == "l":
            return _digest("|".join(e.key for e in graph.lists.get(rest, [])))
        if kind == "q":
            name, _, arg = rest.partition(":")
            return _digest(graph.answer_key(name, arg)) if name in QUERIES else "-"
        if kind == "t":
            return template_fingerprint(self.plan.env, rest)
        if kind == "f":
            return file_fingerprint(self.plan.assets.get(rest.split("\t", 1)[0]))
        if kind == "h":
            history = graph.changes
            if rest == "changes":
                return _digest(repr(history.changes)) if history else "-"
            if rest.startswith("time:"):
                when = history.times.get(rest.removeprefix("time:")) if history else None
                return when.isoformat() if when is not None else "-"
            revision = history.revisions.get(rest.removeprefix("rev:")) if history else None
            return str(revision)
        if key == "today":
            return graph.build_date.isoformat()
        if key == "site":
            return _digest(content.site_text)
        if key == "regions":
            return _digest(content.regions_text)
        return "?"  # a key this version does not know: never equal, so always re-rendered


_LINKS = "q:links:"


def file_fingerprint(path: Path | None) -> str:
    """Which file, and its size and modification time; its content's hash while it is too
    recent for its modification time to tell two writes apart."""
    if path is None:
        return "-"
    try:
        stat = os.stat(path)
    except OSError:
        return "-"
    if stat.st_mtime_ns / 1e9 > time.time() - TRUST_AFTER_SECONDS:
        with open(path, "rb") as handle:
            return f"{path}:{hashlib.file_digest(handle, 'blake2b').hexdigest()[:32]}"
    return f"{path}:{stat.st_mtime_ns}:{stat.st_size}"


class Engine:
    """Incremental builds of one output folder. Keep one engine per folder for the life of a
    process (a server) to reuse rendered fragments in memory too."""

    def __init__(self, state: State | Path | None) -> None:
        self.state = state if isinstance(state, State) else State(state)
        #: The fragments the last committed build used (see ``deps.Fragments.trusted``).
        self._memory: dict[Hashable, Trusted] = {}
        self._pending: tuple[dict[str, str], dict[Hashable, Kept], dict[Hashable, Trusted]] = (
            {},
            {},
            {},
        )

    def render(
        self,
        content: Content,
        today: dt.date,
        history: History | None,
        *,
        stage: Path,
        previous: Path | None,
        full: bool = False,
        download_later: bool = False,
        look_for_missing: bool = True,
        progress: Report | None = None,
    ) -> Changes:
        """Render what changed since the build that wrote ``previous`` (everything when the
        state does not describe that folder, or with ``full``) into the empty folder
        ``stage``. With ``download_later``, an incremental build leaves the downloadable copy
        as it was (``Changes.download_pending`` then says one is owed). Without
        ``look_for_missing``, files deleted from ``previous`` by someone else go unnoticed (a
        server that alone writes its folders saves a look at every file). ``progress`` hears
        how many outputs are rendered (see ``site_builder.progress``)."""
        with (
            frozen_heap(),
            contextlib.ExitStack() as cleanup,
            offline.ZipParts(stage.parent / f"{stage.name}.zip-parts") as parts,
        ):
            started = time.perf_counter()
            state = self.state
            state.load()  # a state whose tables cannot be read describes nothing
            incremental = not full and state.describes(previous)
            old = state.outputs if incremental else {}
            fragments = Fragments(state.fragments(), self._memory) if incremental else Fragments()
            plan = make_plan(content, today, history, fragments)
            cleanup.callback(_release, plan)
            fingerprint = Fingerprints(plan)
            fragments.fingerprint = fingerprint
            # Every output that read a key whose fingerprint changed is rendered again; the rest
            # is as the last build left it.
            changed_keys = fingerprint.changed(state.keys) if incremental else frozenset()
            fragments.changed = changed_keys
            paths = {o.path for o in plan.outputs} | set(offline.FINAL)
            # A file someone deleted from the output folder is made and written again.
            missing = (
                {p for p in old if not os.path.exists(os.path.join(previous or "", p))}
                if look_for_missing
                else set()
            )
            dirty = [
                o
                for o in plan.outputs
                if not o.final
                and (
                    (before := old.get(o.path)) is None
                    or before.reads_any(changed_keys)
                    or o.path in missing
                )
            ]

            counter = _Counter(progress, _("Rendering"), len(dirty))

            def differs(path: str, content_hash: str) -> bool:
                """Whether the output folder lacks these bytes: a new output, a file someone
                deleted, or other bytes than the last build's."""
                before = old.get(path)
                return before is None or before.hash != content_hash or path in missing

            def render_one(output: Output) -> Rendered:
                counter.tick()
                data, keys = render_output(plan, output)
                if not download_later:
                    parts.add(output.path, data)
                digest = offline.digest(data)
                fresh = differs(output.path, digest)
                if fresh:
                    _write(stage, output.path, data)
                return output.path, digest, len(data), keys, fresh, zlib.crc32(data)

            changed: dict[str, OutputState] = {}
            written: list[str] = []
            for path, digest, size, keys, fresh, crc in render_all(
                dirty,
                render_one,
                fragments,
                _heavy,
                lambda: (counter.flush(), parts.close()),
                lambda o: before.size if (before := old.get(o.path)) is not None else 0,
            ):
                # Thousands of outputs read the same keys: keep one copy of each.
                changed[path] = OutputState(digest, size, frozenset(map(sys.intern, keys)), crc)
                if fresh:
                    written.append(path)
            written.sort()
            counter.finish()
            rendered = len(dirty)
            removed = sorted(p for p in old if p not in paths)
            outputs = {p: o for p, o in old.items() if p in paths}
            outputs.update(changed)
            meta = {
                # Whole theme folders, not only the template and static folders found in them, so
                # that one created later changes the stamp of the inputs.
                "dirs": json.dumps(
                    sorted(
                        {str(d) for d in (*plan.template_dirs, *plan.static_dirs)}
                        | ({str(plan.theme)} if plan.theme else set())
                    )
                ),
                "build_id": uuid.uuid4().hex,
                "today": today.isoformat(),
            }
            written_set = set(written)

            def read(path: str) -> bytes:
                folder = stage if path in written_set or previous is None else previous
                return site_file(folder, path).read_bytes()

            def keep(path: str, data: bytes, keys: frozenset[str]) -> None:
                outputs[path] = changed[path] = OutputState(
                    offline.digest(data), len(data), keys, zlib.crc32(data)
                )
                if differs(path, outputs[path].hash):
                    _write(stage, path, data)
                    written.append(path)

            def keep_file(path: str, staged: Path, keys: frozenset[str]) -> None:
                """keep() for a file made in the stage folder (removed again if unchanged)."""
                content_hash, crc = offline.file_digest(staged)
                outputs[path] = changed[path] = OutputState(
                    content_hash, staged.stat().st_size, keys, crc
                )
                if differs(path, content_hash):
                    written.append(path)
                else:
                    staged.unlink()

            def stale(path: str) -> bool:
                return path not in old or path in missing or old[path].reads_any(changed_keys)

            others = sorted(p for p in outputs if p not in offline.FINAL)
            # The download copy (zip and data page) is made from every other file. A caller may
            # defer it on a large site (the old copy stays, consistent with its data page), and
            # the next build that allows it catches up.
            pending = bool(state.meta.get("download_pending")) and incremental
            wanted = (
                not incremental
                or written
                or removed
                or pending
                or stale(offline.DATA_PAGE)
                or stale(offline.ZIP_PATH)
            )
            if wanted and not (download_later and incremental):
                if progress is not None:
                    progress(_("Packing the download copy"), 0, None)
                archive = site_file(stage, offline.ZIP_PATH)
                archive.parent.mkdir(parents=True, exist_ok=True)
                page, page_keys = download_copy(
                    plan,
                    others,
                    read,
                    lambda p: outputs[p].size,
                    archive,
                    # A member of the previous zip is reused when it holds the file as it is now
                    # (even if a deferred copy skipped some builds in between).
                    lambda p, info: (
                        (o := outputs.get(p)) is not None
                        and (info.CRC, info.file_size) == (o.crc, o.size)
                    ),
                    site_file(previous, offline.ZIP_PATH) if incremental and previous else None,
                    parts.paths(),
                )
                keep(offline.DATA_PAGE, page, page_keys)
                keep_file(offline.ZIP_PATH, archive, page_keys)
                rendered += 2
            elif wanted:
                meta["download_pending"] = "1"
            if not incremental or written or removed or stale(offline.SW_PATH):
                listed = [*others, offline.DATA_PAGE, offline.ZIP_PATH]
                worker, worker_keys = service_worker(
                    plan,
                    {p: outputs[p].hash for p in listed},
                    {p: outputs[p].size for p in listed},
                )
                keep(offline.SW_PATH, worker, worker_keys)
                rendered += 1
            meta["outputs"] = str(len(paths))
            meta["pages"] = str(sum(1 for path in outputs if path.endswith(".html")))
            meta["search_bytes"] = str(outputs[offline.SEARCH_PATH].size)
            # Outputs read many of the same keys: each is looked up once.
            read = changed_keys.union(*(o.keys for o in changed.values()))
            checked = {k: fingerprint(k) for k in read}
            self._pending = (checked, fragments.made_here(), fragments.used)
            return Changes(
                stage=stage,
                full=not incremental,
                total=len(paths),
                rendered=rendered,
                written=written,
                removed=removed,
                outputs=changed,
                meta=meta,
                seconds=time.perf_counter() - started,
                sizes={p: o.size for p, o in outputs.items()},
            )

    def commit(self, changes: Changes) -> None:
        """Remember a build once its files are in place (a failed build is never committed)."""
        keys, fragments, memory = self._pending
        self.state.save(
            changes.meta, changes.outputs, changes.removed, keys, fragments, replace=changes.full
        )
        # Only now: the pieces are valid for the fingerprints this build saved (a build that
        # failed after rendering saved none, and its pieces are never trusted).
        self._memory = memory
        self._pending = ({}, {}, {})


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep what exists before a step of a build (the content, the kept state) out of the
    garbage collector's scans while it runs: on a large site each full scan of it cost more
    than rendering one page. Everything is handed back to the collector afterwards, so what
    the build releases is still freed."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _release(plan: SitePlan) -> None:
    """Break the links that make a finished build's plan a reference cycle (its template
    helpers name the plan; its graph's fragments name it through their fingerprints), so it
    is freed at once rather than left for a full scan of the garbage collector."""
    plan.context = {}
    plan.graph.fragments.fingerprint = _unknown


def _unknown(key: str) -> str:
    return "?"


class _Counter:
    """Counts rendered outputs across the forked workers (in shared memory) and reports the
    sum from this process at most every ``REPORT_EVERY`` seconds; free without ``report``."""

    REPORT_EVERY = 0.1

    def __init__(self, report: Report | None, stage: str, total: int) -> None:
        self.report, self.stage, self.total = report, stage, total
        self.pid = os.getpid()
        self.pending = 0
        self.last = time.monotonic()
        self.shared: Any = None
        if report is not None:
            report(stage, 0, total)
            try:
                import multiprocessing

                self.shared = multiprocessing.Value("q", 0)
            except (OSError, ImportError):  # no shared memory here: count this process only
                self.shared = None

    def tick(self) -> None:
        if self.report is None:
            return
        self.pending += 1
        if time.monotonic() - self.last >= self.REPORT_EVERY:
            self.flush()

    def flush(self) -> None:
        """Add this process's count to the shared one, and report it from the parent."""
        if self.report is None:
            return
        self.last = time.monotonic()
        if self.shared is not None:
            with self.shared.get_lock():
                self.shared.value += self.pending
                done = int(self.shared.value)
            self.pending = 0
        else:
            done = self.pending
        if os.getpid() == self.pid:
            self.report(self.stage, min(done, self.total), self.total)

    def finish(self) -> None:
        if self.report is not None:
            self.report(self.stage, self.total, self.total)


def _heavy(output: Output) -> bool:
    """Lists and exports: each costs as much as many record pages."""
    return output.template not in _RECORD_PAGES


_RECORD_PAGES = frozenset({"stage.html", "team.html", "campaign.html", "page.html"})


def apply_changes(changes: Changes, folder: Path) -> None:
    """Rename each staged file over its old version in ``folder`` and delete the outputs that
    are gone. The marker is removed first and written last, so a build cut off half-way is
    never mistaken for a complete one: the next build then renders everything."""
    (folder / MARKER).unlink(missing_ok=True)
    for path in changes.written:
        target = site_file(folder, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(site_file(changes.stage, path), target)
    for path in changes.removed:
        target = site_file(folder, path)
        target.unlink(missing_ok=True)
        parent = target.parent
        while parent != folder and parent.is_relative_to(folder) and not any(parent.iterdir()):
            parent.rmdir()  # a folder left empty by a deleted output
            parent = parent.parent
    write_marker(folder, changes)


def write_marker(folder: Path, changes: Changes) -> None:
    (folder / MARKER).write_text(
        f"This folder is written by 'pantau build'. Build {changes.meta['build_id']}\n",
        encoding="utf-8",
    )


def site_file(folder: Path, relative: str) -> Path:
    """folder/relative for a path of the site. Output paths are plain relative paths made by
    the builder (no '..', no leading '/'); anything else is checked the slow way."""
    parts = relative.split("/")
    if relative.startswith("/") or "\\" in relative or {"..", ".", ""} & set(parts):
        return safe_join(folder, relative)
    return folder / relative


def _write(stage: Path, relative: str, data: bytes) -> None:
    target = site_file(stage, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
