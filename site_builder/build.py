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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .cache import RenderCache
from .dates import today_wita
from .errors import TemplateError
from .exports import calendar, data_outputs, feed_entries
from .graph import History, SiteGraph, build_graph
from .load import Content, Entry, load_content
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
        return (
            f"Built {self.pages} pages, {len(self.files)} files ({size / 1024:.0f} KB) "
            f"into {self.out} in {self.seconds:.2f} s"
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
    """Data exports, feeds, calendar and crawler files."""
    site = graph.content.site
    outputs = [
        *data_outputs(graph),
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
    once per record text, build date and page folder (its links are relative), then reused."""

    @jinja2.pass_context
    def partial(context: Any, name: str, **records: Entry) -> Markup:
        folder = posixpath.dirname(context["page_path"])
        key = (
            name,
            folder,
            graph.today,
            tuple((k, e.key, e.text) for k, e in sorted(records.items())),
        )

        def make() -> Markup:
            template = env.get_template(name)
            return Markup(template.render({"page_path": context["page_path"], **records}))

        return graph.cache.get(key, make)  # type: ignore[no-any-return]

    @jinja2.pass_context
    def partials(context: Any, name: str, var: str, entries: list[Entry]) -> Markup:
        """partial() for each record of a list, joined (the loop runs in Python: a list page
        of thousands of records costs milliseconds once its fragments are cached)."""
        return Markup("").join(partial(context, name, **{var: e}) for e in entries)

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
    """Render the given outputs to bytes; a template error names its file and line."""
    files: dict[str, bytes] = {}
    for output in outputs:
        if output.make is not None:
            files[output.path] = output.make()
            continue
        if output.template is None:
            raise TemplateError(f"{output.path}: has neither a template nor a maker")
        try:
            template = plan.env.get_template(output.template)
            text = template.render({"page_path": output.path, **output.context})
        except jinja2.TemplateError as exc:
            raise _template_error(exc, plan.template_dirs) from None
        files[output.path] = text.encode("utf-8")
    return files


def asset_files(plan: SitePlan) -> dict[str, bytes]:
    """Theme static files and content media, copied as they are."""
    files: dict[str, bytes] = {}
    for folder in plan.static_dirs:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files[f"static/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    content = plan.graph.content
    for name in sorted(content.media):
        files[f"media/{name}"] = (content.root / "media" / name).read_bytes()
    return files


def render_site(
    content: Content, today: dt.date, history: History | None = None
) -> tuple[SitePlan, dict[str, bytes]]:
    """Plan and render every output, plus the assets."""
    plan = plan_site(content, today, history)
    files = render(plan, plan.outputs)
    files.update(asset_files(plan))
    return plan, files


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
