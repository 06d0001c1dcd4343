"""The page plan: every HTML page of the site, with its template and context.

An ``Output`` declares no dependencies: the renderer records what each one reads (see
``deps``), so an incremental build re-renders exactly what a change touches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .graph import PHASE_LABELS, STATUS_LABELS, SiteGraph, href, region_href
from .models import COLLECTIONS

CHANGES_PAGE = "riwayat/index.html"

NAV = [
    ("index.html", "Beranda"),
    ("tahapan/index.html", "Tahapan"),
    ("tim/index.html", "Tim"),
    ("kampanye/index.html", "Kampanye"),
    ("wilayah/index.html", "Wilayah"),
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
        Output("tahapan/index.html", "stages.html"),
        Output("tim/index.html", "teams.html"),
        Output("kampanye/index.html", "campaigns.html"),
        Output("wilayah/index.html", "regions.html"),
        Output("data/index.html", "data.html", final=True),
        Output("404.html", "404.html"),
        Output("offline/index.html", "offline.html"),
        Output("cari/index.html", "search.html"),
    ]
    lists = graph.lists
    outputs += [
        Output(href(stage), "stage.html", lambda stage=stage: {"entry": stage})
        for stage in lists["stages"]
    ]
    outputs += [
        Output(
            href(team),
            "team.html",
            lambda team=team: {"entry": team, "stages": graph.stages_of_division(team.slug)},
        )
        for team in lists["teams"]
    ]
    outputs += [
        Output(
            href(campaign),
            "campaign.html",
            lambda campaign=campaign: {"entry": campaign, "regions": graph.regions_of(campaign)},
        )
        for campaign in lists["campaigns"]
    ]
    outputs += [
        Output(
            region_href(region),
            "region.html",
            lambda region=region: {"region": region, "campaigns": graph.campaigns_in(region)},
        )
        for region in graph.region_list
    ]
    outputs += [
        Output(href(page), "page.html", lambda page=page: {"entry": page})
        for page in lists["pages"]
    ]
    if graph.changes is not None:
        outputs.append(Output(CHANGES_PAGE, "changes.html"))
    return outputs


def render_context(graph: SiteGraph) -> dict[str, Any]:
    """What every template of one build can use (passed with each render, never stored on
    the shared Jinja environment)."""
    return {
        "site": graph.content.site,
        "graph": graph,
        "nav": _Nav(graph),
    }


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


#: Names every template can use, the same for every build.
GLOBALS: dict[str, Any] = {
    "href": href,
    "region_href": region_href,
    "status_labels": STATUS_LABELS,
    "phase_labels": PHASE_LABELS,
    "collections": COLLECTIONS,
}
