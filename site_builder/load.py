"""Load and validate a content folder: settings, regions and every record.

``read_record`` is pure (text in, model out) and is what the sync server uses for a single
update; ``load_content`` walks a folder, collects every problem of every file, and raises
once with all of them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from . import deps, skeletons
from .errors import ContentError, Problem
from .i18n import _
from .messages import field_name, problems_from
from .models import (
    COLLECTIONS,
    KEPT,
    MAX_SLUG,
    CollectionSpec,
    Image,
    Record,
    Region,
    Regions,
    Site,
    check_order,
    checked_without_sources,
    is_slug,
    reserved_slugs,
    stage_without_dates,
)
from .privacy import personal_data
from .readers import READER_EXTENSIONS, Loc, Parsed, parse_record, parse_yaml, split_front_matter
from .urls import normalise_url, normalise_url_with_reasons

M = TypeVar("M", bound=BaseModel)

#: A file named <slug>.server.md holds the server's side of a sync conflict.
CONFLICT_SUFFIX = ".server"


@dataclass(frozen=True)
class Entry:
    """One validated record and where it came from.

    Reading ``record`` or ``text`` while an output renders notes the record as a dependency of
    that output; code that indexes records without showing them reads ``data``.
    """

    collection: str
    slug: str
    path: str
    data: Record
    source: str | None = field(default=None, repr=False, compare=False)
    lines: Parsed | None = field(default=None, repr=False, compare=False)
    known_digest: str | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def key(self) -> str:
        return f"{self.collection}/{self.slug}"

    @property
    def record(self) -> Record:
        deps.note("r:" + self.key)
        return self.data

    @functools.cached_property
    def _text(self) -> str:
        return self.source if self.source is not None else Path(self.path).read_text("utf-8")

    @property
    def text(self) -> str:
        deps.note("r:" + self.key)
        return self._text

    @functools.cached_property
    def digest(self) -> str:
        """A hash of the record's text: what its dependants are compared by."""
        return self.known_digest or text_digest(self._text)

    def line_of(self, *loc: str | int) -> int:
        lines = self.lines
        if lines is None:
            try:
                lines = parse_record(self._text, self.path)
            except (ContentError, OSError):
                return 1
        return lines.line_of(tuple(loc))


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Content:
    """Everything in a content folder, validated."""

    root: Path
    site: Site
    regions: dict[str, Region]
    entries: dict[str, dict[str, Entry]]
    site_text: str = ""
    regions_text: str = ""
    media: frozenset[str] = frozenset()
    #: Addresses Pantau keeps in another form than written (see ``url_notes``); only for
    #: files read in this load, not for those taken from a cache.
    notes: tuple[Note, ...] = ()

    def records(self, collection: str) -> list[Entry]:
        return list(self.entries.get(collection, {}).values())

    def with_entry(self, entry: Entry) -> Content:
        """A copy with one record added or replaced (used to validate a single update)."""
        entries = dict(self.entries)
        entries[entry.collection] = {**self.entries.get(entry.collection, {}), entry.slug: entry}
        return replace(self, entries=entries)

    def without(self, collection: str, slug: str) -> Content:
        """A copy with one record removed."""
        entries = dict(self.entries)
        entries[collection] = {
            s: e for s, e in self.entries.get(collection, {}).items() if s != slug
        }
        return replace(self, entries=entries)

    def with_media(self, name: str) -> Content:
        return replace(self, media=self.media | {name})


class Note(Problem):
    """Something Pantau changed in what was written, said with the file, line and field, as a
    problem is; never counted as one."""


#: A path to a URL field through the models: field names, and "[]" for each item of a list.
UrlPath = tuple[str, ...]


@functools.cache
def url_paths(model: type[BaseModel]) -> tuple[UrlPath, ...]:
    """Where a model (and the models inside it) holds addresses, e.g. ('sources', '[]',
    'url'): what ``url_notes`` looks at, so a record is compared only where a URL can be."""
    hints = typing.get_type_hints(model, include_extras=True)
    return tuple((name, *path) for name in model.model_fields for path in _paths_in(hints[name]))


def _paths_in(hint: Any) -> list[UrlPath]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        if any(
            isinstance(m, AfterValidator) and getattr(m.func, "check", None) is normalise_url
            for m in args[1:]
        ):
            return [()]
        return _paths_in(args[0])
    if origin in (typing.Union, types.UnionType):
        return [path for arg in args for path in _paths_in(arg)]
    if origin is list:
        return [("[]", *path) for path in _paths_in(args[0])]
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return list(url_paths(hint))
    return []


def url_notes(model: BaseModel, parsed: Parsed, name: str) -> list[Note]:
    """A note for each address that validated into another form than the file holds (a
    default port, a sharing widget's fragment: see ``normalise_url``), with its line."""
    notes: list[Note] = []
    for path in url_paths(type(model)):
        _compare(path, parsed.data, model, (), parsed, name, notes)
    return notes


def _compare(
    path: UrlPath, raw: Any, value: Any, loc: Loc, parsed: Parsed, name: str, notes: list[Note]
) -> None:
    if not path:
        written = raw.strip() if isinstance(raw, str) else raw
        reasons = normalise_url_with_reasons(written)[1] if written != value else []
        if reasons:
            why = "; ".join(_(reason) for reason in reasons)
            message = _("written as {original}; Pantau uses {url} ({why})").format(
                original=written, url=value, why=why
            )
            notes.append(Note(name, parsed.line_of(loc), field_name(loc), message))
        return
    head, rest = path[0], path[1:]
    if head == "[]":
        if isinstance(raw, list) and isinstance(value, list):
            for index, (raw_item, item) in enumerate(zip(raw, value, strict=False)):
                _compare(rest, raw_item, item, (*loc, index), parsed, name, notes)
    elif isinstance(raw, dict) and raw.get(head) is not None:
        _compare(rest, raw[head], getattr(value, head), (*loc, head), parsed, name, notes)


def validate_model(model: type[M], parsed: Parsed, name: str) -> M:
    """Validate parsed data against a model, or raise ContentError with every problem."""
    try:
        return model.model_validate(parsed.data)
    except ValidationError as exc:
        raise ContentError(problems_from(exc, model, parsed, name)) from None


def check_slug(stem: str, name: str, spec: CollectionSpec | None = None) -> None:
    """A file name that can be a record's slug (and, for ``spec``, is not one of the site's
    own section names)."""
    if spec is not None and stem in reserved_slugs(spec):
        raise ContentError(
            [
                Problem(
                    name,
                    1,
                    "slug",
                    _(
                        "the file name '{stem}' is taken by the site's own section {stem}/: "
                        "rename the file, e.g. to 'halaman-{stem}'"
                    ).format(stem=stem),
                )
            ]
        )
    if not is_slug(stem):
        suggestion = re.sub(r"[^a-z0-9]+", "-", stem.lower())[:MAX_SLUG].strip("-") or "new-record"
        raise ContentError(
            [
                Problem(
                    name,
                    1,
                    "slug",
                    _(
                        "the file name '{stem}' is not a valid slug: use at most {most} "
                        "lowercase letters, digits and single hyphens, e.g. '{suggestion}'"
                    ).format(stem=stem[:100], most=MAX_SLUG, suggestion=suggestion),
                )
            ]
        )


@dataclass(frozen=True)
class Invalid:
    """A record whose file parsed but did not validate: its raw data is still checked for
    what can be told without the model (date order, references, its image), so that one
    check reports every problem."""

    collection: str
    slug: str
    path: str
    parsed: Parsed

    def line_of(self, *loc: str | int) -> int:
        return self.parsed.line_of(tuple(loc))


class RecordProblems(ContentError):
    """A record's problems, with its parsed data when the file could be parsed."""

    def __init__(self, problems: list[Problem], parsed: Parsed | None) -> None:
        super().__init__(problems)
        self.parsed = parsed


def read_record(spec: CollectionSpec, slug: str, text: str, name: str) -> Entry:
    """Parse and validate one record's text (pure). ``name`` is used in messages. Raises
    RecordProblems (a ContentError) with every problem found: the file name's, the fields',
    and those of the raw data that the fields' errors would hide."""
    problems: list[Problem] = []
    try:
        check_slug(slug, name, spec)
    except ContentError as exc:
        problems += exc.problems
    try:
        parsed = parse_record(text, name)
    except ContentError as exc:
        raise RecordProblems([*problems, *exc.problems], None) from None
    try:
        record = spec.model.model_validate(parsed.data)
    except ValidationError as exc:
        found = [_in_body(p, parsed, text) for p in problems_from(exc, spec.model, parsed, name)]
        found += raw_problems(spec, parsed, name, {p.field for p in found})
        raise RecordProblems([*problems, *found], parsed) from None
    if problems:
        raise RecordProblems(problems, parsed)
    return Entry(spec.name, slug, name, record, text, parsed)


def _in_body(problem: Problem, parsed: Parsed, text: str) -> Problem:
    """A problem of the body (text that looks like a private person's data in a finding)
    placed on the line of the file where that text is, not on the body's first line."""
    body = parsed.data.get("body")
    if problem.field != "body" or not isinstance(body, str):
        return problem
    found = personal_data(body)
    if found is None or found.message != problem.message:
        return problem
    if ("body",) in parsed.lines:  # a .yaml record's 'body: |' block starts on the next line
        first = parsed.lines[("body",)] + (1 if "\n" in body else 0)
    else:  # a .md record: the body starts after the front matter and any blank lines
        front, rest = split_front_matter(text.removeprefix("\ufeff"), problem.path)
        first = front.count("\n") + 3 + len(rest) - len(rest.lstrip("\n"))
    return replace(problem, line=first + found.line)


def _raw_day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value is not None else None
    except ValueError:
        return None


def raw_problems(
    spec: CollectionSpec, parsed: Parsed, name: str, reported: set[str]
) -> list[Problem]:
    """The record-wide rules (an end before the start, a stage without dates, 'checked'
    without sources) applied to the raw data of a record whose fields failed, which pydantic
    then leaves unchecked; fields already reported are left alone."""
    data = parsed.data
    fields = spec.model.model_fields
    messages: list[str] = []
    if {"start", "end"} <= fields.keys() and not {"start", "end"} & reported:
        try:
            check_order(spec.kind, _raw_day(data.get("start")), _raw_day(data.get("end")))
        except ValueError as exc:
            messages.append(str(exc))
        if "after" in fields and "after" not in reported:
            has = [data.get(key) is not None for key in ("start", "end", "after")]
            messages.append(stage_without_dates(*has) or "")
    if not {"checked", "sources"} & reported:
        messages.append(
            checked_without_sources(data.get("checked", "unchecked"), bool(data.get("sources")))
            or ""
        )
    problems = []
    for message in filter(None, messages):
        key, _sep, sentence = message.partition(": ")
        problems.append(Problem(name, parsed.line_of((key,)), key, sentence))
    return problems


@functools.cache
def placeholders(collection: str) -> frozenset[str]:
    """The placeholder texts of a collection's skeleton (see ``skeletons``)."""
    parsed = parse_record(COLLECTIONS[collection].skeleton, "skeleton.md")
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and " " in value.strip():
            found.add(value.strip())

    walk(parsed.data)
    return frozenset(found - skeletons.EXAMPLES)


def publish_problems(spec: CollectionSpec, entry: Entry) -> list[Problem]:
    """What keeps a published (not draft) record from being ready for readers: text still
    holding its skeleton's placeholders, or no source at all."""
    record = entry.data
    if not spec.published(record):
        return []
    problems: list[Problem] = []
    marks = placeholders(spec.name)

    def walk(value: Any, loc: Loc) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*loc, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*loc, index))
        elif isinstance(value, str) and value.strip() in marks:
            noun = next((part for part in reversed(loc) if isinstance(part, str)), "text")
            problems.append(
                Problem(
                    entry.path,
                    entry.line_of(*loc),
                    field_name(loc),
                    _(
                        "still holds the placeholder '{text}' from `pantau new`; write the "
                        "real {field}, or keep draft: true"
                    ).format(text=value.strip(), field=noun),
                )
            )

    walk(record.model_dump(mode="json", exclude={"sources"}), ())
    if not record.sources:
        problems.append(
            Problem(
                entry.path,
                entry.line_of("sources"),
                "sources",
                _(
                    "a published record needs at least one source (a title and the URL where "
                    "its facts can be read); add one under 'sources', or keep draft: true"
                ),
            )
        )
    return problems


def _read_text(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(
            [
                Problem(
                    name,
                    1,
                    "",
                    _("the file is not UTF-8 text (byte {byte} is not valid)").format(
                        byte=exc.start
                    ),
                )
            ]
        ) from None


def _load_settings(root: Path, filename: str, model: type[M]) -> tuple[M, str, Parsed]:
    path = root / filename
    name = str(path)
    if not path.is_file():
        message = _("{file} is missing from {folder}").format(file=filename, folder=root)
        raise ContentError([Problem(name, 1, "", message)])
    text = _read_text(path, name)
    parsed = parse_yaml(text.removeprefix("\ufeff"), name)
    return validate_model(model, parsed, name), text, parsed


def record_files(folder: Path) -> list[Path]:
    """The files of a collection folder, hidden files left out, in a stable order."""
    return [path for path, _link in _record_files(folder)]


def _record_files(folder: Path) -> list[tuple[Path, bool]]:
    """record_files, each with whether it is a symbolic link (told by the directory listing
    itself: on a large site a look at every file costs more than reading the cache)."""
    try:
        with os.scandir(folder) as listing:
            found = [
                (Path(item.path), item.is_symlink())
                for item in listing
                if not item.name.startswith(".") and item.is_file()
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found)


def outside_link(path: Path, root: Path, is_link: bool | None = None) -> Problem | None:
    """A symbolic link that leads out of the content folder: refused, so nothing outside the
    folder (a key, /etc/passwd) can be published into the site or its zip. ``is_link`` says
    whether it is a link, if known already."""
    if is_link is None:
        is_link = path.is_symlink()
    if not is_link or path.resolve().is_relative_to(root.resolve()):
        return None
    return outside_link_problem(path)


def outside_link_problem(path: Path) -> Problem:
    return Problem(
        str(path),
        1,
        "",
        _(
            "this leads to {target}, outside the content folder (a symbolic link); copy the "
            "file into the content folder instead"
        ).format(target=path.resolve()),
    )


def media_files(media_root: Path, root: Path, problems: list[Problem]) -> frozenset[str]:
    """Every file under content/media/ (links into the folder are followed; links out of it
    are refused, and linked folders are not entered)."""
    found: set[str] = set()
    if not media_root.is_dir():
        return frozenset()
    for folder, dirs, names in os.walk(media_root):
        for name in [*dirs, *names]:
            problem = outside_link(Path(folder) / name, root)
            if problem is not None:
                problems.append(problem)
            elif name in names and os.path.isfile(os.path.join(folder, name)):
                found.add(os.path.relpath(os.path.join(folder, name), media_root))
    return frozenset(found)


class RecordCache(Protocol):
    """Validated records kept between runs, so an unchanged file is not parsed again."""

    def get(self, path: Path) -> tuple[str, str] | None:
        """The digest and model data (JSON) stored for this file, if the file is unchanged."""

    def put(self, path: Path, entry: Entry) -> None:
        """Keep a record that was just read (one whose file is too recent for its time to be
        trusted is kept with its digest, and reused only while the text is the same)."""


def _cached_record(
    spec: CollectionSpec, path: Path, name: str, cache: RecordCache | None
) -> Entry | None:
    found = cache.get(path) if cache is not None else None
    if found is None:
        return None
    digest, data = found
    validated = getattr(cache, "validated", None)
    known = validated(path, digest) if validated is not None else None
    if known is not None:
        return known  # validated by this process already (a long-lived one: pantau dev)
    try:
        record = spec.model.model_validate_json(data, context=KEPT)
    except ValidationError:
        return None  # written by another version of the models: read the file instead
    return Entry(spec.name, path.stem, name, record, known_digest=digest)


def load_content(
    root: Path,
    cache: RecordCache | None = None,
    *,
    publishing: bool = False,
    overlay: Mapping[str, Entry | None] | None = None,
) -> Content:
    """Load every file under root; raise ContentError listing every problem found.

    With a cache, files whose size and modification time are unchanged are taken from it
    instead of being parsed again. With ``publishing`` (``pantau check``), a published record
    must also be ready for readers: no placeholder left from its skeleton, and a source.
    ``overlay`` gives records by key ('stages/x') that stand in for their files (None: the
    record is deleted, whatever the file says), before references are checked: the sync
    server's revisions whose files could not be written."""
    root = Path(root)
    if not root.is_dir():
        raise ContentError([Problem(str(root), 1, "", _("the content folder does not exist"))])
    problems: list[Problem] = []
    notes: list[Note] = []
    site: Site | None = None
    regions: dict[str, Region] = {}
    site_text = regions_text = ""
    try:
        site, site_text, site_lines = _load_settings(root, "site.yaml", Site)
        notes += url_notes(site, site_lines, str(root / "site.yaml"))
    except ContentError as exc:
        problems += exc.problems
    try:
        region_list, regions_text, region_lines = _load_settings(root, "regions.yaml", Regions)
        notes += url_notes(region_list, region_lines, str(root / "regions.yaml"))
        for index, region in enumerate(region_list.regions):
            if region.slug in regions:
                problems.append(
                    Problem(
                        str(root / "regions.yaml"),
                        region_lines.line_of(("regions", index, "slug")),
                        f"regions[{index}].slug",
                        _("the region slug '{slug}' is listed twice").format(slug=region.slug),
                    )
                )
            regions[region.slug] = region
    except ContentError as exc:
        problems += exc.problems

    entries: dict[str, dict[str, Entry]] = {}
    unreadable: set[str] = set()
    invalid: list[Invalid] = []
    for spec in COLLECTIONS.values():
        entries[spec.name] = {}
        for path, is_link in _record_files(root / spec.folder):
            name = str(path)
            link = outside_link(path, root, is_link)
            if link is not None:
                problems.append(link)
                unreadable.add(f"{spec.name}/{path.stem}")
                continue
            if path.stem.endswith(CONFLICT_SUFFIX):
                original = path.with_name(path.stem.removesuffix(CONFLICT_SUFFIX) + path.suffix)
                problems.append(
                    Problem(
                        name,
                        1,
                        "",
                        _(
                            "this is the server's version from a sync conflict: merge what "
                            "you need into {original}, then delete this file"
                        ).format(original=original),
                    )
                )
                continue
            if path.suffix not in READER_EXTENSIONS:
                problems.append(
                    Problem(name, 1, "", _("not a record file: records end in .md or .yaml"))
                )
                continue
            try:
                entry = _cached_record(spec, path, name, cache) or read_record(
                    spec, path.stem, _read_text(path, name), name
                )
            except ContentError as exc:
                problems += exc.problems
                unreadable.add(f"{spec.name}/{path.stem}")
                parsed = getattr(exc, "parsed", None)
                if parsed is not None:
                    invalid.append(Invalid(spec.name, path.stem, name, parsed))
                continue
            # Kept lean: the text is read again from the file, and its line numbers parsed
            # again, only if something needs them (a sync, an error message).
            lean = (
                entry
                if entry.source is None and entry.lines is None
                else replace(entry, source=None, lines=None, known_digest=entry.digest)
            )
            if cache is not None:
                cache.put(path, lean)
            if path.stem in entries[spec.name]:
                other = entries[spec.name][path.stem].path
                problems.append(
                    Problem(
                        name,
                        1,
                        "slug",
                        _("the slug '{slug}' is also used by {other}").format(
                            slug=path.stem, other=other
                        ),
                    )
                )
                continue
            if entry.lines is not None:
                notes += url_notes(entry.data, entry.lines, name)
            entries[spec.name][path.stem] = lean
            if publishing:
                problems += publish_problems(spec, entry)

    for key, stand_in in (overlay or {}).items():
        collection, _sep, slug = key.partition("/")
        problems = [p for p in problems if not _concerns(p, root, collection, slug)]
        unreadable.discard(key)
        invalid = [i for i in invalid if (i.collection, i.slug) != (collection, slug)]
        if stand_in is None:
            entries.get(collection, {}).pop(slug, None)
        else:
            entries.setdefault(collection, {})[slug] = stand_in
    media = media_files(root / "media", root, problems)
    if site is None:
        site = Site.model_construct()  # only for the references below; never returned
    content = Content(
        root, site, regions, entries, site_text, regions_text, media, tuple(sorted(notes))
    )
    problems += [
        problem
        for problem, target in reference_problems(content, invalid)
        if target not in unreadable and not (target == "regions" and not regions)
    ]
    if problems:
        raise ContentError(problems)
    return content


def _concerns(problem: Problem, root: Path, collection: str, slug: str) -> bool:
    """Whether a problem is one of the record's own file (which an overlay replaces)."""
    folder = root / COLLECTIONS[collection].folder
    return Path(problem.path).parent == folder and Path(problem.path).stem == slug


def reference_problems(
    content: Content, invalid: list[Invalid] | tuple[Invalid, ...] = ()
) -> list[tuple[Problem, str]]:
    """Records that point at records, regions or images that do not exist (as each
    collection's declared references say), and published records that point at a draft:
    each problem with what it points at (a record key, 'regions' or 'media'). Records that
    did not validate (``invalid``) are checked from their raw data."""
    problems: list[tuple[Problem, str]] = []
    for spec in COLLECTIONS.values():
        for entry in content.records(spec.name):
            problems += record_reference_problems(content, entry)
    for item in invalid:
        spec = COLLECTIONS[item.collection]
        data = item.parsed.data
        values = {ref.field: ref.raw_values(data) for ref in spec.references}
        image = data.get("image")
        src = image.get("src") if isinstance(image, dict) else None
        src = src if _valid_image_path(src) else None
        problems += _pointing(content, spec, item, values, src, data.get("draft") is not True)
    return problems


def record_reference_problems(content: Content, entry: Entry) -> list[tuple[Problem, str]]:
    """``reference_problems`` of one valid record (what the sync server checks an update
    for, without looking at every other record)."""
    spec = COLLECTIONS[entry.collection]
    record: Any = entry.data
    values = {ref.field: list(ref.values(record)) for ref in spec.references}
    image = getattr(record, "image", None)
    src = image.src if image else None
    return _pointing(content, spec, entry, values, src, spec.published(record))


def _valid_image_path(src: Any) -> bool:
    """A raw image path its own field accepts (a bad one is a field error of its own)."""
    try:
        Image.model_validate({"src": src, "alt": "-"})
    except ValidationError:
        return False
    return True


def _pointing(
    content: Content,
    spec: CollectionSpec,
    entry: Entry | Invalid,
    values: dict[str, list[str | None]],
    image: str | None,
    published: bool,
) -> list[tuple[Problem, str]]:
    problems: list[tuple[Problem, str]] = []
    for ref in spec.references:
        for index, slug in enumerate(values[ref.field]):
            if slug is None:
                continue
            single = ref.single
            loc = (*ref.field.split("."), *(() if single else (index,)))
            field = ref.field if single else f"{ref.field}[{index}]"
            if ref.target == "regions":
                if slug in content.regions:
                    continue
                target, known = "regions", list(content.regions)
                where = _("it is not listed in regions.yaml")
            else:
                found = content.entries.get(ref.target, {}).get(slug)
                target_spec = COLLECTIONS[ref.target]
                if found is not None:
                    if published and not target_spec.published(found.data):
                        message = _(
                            "the {noun} '{slug}' is a draft (draft: true), so it is not on the "
                            "site; publish it first, or leave it out here"
                        ).format(noun=_(ref.noun), slug=slug)
                        problem = Problem(entry.path, entry.line_of(*loc), field, message)
                        problems.append((problem, f"{ref.target}/{slug}"))
                    continue
                target, known = f"{ref.target}/{slug}", list(content.entries.get(ref.target, {}))
                where = _("there is no {path}.md or .yaml in the content folder").format(
                    path=f"{target_spec.folder}/{slug}"
                )
            guess = difflib.get_close_matches(slug, known, n=1)
            if guess:
                message = _("unknown {noun} '{slug}'; did you mean '{guess}'? ({where})").format(
                    noun=_(ref.noun), slug=slug, guess=guess[0], where=where
                )
            else:
                message = _("unknown {noun} '{slug}': {where}").format(
                    noun=_(ref.noun), slug=slug, where=where
                )
            problems.append((Problem(entry.path, entry.line_of(*loc), field, message), target))
    if image and image not in content.media:
        problem = Problem(
            entry.path,
            entry.line_of("image", "src"),
            "image.src",
            _("the image media/{image} is not in the content folder").format(image=image),
        )
        problems.append((problem, "media"))
    return problems
