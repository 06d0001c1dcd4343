"""Read what a request sends and check its shape: bodies with a size cap, revision numbers in
headers and JSON, record text, the changes feed's cursor. Anything malformed is refused with
a sentence (Malformed, TooLarge, Unsupported), never with a server error."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from site_builder.i18n import _
from site_builder.models import COLLECTIONS
from site_builder.readers import MAX_DEPTH, too_deep

from .client import serialise
from .errors import Malformed, NotFound, TooLarge, Unsupported
from .protocol import valid_key

MAX_RECORD_BYTES = 1024 * 1024
#: Revisions and sequence numbers are SQLite integers: below 2**63.
MAX_NUMBER = 2**63 - 1
TEXT_TYPES = {"text/markdown": ".md", "application/yaml": ".yaml", "text/yaml": ".yaml",
              "application/x-yaml": ".yaml", "text/plain": None}  # fmt: skip
FORMATS = {"md": ".md", "yaml": ".yaml"}
_DIGITS = re.compile(r"[0-9]{1,19}")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, cap: int) -> bytes:
    """The whole body, refused (TooLarge) as soon as it passes `cap` bytes."""
    length = request.headers.get("content-length", "")
    if _DIGITS.fullmatch(length) and int(length) > cap:
        raise TooLarge(_("the body is larger than {cap:,} bytes").format(cap=cap))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise TooLarge(_("the body is larger than {cap:,} bytes").format(cap=cap))
        chunks.append(chunk)
    return b"".join(chunks)


def whole_number(text: str, what: str) -> int:
    """A whole number written in ASCII digits, from 0 to MAX_NUMBER."""
    if not _DIGITS.fullmatch(text) or int(text) > MAX_NUMBER:
        shown = text if len(text) <= 20 and text.isprintable() else text[:20] + "..."
        raise Malformed(
            _("{what} must be a whole number from 0 to {most}, found '{found}'").format(
                what=what, most=MAX_NUMBER, found=shown
            )
        )
    return int(text)


def revision_header(value: str | None, name: str = "If-Match") -> int | None:
    """The revision an If-Match header names ('3', '"3"' or 'W/"3"'), or None if absent."""
    if value is None:
        return None
    return whole_number(
        value.strip().removeprefix("W/").strip('"'), _("{name} (a revision)").format(name=name)
    )


def json_body(body: bytes) -> Any:
    """A JSON body, or Malformed with a sentence (not UTF-8, not JSON, nested too deeply)."""
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise Malformed(_("the body is not UTF-8 text")) from None
    except json.JSONDecodeError as exc:
        raise Malformed(
            _("the body is not valid JSON: {reason} (line {line}, column {column})").format(
                reason=exc.msg, line=exc.lineno, column=exc.colno
            )
        ) from None
    except RecursionError:
        raise Malformed(_("the JSON body is nested too deeply")) from None


def _no_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Malformed(
            _(
                "the text holds an unpaired surrogate ({code}) at character {at}; send it as "
                "UTF-8 text"
            ).format(code=f"\\u{ord(text[exc.start]):04x}", at=exc.start)
        ) from None
    return text


def record_text(
    body: bytes, kind: str, ext_of: Callable[[], str] = lambda: ".md"
) -> tuple[str, str | None]:
    """The record text, and its file extension if the request says, from a raw body
    (markdown or YAML), JSON {"text": ..., "format": "md" | "yaml"}, or JSON {"fields":
    {...}} (the browser editor's form: written as the record's file, in the format the
    request names, else ``ext_of()``, the record's own)."""
    if kind == "application/json":
        payload = json_body(body)
        if isinstance(payload, dict) and "text" not in payload:
            fields = payload.get("fields")
            if isinstance(fields, dict):
                if _depth(fields) > MAX_DEPTH:  # refused before YAML writes it out
                    raise Malformed(too_deep())
                ext = _format(payload) or ext_of()
                return _no_surrogates(serialise(fields, ext)), ext
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            raise Malformed('a JSON body must be {"text": "<the record file text>"}')
        return _no_surrogates(payload["text"]), _format(payload)
    if kind in TEXT_TYPES or kind == "":
        try:
            return body.decode("utf-8"), TEXT_TYPES.get(kind)
        except UnicodeDecodeError:
            raise Malformed(_("the body is not UTF-8 text")) from None
    raise Unsupported(_("send the record as text/markdown, application/yaml or application/json"))


def _depth(value: Any) -> int:
    """How deeply a JSON value nests (a plain value is 0), looked at without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            todo += [(v, level + 1) for v in item.values()]
        elif isinstance(item, list):
            todo += [(v, level + 1) for v in item]
    return deepest


def _format(payload: dict[str, Any]) -> str | None:
    fmt = payload.get("format")
    if fmt is not None and (not isinstance(fmt, str) or fmt not in FORMATS):
        raise Malformed(_("format must be 'md' or 'yaml'"))
    return FORMATS[fmt] if fmt else None


def revert_revision(body: bytes) -> int:
    """The revision of a revert request, JSON {"revision": N} with N a whole number (not
    true, 1.9 or 1e400)."""
    payload = json_body(body or b"{}")
    revision = payload.get("revision") if isinstance(payload, dict) else None
    if type(revision) is not int or not 1 <= revision <= MAX_NUMBER:
        raise Malformed('send JSON {"revision": N}, N a whole number of 1 or more')
    return revision


def merge_request(body: bytes) -> tuple[int, dict[str, Any] | str]:
    """The base revision and the edit of a merge request, JSON {"base": N, "fields": {...}}
    or {"base": N, "text": "..."} (an edit of the raw text)."""
    payload = json_body(body or b"{}")
    base = payload.get("base") if isinstance(payload, dict) else None
    edit = payload.get("fields", payload.get("text")) if isinstance(payload, dict) else None
    if type(base) is not int or not 1 <= base <= MAX_NUMBER or not isinstance(edit, dict | str):
        raise Malformed(
            _(
                'send JSON {"base": N, "fields": {...}} (or "text"): the revision the edit '
                "started from and the edit"
            )
        )
    return base, _no_surrogates(edit) if isinstance(edit, str) else edit


@dataclass(frozen=True)
class ListQuery:
    """What a list of records asks for: the records whose title or slug holds ``words``,
    ``limit`` of them from ``offset`` (all when no limit), each in brief or whole."""

    words: str = ""
    offset: int = 0
    limit: int | None = None
    brief: bool = False
    drafts: bool | None = None  # only drafts, only the others, or both


def list_query(query: dict[str, str]) -> ListQuery:
    """The list parameters q, offset, limit (at most 1000), brief (0 or 1) and draft (1: only
    drafts, 0: only the others)."""
    brief, draft = query.get("brief", "0"), query.get("draft")
    if brief not in ("0", "1") or draft not in (None, "0", "1"):
        raise Malformed(_("brief and draft must be 0 or 1"))
    limit = query.get("limit")
    return ListQuery(
        words=query.get("q", "")[:200].strip().lower(),
        offset=whole_number(query.get("offset", "0"), "offset"),
        limit=None if limit is None else min(max(whole_number(limit, "limit"), 1), 1000),
        brief=brief == "1",
        drafts=None if draft is None else draft == "1",
    )


def feed_window(query: dict[str, str]) -> tuple[int, int]:
    """The changes feed's `since` (default 0) and `limit` (default 500, at most 1000)."""
    since = whole_number(query.get("since", "0"), "since")
    limit = whole_number(query.get("limit", "500"), "limit")
    return since, min(max(limit, 1), 1000)


def record_key(request: Request) -> tuple[str, str]:
    collection = request.path_params["collection"]
    slug = request.path_params.get("slug", "")
    if collection not in COLLECTIONS:
        shown = collection if len(collection) <= 40 else collection[:40] + "..."
        raise NotFound(_("unknown collection '{name}'").format(name=shown), list(COLLECTIONS))
    if "slug" in request.path_params and not valid_key(collection, slug):
        raise NotFound(
            _("that is not a valid slug: at most 80 lowercase letters, digits and single hyphens")
        )
    return collection, slug
