"""The builds a data folder keeps, and pinning the live site to one of them.

The publisher keeps recent builds in ``builds/N`` and points ``live`` at one. `pantau builds
rollback` points ``live`` at an earlier kept build in one rename and pins publishing by
writing ``pinned.json``: the server goes on building every change into new folders but does
not switch ``live`` while the file is there, and keeps the pinned folder. `pantau builds
resume` removes the file; the running server notices within a second and publishes the
newest content. Both sides change ``live``, the pin and the kept folders only while holding
an exclusive lock (flock) on the data folder itself, so a rollback and a build that goes
live at the same moment never undo each other, whichever user runs the command.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from site_builder.errors import PantauError
from site_builder.i18n import _
from site_builder.write import MARKER

from .store import Store, now

PIN_FILE = "pinned.json"
#: Beside build folder N, ``builds/.held-N`` names the build whose site it holds (a large
#: site's builds are written into the live folder, so a folder may hold a later build than
#: its name says). It is kept outside the folder, so it is neither served nor copied to edges.
HELD_PREFIX = ".held-"


@dataclass(frozen=True)
class Pin:
    """Publishing pinned to one kept build: ``live`` stays on ``builds/<folder>``."""

    build: int
    folder: str
    since: str

    def sentence(self) -> str:
        return _(
            "Publishing is pinned to build {build} (rolled back on {since}): new builds are "
            "made but not published; run 'pantau builds resume' to publish the newest content."
        ).format(build=self.build, since=shown_time(self.since))


@dataclass(frozen=True)
class KeptBuild:
    """A complete build folder that ``live`` can be switched to."""

    build: int
    folder: Path
    row: dict[str, Any]
    live: bool
    pinned: bool


def shown_time(iso: str | None) -> str:
    """'2024-11-27T10:02:03+08:00' -> '2024-11-27 10:02:03'."""
    if not iso:
        return "-"
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


@contextlib.contextmanager
def publishing_lock(data: Path) -> Iterator[None]:
    """Hold the data folder's publishing lock (across processes) for the block."""
    folder = os.open(data, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the lock


def read_pin(data: Path) -> Pin | None:
    """The pin in force, or None. An unreadable pin file still pins (to the live build),
    so that a damaged file never publishes by surprise."""
    path = data / PIN_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        text = ""
    try:
        found = json.loads(text)
        return Pin(int(found["build"]), str(found["folder"]), str(found["since"]))
    except (ValueError, KeyError, TypeError):
        folder = live_folder(data)
        name = folder.name if folder is not None else ""
        return Pin(int(name) if name.isdigit() else 0, name, "")


def write_pin(data: Path, pin: Pin) -> None:
    """Write the pin file whole (a temporary file renamed into place)."""
    temporary = data / f".{PIN_FILE}.tmp"
    temporary.write_text(
        json.dumps({"build": pin.build, "folder": pin.folder, "since": pin.since}) + "\n",
        encoding="utf-8",
    )
    os.replace(temporary, data / PIN_FILE)


def live_folder(data: Path) -> Path | None:
    """The build folder ``live`` points at, or None before the first build."""
    try:
        target = os.readlink(data / "live")
    except OSError:
        return None
    return data / target


def switch_live(data: Path, folder: str) -> None:
    """Point ``live`` at ``builds/<folder>`` in one rename."""
    link = data / f".live-{folder}"
    link.unlink(missing_ok=True)
    os.symlink(f"builds/{folder}", link)
    os.replace(link, data / "live")


def held_file(folder: Path) -> Path:
    return folder.parent / f"{HELD_PREFIX}{folder.name}"


def held_build(folder: Path) -> int | None:
    """The build whose site a build folder holds: as recorded beside it, else its name."""
    try:
        text = held_file(folder).read_text(encoding="utf-8").strip()
    except OSError:
        text = folder.name
    return int(text) if text.isdigit() else None


def record_held(folder: Path, build: int) -> None:
    """Note, once a build folder is complete, which build it holds."""
    held_file(folder).write_text(f"{build}\n", encoding="utf-8")


def remove_folder(folder: Path) -> None:
    """Remove a build folder and its note."""
    shutil.rmtree(folder, ignore_errors=True)
    held_file(folder).unlink(missing_ok=True)


def build_folders(data: Path) -> list[Path]:
    """The numbered folders under builds/, newest name first."""
    builds = data / "builds"
    if not builds.is_dir():
        return []
    found = [p for p in builds.iterdir() if p.name.isdigit() and p.is_dir()]
    return sorted(found, key=lambda p: int(p.name), reverse=True)


def kept_builds(data: Path, store: Store) -> list[KeptBuild]:
    """The builds whose folder is complete (its marker written last is there, and the build
    finished successfully), newest first."""
    live, pin = live_folder(data), read_pin(data)
    held: dict[int, Path] = {}
    for folder in build_folders(data):
        build = held_build(folder)
        if build is not None and build not in held and (folder / MARKER).is_file():
            held[build] = folder
    if not held:
        return []
    newest = store.builds(1)
    top = int(newest[0]["id"]) if newest else max(held)
    rows = {int(row["id"]): row for row in store.builds(max(1, top - min(held) + 1))}
    kept = []
    for build in sorted(held, reverse=True):
        row = rows.get(build)
        if row is None or row["status"] != "success":
            continue  # still being written, or it failed
        folder = held[build]
        kept.append(
            KeptBuild(
                build,
                folder,
                row,
                live=live is not None and folder.name == live.name,
                pinned=pin is not None and pin.folder == folder.name,
            )
        )
    return kept


def rollback(data: Path, store: Store, build: str) -> KeptBuild:
    """Switch ``live`` to a kept build and pin publishing to it."""
    if not build.strip().isdigit():
        raise PantauError(
            _("'{build}' is not a build number; run 'pantau builds list' to see them").format(
                build=build
            )
        )
    wanted = int(build)
    with publishing_lock(data):
        found = next((k for k in kept_builds(data, store) if k.build == wanted), None)
        if found is None:
            raise PantauError(
                _(
                    "Build {build} is not kept (cleaned up, unfinished or failed), so it cannot "
                    "be rolled back to; run 'pantau builds list' to see the builds that can"
                ).format(build=wanted)
            )
        write_pin(data, Pin(found.build, found.folder.name, now().isoformat()))
        switch_live(data, found.folder.name)
    return found


def resume(data: Path) -> Pin | None:
    """Remove the pin (the pin that was in force, or None if there was none)."""
    with publishing_lock(data):
        pin = read_pin(data)
        (data / PIN_FILE).unlink(missing_ok=True)
    return pin


def site_paths(folder: Path | None) -> set[str]:
    """Every file of the site in a build folder (hidden files left out), as site paths."""
    found: set[str] = set()
    if folder is None:
        return found
    for parent, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        relative = Path(parent).relative_to(folder)
        found.update((relative / name).as_posix() for name in names if not name.startswith("."))
    return found
