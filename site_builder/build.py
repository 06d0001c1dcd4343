"""``pantau build``: load, render what changed (see ``engine``), put it in place.

The first build of a folder (or any build whose state cannot be trusted) renders everything
into a fresh folder and swaps it in. Later builds render only the outputs whose inputs
changed, stage the files whose bytes changed beside the output, then rename each into place
and delete the outputs that are gone. ``verify`` then builds the same content from scratch in
a temporary folder and fails on the first byte that differs.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BuildError
from .i18n import _
from .state import Changes, State, input_stamp, state_path
from .write import MARKER, check_replaceable, safe_join, swap_in

if TYPE_CHECKING:
    from .engine import Engine as EngineType
    from .graph import History
    from .progress import Report


class SiteFiles(Mapping[str, bytes]):
    """The files of a built site by path, read from disk when asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _paths(self) -> list[str]:
        return sorted(
            p.relative_to(self.folder).as_posix()
            for p in self.folder.rglob("*")
            if p.is_file() and p.name != MARKER
        )

    def __getitem__(self, path: str) -> bytes:
        target = safe_join(self.folder, path)
        if path == MARKER or not target.is_file():
            raise KeyError(path)
        return target.read_bytes()

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths())

    def __len__(self) -> int:
        return len(self._paths())


@dataclass(frozen=True)
class BuildResult:
    """What a build did, and the site it left in ``out``."""

    out: Path
    changes: Changes
    seconds: float

    @property
    def files(self) -> SiteFiles:
        return SiteFiles(self.out)

    @property
    def pages(self) -> int:
        return self.changes.pages

    def summary(self) -> str:
        return _("{summary} into {out}").format(
            summary=self.changes.summary(self.seconds), out=self.out
        )


def build(
    content_dir: Path,
    out: Path,
    *,
    today: dt.date | None = None,
    history: History | None = None,
    full: bool = False,
    verify: bool = False,
    progress: Report | None = None,
    engine: EngineType | None = None,
    download_later: bool = False,
) -> BuildResult:
    """Load, validate, render what changed and write it; the old output survives any failure.
    ``progress`` hears where the build is (see ``site_builder.progress``). A long-lived
    process (pantau dev) passes the same ``engine`` for every build of ``out``: records and
    fragments it validated stay in memory, and only what changed is checked again. With
    ``download_later``, an incremental build may leave the downloadable copy (the zip and the
    data page) as it was; the next build without it catches up (see ``download``)."""
    started = time.perf_counter()
    out = Path(out)
    check_replaceable(out)
    if today is None:
        from .dates import today_wita

        today = today_wita()
    # The engine module is imported only when something is to be built.
    state = engine.state if engine is not None else State(state_path(out))
    # Taken before anything is read: a file changed while this build runs makes the next
    # stamp differ, so that build looks again.
    stamp = input_stamp(state.folders(Path(content_dir)), today.isoformat())
    owed = bool(state.meta.get("download_pending")) and not download_later
    if not full and history is None and not owed:
        unchanged = state.unchanged(stamp, out)
        if unchanged is not None:
            # Nothing this build reads has changed: done, without loading or rendering.
            result = BuildResult(out, unchanged, time.perf_counter() - started)
            if verify:
                verify_build(content_dir, out, today, history, progress)
            return result
    from .engine import Engine, apply_changes, frozen_heap, write_marker
    from .load import load_content

    engine = engine or Engine(state)
    if progress is not None:
        progress(_("Loading the content"), 0, None)
    with frozen_heap():  # a long-lived process's heap is large: see frozen_heap
        content = load_content(Path(content_dir), cache=engine.state)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.stage-", dir=out.parent))
    try:
        previous = out if out.is_dir() else None
        changes = engine.render(
            content,
            today,
            history,
            stage=stage,
            previous=previous,
            full=full,
            download_later=download_later,
            progress=progress,
        )
        if progress is not None:
            progress(_("Writing the site"), 0, None)
        if changes.full:
            write_marker(stage, changes)
            swap_in(stage, out)
        else:
            apply_changes(changes, out)
    except OSError as exc:
        raise BuildError(_("could not write the site: {reason}").format(reason=exc)) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    if stamp is not None and history is None:
        changes.meta["inputs"] = stamp
        changes.meta["output_stamp"] = input_stamp([out], "", recent=True) or ""
    engine.commit(changes)
    result = BuildResult(out, changes, time.perf_counter() - started)
    if verify:
        verify_build(content_dir, out, today, history, progress)
    return result


def verify_build(
    content_dir: Path,
    out: Path,
    today: dt.date,
    history: History | None = None,
    progress: Report | None = None,
) -> None:
    """Build the same content from scratch (no state, no cache) and compare every byte."""
    from .engine import Engine
    from .load import load_content

    with tempfile.TemporaryDirectory(prefix=".pantau-verify-", dir=out.parent) as tmp:
        clean = Path(tmp) / "site"
        engine = Engine(None)
        report = _prefixed(progress, _("Verifying: {stage}"))
        if report is not None:
            report(_("Loading the content"), 0, None)
        content = load_content(Path(content_dir))
        changes = engine.render(
            content, today, history, stage=clean, previous=None, progress=report
        )
        built, fresh = SiteFiles(out), SiteFiles(clean)
        for path in sorted(set(built) | set(fresh)):
            if path not in fresh:
                raise BuildError(
                    _("--verify: {path} is in {out} but not in a clean build").format(
                        path=path, out=out
                    )
                )
            if path not in built:
                raise BuildError(
                    _("--verify: {path} is missing from {out}").format(path=path, out=out)
                )
            a, b = built[path], fresh[path]
            if a != b:
                at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
                at = min(len(a), len(b)) if at is None else at
                raise BuildError(
                    _(
                        "--verify: {path} differs from a clean build at byte {at} "
                        "(incremental {incremental} bytes, clean {clean} bytes)"
                    ).format(path=path, at=at, incremental=len(a), clean=len(b))
                )
        del changes


def _prefixed(progress: Report | None, prefix: str) -> Report | None:
    """``progress`` with each stage named inside ``prefix`` (a message with ``{stage}``)."""
    if progress is None:
        return None
    report = progress

    def prefixed(stage: str, done: int, total: int | None) -> None:
        report(prefix.format(stage=stage[:1].lower() + stage[1:]), done, total)

    return prefixed
