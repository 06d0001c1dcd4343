"""Plan and render: list every output of a site, and turn one output into bytes while recording
what it read.

``make_plan`` indexes the content and lists every output without rendering anything;
``render_output`` renders one of them inside a dependency recorder (see ``deps``) and returns
its bytes with the keys it read. The incremental engine (``engine``) decides which outputs to
render; nothing here keeps state between builds except the fragments it is handed.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import deps, offline
from .deps import Fragments
from .errors import ContentError, Problem, TemplateError
from .exports import data_outputs, feed_entries
from .graph import History, SiteGraph, build_graph, href
from .i18n import _
from .load import Content, Entry, outside_link_problem
from .pages import (
    PHONE_FOLDER,
    PHONE_WIDTH,
    Output,
    folder_of,
    plan_pages,
    relative_link,
    render_context,
)
from .themes import make_environment, static_dirs, template_dirs, theme_dir


@dataclass
class SitePlan:
    """Every output of a site and the Jinja environment to render them with."""

    graph: SiteGraph
    env: jinja2.Environment
    template_dirs: list[Path]
    static_dirs: list[Path]
    outputs: list[Output]
    context: dict[str, Any] = field(default_factory=dict)
    assets: dict[str, Path] = field(default_factory=dict)
    theme: Path | None = None  # the theme's folder, whose templates/ and static/ may appear

    def by_path(self) -> dict[str, Output]:
        return {o.path: o for o in self.outputs}


def _template_error(exc: Exception, dirs: list[Path]) -> TemplateError:
    """Name the template and line where rendering failed."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(
            _("{file}:{line}: template error: {reason}").format(
                file=exc.filename or exc.name, line=exc.lineno, reason=exc
            )
        )
    roots = tuple(str(d) for d in dirs)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(roots):
            return TemplateError(
                _("{file}:{line}: template error: {reason}").format(
                    file=frame.filename, line=frame.lineno, reason=exc
                )
            )
    return TemplateError(_("template error: {reason}").format(reason=exc))


def extra_outputs(graph: SiteGraph) -> list[Output]:
    """Data exports, feeds, calendar, search index, app manifest and crawler files."""
    from .exports import calendar

    outputs = [
        *data_outputs(graph),
        Output(offline.SEARCH_PATH, make=lambda: offline.search_index(graph)),
        Output("manifest.webmanifest", make=lambda: offline.web_manifest(graph.site)),
        Output("tahapan.ics", make=lambda: calendar(graph)),
        Output("feed.xml", "feed.xml", lambda: {"entries": feed_entries(graph)}),
    ]
    if graph.content.site.base_url:
        outputs += [
            Output("sitemap.xml", "sitemap.xml", lambda: {"html_paths": graph.query("pages")}),
            Output("robots.txt", make=lambda: _robots(graph)),
        ]
    return outputs


def _robots(graph: SiteGraph) -> bytes:
    return f"User-agent: *\nAllow: /\nSitemap: {graph.site.base_url}sitemap.xml\n".encode()


def asset_sources(graph: SiteGraph, folders: list[Path]) -> dict[str, Path]:
    """Site path -> the file copied there: theme static files (a file found in a later folder
    wins) and content media."""
    found: dict[str, Path] = {}
    root = graph.content.root
    real_root = root.resolve()
    links: list[Problem] = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            # A file of the content folder (content/static/) that is, or lies in, a link
            # leading out of it is refused: nothing outside is published.
            if path.is_relative_to(root) and not path.resolve().is_relative_to(real_root):
                links.append(outside_link_problem(path))
            elif path.is_file():
                found[f"static/{path.relative_to(folder).as_posix()}"] = path
    if links:
        raise ContentError(links)
    media = graph.content.root / "media"
    for name in sorted(graph.content.media):
        found[f"media/{name}"] = media / name
    return found


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def asset_outputs(found: dict[str, Path]) -> list[Output]:
    """The copied files, a copy of each content image for phones, and the app icons."""
    outputs = [Output(site_path, make=_copy(site_path, path)) for site_path, path in found.items()]
    outputs += [
        Output(PHONE_FOLDER + site_path.removeprefix("media/"), make=_smaller(site_path, path))
        for site_path, path in found.items()
        if site_path.startswith("media/") and site_path.lower().endswith(IMAGE_SUFFIXES)
    ]
    outputs += [
        Output(f"static/icon-{size}.png", make=lambda size=size: offline.icon_png(size))
        for size in (192, 512)
    ]
    return outputs


def _copy(site_path: str, path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        # Which file is copied (a content/static file can take the place of a theme's) and
        # what it holds: see engine.Fingerprints.
        deps.note(f"f:{site_path}\t{path}")
        return path.read_bytes()

    return read


def _smaller(site_path: str, path: Path) -> Callable[[], bytes]:
    """An image at most PHONE_WIDTH pixels wide, in its own format (itself if no wider)."""

    def make() -> bytes:
        data = _copy(site_path, path)()
        from PIL import Image  # imported when a site has images: it is slow to load

        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.width <= PHONE_WIDTH:
                    return data
                kind = image.format or "PNG"
                image.thumbnail((PHONE_WIDTH, image.height), Image.Resampling.LANCZOS)
                out = io.BytesIO()
                options = {"optimize": True} if kind == "PNG" else {"quality": 80}
                image.save(out, format=kind, **options)
        except (OSError, ValueError, Image.DecompressionBombError):
            # A file put in content/media/ by hand that is not an image Pillow reads (the
            # API checks what it is sent): phones get it as it is, and the site still builds.
            return data
        return out.getvalue()

    return make


def _partials(plan: SitePlan) -> tuple[Callable[..., Markup], Callable[..., Markup]]:
    """partial("_stage_item.html", stage=entry): a template fragment for one record, rendered
    once per page folder (its links are relative) and reused while what it read is unchanged.
    partials(name, "stage", entries) does the same for a list, joined."""

    @jinja2.pass_context
    def partials(context: Any, name: str, var: str, entries: list[Entry]) -> Markup:
        # The loop runs in Python: a list page of thousands of records costs milliseconds
        # once its fragments are kept.
        page_path = context["page_path"]
        folder = posixpath.dirname(page_path)
        return plan.graph.fragments.combined(
            [
                (
                    (name, folder, var, e.key),
                    lambda e=e: Markup(_render(plan, name, {"page_path": page_path, var: e})),
                )
                for e in entries
            ],
            Markup("").join,
        )

    @jinja2.pass_context
    def partial(context: Any, name: str, **record: Entry) -> Markup:
        ((var, entry),) = record.items()
        return partials(context, name, var, [entry])  # type: ignore[no-any-return]

    return partial, partials


def make_plan(
    content: Content,
    today: dt.date,
    history: History | None = None,
    fragments: Fragments | None = None,
) -> SitePlan:
    """Index the content and list every output, rendering nothing yet."""
    graph = build_graph(content, today, history, fragments or Fragments())
    theme = theme_dir(content.site.theme, content.root)
    dirs = template_dirs(theme, content.root)
    statics = static_dirs(theme, content.root)
    assets = asset_sources(graph, statics)
    outputs = plan_pages(graph) + extra_outputs(graph) + asset_outputs(assets)
    plan = SitePlan(
        graph, make_environment(dirs), dirs, statics, outputs, assets=assets, theme=theme
    )
    partial, partials = _partials(plan)
    plan.context = {**render_context(graph), "partial": partial, "partials": partials}
    html = [o.path for o in outputs if o.path.endswith(".html") and o.path != "404.html"]
    graph.answers[("pages", "")] = html
    return plan


def _render(plan: SitePlan, template: str, context: dict[str, Any]) -> str:
    deps.note("site")  # every render can read the settings (``site`` in its context)
    try:
        return plan.env.get_template(template).render({**plan.context, **context})
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError) as exc:
        # A mistake in a template, named by its file and line rather than a traceback.
        raise _template_error(exc, plan.template_dirs) from None


def render_output(plan: SitePlan, output: Output, **extra: Any) -> tuple[bytes, frozenset[str]]:
    """One output's bytes and every key it read while rendering."""
    with deps.recording() as keys:
        if output.make is not None:
            data = output.make()
        elif output.template is not None:
            graph = plan.graph
            context = {
                "page_path": output.path,
                "data_time": lambda: graph.newest_of(deps.current() or set()),
                **(output.context() if output.context else {}),
                **extra,
            }
            data = _render(plan, output.template, context).encode("utf-8")
        else:
            raise TemplateError(f"{output.path}: has neither a template nor a maker")
    return data, frozenset(keys)


def record_page(
    content: Content,
    entry: Entry,
    today: dt.date,
    history: History | None = None,
    media_url: str | None = None,
) -> bytes:
    """A record's page as the builder renders it, with ``entry`` in place of the record's
    current text, for a preview sent from another address (so it carries a base, as the 404
    page does) and a note that it is a preview. A draft, or a record scheduled for later or
    expired, is shown as published. With ``media_url``, the record's poster is linked there
    (where the preview's server sends the content's media files)."""
    shown = replace(
        entry,
        data=entry.data.model_copy(update={"draft": False, "publish_at": None, "expire_at": None}),
    )
    plan = make_plan(content.with_entry(shown), today, history)
    try:
        output = plan.by_path()[href(shown)]
        page = render_output(plan, output, served_anywhere=True, preview=True)[0]
    finally:
        plan.context = {}  # its template helpers name the plan: a cycle, broken at once
    image = getattr(shown.data, "image", None)
    if media_url is None or image is None:
        return page
    # A poster uploaded a moment ago is not on the live site yet: the preview shows the
    # uploaded file, from media_url.
    here = folder_of(output.path)
    for site_path in (f"media/{image.src}", f"{PHONE_FOLDER}{image.src}"):
        link = f'"{relative_link(here, site_path)}"'.encode()
        page = page.replace(link, f'"{media_url}{image.src}"'.encode())
    return page


#: Pages also sent for addresses they do not live at, so the site gives them a base; the copies
#: in the zip are opened only at their own address and are made without it.
SERVED_ANYWHERE = ("404.html", offline.OFFLINE_PAGE)


def download_copy(
    plan: SitePlan,
    others: list[str],
    read: Callable[[str], bytes],
    size_of: Callable[[str], int],
    target: Path,
    unchanged: Callable[[str, zipfile.ZipInfo], bool] = lambda path, info: False,
    previous_zip: Path | None = None,
    parts: list[Path] | None = None,
) -> tuple[bytes, frozenset[str]]:
    """The downloadable zip of every other file, and the data page, which shows the zip's
    size and the size of each file it lists. The copy of the data page inside the zip leaves
    the zip out (whoever reads it has the zip already, and it is not in itself) and says where
    the published site is instead, so the zip never depends on its own size and is made once.
    The 404 and offline pages in the zip are made for their own address (see SERVED_ANYWHERE).
    Files this build compressed already (``parts``, see offline.ZipParts) and files for which
    ``unchanged`` holds (from ``previous_zip``) are copied still compressed.
    The zip is written to ``target``; returns the data page and the keys it read."""
    outputs = plan.by_path()
    data_page = outputs[offline.DATA_PAGE]
    # The data exports, calendar and feed: the few files at the top of the site or of data/.
    sizes = {
        path: offline.size_label(size_of(path))
        for path in others
        if posixpath.dirname(path) in ("", "data") and not path.endswith(".html")
    }
    inside = {
        path: render_output(plan, outputs[path], in_copy=True)[0]
        for path in SERVED_ANYWHERE
        if path in others and path in outputs
    }
    inside[offline.DATA_PAGE], _keys = render_output(
        plan, data_page, zip_size="", sizes=sizes, in_copy=True
    )
    members = [*(p for p in others if p not in offline.ZIP_EXCLUDES), offline.DATA_PAGE]
    offline.make_zip(
        target,
        members,
        lambda p: inside[p] if p in inside else read(p),
        [
            *((part, lambda p, info: p not in inside) for part in parts or []),
            (previous_zip, lambda p, info: p not in inside and unchanged(p, info)),
        ],
    )
    zip_size = offline.size_label(target.stat().st_size)
    page, page_keys = render_output(plan, data_page, zip_size=zip_size, sizes=sizes, in_copy=False)
    return page, page_keys


def service_worker(
    plan: SitePlan, hashes: dict[str, str], sizes: dict[str, int]
) -> tuple[bytes, frozenset[str]]:
    """sw.js, which lists the content hash of every file it precaches, and the keys it read."""
    budget = plan.graph.content.site.precache_budget_kb * 1024
    precache = offline.precache_list(hashes, sizes, budget)
    version = offline.digest("\n".join(f"{p} {hashes[p]}" for p in sorted(hashes)).encode())
    with deps.recording() as keys:
        worker = _render(
            plan,
            "sw.js",
            {
                "version": version,
                "offline_page": offline.OFFLINE_PAGE,
                "precache": [[p, hashes[p]] for p in precache],
                "everything": len(precache)
                == len([p for p in hashes if p not in offline.NOT_PRECACHED]),
            },
        )
    keys.add("site")  # the precache budget
    return worker.encode("utf-8"), frozenset(keys)
