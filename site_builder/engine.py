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

import datetime as dt
import hashlib
import os
import time
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

from . import offline
from .deps import Fragments
from .graph import QUERIES, History, stage_status
from .load import Content
from .render import SitePlan, finals, make_plan, render_output
from .state import Kept, OutputState, State
from .themes import template_fingerprint
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
            return stage_status(entry.data, graph.build_date)  # type: ignore[arg-type]
        if kind == "l":
            return _digest("|".join(e.key for e in graph.lists.get(rest, [])))
        if kind == "q":
            name, _, arg = rest.partition(":")
            return _digest(graph.answer_key(name, arg)) if name in QUERIES else "-"
        if kind == "t":
            return template_fingerprint(self.plan.env, rest)
        if kind == "f":
            try:
                stat = os.stat(rest)
            except OSError:
                return "-"
            return f"{stat.st_mtime_ns}:{stat.st_size}"
        if kind == "h":
            history = graph.changes
            if rest == "changes":
                return _digest(repr(history.changes)) if history else "-"
            revision = history.revisions.get(rest.removeprefix("rev:")) if history else None
            return str(revision)
        if key == "today":
            return graph.build_date.isoformat()
        if key == "site":
            return _digest(content.site_text)
        if key == "regions":
            return _digest(content.regions_text)
        return "?"  # a key this version does not know: never equal, so always re-rendered


@dataclass
class Changes:
    """What one build changed, staged and not yet in place."""

    stage: Path
    full: bool
    total: int
    rendered: int
    written: list[str]
    removed: list[str]
    outputs: dict[str, OutputState]
    meta: dict[str, str]
    seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)

    def summary(self, seconds: float | None = None) -> str:
        pages = sum(1 for path in self.sizes if path.endswith(".html"))
        search = self.sizes.get(offline.SEARCH_PATH, 0)
        return (
            f"Re-rendered {self.rendered} of {self.total} outputs, wrote {len(self.written)} "
            f"files, removed {len(self.removed)}, {seconds or self.seconds:.2f} s "
            f"({pages} pages, search index {search / 1024:.1f} KB)"
        )


class Engine:
    """Incremental builds of one output folder. Keep one engine per folder for the life of a
    process (a server) to reuse rendered fragments in memory too."""

    def __init__(self, state_file: Path | None) -> None:
        self.state = State(state_file)
        self._memory: dict[Hashable, Kept] = {}
        self._pending: tuple[dict[str, str], dict[Hashable, Kept]] = ({}, {})

    def render(
        self,
        content: Content,
        today: dt.date,
        history: History | None,
        *,
        stage: Path,
        previous: Path | None,
        full: bool = False,
    ) -> Changes:
        """Render what changed since the build that wrote ``previous`` (everything when the
        state does not describe that folder, or with ``full``) into the empty folder
        ``stage``."""
        started = time.perf_counter()
        state = self.state
        incremental = not full and state.describes(previous)
        old = state.outputs if incremental else {}
        if not incremental:
            self._memory = {}
        kept = state.fragments(self._memory) if incremental else self._memory
        fragments = Fragments(kept)
        plan = make_plan(content, today, history, fragments)
        fingerprint = Fingerprints(plan)
        fragments.fingerprint = fingerprint
        # Every output that read a key whose fingerprint changed is rendered again; the rest
        # is as the last build left it.
        changed_keys = (
            {k for k, fp in state.keys.items() if fingerprint(k) != fp} if incremental else set()
        )
        paths = {o.path for o in plan.outputs} | set(offline.FINAL)
        changed: dict[str, OutputState] = {}
        written: list[str] = []
        rendered = 0
        for output in plan.outputs:
            if output.final:
                continue
            before = old.get(output.path)
            if (
                before is not None
                and before.keys.isdisjoint(changed_keys)
                and os.path.exists(os.path.join(previous or "", output.path))
            ):
                continue
            data, keys = render_output(plan, output)
            rendered += 1
            after = OutputState(offline.digest(data), len(data), keys)
            changed[output.path] = after
            if before is None or before.hash != after.hash:
                _write(stage, output.path, data)
                written.append(output.path)
        removed = sorted(p for p in old if p not in paths)
        outputs = {p: o for p, o in old.items() if p in paths}
        outputs.update(changed)
        meta = {
            "build_id": uuid.uuid4().hex,
            "today": today.isoformat(),
            "zip_label": state.meta.get("zip_label", "") if incremental else "",
        }
        written_set = set(written)

        def read(path: str) -> bytes:
            folder = stage if path in written_set or previous is None else previous
            return safe_join(folder, path).read_bytes()

        stale = [
            p for p in offline.FINAL if p not in old or not old[p].keys.isdisjoint(changed_keys)
        ]
        if not incremental or written or removed or stale:
            others = [p for p in outputs if p not in offline.FINAL]
            made, label, made_keys = finals(
                plan,
                others,
                read,
                {p: outputs[p].hash for p in others},
                {p: outputs[p].size for p in others},
                meta["zip_label"],
            )
            meta["zip_label"] = label
            for path, data in made.items():
                rendered += 1
                outputs[path] = changed[path] = OutputState(
                    offline.digest(data), len(data), made_keys[path]
                )
                if path not in old or old[path].hash != outputs[path].hash:
                    _write(stage, path, data)
                    written.append(path)
        checked = {k: fingerprint(k) for o in changed.values() for k in o.keys}
        checked.update((k, fingerprint(k)) for k in changed_keys)
        made_fragments = {k: v for k, v in fragments.used.items() if v is not kept.get(k)}
        self._memory = fragments.used
        self._pending = (checked, made_fragments)
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
        keys, fragments = self._pending
        self.state.save(
            changes.meta, changes.outputs, changes.removed, keys, fragments, replace=changes.full
        )
        self._pending = ({}, {})


def apply_changes(changes: Changes, folder: Path) -> None:
    """Rename each staged file over its old version in ``folder`` and delete the outputs that
    are gone. The marker is removed first and written last, so a build cut off half-way is
    never mistaken for a complete one: the next build then renders everything."""
    (folder / MARKER).unlink(missing_ok=True)
    for path in changes.written:
        target = safe_join(folder, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(safe_join(changes.stage, path), target)
    for path in changes.removed:
        target = safe_join(folder, path)
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


def _write(stage: Path, relative: str, data: bytes) -> None:
    target = safe_join(stage, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
