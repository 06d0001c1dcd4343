"""The page plan: every HTML page of the site, with its template and context.

An ``Output`` declares no dependencies: the renderer records what each one reads (see
``deps``), so an incremental build re-renders exactly what a change touches.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import deps, participation
from .charts import Bar, Line, bar_chart
from .datapackage import data_files
from .graph import PHASE_LABELS, STATUS_LABELS, SiteGraph, href, region_href
from .load import Entry
from .models import (
    CHECKED,
    COLLECTIONS,
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    CollectionSpec,
    Reference,
    Region,
)

CHANGES_PAGE = "riwayat/index.html"
PARTICIPATION_PAGE = "partisipasi/index.html"
#: The evaluation page; a published page record of this slug (content/pages/evaluasi.md)
#: holds the team's lessons and is shown on it.
EVALUATION_SLUG = "evaluasi"


def list_href(spec: CollectionSpec) -> str:
    """The site path of a collection's list page."""
    return f"{spec.url}/index.html"


NAV = [
    ("index.html", "Beranda"),
    *((list_href(spec), spec.menu) for spec in COLLECTIONS.values() if spec.menu),
    ("wilayah/index.html", "Wilayah"),
    (PARTICIPATION_PAGE, "Partisipasi"),
    ("data/index.html", "Data"),
]


@dataclass
class Output:
    """One file of the site: rendered from a template, or made by a function.

    What an output depends on is not declared here: it is recorded while it renders."""

    path: str
    template: str | None = None
    context: Callable[[], dict[str, Any]] | None = None
    make: Callable[[], bytes] | None = None
    final: bool = False  # made from all other files (see build.finish)


def plan_pages(graph: SiteGraph) -> list[Output]:
    """Every HTML page of the site. Contexts are functions, called while the page renders, so
    what they read is recorded as the page's dependencies."""
    outputs = [
        Output(
            "index.html",
            "index.html",
            lambda: {"current": graph.current_stages(), "next": graph.next_stage()},
        ),
        *(
            Output(list_href(spec), spec.list_template)
            for spec in COLLECTIONS.values()
            if spec.list_template
        ),
        Output("wilayah/index.html", "regions.html"),
        Output("data/index.html", "data.html", final=True),
        Output("404.html", "404.html"),
        Output("offline/index.html", "offline.html"),
        Output("cari/index.html", "search.html"),
    ]
    outputs.append(Output(FINDINGS_FEED, "findings_feed.xml", _findings_feed_context(graph)))
    for spec in COLLECTIONS.values():
        outputs += [
            Output(href(entry), spec.page_template, _record_context(graph, entry))
            for entry in graph.lists[spec.name]
        ]
    outputs += [
        Output(region_href(region), "region.html", _region_context(graph, region))
        for region in graph.region_list
    ]
    if graph.changes is not None:
        outputs.append(Output(CHANGES_PAGE, "changes.html"))
    outputs.append(Output(PARTICIPATION_PAGE, "participation.html", _participation_context(graph)))
    return _with_evaluation(graph, outputs)


def _participation_context(graph: SiteGraph) -> Callable[[], dict[str, Any]]:
    def context() -> dict[str, Any]:
        rows = graph.participation_rows()
        return {
            "rows": rows,
            "groups": participation.grouped(rows),
            "headlines": participation.headlines(rows),
        }

    return context


def _with_evaluation(graph: SiteGraph, outputs: list[Output]) -> list[Output]:
    """The plan with the evaluation page: the page record 'evaluasi' (the team's lessons,
    content/pages/evaluasi.md), once published, is rendered by the evaluation template with the
    figures the build computes around its text. Without it there is no evaluation page, so
    the folder belongs to a record and no page slug can collide with it."""
    path = f"{EVALUATION_SLUG}/index.html"
    lessons = next((o for o in outputs if o.path == path and o.template == "page.html"), None)

    def context() -> dict[str, Any]:
        values = lessons.context() if lessons and lessons.context else {}
        rows = graph.participation_rows()
        teams = graph.listed("teams")
        return {
            "entry": values.get("entry"),
            "teams": teams,
            "headlines": participation.headlines(rows),
            "findings": graph.findings_by_status(),
        }

    if lessons is None:
        return outputs
    page = Output(path, "evaluation.html", context)
    return [page if o is lessons else o for o in outputs]


#: The Atom feed of findings: one entry per step of a finding's follow-up, newest first.
FINDINGS_FEED = "temuan/feed.xml"
FINDINGS_FEED_SIZE = 100


def _findings_feed_context(graph: SiteGraph) -> Callable[[], dict[str, Any]]:
    def context() -> dict[str, Any]:
        return {"steps": graph.finding_steps(FINDINGS_FEED_SIZE)}

    return context


def _record_context(graph: SiteGraph, entry: Entry) -> Callable[[], dict[str, Any]]:
    """A record page's context: the record, the regions it names, and the records of other
    collections that name it (the stages of a division), as its declarations say."""

    def context() -> dict[str, Any]:
        values: dict[str, Any] = {"entry": entry}
        for reference in COLLECTIONS[entry.collection].references:
            if reference.target == "regions":
                values[reference.field] = graph.regions_of(entry, reference.field)
        for source, reference in backlinks_to(entry.collection):
            values[reference.backlink] = graph.backlinks(source, reference.field, entry.slug)  # type: ignore[index]
        return values

    return context


def _region_context(graph: SiteGraph, region: Region) -> Callable[[], dict[str, Any]]:
    def context() -> dict[str, Any]:
        deps.note("regions")  # the page shows the region's own fields
        values: dict[str, Any] = {"region": region}
        for source, reference in backlinks_to("regions"):
            values[reference.backlink] = graph.backlinks(source, reference.field, region.slug)  # type: ignore[index]
        return values

    return context


def backlinks_to(target: str) -> list[tuple[str, Reference]]:
    """(source collection, reference) for every reference to ``target`` that names its
    inverse (e.g. stages.divisions, shown as 'stages' on a division's page)."""
    return [
        (name, reference)
        for name, spec in COLLECTIONS.items()
        for reference in spec.references
        if reference.target == target and reference.backlink
    ]


def render_context(graph: SiteGraph) -> dict[str, Any]:
    """What every template of one build can use (passed with each render, never stored on
    the shared Jinja environment)."""
    return {
        "site": graph.content.site,
        "graph": graph,
        "nav": _Nav(graph),
    }


def relative_link(here: str, target: str) -> str:
    """posixpath.relpath(target, here) for the plain relative paths of a site (no '..', no
    '.' parts, no leading '/'), without its normalisation of absolute paths."""
    if target.endswith("/"):
        target += "index.html"
    if here == ".":
        return target
    if target.startswith(("/", ".")) or "/." in target or "//" in target:
        return posixpath.relpath(target, here)
    up = here.split("/")
    down = target.split("/")
    common = 0
    for a, b in zip(up, down, strict=False):
        if a != b:
            break
        common += 1
    parts = [".."] * (len(up) - common) + down[common:]
    return "/".join(parts) or "."


@functools.cache
def folder_of(page_path: str) -> str:
    """The folder of a page of the site ("." at the root)."""
    return posixpath.dirname(page_path) or "."


class _Nav:
    """The main menu, read lazily so that only pages that show it depend on the menu pages."""

    def __init__(self, graph: SiteGraph) -> None:
        self.graph = graph

    def __iter__(self) -> Any:
        graph = self.graph
        items = [
            *NAV,
            *graph.menu(),
            *([(CHANGES_PAGE, "Riwayat")] if graph.changes is not None else []),
        ]
        return iter(items)

    def links(self, page_path: str) -> list[tuple[str, str, bool]]:
        """(link from this page, label, whether it is the current section) for each item."""
        here = folder_of(page_path)
        links = []
        for path, label in self:
            section = path.rsplit("/", 1)[0] + "/"
            current = path == page_path or (path != "index.html" and page_path.startswith(section))
            links.append((relative_link(here, path), label, current))
        return links


#: Where the copy of a content image for phones is, at most this many pixels wide ('@' is
#: not allowed in the name of a content file, so it never takes the place of one).
PHONE_WIDTH = 720
PHONE_FOLDER = f"media/@{PHONE_WIDTH}/"

#: Names every template can use, the same for every build.
GLOBALS: dict[str, Any] = {
    "href": href,
    "region_href": region_href,
    "status_labels": STATUS_LABELS,
    "phase_labels": PHASE_LABELS,
    "finding_statuses": FINDING_STATUSES,
    "finding_categories": FINDING_CATEGORIES,
    "collections": COLLECTIONS,
    "checked_levels": CHECKED,
    "data_files": data_files,
    "phone_media": PHONE_FOLDER,
}
#: Charts drawn at build time (site_builder/charts.py), for any template.
GLOBALS.update(
    bar_chart=bar_chart, Bar=Bar, ChartLine=Line, turnout_chart=participation.turnout_chart
)
