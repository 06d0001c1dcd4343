"""The browser editor at /redaksi/: signing in and out (a session cookie, see ``sessions``),
the editor's page and its own files. The editor itself is a script that works through the
same API as the command-line client, so every rule of the API (roles, validation, history,
no silent overwrite) holds for it too."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import urllib.parse
from pathlib import Path
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from site_builder.errors import BuildError, ContentError
from site_builder.forms import form
from site_builder.i18n import using
from site_builder.models import COLLECTIONS, WITA, writable
from site_builder.render import IMAGE_SUFFIXES, record_page
from site_builder.skeletons import localised
from site_builder.write import safe_join

from .access import (
    EDITOR_PREFIX,
    SessionUser,
    TokenUser,
    client_address,
    same_site,
    signed_in,
    who,
)
from .client import fields_of
from .errors import RequestError, TooLarge
from .inputs import MAX_RECORD_BYTES, json_body, read_body, record_key, record_text
from .publisher import history_of
from .services import services
from .sessions import COOKIE, CSRF_FIELD, DAYS, close_session, csrf_matches, open_session

HERE = Path(__file__).parent / "editor"
SIGN_IN = EDITOR_PREFIX + "masuk"
#: Above this many records a reference field's choices are not sent with the form (a site of
#: thousands of stages would make it hundreds of kilobytes): the editor searches them.
MAX_OPTIONS = 100
#: A sign-in or sign-out form is a few hundred bytes.
MAX_FORM_BYTES = 4096

_pages = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _pages.get_template(name).render(**values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def _form(request: Request, cap: int = MAX_FORM_BYTES) -> dict[str, str]:
    """A url-encoded form's fields (the last value of each); none if it passes ``cap``."""
    try:
        body = await read_body(request, cap)
    except TooLarge:
        return {}
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return {}
    return dict(pairs)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def sign_in_page(request: Request) -> Response:
    if isinstance(request.user, SessionUser):
        return RedirectResponse(EDITOR_PREFIX, status_code=303)
    return _page("masuk.html", error=None)


async def sign_in(request: Request) -> Response:
    """Trade a token for a session; the token is never kept by the page or the browser."""
    svc = services(request)
    if not same_site(request):
        # Another site may not sign a browser in (with its own token, to collect its edits).
        return _page("masuk.html", status=403, error="Masuk hanya dari halaman ini.")
    token = (await _form(request)).get("token", "").strip()
    address = client_address(request)
    wait = svc.limiter.retry_after(address, token)
    if wait:
        error = f"Terlalu banyak percobaan yang gagal. Coba lagi dalam {wait} detik."
        return _page("masuk.html", status=429, error=error)
    opened = await run_in_threadpool(open_session, svc.store, token) if token else None
    if opened is None:
        svc.limiter.failed(address, token)
        error = "Token tidak dikenal, sudah dicabut, atau sudah kedaluwarsa."
        return _page("masuk.html", status=401, error=error)
    key, _session = opened
    response = RedirectResponse(EDITOR_PREFIX, status_code=303)
    response.set_cookie(
        COOKIE,
        key,
        max_age=DAYS * 24 * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


async def sign_out(request: Request) -> Response:
    user = request.user
    form = await _form(request)
    if isinstance(user, SessionUser):
        if not csrf_matches(user.session, form.get(CSRF_FIELD)):
            return _page("masuk.html", status=403, error="Formulir keluar ini tidak sah.")
        await run_in_threadpool(close_session, services(request).store, user.session)
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def editor_page(request: Request) -> Response:
    if not isinstance(request.user, SessionUser):
        return RedirectResponse(SIGN_IN, status_code=303)
    return _page("index.html")


async def preview(request: Request) -> Response:
    """A record's page as the builder renders it from the text in the editor (not saved), in
    a tab of its own: a form post with the session's CSRF key and the record's ``text`` or
    its form's ``fields`` (JSON). A text that does not validate gets its problems instead,
    in Indonesian like the rest of the editor."""
    user = request.user
    if not isinstance(user, SessionUser):
        return RedirectResponse(SIGN_IN, status_code=303)
    with using("id"):
        return await _preview(request, user)


async def _preview(request: Request, user: SessionUser) -> Response:
    try:
        collection, slug = record_key(request)
        form = await _form(request, MAX_RECORD_BYTES)
        if not csrf_matches(user.session, form.get(CSRF_FIELD)):
            return _page("masalah.html", status=403, problems=["Formulir pratinjau ini tidak sah."])
        if not user.who.may_write(collection):
            problem = f"Peran {user.who.role} tidak boleh mengubah {COLLECTIONS[collection].label}."
            return _page("masalah.html", status=403, problems=[problem])
        fields = json_body(form["fields"].encode()) if "fields" in form else None
    except RequestError as exc:
        return _page("masalah.html", status=400, problems=[exc.message])
    body = json.dumps({"fields": fields} if fields is not None else form).encode()
    svc = services(request)

    def render() -> bytes:
        current = svc.store.current(collection, slug)
        ext = current.ext if current is not None and not current.deleted else ".md"
        text, given = record_text(body, "application/json", lambda: ext)
        moment = dt.datetime.now(WITA)
        entry = svc.workspace.prepare(collection, slug, text, given or ext)
        history = history_of(svc.store, moment=moment)
        content = svc.workspace.snapshot()
        return record_page(content, entry, moment, history, media_url=EDITOR_PREFIX + "media/")

    try:
        html = await run_in_threadpool(render)
    except RequestError as exc:
        return _page("masalah.html", status=400, problems=[exc.message])
    except ContentError as exc:
        problems = [f"{p.field}: {p.message}" if p.field else p.message for p in exc.problems]
        return _page("masalah.html", status=422, problems=problems)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def media_file(request: Request) -> Response:
    """A file of the content's media folder, for previews of records whose poster is not
    published yet (signed-in sessions only)."""
    if not isinstance(request.user, SessionUser):
        return Response(status_code=404)
    name = request.path_params["name"]
    folder = services(request).workspace.root / "media"
    try:
        path = safe_join(folder, name)
    except (BuildError, ValueError):  # outside the folder, or a NUL in the name
        return Response(status_code=404)
    if not name.lower().endswith(IMAGE_SUFFIXES) or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "no-store"})


@signed_in
async def session_info(request: Request) -> JSONResponse:
    """
    summary: Who is signed in, with which role, what they may edit, and (for a browser
      session) the CSRF key its changes must send in X-CSRF-Token.
    responses:
      200:
        description: "{name, role, collections (those it may edit), labels (of every
          collection), csrf}"
      401:
        description: No valid token or session.
    """
    identity = who(request)
    user = request.user
    assert isinstance(user, TokenUser)
    return JSONResponse(
        {
            "name": identity.name,
            "role": identity.role,
            "collections": sorted(writable(identity.role)),
            "labels": {name: spec.label for name, spec in COLLECTIONS.items()},
            "csrf": user.session.csrf if isinstance(user, SessionUser) else None,
        },
        headers={"Cache-Control": "no-store"},
    )


@signed_in
async def record_form(request: Request) -> JSONResponse:
    """
    summary: The browser editor's form for a collection, made from its model (labels and help
      in Indonesian), with the choices its reference fields offer.
    responses:
      200:
        description: "{collection, label, url, fields, skeleton: {text, data}}; see
          site_builder.forms for a field's shape. A reference to a collection of over 100
          records has search (the collection to look up) instead of options."
      404:
        description: No such collection.
    """
    collection, _slug = record_key(request)
    svc = services(request)

    def make() -> dict[str, Any]:
        content = svc.workspace.snapshot()
        fields = form(collection)
        for field in _all(fields):
            source = field.pop("source", None)
            if source == "regions":
                field["options"] = [[r.slug, r.name] for r in content.regions.values()]
            elif len(entries := content.entries.get(source or "", {})) > MAX_OPTIONS:
                field["search"] = source  # the editor looks them up as the member types
            elif source is not None:
                field["options"] = [[e.slug, _title(e.record)] for e in entries.values()]
        spec = COLLECTIONS[collection]
        with using("id"):
            text = localised(spec.skeleton)  # a new record starts as `pantau new` starts it
        return {
            "collection": collection,
            "label": spec.label,
            "url": spec.url,
            "fields": fields,
            "skeleton": {"text": text, "data": written_fields(text, ".md")},
        }

    return JSONResponse(await run_in_threadpool(make))


def written_fields(text: str, ext: str) -> dict[str, Any]:
    """The fields a record's file itself writes (not the model's defaults), as JSON values:
    what the editor's form starts from and sends back, changed where the member changed it."""
    data = fields_of(text, ext)
    return json.loads(json.dumps(data, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


def _all(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for f in fields for x in (f, *_all(f.get("fields", [])))]


def _title(record: Any) -> str:
    return str(getattr(record, "title", None) or getattr(record, "name", ""))


@functools.cache
def _worker_script() -> bytes:
    """The service worker, its cache named by a digest of the editor's files (so a new
    version of the editor replaces the old one in the browser). The files come with the
    program: read once per process, not at every page's update check."""
    files = [*sorted((HERE / "static").iterdir()), HERE / "templates" / "index.html"]
    digest = hashlib.blake2b(digest_size=8)
    for path in files:
        digest.update(path.read_bytes())
    script = (HERE / "static" / "sw.js").read_text(encoding="utf-8")
    return script.replace("__VERSION__", digest.hexdigest()).encode("utf-8")


async def service_worker(request: Request) -> Response:
    return Response(
        await run_in_threadpool(_worker_script),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


#: The editor's pages (not the API: they are left out of its OpenAPI document).
EDITOR_ROUTES = [
    Route(
        EDITOR_PREFIX.rstrip("/"),
        lambda request: RedirectResponse(EDITOR_PREFIX, 308),
        include_in_schema=False,
    ),
    Route(EDITOR_PREFIX, editor_page, methods=["GET"], include_in_schema=False),
    Route(SIGN_IN, sign_in_page, methods=["GET"], include_in_schema=False),
    Route(SIGN_IN, sign_in, methods=["POST"], include_in_schema=False),
    Route(EDITOR_PREFIX + "keluar", sign_out, methods=["POST"], include_in_schema=False),
    Route(
        EDITOR_PREFIX + "pratinjau/{collection}/{slug}",
        preview,
        methods=["POST"],
        include_in_schema=False,
    ),
    Route(EDITOR_PREFIX + "sw.js", service_worker, methods=["GET"], include_in_schema=False),
    Route(
        EDITOR_PREFIX + "media/{name:path}", media_file, methods=["GET"], include_in_schema=False
    ),
    Mount(EDITOR_PREFIX + "aset", StaticFiles(directory=HERE / "static"), name="editor-files"),
]
