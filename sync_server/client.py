"""`pantau sync`: push and pull a staff member's own copy of content/ against the server.

The state file ``.pantau-sync.json`` in the content folder remembers, per record, the revision
and hash last synced, and the last sequence number seen in the changes feed. A record changed
on both sides is merged field by field against the common base revision; where the same field
changed on both sides the local file stays untouched, the server's version is written beside
it as ``<slug>.server.<ext>``, and the record is not pushed until that file is removed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from site_builder.errors import ContentError, PantauError
from site_builder.i18n import N_, _, language
from site_builder.load import CONFLICT_SUFFIX, record_files
from site_builder.models import COLLECTIONS, is_slug
from site_builder.progress import Report, no_report
from site_builder.readers import READER_EXTENSIONS, parse_record, split_front_matter

from .protocol import atomic_remove, atomic_write, text_hash, valid_record_name

STATE_FILE = ".pantau-sync.json"

#: An image name a campaign may give (as the models' pattern), fetched from /media/.
_MEDIA_NAME = re.compile(r"[A-Za-z0-9._/-]+\.(png|jpg|jpeg|webp)")
#: The name the server gives an uploaded image: the first 32 hex digits of the SHA-256 of
#: its bytes, and the extension of its type.
_SERVER_NAME = re.compile(r"([0-9a-f]{32})\.(png|jpg|webp)")
#: The type an image is uploaded as when its first bytes do not say (see `upload_type`).
_TYPE_OF_EXTENSION = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
#: How long a pull waits for the server's pending builds to publish a poster it names.
BUILD_WAIT_SECONDS = 60.0

#: The settings files, synced as the server keeps them: 'settings/site' is site.yaml and
#: 'settings/regions' is regions.yaml (the server's SETTINGS_FILES; the client needs none
#: of the server's modules).
SETTINGS = "settings"
SETTINGS_FILES = {"site": "site.yaml", "regions": "regions.yaml"}


def is_settings(key: str) -> bool:
    collection, _sep, slug = key.partition("/")
    return collection == SETTINGS and slug in SETTINGS_FILES


def valid_name(collection: object, slug: object, ext: object) -> bool:
    """A record's or a settings file's name received over the network or read from the
    state file, checked before any path is built from it."""
    if collection == SETTINGS:
        return isinstance(slug, str) and slug in SETTINGS_FILES and ext == ".yaml"
    return valid_record_name(collection, slug, ext)


def api_path(key: str) -> str:
    collection, slug = split_key(key)
    if collection == SETTINGS:
        return f"/api/settings/{slug}"
    return f"/api/records/{collection}/{slug}"


@dataclass
class SyncState:
    server: str = ""
    last_seq: int = 0
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The hash of the text last sent for each record whose answer has not arrived yet.
    sent: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> SyncState:
        path = root / STATE_FILE
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            problem = _state_problem(data)
        except (ValueError, UnicodeDecodeError) as exc:
            problem = _("it is not JSON ({reason})").format(reason=exc)
        if problem:
            raise PantauError(
                _(
                    "{path}: the sync state is damaged: {problem}. Move it away and run "
                    "'pantau sync pull' to start again from the server (local edits stay)."
                ).format(path=path, problem=problem)
            )
        return cls(**data)

    def save(self, root: Path) -> None:
        data = json.dumps(self.__dict__, indent=2, sort_keys=True, ensure_ascii=False)
        atomic_write(root / STATE_FILE, (data + "\n").encode("utf-8"))


_RECORD_FIELDS = {"revision": int, "hash": str, "ext": str, "deleted": bool}


def _state_problem(data: Any) -> str | None:
    """What is wrong with the shape of a loaded sync state, in words, or None."""
    if not isinstance(data, dict):
        return _("expected a mapping, found {kind}").format(kind=type(data).__name__)
    unknown = set(data) - {"server", "last_seq", "records", "conflicts", "sent"}
    if unknown:
        return _("unknown field '{field}'").format(field=sorted(unknown)[0])
    if not isinstance(data.get("server", ""), str):
        return _("'{field}' is not an address").format(field="server")
    if type(data.get("last_seq", 0)) is not int:
        return _("'{field}' is not a whole number").format(field="last_seq")
    sent = data.get("sent", {})
    if not isinstance(sent, dict) or not all(isinstance(v, str) for v in sent.values()):
        return _("'{field}' is not a mapping of hashes").format(field="sent")
    for part in ("records", "conflicts"):
        table = data.get(part, {})
        if not isinstance(table, dict):
            return _("'{field}' is not a mapping").format(field=part)
        for key, known in table.items():
            collection, _sep, slug = key.partition("/")
            if not isinstance(known, dict) or not valid_name(collection, slug, known.get("ext")):
                return _("'{field}' has an invalid entry '{key}'").format(field=part, key=key[:80])
            if part == "records":
                for name, kind in _RECORD_FIELDS.items():
                    if type(known.get(name)) is not kind:
                        return _("'{key}' has no valid '{field}'").format(key=key, field=name)
    return None


def checked_change(change: Any) -> dict[str, Any]:
    """One entry of the server's changes feed, refused unless every name in it is as strict
    as the server's own (a slug such as '../../x' would write outside the folder)."""
    if not isinstance(change, dict) or not valid_name(
        change.get("collection"), change.get("slug"), change.get("ext") or ".md"
    ):
        raise PantauError(
            _(
                "the server sent a change with an invalid record name; nothing was written. "
                "Check the server address."
            )
        )
    if type(change.get("revision")) is not int or not isinstance(change.get("deleted"), bool):
        raise PantauError(
            _("the server sent a change without a valid revision; nothing was written")
        )
    if not change["deleted"] and not isinstance(change.get("text"), str):
        raise PantauError(_("the server sent a change without its text; nothing was written"))
    return change


#: What happened to a record here since the last sync (translated where shown).
CHANGE_KINDS = (N_("added"), N_("modified"), N_("deleted"))


@dataclass(frozen=True)
class LocalChange:
    key: str
    kind: str  # one of CHANGE_KINDS
    path: Path
    text: str | None


def split_key(key: str) -> tuple[str, str]:
    collection, slug = key.split("/", 1)
    return collection, slug


def local_records(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for spec in COLLECTIONS.values():
        for path in record_files(root / spec.folder):
            if (
                path.suffix in READER_EXTENSIONS
                and not path.stem.endswith(CONFLICT_SUFFIX)
                and is_slug(path.stem)
            ):
                found[f"{spec.name}/{path.stem}"] = path
    for slug, filename in SETTINGS_FILES.items():
        if (root / filename).is_file():
            found[f"{SETTINGS}/{slug}"] = root / filename
    return found


def record_path(root: Path, key: str, ext: str) -> Path:
    collection, slug = split_key(key)
    if not valid_name(collection, slug, ext):
        raise PantauError(
            _("'{name}' is not a record name; nothing was written").format(
                name=f"{key[:80]}{ext[:10]}"
            )
        )
    if collection == SETTINGS:
        return root / SETTINGS_FILES[slug]
    return root / COLLECTIONS[collection].folder / f"{slug}{ext}"


def conflict_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}{CONFLICT_SUFFIX}{path.suffix}")


def local_changes(root: Path, state: SyncState) -> list[LocalChange]:
    """Records added, modified or deleted locally since the last sync (no network)."""
    files = local_records(root)
    changes = []
    for key, path in sorted(files.items()):
        text = path.read_text(encoding="utf-8")
        known = state.records.get(key)
        if known is None or known.get("deleted"):
            changes.append(LocalChange(key, "added", path, text))
        elif text_hash(text) != known["hash"]:
            changes.append(LocalChange(key, "modified", path, text))
    for key, known in sorted(state.records.items()):
        if key not in files and not known.get("deleted") and not is_settings(key):
            changes.append(LocalChange(key, "deleted", record_path(root, key, known["ext"]), None))
    return changes


# merging ----------------------------------------------------------------------------------------


def fields_of(text: str, ext: str) -> dict[str, Any]:
    try:
        return parse_record(text, f"record{ext}").data
    except ContentError:
        return {"__text__": text}


def serialise(data: dict[str, Any], ext: str) -> str:
    data = dict(data)
    if ext == ".md":
        body = str(data.pop("body", ""))
        front = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
        return f"---\n{front}---\n{body}\n" if body else f"---\n{front}---\n"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def three_way(
    base: dict[str, Any], local: dict[str, Any], server: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Merge field by field; return the merged fields and the fields changed on both sides.

    Every field is the author's, ``updated`` included: the server keeps the time of a change
    in its history and never writes it into the text, so an ``updated`` line (one written by
    hand, or one an older server wrote) changes only when someone edits it."""
    merged: dict[str, Any] = {}
    conflicts = []
    for name in [*server, *(k for k in local if k not in server)]:
        b, mine, theirs = base.get(name), local.get(name), server.get(name)
        if mine in (theirs, b):
            value = theirs
        elif theirs == b:
            value = mine
        else:
            conflicts.append(name)
            value = mine
        if value is not None:
            merged[name] = value
    return merged, conflicts


# images ----------------------------------------------------------------------------------------


def shows_image(key: str) -> bool:
    """Whether records of this key's collection may name an image (campaigns do)."""
    spec = COLLECTIONS.get(split_key(key)[0])
    return spec is not None and "image" in spec.model.model_fields


def image_src(text: str, ext: str) -> tuple[str, int] | None:
    """The ``image.src`` a record's text names, and its line; None when it names none (or
    does not parse: the server then says what is wrong with it)."""
    try:
        parsed = parse_record(text, f"record{ext}")
    except ContentError:
        return None
    image = parsed.data.get("image")
    src = image.get("src") if isinstance(image, dict) else None
    if not isinstance(src, str):
        return None
    return src, parsed.line_of(("image", "src"))


def media_path(root: Path, src: str) -> Path | None:
    """content/media/<src>, or None for a name that is not an image inside media/ (such a
    name is never fetched or uploaded; `pantau check` and the server refuse it)."""
    if not _MEDIA_NAME.fullmatch(src) or src.startswith("/") or ".." in src:
        return None
    media = root / "media"
    path = media / src
    if not path.resolve().is_relative_to(media.resolve()):
        return None
    return path


def is_server_name(src: str, data: bytes) -> bool:
    """Whether ``src`` is the name the server gives these bytes (so it may already have
    them); a file renamed by hand, or edited after the server named it, is not."""
    named = _SERVER_NAME.fullmatch(src)
    return named is not None and hashlib.sha256(data).hexdigest()[:32] == named[1]


def upload_type(data: bytes, src: str) -> str:
    """The Content-Type to upload an image with: the type its first bytes show (a JPEG
    saved as .png is sent as the JPEG it is), else the one its extension names; the
    server checks it either way."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return _TYPE_OF_EXTENSION.get(Path(src).suffix.lower(), "application/octet-stream")


def with_image_src(text: str, ext: str, src: str) -> str:
    """The record's text with only the value of ``image.src`` replaced by ``src``: every
    other character stays as written (comments, order, spacing, line endings). The value
    may be written in block style (``src: x`` under ``image:``) or flow style
    (``image: {src: x, alt: ...}``), plain or in quotes (kept). ValueError, in words, when
    the value cannot be replaced alone (a ``|`` block, an alias)."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom) :]
    offset = len(bom)
    front = body
    if ext == ".md":
        try:
            front, _body = split_front_matter(body, f"record{ext}")
        except ContentError as exc:
            raise ValueError(str(exc)) from None
        offset += len(body.splitlines(keepends=True)[0])
    try:
        root = yaml.compose(front, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ValueError(_("its fields are not valid YAML ({reason})").format(reason=exc)) from None
    value = _child(_child(root, "image"), "src")
    if not isinstance(value, yaml.ScalarNode) or value.style in ("|", ">"):
        raise ValueError(_("image.src is not written as a single value"))
    quote = value.style if value.style in ("'", '"') else ""
    start, end = offset + value.start_mark.index, offset + value.end_mark.index
    edited = text[:start] + f"{quote}{src}{quote}" + text[end:]
    before, after = fields_of(text, ext), fields_of(edited, ext)
    image = before.get("image")
    if not isinstance(image, dict) or after != {**before, "image": {**image, "src": src}}:
        raise ValueError(_("image.src shares its value with another field (an alias)"))
    return edited


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


# the client ------------------------------------------------------------------------------------


class SyncClient:
    """Talks to one server for one content folder."""

    def __init__(
        self,
        root: Path,
        server: str,
        token: str,
        say: Callable[[str], None] = print,
        transport: httpx.BaseTransport | None = None,
        progress: Report | None = None,
    ) -> None:
        self.root = root
        self.server = server.rstrip("/")
        self.say = say
        self.progress: Report = progress or no_report
        self.state = SyncState.load(root)
        self.state.server = self.server
        self.http = httpx.Client(
            base_url=self.server,
            headers={"Authorization": f"Bearer {token}", "Accept-Language": language()},
            timeout=httpx.Timeout(30.0, connect=5.0),
            transport=transport,
        )
        self.failed = 0
        #: Images uploaded by this client's pushes.
        self.uploaded = 0
        #: Whether to say work that went well (an image uploaded); problems are always said.
        self.notes = True

    def note(self, text: str) -> None:
        if self.notes:
            self.say(text)

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            self.state.save(self.root)
            raise PantauError(
                _(
                    "cannot reach the server at {server} ({reason}). Nothing is lost: your "
                    "changes stay in your files and the next push or pull continues where "
                    "this one stopped"
                ).format(server=self.server, reason=f"{type(exc).__name__}: {exc}")
            ) from None
        if response.status_code == 401:
            raise PantauError(_("the server refused the token (401): check PANTAU_TOKEN"))
        if response.status_code == 429:
            raise PantauError(_("the server is slowing this client after failed logins (429)"))
        return response

    def _base_text(self, key: str, revision: int | None) -> str | None:
        if revision is None:
            return None
        for row in self._history(key):
            if row["revision"] == revision:
                return str(row["text"])
        return None

    def _history(self, key: str) -> list[dict[str, Any]]:
        """Every revision the server holds of a record (none if it answers otherwise)."""
        response = self._request("GET", f"{api_path(key)}/history")
        if response.status_code != 200:
            return []
        try:
            rows = response.json()["revisions"]
        except (ValueError, KeyError, TypeError):
            return []
        return [row for row in rows if isinstance(row, dict) and type(row.get("revision")) is int]

    def _remember(self, key: str, revision: int, text: str, ext: str, deleted: bool) -> None:
        self.state.records[key] = {
            "revision": revision,
            "hash": text_hash(text) if not deleted else "",
            "ext": ext,
            "deleted": deleted,
        }
        self.state.conflicts.pop(key, None)

    def reconcile(self, key: str, local: str | None, ext: str, server: dict[str, Any]) -> bool:
        """Both sides changed ``key``. Merge what can be merged; otherwise keep the local
        file, write the server's beside it and explain. Returns True when merged cleanly."""
        path = record_path(self.root, key, ext)
        server_text = "" if server.get("deleted") else str(server["text"])
        revision = int(server["revision"])
        known = self.state.records.get(key)
        base = self._base_text(key, known["revision"] if known else None)
        reasons: list[str] = []
        if local is None:
            reasons.append(_("you deleted it here, and it was changed on the server"))
        elif server.get("deleted"):
            reasons.append(_("you changed it here, and it was deleted on the server"))
        elif base is None:
            reasons.append(_("it was created on both sides, or its common base is unknown"))
        else:
            merged, clashes = three_way(
                fields_of(base, ext), fields_of(local, ext), fields_of(server_text, ext)
            )
            if not clashes:
                server_fields = fields_of(server_text, ext)
                text = server_text if merged == server_fields else serialise(merged, ext)
                atomic_write(path, text.encode("utf-8"))
                self._remember(key, revision, server_text, ext, False)
                if text == server_text:
                    merged_note = _("merged {key}: your changes and the server's fit together")
                else:
                    merged_note = _(
                        "merged {key}: your changes and the server's fit together (push to "
                        "send the merged result)"
                    )
                self.note(merged_note.format(key=key))
                return True
            reasons += [
                _("the field '{field}' was changed both here and on the server").format(field=name)
                for name in clashes
            ]
        copy = conflict_path(path)
        if server_text:
            atomic_write(copy, server_text.encode("utf-8"))
        self.state.conflicts[key] = {
            "revision": revision,
            "ext": ext,
            "deleted": bool(server.get("deleted")),
        }
        if server.get("author"):
            author = _("revision {revision} by {author}").format(
                revision=revision, author=server["author"]
            )
        else:
            author = _("revision {revision}").format(revision=revision)
        for reason in reasons:
            self.say(
                _("CONFLICT {key}: {reason} ({author}).").format(
                    key=key, reason=reason, author=author
                )
            )
        if server_text:
            advice = _(
                "  Your file {path} is unchanged and the server's version is in {copy}. Edit "
                "your file, delete {name}, then push again."
            )
        else:
            advice = _(
                "  Your file {path} is unchanged and it is deleted on the server. Edit your "
                "file, delete {name}, then push again."
            )
        self.say(advice.format(path=path, copy=copy, name=copy.name))
        return False

    def pull(self) -> int:
        """Apply the changes feed since the last sequence to files not changed locally."""
        applied = seen = 0
        self.progress(_("Pulling"), 0, None)
        while True:
            response = self._request("GET", "/api/changes", params={"since": self.state.last_seq})
            if response.status_code != 200:
                raise PantauError(
                    _("the server answered {status}: {text}").format(
                        status=response.status_code, text=response.text
                    )
                )
            try:
                page = response.json()
                changes = [checked_change(change) for change in page["changes"]]
                last_seq, more = page["last_seq"], page["more"]
            except (ValueError, KeyError, TypeError):
                raise PantauError(
                    _(
                        "the server's changes feed is not what this client understands; "
                        "nothing was written"
                    )
                ) from None
            if type(last_seq) is not int or not isinstance(more, bool):
                raise PantauError(_("the server's changes feed has no valid position"))
            latest: dict[str, dict[str, Any]] = {}
            for change in changes:
                latest[f"{change['collection']}/{change['slug']}"] = change
            for key, change in latest.items():
                applied += self._apply(key, change)
                seen += 1
                self.progress(_("Pulling"), seen, None)
            self.state.last_seq = last_seq
            self.state.save(self.root)
            if not more:
                return applied + self.fetch_settings()

    def _apply(self, key: str, change: dict[str, Any]) -> int:
        known = self.state.records.get(key)
        if key in self.state.conflicts:
            conflict = self.state.conflicts[key]
            conflict.update(revision=int(change["revision"]), deleted=bool(change["deleted"]))
            copy = conflict_path(record_path(self.root, key, conflict["ext"]))
            if not change["deleted"] and copy.exists():
                atomic_write(copy, str(change["text"]).encode("utf-8"))
            return 0
        if known and known["revision"] >= change["revision"]:
            return 0
        ext = change["ext"] or (known["ext"] if known else ".md")
        path = record_path(self.root, key, ext)
        local = path.read_text(encoding="utf-8") if path.exists() else None
        if known is None and local is not None and local != change["text"]:
            known = self._recognise(key, local, ext)
        if known is None or known.get("deleted"):
            unchanged = local is None
        else:
            unchanged = local is not None and text_hash(local) == known["hash"]
        if change["deleted"]:
            if local is None or unchanged:
                if local is not None:
                    atomic_remove(path)
                self._remember(key, change["revision"], "", ext, True)
                return 1
            self.reconcile(key, local, ext, change)
            return 0
        if unchanged or local == change["text"]:
            atomic_write(path, str(change["text"]).encode("utf-8"))
            self._remember(key, change["revision"], change["text"], ext, False)
            return 1
        self.reconcile(key, local, ext, change)
        return 0

    def _recognise(self, key: str, local: str, ext: str) -> dict[str, Any] | None:
        """A file this copy has never synced (a copy of the content taken earlier) that is
        exactly one of the server's revisions: that revision becomes its base, so the
        server's newer text replaces it, or merges with it, instead of clashing."""
        digest = text_hash(local)
        for row in reversed(self._history(key)):
            if row.get("hash") == digest and not row.get("deleted"):
                self._remember(key, int(row["revision"]), local, ext, False)
                return self.state.records[key]
        return None

    def fetch_settings(self) -> int:
        """Bring each settings file this copy has never synced up to the server's (one the
        server has never changed through the API is not in the changes feed): written when
        missing, or when it is one of the server's earlier revisions; a file edited here is
        left as it is. Returns how many files were written."""
        written = 0
        for name in SETTINGS_FILES:
            key = f"{SETTINGS}/{name}"
            if key in self.state.records or key in self.state.conflicts:
                continue
            response = self._request("GET", api_path(key))
            body = response.json() if response.status_code == 200 else {}
            if not isinstance(body.get("text"), str) or type(body.get("revision")) is not int:
                raise PantauError(
                    _("the server did not send {file} ({status}); nothing more was written").format(
                        file=SETTINGS_FILES[name], status=response.status_code
                    )
                )
            change = {**body, "collection": SETTINGS, "slug": name, "ext": ".yaml"}
            written += self._apply(key, checked_change(change))
        self.state.save(self.root)
        return written

    def fetch_media(self) -> int:
        """Download every image a campaign here names and that is missing, from the public
        site's /media/ (where the server publishes every uploaded image). An image not there
        yet may wait for a build in progress (a colleague's poster pushed a moment ago), so
        those are tried once more after the server's pending builds. Returns how many were
        written; one still missing is said, and `pantau check` will name it too."""
        named: dict[str, tuple[Path, int]] = {}
        for src, path, line in self._named_images():
            if not self._have(src):
                named.setdefault(src, (path, line))
        wanted = sorted(named)
        fetched = 0
        self.progress(_("Downloading images"), 0, len(wanted))
        missing: dict[str, int] = {}
        for src in wanted:
            status = self._download(src)
            if status == 200:
                fetched += 1
            else:
                missing[src] = status
            self.progress(_("Downloading images"), fetched + len(missing), len(wanted))
        if missing and self._wait_for_builds():
            for src in list(missing):
                status = self._download(src)
                if status == 200:
                    fetched += 1
                    del missing[src]
                else:
                    missing[src] = status
        for src, status in missing.items():
            path, line = named[src]
            self.say(
                _("could not download media/{src} ({status}); {file}:{line} names it").format(
                    src=src, status=status, file=path, line=line
                )
            )
        return fetched

    def _named_images(self) -> list[tuple[str, Path, int]]:
        """Each image a record here names (campaigns' image.src): name, record file, line."""
        found = []
        for spec in COLLECTIONS.values():
            if "image" not in spec.model.model_fields:
                continue
            for path in record_files(self.root / spec.folder):
                if path.suffix not in READER_EXTENSIONS or path.stem.endswith(CONFLICT_SUFFIX):
                    continue
                named = image_src(path.read_text(encoding="utf-8"), path.suffix)
                if named is not None and media_path(self.root, named[0]) is not None:
                    found.append((named[0], path, named[1]))
        return found

    def _have(self, src: str) -> bool:
        path = media_path(self.root, src)
        return path is not None and path.is_file()

    def _download(self, src: str) -> int:
        """Fetch media/<src> from the site into the content folder; the answer's status."""
        target = media_path(self.root, src)
        if target is None:
            return 404
        response = self._request("GET", f"/media/{src}")
        if response.status_code == 200:
            atomic_write(target, response.content)
        return response.status_code

    def _wait_for_builds(self, timeout: float = BUILD_WAIT_SECONDS) -> bool:
        """Wait (at most ``timeout`` seconds) until the server has no build queued or
        running; True when there was one to wait for."""
        deadline = time.monotonic() + timeout
        waited = False
        while time.monotonic() < deadline:
            response = self._request("GET", "/api/builds")
            try:
                rows = response.json()["builds"] if response.status_code == 200 else []
            except (ValueError, KeyError, TypeError):
                rows = []
            pending = [
                row
                for row in rows
                if isinstance(row, dict) and row.get("status") in ("queued", "running")
            ]
            if not pending:
                return waited
            waited = True
            self.progress(_("Waiting for the server's build"), 0, None)
            time.sleep(0.2)
        return waited

    def push(self) -> int:
        """Send local changes, each with the revision it was based on."""
        sent = 0
        for key, conflict in list(self.state.conflicts.items()):
            path = record_path(self.root, key, conflict["ext"])
            if conflict_path(path).exists():
                self.say(
                    _("skipped {key}: resolve the conflict, then delete {name}").format(
                        key=key, name=conflict_path(path).name
                    )
                )
                continue
            known = self.state.records.setdefault(key, {"ext": conflict["ext"], "hash": ""})
            known["revision"] = conflict["revision"]
            known["deleted"] = conflict.get("deleted", False)
            known["hash"] = "resolved"  # forces the resolved file to count as a local change
            del self.state.conflicts[key]
        changes = self._send_images(local_changes(self.root, self.state))
        for done, change in enumerate(changes):
            self.progress(_("Pushing"), done, len(changes))
            if change.key in self.state.conflicts:
                continue
            sent += self._push_one(change)
            self.state.save(self.root)
        self.progress(_("Pushing"), len(changes), len(changes))
        self.state.save(self.root)
        return sent

    def _send_images(self, changes: list[LocalChange]) -> list[LocalChange]:
        """Before the records are pushed: upload each image they name that the server does
        not have yet (once, however many records name it), then rename the local file to
        the server's name and write that name into each record's ``image.src``. Returns the
        changes to push: a record whose image is missing or refused stays here, said."""
        uses: dict[str, list[tuple[LocalChange, int]]] = {}
        for change in changes:
            if change.kind == "deleted" or change.key in self.state.conflicts:
                continue
            if not shows_image(change.key) or change.text is None:
                continue
            named = image_src(change.text, change.path.suffix)
            if named is not None and media_path(self.root, named[0]) is not None:
                uses.setdefault(named[0], []).append((change, named[1]))
        held: set[str] = set()
        edited: dict[str, LocalChange] = {}
        renamed: list[str] = []
        for done, (src, users) in enumerate(sorted(uses.items())):
            self.progress(_("Uploading images"), done, len(uses))
            name = self._settle_image(src, users)
            if name is None:
                held.update(change.key for change, _line in users)
                continue
            if name == src:
                continue
            renamed.append(src)
            for change, line in users:
                rewritten = self._write_server_name(change, line, src, name)
                if rewritten is None:
                    held.add(change.key)
                else:
                    edited[change.key] = rewritten
        if uses:
            self.progress(_("Uploading images"), len(uses), len(uses))
        self._remove_renamed(renamed)
        self.failed += len(held)
        return [edited.get(c.key, c) for c in changes if c.key not in held]

    def _settle_image(self, src: str, users: list[tuple[LocalChange, int]]) -> str | None:
        """The name under which the server has the image ``src``, uploading it first when
        it does not; None (said) when it is missing here and there, or refused."""
        path = media_path(self.root, src)
        assert path is not None
        if not path.is_file():
            # A poster a colleague uploaded that this copy has not downloaded yet.
            if _SERVER_NAME.fullmatch(src) and self._download(src) == 200:
                return src
            for change, line in users:
                self.say(
                    _(
                        "{file}:{line}: image.src: the image {path} is not in the content "
                        "folder; put the poster there or correct its name ({key} was not "
                        "pushed)"
                    ).format(file=change.path, line=line, path=path, key=change.key)
                )
            return None
        data = path.read_bytes()
        if is_server_name(src, data) and self._request("HEAD", f"/media/{src}").status_code == 200:
            return src
        response = self._request(
            "POST", "/api/assets", content=data, headers={"Content-Type": upload_type(data, src)}
        )
        body = _json_body(response)
        name = body.get("src")
        if response.status_code != 201 or not isinstance(name, str):
            reason = body.get("error") or _("the server answered {status}").format(
                status=response.status_code
            )
            self.say(
                _("could not upload {path}: {reason}; not pushed: {records}").format(
                    path=path, reason=reason, records=", ".join(c.key for c, _line in users)
                )
            )
            return None
        if not _SERVER_NAME.fullmatch(name):
            raise PantauError(
                _(
                    "the server named the uploaded image '{name}', which is not an image "
                    "name it gives; nothing more was written. Check the server address."
                ).format(name=name[:80])
            )
        self.uploaded += 1
        target = self.root / "media" / name
        if not target.exists():
            atomic_write(target, data)  # the old name goes once no record names it
        if name != src:
            self.note(_("uploaded {path}; it is now {target}").format(path=path, target=target))
        else:
            self.note(_("uploaded {path}").format(path=path))
        return name

    def _write_server_name(
        self, change: LocalChange, line: int, src: str, name: str
    ) -> LocalChange | None:
        """Write the server's name of an image into a record's image.src, nothing else;
        the change to push with it, or None (said) when the value cannot be rewritten."""
        raw = change.path.read_bytes().decode("utf-8")
        try:
            text = with_image_src(raw, change.path.suffix, name)
        except ValueError as exc:
            self.say(
                _(
                    "{file}:{line}: image.src: the image {src} was uploaded as {name}, but "
                    "that name cannot be written here: {reason}. Write 'src: {name}' on "
                    "that line, then push again"
                ).format(file=change.path, line=line, src=src, name=name, reason=exc)
            )
            return None
        atomic_write(change.path, text.encode("utf-8"))
        return LocalChange(
            change.key, change.kind, change.path, change.path.read_text(encoding="utf-8")
        )

    def _remove_renamed(self, renamed: list[str]) -> None:
        """Remove the old files of renamed images that no record here names any more."""
        if not renamed:
            return
        still = {src for src, _path, _line in self._named_images()}
        for src in renamed:
            path = media_path(self.root, src)
            if path is not None and src not in still:
                atomic_remove(path)

    def _push_one(self, change: LocalChange, retry: bool = True) -> int:
        collection, slug = split_key(change.key)
        url = api_path(change.key)
        known = self.state.records.get(change.key)
        ext = change.path.suffix
        unanswered = self.state.sent.get(change.key)  # an earlier push whose answer was lost
        if change.kind == "deleted":
            assert known is not None
            response = self._request("DELETE", url, headers={"If-Match": str(known["revision"])})
        else:
            headers = {"Content-Type": "text/markdown" if ext == ".md" else "application/yaml"}
            if known is None or known.get("deleted"):
                headers["If-None-Match"] = "*"
            else:
                headers["If-Match"] = str(known["revision"])
            self.state.sent[change.key] = text_hash(change.text or "")
            self.state.save(self.root)  # kept even if the answer never arrives
            response = self._request(
                "PUT", url, content=(change.text or "").encode(), headers=headers
            )
        self.state.sent.pop(change.key, None)  # this answer arrived: the push is settled
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if response.status_code in (200, 201):
            deleted = bool(body.get("deleted"))
            if not deleted:
                atomic_write(change.path, str(body["text"]).encode("utf-8"))
            self._remember(
                change.key, int(body["revision"]), str(body.get("text", "")), ext, deleted
            )
            build = body.get("build", {}).get("id")
            self.note(
                _("pushed {key} ({kind}) as revision {revision}, build {build}").format(
                    key=change.key, kind=_(change.kind), revision=body["revision"], build=build
                )
            )
            return 1
        if response.status_code == 409:
            server = {**body, "collection": collection, "slug": slug}
            if body.get("revision") is None:
                self.say(f"{change.key}: {body.get('error')}")
                return 0
            if unanswered is not None and body.get("submitted_hash") == unanswered and retry:
                # The server took this copy's earlier push, whose answer was cut off: that
                # revision is the base of the newer edit, not someone else's change.
                self._remember(change.key, int(body["revision"]), str(body["text"]), ext, False)
                self.note(
                    _(
                        "{key}: revision {revision} is your own earlier push (its answer was "
                        "cut off); sending your newer edit on top of it"
                    ).format(key=change.key, revision=body["revision"])
                )
                return self._push_one(change, False)
            if self.reconcile(change.key, change.text, ext, server) and retry:
                path = record_path(self.root, change.key, ext)
                text = path.read_text(encoding="utf-8")
                if text_hash(text) != self.state.records[change.key]["hash"]:
                    return self._push_one(LocalChange(change.key, "modified", path, text), False)
            return 0
        self.failed += 1
        self.say(
            _("not pushed {key}: {reason}").format(
                key=change.key, reason=body.get("error", response.text)
            )
        )
        for detail in body.get("details", []):
            if isinstance(detail, dict):
                self.say(
                    f"  {change.path}:{detail['line']}: {detail['field']}: {detail['message']}"
                )
        return 0


def _json_body(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is not one."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def describe_status(root: Path) -> list[str]:
    """Lines for `pantau sync status`; works without a network."""
    state = SyncState.load(root)
    lines = []
    for change in local_changes(root, state):
        mark = _("CONFLICT") + " " if change.key in state.conflicts else ""
        kind = _(change.kind)
        lines.append(f"{mark}{kind:9} {change.key}  ({change.path})")
    for key, conflict in sorted(state.conflicts.items()):
        if not any(
            line.endswith(f"{key}  ({record_path(root, key, conflict['ext'])})") for line in lines
        ):
            lines.append(
                _("CONFLICT  {key}  (server revision {revision})").format(
                    key=key, revision=conflict["revision"]
                )
            )
    if state.server:
        where = _("{server}, last sequence {seq}").format(server=state.server, seq=state.last_seq)
    else:
        where = _("never synced")
    lines.append(_("{count} local change(s); {where}.").format(count=len(lines), where=where))
    return lines
