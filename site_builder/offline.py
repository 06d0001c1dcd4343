"""What makes the site work offline: search index, web app manifest and icons, the
downloadable zip, and the service worker with its precache manifest.

The zip, the data page (which shows the zip's size) and the service worker (which lists the
content hash of every file) are "final" outputs: they are made from all other files.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import json
import os
import re
import shutil
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from .graph import SiteGraph
from .load import Entry
from .models import COLLECTIONS, Site
from .pages import href, region_href

ZIP_PATH = "unduh/pantau-situs.zip"
SW_PATH = "sw.js"
SEARCH_PATH = "search/index.js"
OFFLINE_PAGE = "offline/index.html"
SEARCH_PAGE = "cari/index.html"
DATA_PAGE = "data/index.html"
FINAL = (ZIP_PATH, DATA_PAGE, SW_PATH)
#: Always precached, whatever the size of the site.
SHELL = ("index.html", OFFLINE_PAGE, SEARCH_PAGE, SEARCH_PATH, "manifest.webmanifest")
NOT_PRECACHED = (ZIP_PATH, SW_PATH, ".pantau-build")
ZIP_EXCLUDES = (ZIP_PATH, SW_PATH, ".pantau-build")

_MARKUP = re.compile(r"[#*_`>|\[\]()!-]+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lowercase, without accents or punctuation: what search matches against."""
    if text.isascii():
        plain = text.lower()  # nothing to decompose (most Indonesian text)
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(_NOT_WORD.sub(" ", plain).split())


def _entry_text(entry: Entry) -> str:
    """The fields its collection declares searchable, then the body without markup."""
    record: Any = entry.record
    parts: list[Any] = []
    for name in COLLECTIONS[entry.collection].search_fields:
        value = getattr(record, name)
        parts += value if isinstance(value, list) else [value]
    parts.append(_MARKUP.sub(" ", record.body))
    return " ".join(str(p) for p in parts if p)


SEARCH_TEXT = 600


def folded_prefix(text: str, size: int = SEARCH_TEXT) -> str:
    """fold(text)[:size], folding only as much of a long text as the result needs."""
    cut = size * 2
    while True:
        folded = fold(text[:cut])
        if len(folded) > size or cut >= len(text):
            return folded[:size]
        cut *= 2


def _search_row(title: str, url: str, kind: str, snippet: str, text: str) -> str:
    row = [title, url, kind, snippet, folded_prefix(f"{title} {text}")]
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def _entry_row(entry: Entry) -> str:
    record: Any = entry.record
    title = getattr(record, "title", None) or getattr(record, "name", entry.slug)
    snippet = getattr(record, "summary", None) or ""
    return _search_row(
        title, href(entry), COLLECTIONS[entry.collection].label_one, snippet, _entry_text(entry)
    )


def search_index(graph: SiteGraph) -> bytes:
    """A plain script (not JSON), so search also works from a copy opened via file://: one
    row per page worth finding (title, url from the site root, kind, snippet, folded text)."""
    found = graph.fragments.combined(
        [
            (("search", entry.key), lambda entry=entry: _entry_row(entry))
            for name in COLLECTIONS
            for entry in graph.listed(name)
        ],
        ",".join,
    )
    rows = [found] if found else []
    for region in graph.regions:
        snippet = region.summary or f"{region.kind.capitalize()}, {region.seat}"
        text = f"{region.seat} {region.election} {region.summary or ''}"
        rows.append(_search_row(region.name, region_href(region), "Wilayah", snippet, text))
    return ("window.PANTAU_SEARCH=[" + ",".join(rows) + "];\n").encode()


@functools.lru_cache(maxsize=4)
def icon_png(size: int) -> bytes:
    """The app icon: a ballot box in the theme colour, drawn at the given size."""
    image = Image.new("RGB", (size, size), (11, 58, 91))
    draw = ImageDraw.Draw(image)
    unit = size / 16
    draw.rectangle([3 * unit, 7 * unit, 13 * unit, 13 * unit], fill=(255, 255, 255))
    draw.rectangle([6 * unit, 8 * unit, 10 * unit, 8.8 * unit], fill=(11, 58, 91))
    draw.line(
        [(5.5 * unit, 4.5 * unit), (7.5 * unit, 6.3 * unit), (11 * unit, 2.5 * unit)],
        fill=(212, 161, 0),
        width=max(1, round(1.1 * unit)),
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def web_manifest(site: Site) -> bytes:
    manifest = {
        "name": site.title,
        "short_name": "Pantau",
        "description": site.tagline or site.title,
        "lang": site.language,
        "start_url": "./index.html",
        "scope": "./",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b3a5b",
        "icons": [
            {"src": f"static/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
            for n in (192, 512)
        ],
    }
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()


#: Every member is compressed at zlib's fastest level: on a site's pages it takes 55 % of the
#: default level's time for a zip about 8 % larger.
FAST_LEVEL = 1


#: Where a zip member may be copied from instead of compressed again: a zip's path or bytes,
#: and whether it may give a member (by name and the member's zip entry).
ZipSource = tuple[Path | bytes | None, Callable[[str, zipfile.ZipInfo], bool]]


def make_zip(
    target: Path,
    paths: Iterable[str],
    read: Callable[[str], bytes],
    sources: Iterable[ZipSource] = (),
) -> None:
    """A deterministic zip written to ``target`` (a large site's zip is never held in
    memory): sorted names, fixed times and permissions. A member that one of ``sources`` has
    and may give is copied from it still compressed (the bytes are the same as compressing
    it again), so a rebuild compresses only what changed."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(target, "wb"))
        opened = [
            (found, allowed)
            for source, allowed in sources
            if (found := _open_zip(source, stack)) is not None
        ]
        archive = stack.enter_context(zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED))
        run = _Run(archive)
        for path in sorted(paths):
            for old, allowed in opened:
                found = old.NameToInfo.get(path)
                if found is not None and allowed(path, found):
                    run.add(old, found)
                    break
            else:
                run.flush()
                add_member(archive, path, read(path))
        run.flush()


class _Run:
    """Members copied from one zip that lie back to back in it, copied in one read and one
    write (their local headers as they are: this program wrote them as zipfile does)."""

    def __init__(self, new: zipfile.ZipFile) -> None:
        self.new = new
        self.old: zipfile.ZipFile | None = None
        self.infos: list[zipfile.ZipInfo] = []
        self.end = 0

    def add(self, old: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        if old is not self.old or info.header_offset != self.end:
            self.flush()
            self.old = old
        self.infos.append(info)
        # Where the next member starts if this one's local header carries no extra field;
        # flush() checks that against the header itself.
        name = info.filename.encode("utf-8")
        self.end = info.header_offset + 30 + len(name) + len(info.extra) + info.compress_size

    def flush(self) -> None:
        old, infos, new = self.old, self.infos, self.new
        self.old, self.infos = None, []
        if old is None or not infos:
            return
        assert old.fp is not None and new.fp is not None
        if not all(_header_length(old, i) for i in (infos[0], infos[-1])):
            for info in infos:  # not laid out as expected: one member at a time
                _copy_member(old, info, new)
            return
        start = infos[0].header_offset
        old.fp.seek(start)
        data = old.fp.read(self.end - start)
        new.fp.seek(new.start_dir)
        base = new.fp.tell()
        new.fp.write(data)
        # The old zip's entries are moved over, not copied: it is only read, and closed
        # once the new one is made.
        shift = base - start
        for info in infos:
            info.header_offset += shift
        new.filelist.extend(infos)
        new.NameToInfo.update((info.filename, info) for info in infos)
        new.start_dir = new.fp.tell()


def _header_length(old: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether a member's local header is where the index says, with no extra field beyond
    the one the index shows (as every zip this program writes)."""
    assert old.fp is not None
    old.fp.seek(info.header_offset)
    header = old.fp.read(30)
    if header[:4] != b"PK\x03\x04":
        return False
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return name_length == len(info.filename.encode("utf-8")) and extra_length == len(info.extra)


def add_member(archive: zipfile.ZipFile, path: str, data: bytes) -> None:
    """One file, compressed, with fixed time and permissions."""
    info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=FAST_LEVEL)


class ZipParts:
    """Files compressed by the process that renders them (each process writes its own part),
    for the zip to copy: on several cores, compressing is shared out like rendering."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._open: tuple[int, zipfile.ZipFile] | None = None

    def add(self, path: str, data: bytes) -> None:
        if path in ZIP_EXCLUDES:
            return
        if self._open is None or self._open[0] != os.getpid():
            self.folder.mkdir(parents=True, exist_ok=True)
            part = self.folder / f"part-{os.getpid()}.zip"
            self._open = (os.getpid(), zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED))
        add_member(self._open[1], path, data)

    def close(self) -> None:
        """Finish this process's part (call in each process once it has rendered)."""
        if self._open is not None and self._open[0] == os.getpid():
            self._open[1].close()
        self._open = None

    def paths(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.zip")) if self.folder.is_dir() else []

    def __enter__(self) -> ZipParts:
        return self

    def __exit__(self, *exc: object) -> None:
        """The parts are removed when the build is done with them, whatever happened."""
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _open_zip(path: Path | bytes | None, stack: contextlib.ExitStack) -> zipfile.ZipFile | None:
    if path is None:
        return None
    try:
        return stack.enter_context(
            zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path)
        )
    except (OSError, zipfile.BadZipFile):
        return None  # no usable previous copy: compress everything


def _copy_member(old: zipfile.ZipFile, info: zipfile.ZipInfo, new: zipfile.ZipFile) -> None:
    """Append one member of ``old`` to ``new`` without decompressing it: the same local
    header (written from its central directory entry, as zipfile writes it) and data."""
    assert old.fp is not None and new.fp is not None
    old.fp.seek(info.header_offset)
    header = old.fp.read(30)
    if header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"{info.filename}: no local header where the index says")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    old.fp.seek(info.header_offset + 30 + name_length + extra_length)
    data = old.fp.read(info.compress_size)
    member = copy.copy(info)
    new.fp.seek(new.start_dir)
    member.header_offset = new.fp.tell()
    new.fp.write(member.FileHeader(False))
    new.fp.write(data)
    new.filelist.append(member)
    new.NameToInfo[member.filename] = member
    new.start_dir = new.fp.tell()


def size_label(size: int) -> str:
    """1234567 -> '1,2 MB' (Indonesian decimal comma)."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")
    return f"{max(1, round(size / 1024))} KB"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def file_digest(path: Path) -> tuple[str, int]:
    """``digest`` and CRC-32 of a file's bytes, read a piece at a time."""
    sha, crc = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            crc = zlib.crc32(chunk, crc)
    return sha.hexdigest()[:16], crc


def precache_list(hashes: Mapping[str, str], sizes: Mapping[str, int], budget: int) -> list[str]:
    """Every file when the whole site fits the budget; otherwise the shell and static files."""
    candidates = sorted(p for p in hashes if p not in NOT_PRECACHED)
    if sum(sizes[p] for p in candidates) <= budget:
        return candidates
    return [p for p in candidates if p in SHELL or p.startswith("static/")]
