"""One build function with named phases: load, graph, plan, render, write."""

from __future__ import annotations

import datetime as dt
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .dates import today_wita
from .errors import TemplateError
from .exports import calendar, data_outputs, feed_entries
from .graph import SiteGraph, build_graph
from .load import Content, load_content
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
    """Feeds, calendar and crawler files."""
    site = graph.content.site
    outputs = [
        *data_outputs(graph),
        Output("tahapan.ics", data=calendar(graph), records=frozenset({"stages/*"})),
        Output(
            "feed.xml",
            "feed.xml",
            {"entries": feed_entries(graph), "page_path": "feed.xml"},
            frozenset({"site", "stages/*", "campaigns/*"}),
        ),
    ]
    if site.base_url:
        outputs.append(Output("sitemap.xml", "sitemap.xml", {}, frozenset({"site", "*"})))
        outputs.append(
            Output(
                "robots.txt",
                data=f"User-agent: *\nAllow: /\nSitemap: {site.base_url}sitemap.xml\n".encode(),
                records=frozenset({"site"}),
            )
        )
    return outputs


def render_site(content: Content, today: dt.date) -> tuple[list[Output], dict[str, bytes]]:
    """Render every output to bytes (pure apart from reading theme files)."""
    graph = build_graph(content, today)
    theme = theme_dir(content.site.theme, content.root)
    dirs = template_dirs(theme, content.root)
    env = make_environment(dirs)
    env.globals.update(global_context(graph))
    outputs = plan_pages(graph)
    html_paths = [o.path for o in outputs if o.path != "404.html"]
    outputs += extra_outputs(graph)
    files: dict[str, bytes] = {}
    closures: dict[str, frozenset[str]] = {}
    for output in outputs:
        if output.data is not None:
            files[output.path] = output.data
            continue
        assert output.template is not None
        context = {"page_path": output.path, "html_paths": html_paths, **output.context}
        try:
            if output.template not in closures:
                closures[output.template] = template_closure(env, output.template)
            output.templates = closures[output.template]
            text = env.get_template(output.template).render(context)
        except jinja2.TemplateError as exc:
            raise _template_error(exc, dirs) from None
        files[output.path] = text.encode("utf-8")
    for folder in static_dirs(theme, content.root):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files[f"static/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    for name in sorted(content.media):
        files[f"media/{name}"] = (content.root / "media" / name).read_bytes()
    return outputs, files


def build(content_dir: Path, out: Path, *, today: dt.date | None = None) -> BuildResult:
    """Load, validate, render and write the site; the old output survives any failure."""
    started = time.perf_counter()
    content = load_content(Path(content_dir))
    outputs, files = render_site(content, today or today_wita())
    write_site(files, Path(out))
    return BuildResult(Path(out), outputs, files, time.perf_counter() - started)
