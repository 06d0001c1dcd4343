"""One build function with named phases: load, graph, plan, render, write.

``plan_site`` lists every output with the records and templates it reads, without rendering;
``render`` turns a chosen list of outputs into bytes. A full build renders all of them; the
sync server re-renders only the outputs that read a changed record (``Output.reads``).
"""

from __future__ import annotations

import datetime as dt
import posixpath
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import offline
from .cache import RenderCache
from .dates import today_wita
from .errors import TemplateError
from .exports import calendar, data_outputs, feed_entries
from .graph import History, SiteGraph, build_graph
from .load import Content, Entry, load_content
from .models import COLLECTIONS
from .pages import Output, global_context, plan_pages
from .themes import make_environment, static_dirs, template_closure, template_dirs, theme_dir
from .write import write_site


@dataclass(frozen=True)
class BuildResult:
    """What a build produced."""

    out: Path
    outputs: list[Output]
    files: dict[str, bytes]
    seconds: float

    @property
    def pages(self) -> int:
        return sum(1 for path in self.files if path.endswith(".html"))

    def summary(self) -> str:
        size = sum(len(data) for data in self.files.values())
        search = len(self.files.get(offline.SEARCH_PATH, b""))
        return (
            f"Built {self.pages} pages, {len(self.files)} files ({size / 1024:.0f} KB; "
            f"search index {search / 1024:.1f} KB) into {self.out} in {self.seconds:.2f} s"
        )


def _template_error(exc: Exception, dirs: list[Path]) -> TemplateError:
    """Name the template and line where rendering failed."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc}")
    roots = tuple(str(d) for d in dirs)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(roots):
            return TemplateError(f"{frame.filename}:{frame.lineno}: template error: {exc}")
    return TemplateError(f"template error: {exc}")


def extra_outputs(graph: SiteGraph) -> list[Output]:
    """Data exports, feeds, calendar, search index, app manifest and crawler files."""
    site = graph.content.site
    everything = frozenset({"site", "regions", *(f"{name}/*" for name in COLLECTIONS)})
    outputs = [
        *data_outputs(graph),
        Output(offline.SEARCH_PATH, records=everything, make=lambda: offline.search_index(graph)),
        Output(
            "manifest.webmanifest",
            records=frozenset({"site"}),
            make=lambda: offline.web_manifest(site),
        ),
        Output("tahapan.ics", records=frozenset({"stages/*"}), make=lambda: calendar(graph)),
        Output(
            "feed.xml",
            "feed.xml",
            {"entries": feed_entries(graph)},
            frozenset({"site", "stages/*", "campaigns/*"}),
        ),
    ]
    if site.base_url:
        robots = f"User-agent: *\nAllow: /\nSitemap: {site.base_url}sitemap.xml\n".encode()
        outputs += [
            Output("sitemap.xml", "sitemap.xml", {}, frozenset({"*"})),
            Output("robots.txt", records=frozenset({"site"}), make=lambda: robots),
        ]
    return outputs


@dataclass
class SitePlan:
    """Every output of a site and the Jinja environment to render them with."""

    graph: SiteGraph
    env: jinja2.Environment
    template_dirs: list[Path]
    static_dirs: list[Path]
    outputs: list[Output]

    def by_path(self) -> dict[str, Output]:
        return {o.path: o for o in self.outputs}


def _partial(env: jinja2.Environment, graph: SiteGraph) -> Any:
    """partial("_stage_item.html", stage=entry): a template fragment for one record, rendered
    once per record text, build date and page folder (its links are relative), then reused.
    partials(name, "stage", entries) does the same for a list, joined."""

    @jinja2.pass_context
    def partials(context: Any, name: str, var: str, entries: list[Entry]) -> Markup:
        # The loop runs in Python: a list page of thousands of records costs milliseconds
        # once its fragments are cached.
        page_path = context["page_path"]
        folder = posixpath.dirname(page_path)
        template = env.get_template(name)
        get = graph.cache.get
        return Markup("").join(
            get(
                (name, folder, graph.today, var, e.key, e.text),
                lambda e=e: Markup(template.render({"page_path": page_path, var: e})),
            )
            for e in entries
        )

    @jinja2.pass_context
    def partial(context: Any, name: str, **record: Entry) -> Markup:
        ((var, entry),) = record.items()
        return partials(context, name, var, [entry])  # type: ignore[no-any-return]

    env.globals["partials"] = partials
    return partial


def plan_site(
    content: Content,
    today: dt.date,
    history: History | None = None,
    cache: RenderCache | None = None,
) -> SitePlan:
    """Index the content and list every output, rendering nothing yet."""
    graph = build_graph(content, today, history, cache)
    theme = theme_dir(content.site.theme, content.root)
    dirs = template_dirs(theme, content.root)
    env = make_environment(dirs)
    env.globals.update(global_context(graph))
    env.globals["partial"] = _partial(env, graph)
    pages = plan_pages(graph)
    env.globals["html_paths"] = [o.path for o in pages if o.path != "404.html"]
    outputs = pages + extra_outputs(graph)
    closures: dict[str, frozenset[str]] = {}
    for output in outputs:
        if output.template is not None:
            if output.template not in closures:
                try:
                    closures[output.template] = template_closure(env, output.template)
                except jinja2.TemplateError as exc:
                    raise _template_error(exc, dirs) from None
            output.templates = closures[output.template]
    return SitePlan(graph, env, dirs, static_dirs(theme, content.root), outputs)


def render(plan: SitePlan, outputs: list[Output]) -> dict[str, bytes]:
    """Render the given outputs (final ones excepted) to bytes; a template error names its
    file and line."""
    files: dict[str, bytes] = {}
    for output in outputs:
        if output.final:
            continue
        if output.make is not None:
            files[output.path] = output.make()
        else:
            files[output.path] = render_page(plan, output)
    return files


def render_page(plan: SitePlan, output: Output, **extra: Any) -> bytes:
    if output.template is None:
        raise TemplateError(f"{output.path}: has neither a template nor a maker")
    context = {
        "page_path": output.path,
        "data_time": plan.graph.newest_of(output.records),
        **output.context,
        **extra,
    }
    try:
        text = plan.env.get_template(output.template).render(context)
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError) as exc:
        # A mistake in a template, named by its file and line rather than a traceback.
        raise _template_error(exc, plan.template_dirs) from None
    return text.encode("utf-8")


def finish(
    plan: SitePlan,
    paths: Iterable[str],
    read: Callable[[str], bytes],
    *,
    hashes: Mapping[str, str] | None = None,
    sizes: Mapping[str, int] | None = None,
    with_zip: bool = True,
) -> dict[str, bytes]:
    """The final outputs, made from all other files: the downloadable zip, the data page
    (which shows the zip's size, so the two are made until they agree) and the service
    worker (which lists every file's content hash)."""
    others = sorted(p for p in paths if p not in offline.FINAL)
    data_page = plan.by_path()[offline.DATA_PAGE]
    finals: dict[str, bytes] = {}
    if with_zip:
        # Start from the size shown last time: usually one zip is enough.
        label = plan.graph.cache.get(("zip-label",), lambda: "")
        for _ in range(5):
            page = render_page(plan, data_page, zip_size=label)
            archive = offline.make_zip(
                [*(p for p in others if p not in offline.ZIP_EXCLUDES), offline.DATA_PAGE],
                lambda p, page=page: page if p == offline.DATA_PAGE else read(p),  # type: ignore[misc]
            )
            if offline.size_label(len(archive)) == label:
                break
            label = offline.size_label(len(archive))
        plan.graph.cache.put(("zip-label",), label)
        finals = {offline.DATA_PAGE: page, offline.ZIP_PATH: archive}
    all_hashes = (
        dict(hashes) if hashes is not None else {p: offline.digest(read(p)) for p in others}
    )
    all_sizes = dict(sizes) if sizes is not None else {p: len(read(p)) for p in others}
    for path, data in finals.items():
        all_hashes[path] = offline.digest(data)
        all_sizes[path] = len(data)
    site = plan.graph.content.site
    precache = offline.precache_list(all_hashes, all_sizes, site.precache_budget_kb * 1024)
    version = offline.digest("\n".join(f"{p} {all_hashes[p]}" for p in sorted(all_hashes)).encode())
    worker = plan.env.get_template("sw.js").render(
        version=version,
        offline_page=offline.OFFLINE_PAGE,
        precache=[[p, all_hashes[p]] for p in precache],
        everything=len(precache) == len([p for p in all_hashes if p not in offline.NOT_PRECACHED]),
    )
    finals[offline.SW_PATH] = worker.encode("utf-8")
    return finals


def asset_files(plan: SitePlan) -> dict[str, bytes]:
    """Theme static files and content media, copied as they are."""
    files: dict[str, bytes] = {}
    for folder in plan.static_dirs:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files[f"static/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    for size in (192, 512):
        files[f"static/icon-{size}.png"] = offline.icon_png(size)
    files.update(media_files(plan, plan.graph.content.media))
    return files


def media_files(plan: SitePlan, names: Iterable[str]) -> dict[str, bytes]:
    """Content media (campaign posters) by name, as site files under media/."""
    root = plan.graph.content.root / "media"
    return {f"media/{name}": (root / name).read_bytes() for name in sorted(names)}


def render_all(plan: SitePlan) -> dict[str, bytes]:
    """Every file of the site: outputs, assets, then the final outputs made from them."""
    files = render(plan, plan.outputs)
    files.update(asset_files(plan))
    files.update(finish(plan, list(files), files.__getitem__))
    return files


def render_site(
    content: Content, today: dt.date, history: History | None = None
) -> tuple[SitePlan, dict[str, bytes]]:
    """Plan and render every output, plus the assets."""
    plan = plan_site(content, today, history)
    return plan, render_all(plan)


def build(
    content_dir: Path,
    out: Path,
    *,
    today: dt.date | None = None,
    history: History | None = None,
) -> BuildResult:
    """Load, validate, render and write the site; the old output survives any failure."""
    started = time.perf_counter()
    content = load_content(Path(content_dir))
    plan, files = render_site(content, today or today_wita(), history)
    write_site(files, Path(out))
    return BuildResult(Path(out), plan.outputs, files, time.perf_counter() - started)
