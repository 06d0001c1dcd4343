"""Put built files on disk without ever writing outside the output folder, and without
replacing a folder this program did not write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import BuildError
from .i18n import _

MARKER = ".pantau-build"


def safe_join(base: Path, relative: str) -> Path:
    """base/relative, refusing any path that would land outside base."""
    target = (base / relative).resolve()
    if not target.is_relative_to(base.resolve()):
        raise BuildError(
            _("refusing to write '{path}': it would land outside {base}").format(
                path=relative, base=base
            )
        )
    return target


def check_replaceable(out: Path) -> None:
    """Refuse to replace anything but a folder this program wrote."""
    if out.exists() and not out.is_dir():
        raise BuildError(
            _("the output {out} exists and is not a folder; choose another --out").format(out=out)
        )
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(
            _(
                "the output folder {out} is not empty and was not written by 'pantau build'; "
                "refusing to replace it. Choose another --out or empty the folder first"
            ).format(out=out)
        )


def swap_in(fresh: Path, out: Path) -> None:
    """Put a complete new site folder in the place of ``out`` (two renames)."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(fresh, out)
    shutil.rmtree(old, ignore_errors=True)
