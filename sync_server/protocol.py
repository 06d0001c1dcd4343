"""What the sync server and the sync client share, with nothing of the server in it (the
client runs on staff laptops without the server's database): the revision hash, the check
of a record's name, and all-or-nothing file writes."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from site_builder.models import COLLECTIONS, is_slug
from site_builder.readers import READER_EXTENSIONS


def text_hash(text: str) -> str:
    """The hash a revision's text is known by, on both sides."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def valid_key(collection: str, slug: str) -> bool:
    """Checked before any path is built from request data."""
    return collection in COLLECTIONS and is_slug(slug)


def valid_record_name(collection: object, slug: object, ext: object) -> bool:
    """A collection, slug and file extension received over the network, checked before any
    path is built from them."""
    return (
        isinstance(collection, str)
        and isinstance(slug, str)
        and valid_key(collection, slug)
        and ext in READER_EXTENSIONS
    )


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file, fsync, rename, fsync the folder: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_remove(path: Path) -> None:
    if path.exists():
        path.unlink()
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
