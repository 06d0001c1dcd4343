"""Write a built site into a fresh folder, then switch it into place.

The old output stays untouched until the new one is complete, so a failed build never leaves
a half-written site behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import BuildError

MARKER = ".pantau-build"


def safe_join(base: Path, relative: str) -> Path:
    """base/relative, refusing any path that would land outside base."""
    target = (base / relative).resolve()
    if not target.is_relative_to(base.resolve()):
        raise BuildError(f"refusing to write '{relative}': it would land outside {base}")
    return target


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BuildError(f"the output {out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(
            f"the output folder {out} is not empty and was not written by 'pantau build'; "
            "refusing to replace it. Choose another --out or empty the folder first"
        )


def write_files(files: dict[str, bytes], folder: Path) -> None:
    """Write files under a new folder."""
    for relative, data in sorted(files.items()):
        target = safe_join(folder, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def replace_files(files: dict[str, bytes], folder: Path) -> None:
    """Update files in a folder that is being served: each file is written beside its target
    and renamed over it, so a reader gets the old file or the new one, never a partial one."""
    for relative, data in sorted(files.items()):
        target = safe_join(folder, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.new")
        tmp.write_bytes(data)
        os.replace(tmp, target)


def write_site(files: dict[str, bytes], out: Path) -> None:
    """Write every file under a new folder beside ``out``, then swap it in."""
    out = Path(out)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = out.parent / f".{out.name}.new-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        fresh.mkdir()
        write_files(files, fresh)
        (fresh / MARKER).write_text("This folder is written by 'pantau build'.\n")
    except OSError as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        raise BuildError(f"could not write the site: {exc}") from None
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    if out.exists():
        os.replace(out, old)
    os.replace(fresh, out)
    shutil.rmtree(old, ignore_errors=True)
