"""The API's endpoints: each reads its request, runs the work in a worker thread (never on
the event loop: the public site and /api/health answer whatever an update costs), and turns
the outcome into JSON. Authentication and roles are declared with `signed_in` and `needs`;
errors are raised as the server's own and answered by http_errors."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.authentication import has_required_scope
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from site_builder.i18n import N_, _

from .access import ADMIN, UPLOAD, needs, signed_in, who, write_scope
from .builds import Pin
from .client import three_way
from .editor import record_form, session_info, written_fields
from .errors import Forbidden, NotFound
from .hooks import AfterBuild
from .images import MAX_ASSET_BYTES, check_image, image_type
from .inputs import (
    MAX_RECORD_BYTES,
    feed_window,
    list_query,
    media_type,
    merge_request,
    read_body,
    record_key,
    record_text,
    revert_revision,
    revision_header,
)
from .openapi import api_document
from .records import Outcome
from .services import Services, services
from .store import SETTINGS, Current, now
from .workspace import SETTINGS_FILES


def may_write(request: Request, collection: str) -> None:
    if not has_required_scope(request, [write_scope(collection)]):
        raise Forbidden(
            _("the role '{role}' may not change {collection}").format(
                role=who(request).role, collection=collection
            )
        )


def etag(revision: int) -> str:
    return f'"{revision}"'


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


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    extra: dict[str, Any]
    if outcome.replayed:
        extra = {"replayed": True, "build": {"id": outcome.build}}
    elif outcome.unchanged:
        extra = {"unchanged": True, "build": {"id": outcome.build}}
    else:
        extra = {"build": {"id": outcome.build, "status": "queued"}}
    if outcome.reverted_to is not None:
        extra["reverted_to"] = outcome.reverted_to
    return record_json(outcome.current, **extra)


async def health(request: Request) -> JSONResponse:
    """
    summary: Liveness, the last sequence number, the build being served and whether
      publishing is pinned to it.
    responses:
      200:
        description: The server is up ("ok", or "starting" while it loads the content).
      503:
        description: '"degraded": the last build failed, a record file cannot be written,
          or the after-build command failed; "problems" says which, one sentence each.'
    """
    # Read from memory only (and the small pin file): no lock, no thread, so it answers
    # whatever else is going on. Anyone may ask; the reasons (build errors, refused files)
    # are for token holders.
    svc = services(request)
    detailed = request.user.is_authenticated
    problems = svc.problems(detailed)
    hook = svc.publisher.after_build
    if isinstance(hook, AfterBuild) and hook.problem is not None:
        problems.append(hook.problem.sentence())
    status = "starting" if not svc.ready.is_set() else "degraded" if problems else "ok"
    body = {
        "status": status,
        "last_seq": svc.store.latest_seq,
        "live_build": svc.publisher.live_build(),
        "pinned": pin_json(svc.publisher.pinned()),
        "problems": problems,
        "notices": list(svc.workspace.notices) if detailed else [],
    }
    return JSONResponse(body, status_code=503 if status == "degraded" else 200)


def pin_json(pin: Pin | None) -> dict[str, Any] | None:
    """A pin set by `pantau builds rollback`, with a sentence saying what it means."""
    if pin is None:
        return None
    return {"build": pin.build, "since": pin.since, "message": pin.sentence()}


@signed_in
async def list_records(request: Request) -> JSONResponse:
    """
    summary: The current records of a collection, with their revisions; all of them, or a
      page of those whose title or slug holds the words of q (only drafts with draft=1,
      only the others with draft=0).
    parameters:
      - name: q
        in: query
        schema: {type: string}
      - name: offset
        in: query
        schema: {type: integer}
      - name: limit
        in: query
        schema: {type: integer}
      - name: brief
        in: query
        schema: {type: integer, enum: [0, 1]}
      - name: draft
        in: query
        schema: {type: integer, enum: [0, 1]}
    responses:
      200:
        description: '{collection, total (how many match), records: [{slug, revision, hash,
          fields}]}; with brief=1 each record is {slug, revision, title, draft}.'
      401:
        description: No valid token.
    """
    collection, _ = record_key(request)
    wanted = list_query(dict(request.query_params))
    svc = services(request)

    def rows() -> tuple[int, list[dict[str, Any]]]:
        content = svc.workspace.snapshot()
        entries = content.entries.get(collection, {})
        matching = []
        for slug, revision, text_hash in svc.store.heads(collection):
            entry = entries.get(slug)
            record = entry.data if entry is not None else None
            title = str(getattr(record, "title", None) or getattr(record, "name", "") or "")
            draft = bool(getattr(record, "draft", False))
            if wanted.words not in f"{title} {slug}".lower():
                continue
            if wanted.drafts is not None and draft != wanted.drafts:
                continue
            matching.append((slug, revision, text_hash, record, title, draft))
        end = None if wanted.limit is None else wanted.offset + wanted.limit
        found = []
        for slug, revision, text_hash, record, title, draft in matching[wanted.offset : end]:
            item: dict[str, Any] = {"slug": slug, "revision": revision}
            if wanted.brief:
                item |= {"title": title, "draft": draft}
            else:
                fields = record.model_dump(mode="json", exclude={"body"}) if record else {}
                item |= {"hash": text_hash, "fields": fields}
            found.append(item)
        return len(matching), found

    total, records = await run_in_threadpool(rows)
    return JSONResponse({"collection": collection, "total": total, "records": records})


@signed_in
async def get_record(request: Request) -> JSONResponse:
    """
    summary: One record's file text and fields; the revision is also the ETag.
    responses:
      200:
        description: "{collection, slug, revision, text, fields (the model's values), data
          (the fields the file itself writes)}"
      404:
        description: No such record.
    """
    collection, slug = record_key(request)
    svc = services(request)

    def read() -> tuple[Current | None, dict[str, Any]]:
        current = svc.store.current(collection, slug)
        entry = svc.workspace.snapshot().entries.get(collection, {}).get(slug)
        return current, entry.record.model_dump(mode="json") if entry else {}

    current, fields = await run_in_threadpool(read)
    if current is None or current.deleted:
        raise NotFound(_("there is no record {key}").format(key=f"{collection}/{slug}"))
    data = written_fields(current.text, current.ext)
    return JSONResponse(
        record_json(current, fields=fields, data=data), headers={"ETag": etag(current.revision)}
    )


@signed_in
async def put_record(request: Request) -> JSONResponse:
    """
    summary: Create (If-None-Match *) or update (If-Match revision) a record from its file text.
    requestBody:
      description: 'The file text (text/markdown or application/yaml), JSON {"text": ...},
        or JSON {"fields": {...}} (written as the record file, in its format).'
    responses:
      200:
        description: Updated, and which build will publish it; or, for a text identical to
          the current revision's, that revision as it is with "unchanged" true (nothing is
          recorded or rebuilt).
      201:
        description: Created.
      409:
        description: Stale revision; the body holds the current text and revision.
      422:
        description: Invalid; details are file:line field messages.
      428:
        description: Neither If-Match nor If-None-Match was sent.
    """
    collection, slug = record_key(request)
    may_write(request, collection)
    create = request.headers.get("if-none-match", "").strip() == "*"
    if_match = revision_header(request.headers.get("if-match"))
    body = await read_body(request, MAX_RECORD_BYTES)
    svc = services(request)

    def put() -> Outcome:
        def own_ext() -> str:
            current = svc.store.current(collection, slug)
            return current.ext if current is not None else ".md"

        text, ext = record_text(body, media_type(request), own_ext)
        return svc.records.put(who(request), collection, slug, text, ext, if_match, create)

    outcome = await anyio.to_thread.run_sync(put, limiter=svc.writes)
    return JSONResponse(
        outcome_json(outcome),
        status_code=201 if outcome.created else 200,
        headers={"ETag": etag(outcome.current.revision)},
    )


@signed_in
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
    collection, slug = record_key(request)
    may_write(request, collection)
    if_match = revision_header(request.headers.get("if-match"))
    svc = services(request)
    outcome = await anyio.to_thread.run_sync(
        svc.records.delete, who(request), collection, slug, if_match, limiter=svc.writes
    )
    return JSONResponse(outcome_json(outcome))


@signed_in
async def record_history(request: Request) -> JSONResponse:
    """
    summary: Every revision of a record (author, role, time, hash, text).
    responses:
      200:
        description: The revisions, oldest first.
    """
    collection, slug = record_key(request)
    rows = await run_in_threadpool(services(request).store.history, collection, slug)
    if not rows:
        raise NotFound(_("there is no record {key}").format(key=f"{collection}/{slug}"))
    for row in rows:
        row["deleted"] = bool(row["deleted"])
    return JSONResponse({"collection": collection, "slug": slug, "revisions": rows})


@needs(ADMIN, N_("revert; only admin may"))
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
    collection, slug = record_key(request)
    body = await read_body(request, MAX_RECORD_BYTES)
    svc = services(request)

    def revert() -> Outcome:
        revision = revert_revision(body)
        return svc.records.revert(who(request), collection, slug, revision)

    outcome = await anyio.to_thread.run_sync(revert, limiter=svc.writes)
    return JSONResponse(outcome_json(outcome))


@signed_in
async def merge_record(request: Request) -> JSONResponse:
    """
    summary: Merge an edit made from an older revision into the record as it is now, field
      by field, with the three-way merge `pantau sync` uses (nothing is saved).
    requestBody:
      description: 'JSON {"base": N, "fields": {...}}: the revision the edit started from and
        the fields as edited (or "text": the record file as edited).'
    responses:
      200:
        description: '{revision (the current one, to send as If-Match), merged (the fields),
          conflicts: [{field, base, local, server}] for fields changed on both sides (merged
          holds the local value until the member chooses)}'
      404:
        description: No such record or revision.
    """
    collection, slug = record_key(request)
    may_write(request, collection)
    body = await read_body(request, MAX_RECORD_BYTES)
    svc = services(request)

    def merge() -> dict[str, Any]:
        base, edit = merge_request(body)
        current = svc.store.current(collection, slug)
        old = svc.store.revision(collection, slug, base)
        if current is None or current.deleted or old is None:
            key = f"{collection}/{slug}"
            raise NotFound(
                _("there is no revision {revision} of {key}").format(revision=base, key=key)
            )
        base_fields = written_fields(old["text"], old["ext"])
        server = written_fields(current.text, current.ext)
        local = written_fields(edit, current.ext) if isinstance(edit, str) else edit
        merged, conflicts = three_way(base_fields, local, server)
        return {
            "revision": current.revision,
            "merged": merged,
            "conflicts": [
                {
                    "field": name,
                    "base": base_fields.get(name),
                    "local": local.get(name),
                    "server": server.get(name),
                }
                for name in conflicts
            ],
        }

    return JSONResponse(await run_in_threadpool(merge))


def settings_name(request: Request) -> str:
    name = request.path_params["name"]
    if name not in SETTINGS_FILES:
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise NotFound(
            _("there are no settings '{name}'").format(name=shown), sorted(SETTINGS_FILES)
        )
    return str(name)


@signed_in
async def get_settings(request: Request) -> JSONResponse:
    """
    summary: A settings file's text (site.yaml or regions.yaml); the revision is the ETag.
    responses:
      200:
        description: "{collection: settings, slug: name, revision, text, file}"
    """
    name = settings_name(request)
    current = await run_in_threadpool(services(request).records.settings, name)
    return JSONResponse(
        record_json(current, file=SETTINGS_FILES[name]), headers={"ETag": etag(current.revision)}
    )


@needs(ADMIN, N_("change the site's settings; only admin may"))
async def put_settings(request: Request) -> JSONResponse:
    """
    summary: Change a settings file (admin), with If-Match the revision the edit is based on.
    requestBody:
      description: 'The file text (application/yaml), or JSON {"text": ...}.'
    responses:
      200:
        description: The new revision, and which build will publish it.
      403:
        description: Only admin may change the settings.
      409:
        description: Stale revision; the body holds the current text and revision.
      422:
        description: Invalid, or a record names a region that would be gone.
      428:
        description: No If-Match was sent.
    """
    name = settings_name(request)
    if_match = revision_header(request.headers.get("if-match"))
    body = await read_body(request, MAX_RECORD_BYTES)
    svc = services(request)

    def put() -> Outcome:
        text, _ = record_text(body, media_type(request))
        return svc.records.put_settings(who(request), name, text, if_match)

    outcome = await anyio.to_thread.run_sync(put, limiter=svc.writes)
    return JSONResponse(outcome_json(outcome), headers={"ETag": etag(outcome.current.revision)})


@signed_in
async def settings_history(request: Request) -> JSONResponse:
    """
    summary: Every revision of a settings file (author, role, time, hash, text).
    responses:
      200:
        description: The revisions, oldest first.
    """
    name = settings_name(request)
    rows = await run_in_threadpool(services(request).records.settings_history, name)
    for row in rows:
        row["deleted"] = bool(row["deleted"])
    return JSONResponse({"collection": SETTINGS, "slug": name, "revisions": rows})


@signed_in
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
    since, limit = feed_window(dict(request.query_params))
    rows = await run_in_threadpool(services(request).store.changes, since, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        row["deleted"] = bool(row["deleted"])
    last = rows[-1]["seq"] if rows else since
    return JSONResponse({"changes": rows, "last_seq": last, "more": more})


@needs(UPLOAD, N_("upload images"))
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
    svc = services(request)
    identity = who(request)
    kind = media_type(request)
    image_type(kind)  # refuse another type before reading the body
    async with svc.uploads:  # a bounded number of uploads is read and decoded at once
        data = await read_body(request, MAX_ASSET_BYTES)
        asset = await run_in_threadpool(check_image, data, kind)

    def store() -> None:
        svc.workspace.add_media(asset.name, data)
        svc.store.add_asset(
            {
                "name": asset.name,
                "hash": asset.digest,
                "type": asset.media_type,
                "size": asset.size,
                "author": identity.name,
                "time": now().isoformat(),
            }
        )

    await run_in_threadpool(store)
    return JSONResponse(
        {"src": asset.name, "size": asset.size, "type": asset.media_type}, status_code=201
    )


@signed_in
async def list_builds(request: Request) -> JSONResponse:
    """
    summary: Recent builds (id, trigger, status, duration, error).
    responses:
      200:
        description: Newest first.
    """
    svc = services(request)
    rows = await run_in_threadpool(svc.store.builds, 20)
    return JSONResponse(
        {
            "builds": rows,
            "live": svc.publisher.live_build(),
            "pinned": pin_json(svc.publisher.pinned()),
        }
    )


@needs(ADMIN, N_("start a build; only admin may"))
async def start_build(request: Request) -> JSONResponse:
    """
    summary: Rebuild the whole site now (admin).
    responses:
      202:
        description: The id of the build that will run.
      403:
        description: Only admin may start a build.
    """
    svc: Services = services(request)
    trigger = f"manual by {who(request).name}"
    build = await run_in_threadpool(svc.publisher.request, trigger, True)
    return JSONResponse({"build": {"id": build, "status": "queued"}}, status_code=202)


async def openapi(request: Request) -> Response:
    """
    summary: This OpenAPI document.
    responses:
      200:
        description: OpenAPI 3 JSON.
    """
    return JSONResponse(api_document(request.app.routes))


async def no_such_endpoint(request: Request) -> Response:
    """Any other path under /api/: 405 naming the methods the path takes, or 404 (in JSON,
    rather than the public site's page)."""
    path = request.url.path
    allowed = sorted(
        {m for route in API_ROUTES if route.path_regex.match(path) for m in route.methods or ()}
    )
    if allowed:
        raise HTTPException(405, headers={"Allow": ", ".join(allowed)})
    raise HTTPException(404)


#: Answered while the server starts and without a token.
PUBLIC_PATHS = frozenset({"/api/health", "/api/openapi.json"})

API_ROUTES = [
    Route("/api/health", health, methods=["GET"]),
    Route("/api/openapi.json", openapi, methods=["GET"], include_in_schema=True),
    Route("/api/session", session_info, methods=["GET"]),
    Route("/api/forms/{collection}", record_form, methods=["GET"]),
    Route("/api/records/{collection}", list_records, methods=["GET"]),
    Route("/api/records/{collection}/{slug}", get_record, methods=["GET"]),
    Route("/api/records/{collection}/{slug}", put_record, methods=["PUT"]),
    Route("/api/records/{collection}/{slug}", delete_record, methods=["DELETE"]),
    Route("/api/records/{collection}/{slug}/history", record_history, methods=["GET"]),
    Route("/api/records/{collection}/{slug}/revert", revert_record, methods=["POST"]),
    Route("/api/records/{collection}/{slug}/merge", merge_record, methods=["POST"]),
    Route("/api/settings/{name}", get_settings, methods=["GET"]),
    Route("/api/settings/{name}", put_settings, methods=["PUT"]),
    Route("/api/settings/{name}/history", settings_history, methods=["GET"]),
    Route("/api/changes", changes, methods=["GET"]),
    Route("/api/assets", upload_asset, methods=["POST"]),
    Route("/api/builds", list_builds, methods=["GET"]),
    Route("/api/builds", start_build, methods=["POST"]),
]
API_FALLBACK = Route("/api/{rest:path}", no_such_endpoint, include_in_schema=False)
