"""The Starlette application: records API, history, changes feed, assets, builds, and the
live static site at /."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.schemas import SchemaGenerator

from site_builder.errors import ContentError
from site_builder.models import COLLECTIONS

from .auth import FailureLimiter, Identity, authenticate
from .livesite import live_site
from .protocol import text_hash, valid_key
from .publisher import Publisher
from .store import Current, Store, now
from .workspace import Workspace, set_updated

log = logging.getLogger("pantau.sync")
T = TypeVar("T")

MAX_RECORD_BYTES = 1024 * 1024
MAX_ASSET_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {
    "image/png": ("PNG", ".png"),
    "image/jpeg": ("JPEG", ".jpg"),
    "image/webp": ("WEBP", ".webp"),
}
TEXT_TYPES = {"text/markdown": ".md", "application/yaml": ".yaml", "text/yaml": ".yaml",
              "application/x-yaml": ".yaml", "text/plain": None}  # fmt: skip


class ApiError(Exception):
    """An error answered as JSON: {"error": ..., "details": [...]}."""

    def __init__(
        self,
        status: int,
        error: str,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details or []
        self.headers = headers
        self.extra = extra


def error_response(exc: ApiError) -> JSONResponse:
    body = {"error": exc.error, "details": exc.details, **exc.extra}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


@dataclass
class Services:
    store: Store
    workspace: Workspace
    publisher: Publisher
    limiter: FailureLimiter
    ready: threading.Event = field(default_factory=threading.Event)


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def identify(request: Request) -> Identity:
    """401 without a valid token (429 after repeated failures); never 403 here."""
    svc = services(request)
    if not svc.ready.is_set():
        raise ApiError(
            503,
            "the server is starting: the site is already served, the API answers in a moment",
            headers={"Retry-After": "2"},
        )
    client = client_of(request)
    wait = svc.limiter.retry_after(client)
    if wait:
        raise ApiError(
            429,
            "too many failed authentications from this client; try again later",
            headers={"Retry-After": str(wait)},
        )
    identity = await run_in_threadpool(
        authenticate, svc.store, request.headers.get("authorization")
    )
    if identity is None:
        svc.limiter.failed(client)
        raise ApiError(
            401,
            "a valid token is required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return identity


def require_write(identity: Identity, collection: str) -> None:
    if not identity.may_write(collection):
        raise ApiError(403, f"the role '{identity.role}' may not change {collection}")


def record_key(request: Request) -> tuple[str, str]:
    collection = request.path_params["collection"]
    slug = request.path_params.get("slug", "")
    if collection not in COLLECTIONS:
        raise ApiError(404, f"unknown collection '{collection}'", list(COLLECTIONS))
    if "slug" in request.path_params and not valid_key(collection, slug):
        raise ApiError(404, f"'{slug}' is not a valid slug: lowercase letters, digits and hyphens")
    return collection, slug


async def read_body(request: Request, cap: int) -> bytes:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > cap:
        raise ApiError(413, f"the body is larger than {cap} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise ApiError(413, f"the body is larger than {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def etag(revision: int) -> str:
    return f'"{revision}"'


def parse_revision(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ApiError(400, f"If-Match must be a revision number, found '{value}'")
    return int(value)


def record_json(current: Current, **extra: Any) -> dict[str, Any]:
    return {
        "collection": current.collection,
        "slug": current.slug,
        "revision": current.revision,
        "deleted": current.deleted,
        "hash": current.hash,
        "text": current.text,
        **extra,
    }


def problems_json(exc: ContentError) -> list[dict[str, object]]:
    return [p.to_json() for p in exc.problems]


def unprocessable(error: str, check: Callable[..., T], *args: Any) -> T:
    """Run a content check; its problems become a 422 with file, line and field each."""
    try:
        return check(*args)
    except ContentError as exc:
        raise ApiError(422, error, problems_json(exc)) from None


# endpoints ------------------------------------------------------------------------------------


async def health(request: Request) -> JSONResponse:
    """
    summary: Liveness, the last sequence number and the build being served.
    responses:
      200:
        description: The server is up.
    """
    svc = services(request)
    return JSONResponse(
        {
            "status": "ok" if svc.ready.is_set() else "starting",
            "last_seq": svc.store.last_seq(),
            "live_build": svc.publisher.live_build(),
        }
    )


async def list_records(request: Request) -> JSONResponse:
    """
    summary: Every current record of a collection, with its revision.
    responses:
      200:
        description: A list of {slug, revision, hash, fields}.
      401:
        description: No valid token.
    """
    await identify(request)
    collection, _ = record_key(request)
    svc = services(request)
    content = svc.workspace.snapshot()
    rows = []
    for current in await run_in_threadpool(svc.store.all_current, collection):
        if current.deleted:
            continue
        entry = content.entries.get(collection, {}).get(current.slug)
        fields = entry.record.model_dump(mode="json", exclude={"body"}) if entry else {}
        rows.append(
            {
                "slug": current.slug,
                "revision": current.revision,
                "hash": current.hash,
                "fields": fields,
            }
        )
    return JSONResponse({"collection": collection, "records": rows})


async def get_record(request: Request) -> JSONResponse:
    """
    summary: One record's file text and fields; the revision is also the ETag.
    responses:
      200:
        description: "{collection, slug, revision, text, fields}"
      404:
        description: No such record.
    """
    await identify(request)
    collection, slug = record_key(request)
    svc = services(request)
    current = await run_in_threadpool(svc.store.current, collection, slug)
    if current is None or current.deleted:
        raise ApiError(404, f"there is no record {collection}/{slug}")
    entry = svc.workspace.snapshot().entries.get(collection, {}).get(slug)
    fields = entry.record.model_dump(mode="json") if entry else {}
    return JSONResponse(
        record_json(current, fields=fields), headers={"ETag": etag(current.revision)}
    )


async def record_text(request: Request) -> tuple[str, str | None]:
    """The record text from a raw body (markdown/yaml) or JSON {"text": ...}."""
    body = await read_body(request, MAX_RECORD_BYTES)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media_type == "application/json":
            payload = json.loads(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
                raise ApiError(400, 'a JSON body must be {"text": "<the record file text>"}')
            fmt = payload.get("format")
            ext = {"md": ".md", "yaml": ".yaml", None: None}.get(fmt, "bad")
            if ext == "bad":
                raise ApiError(400, "format must be 'md' or 'yaml'")
            return payload["text"], ext
        if media_type in TEXT_TYPES or media_type == "":
            return body.decode("utf-8"), TEXT_TYPES.get(media_type)
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    raise ApiError(415, "send the record as text/markdown, application/yaml or application/json")


def _stale(current: Current | None, message: str) -> ApiError:
    return ApiError(
        409,
        message,
        revision=current.revision if current else None,
        deleted=current.deleted if current else None,
        text=current.text if current else None,
    )


def apply_put(
    svc: Services,
    identity: Identity,
    collection: str,
    slug: str,
    text: str,
    ext_hint: str | None,
    if_match: int | None,
    create: bool,
) -> tuple[int, dict[str, Any]]:
    with svc.workspace.lock:
        current = svc.store.current(collection, slug)
        exists = current is not None and not current.deleted
        submitted = text_hash(text)
        if (
            exists
            and current
            and current.submitted_hash == submitted
            and current.author == identity.name
        ):
            # A re-sent request whose change is already in: answer as before, apply nothing.
            build = svc.publisher.live_build()
            return 200, record_json(current, replayed=True, build={"id": build})
        if create:
            if exists:
                raise _stale(
                    current, f"{collection}/{slug} already exists; update it with If-Match"
                )
        elif if_match is None:
            raise ApiError(
                428,
                "send If-Match with the revision your edit is based on, "
                "or If-None-Match: * to create a record",
            )
        elif not exists or current is None or current.revision != if_match:
            raise _stale(
                current,
                f"your edit is based on revision {if_match}, but the current revision is "
                f"{current.revision if current else 'none'}"
                + (" (deleted)" if current and current.deleted else "")
                + "; merge with the current text and send again",
            )
        ext = (
            current.ext
            if current and not current.deleted
            else (ext_hint or (".md" if text.lstrip().startswith("---") else ".yaml"))
        )
        final = set_updated(text, ext, now())
        entry = unprocessable(
            "the record is not valid", svc.workspace.prepare, collection, slug, final, ext
        )
        saved = svc.store.add_revision(
            collection=collection,
            slug=slug,
            text=final,
            ext=ext,
            deleted=False,
            action="create" if not exists else "update",
            author=identity.name,
            role=identity.role,
            submitted_hash=submitted,
        )
        svc.workspace.save(entry, ext)
    build = svc.publisher.request(f"{saved.key}@{saved.revision}")
    return (201 if not exists else 200), record_json(saved, build={"id": build, "status": "queued"})


async def put_record(request: Request) -> JSONResponse:
    """
    summary: Create (If-None-Match *) or update (If-Match revision) a record from its file text.
    requestBody:
      description: 'The file text (text/markdown or application/yaml), or JSON {"text": ...}.'
    responses:
      200:
        description: Updated; tells which build will publish it.
      201:
        description: Created.
      409:
        description: Stale revision; the body holds the current text and revision.
      422:
        description: Invalid; details are file:line field messages.
      428:
        description: Neither If-Match nor If-None-Match was sent.
    """
    identity = await identify(request)
    collection, slug = record_key(request)
    require_write(identity, collection)
    text, ext = await record_text(request)
    create = request.headers.get("if-none-match", "").strip() == "*"
    if_match = parse_revision(request.headers.get("if-match"))
    svc = services(request)
    status, body = await run_in_threadpool(
        apply_put, svc, identity, collection, slug, text, ext, if_match, create
    )
    return JSONResponse(body, status_code=status, headers={"ETag": etag(body["revision"])})


def apply_delete(
    svc: Services, identity: Identity, collection: str, slug: str, if_match: int | None
) -> dict[str, Any]:
    with svc.workspace.lock:
        current = svc.store.current(collection, slug)
        if current is None:
            raise ApiError(404, f"there is no record {collection}/{slug}")
        if current.deleted:
            return record_json(current, replayed=True, build={"id": svc.publisher.live_build()})
        if if_match is None:
            raise ApiError(428, "send If-Match with the revision you are deleting")
        if current.revision != if_match:
            raise _stale(current, f"the current revision is {current.revision}, not {if_match}")
        unprocessable(
            "other records still refer to this one", svc.workspace.check_delete, collection, slug
        )
        saved = svc.store.add_revision(
            collection=collection,
            slug=slug,
            text="",
            ext=current.ext,
            deleted=True,
            action="delete",
            author=identity.name,
            role=identity.role,
            submitted_hash=text_hash(""),
        )
        svc.workspace.remove(collection, slug, current.ext)
    build = svc.publisher.request(f"{saved.key}@{saved.revision}")
    return record_json(saved, build={"id": build, "status": "queued"})


async def delete_record(request: Request) -> JSONResponse:
    """
    summary: Delete a record (a new revision; history stays). Needs If-Match.
    responses:
      200:
        description: Deleted.
      409:
        description: Stale revision.
      422:
        description: Other records still refer to it.
    """
    identity = await identify(request)
    collection, slug = record_key(request)
    require_write(identity, collection)
    if_match = parse_revision(request.headers.get("if-match"))
    body = await run_in_threadpool(
        apply_delete, services(request), identity, collection, slug, if_match
    )
    return JSONResponse(body)


async def record_history(request: Request) -> JSONResponse:
    """
    summary: Every revision of a record (author, role, time, hash, text).
    responses:
      200:
        description: The revisions, oldest first.
    """
    await identify(request)
    collection, slug = record_key(request)
    rows = await run_in_threadpool(services(request).store.history, collection, slug)
    if not rows:
        raise ApiError(404, f"there is no record {collection}/{slug}")
    for row in rows:
        row["deleted"] = bool(row["deleted"])
    return JSONResponse({"collection": collection, "slug": slug, "revisions": rows})


def apply_revert(
    svc: Services, identity: Identity, collection: str, slug: str, revision: int
) -> dict[str, Any]:
    with svc.workspace.lock:
        old = svc.store.revision(collection, slug, revision)
        current = svc.store.current(collection, slug)
        if old is None or current is None:
            raise ApiError(404, f"{collection}/{slug} has no revision {revision}")
        if old["deleted"]:
            if not current.deleted:
                unprocessable(
                    "other records still refer to this one",
                    svc.workspace.check_delete,
                    collection,
                    slug,
                )
            text, entry = "", None
        else:
            text = set_updated(old["text"], old["ext"], now())
            entry = unprocessable(
                "that revision is no longer valid",
                svc.workspace.prepare,
                collection,
                slug,
                text,
                old["ext"],
            )
        saved = svc.store.add_revision(
            collection=collection,
            slug=slug,
            text=text,
            ext=old["ext"],
            deleted=bool(old["deleted"]),
            action="revert",
            author=identity.name,
            role=identity.role,
            submitted_hash=text_hash(text),
        )
        if entry is not None:
            svc.workspace.save(entry, old["ext"])
        elif not current.deleted:
            svc.workspace.remove(collection, slug, current.ext)
    svc.store.audit(identity.name, "revert", saved.key, f"to revision {revision}")
    build = svc.publisher.request(f"revert {saved.key}@{revision}")
    return record_json(saved, reverted_to=revision, build={"id": build, "status": "queued"})


async def revert_record(request: Request) -> JSONResponse:
    """
    summary: Make an old revision current again (admin).
    requestBody:
      description: 'JSON {"revision": N}'
    responses:
      200:
        description: The new revision, a copy of the old one.
      403:
        description: Only admin may revert.
    """
    identity = await identify(request)
    collection, slug = record_key(request)
    if identity.role != "admin":
        raise ApiError(403, f"the role '{identity.role}' may not revert; only admin may")
    try:
        payload = json.loads(await read_body(request, MAX_RECORD_BYTES) or b"{}")
        revision = int(payload["revision"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, 'send JSON {"revision": <number>}') from None
    body = await run_in_threadpool(
        apply_revert, services(request), identity, collection, slug, revision
    )
    return JSONResponse(body)


async def changes(request: Request) -> JSONResponse:
    """
    summary: Every change after a sequence number, in order (the feed clients pull).
    parameters:
      - name: since
        in: query
        schema: {type: integer}
      - name: limit
        in: query
        schema: {type: integer}
    responses:
      200:
        description: "{changes: [...], last_seq, more}"
    """
    await identify(request)
    try:
        since = int(request.query_params.get("since", "0"))
        limit = min(max(int(request.query_params.get("limit", "500")), 1), 1000)
    except ValueError:
        raise ApiError(400, "since and limit must be whole numbers") from None
    store = services(request).store
    rows = await run_in_threadpool(store.changes, since, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        row["deleted"] = bool(row["deleted"])
    last = rows[-1]["seq"] if rows else max(since, 0)
    return JSONResponse({"changes": rows, "last_seq": last, "more": more})


async def upload_asset(request: Request) -> JSONResponse:
    """
    summary: Upload a campaign image (PNG, JPEG or WebP; checked by decoding; size-capped).
    requestBody:
      description: The image bytes, with Content-Type image/png, image/jpeg or image/webp.
    responses:
      201:
        description: '{"src": name to use in a campaign image.src, "size"}'
      413:
        description: Too large.
      415:
        description: Not a PNG, JPEG or WebP image.
    """
    identity = await identify(request)
    if not identity.may_upload():
        raise ApiError(403, f"the role '{identity.role}' may not upload images")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in IMAGE_TYPES:
        raise ApiError(415, "images must be sent as image/png, image/jpeg or image/webp")
    data = await read_body(request, MAX_ASSET_BYTES)
    expected, ext = IMAGE_TYPES[media_type]
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ApiError(415, f"the file is not a readable image: {exc}") from None
    if found != expected:
        raise ApiError(415, f"the file is {found}, not {expected} as its Content-Type says")
    digest = hashlib.sha256(data).hexdigest()
    name = f"{digest[:32]}{ext}"
    svc = services(request)

    def store_asset() -> None:
        svc.workspace.add_media(name, data)
        svc.store.add_asset(
            {
                "name": name,
                "hash": digest,
                "type": media_type,
                "size": len(data),
                "author": identity.name,
                "time": now().isoformat(),
            }
        )

    await run_in_threadpool(store_asset)
    return JSONResponse({"src": name, "size": len(data), "type": media_type}, status_code=201)


async def list_builds(request: Request) -> JSONResponse:
    """
    summary: Recent builds (id, trigger, status, duration, error).
    responses:
      200:
        description: Newest first.
    """
    await identify(request)
    svc = services(request)
    rows = await run_in_threadpool(svc.store.builds, 20)
    return JSONResponse({"builds": rows, "live": svc.publisher.live_build()})


async def start_build(request: Request) -> JSONResponse:
    """
    summary: Rebuild the whole site now (admin).
    responses:
      202:
        description: The id of the build that will run.
      403:
        description: Only admin may start a build.
    """
    identity = await identify(request)
    if identity.role != "admin":
        raise ApiError(403, f"the role '{identity.role}' may not start a build; only admin may")
    svc = services(request)
    build = svc.publisher.request(f"manual by {identity.name}", full=True)
    return JSONResponse({"build": {"id": build, "status": "queued"}}, status_code=202)


schemas = SchemaGenerator(
    {"openapi": "3.0.0", "info": {"title": "Pantau sync API", "version": "1.0"}}
)


async def openapi(request: Request) -> Response:
    """
    summary: This OpenAPI document.
    responses:
      200:
        description: OpenAPI 3 JSON.
    """
    return JSONResponse(schemas.get_schema(routes=request.app.routes))


API_ROUTES = [
    Route("/api/health", health, methods=["GET"]),
    Route("/api/openapi.json", openapi, methods=["GET"], include_in_schema=True),
    Route("/api/records/{collection}", list_records, methods=["GET"]),
    Route("/api/records/{collection}/{slug}", get_record, methods=["GET"]),
    Route("/api/records/{collection}/{slug}", put_record, methods=["PUT"]),
    Route("/api/records/{collection}/{slug}", delete_record, methods=["DELETE"]),
    Route("/api/records/{collection}/{slug}/history", record_history, methods=["GET"]),
    Route("/api/records/{collection}/{slug}/revert", revert_record, methods=["POST"]),
    Route("/api/changes", changes, methods=["GET"]),
    Route("/api/assets", upload_asset, methods=["POST"]),
    Route("/api/builds", list_builds, methods=["GET"]),
    Route("/api/builds", start_build, methods=["POST"]),
]


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return error_response(ApiError(exc.status_code, str(exc.detail), headers=exc.headers))
    return Response(str(exc.detail), status_code=exc.status_code, headers=exc.headers)


def create_app(svc: Services, live: Path) -> Starlette:
    app = Starlette(
        routes=[*API_ROUTES, Mount("/", live_site(live))],
        exception_handlers={ApiError: api_error, HTTPException: http_error},
    )
    app.state.services = svc
    return app
