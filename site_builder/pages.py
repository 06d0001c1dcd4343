"""The page plan: every HTML page of the site, its template, context and the records it reads.

Each ``Output`` names the records it depends on (``stages/pemungutan-suara``, or
``stages/*`` for a whole collection, ``site``, ``regions``), and the renderer adds the
templates it reads, so a later incremental build can re-render exactly what a change touches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .graph import PHASE_LABELS, STATUS_LABELS, SiteGraph
from .load import Entry
from .models import COLLECTIONS, Region

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
    """One file of the site: rendered from a template, or made by a function."""

    path: str
    template: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    records: frozenset[str] = frozenset()
    templates: frozenset[str] = frozenset()
    make: Callable[[], bytes] | None = None
    final: bool = False  # made from all other files (see offline.finish)

    def reads(self, changed: set[str]) -> bool:
        """Whether this output depends on any of the changed keys."""
        return reads(self.records, changed)


def reads(records: frozenset[str], changed: set[str]) -> bool:
    """Whether dependency keys (``stages/x``, ``stages/*``, ``*``) meet a changed key."""
    return not records.isdisjoint(widen(changed))


def widen(changed: set[str]) -> frozenset[str]:
    """A set of changed keys plus the wildcards that cover them."""
    wildcards = {key.split("/", 1)[0] + "/*" for key in changed if "/" in key}
    return frozenset(changed | wildcards | {"*"})


def href(entry: Entry) -> str:
    """The site path of a record's page."""
    prefix = COLLECTIONS[entry.collection].url
    return f"{prefix}/{entry.slug}/index.html" if prefix else f"{entry.slug}/index.html"


def region_href(region: Region) -> str:
    return f"wilayah/{region.slug}/index.html"


def _keys(*entries: Entry) -> set[str]:
    return {e.key for e in entries}


def plan_pages(graph: SiteGraph) -> list[Output]:
    """Every HTML page of the site."""
    base = {"site", "regions", "pages/*"}
    outputs = [
        Output(
            "index.html",
            "index.html",
            {"current": graph.current_stages(), "next": graph.next_stage()},
            frozenset(base | {"stages/*", "campaigns/*"}),
        ),
        Output("tahapan/index.html", "stages.html", {}, frozenset(base | {"stages/*"})),
        Output("tim/index.html", "teams.html", {}, frozenset(base | {"teams/*"})),
        Output("kampanye/index.html", "campaigns.html", {}, frozenset(base | {"campaigns/*"})),
        Output("wilayah/index.html", "regions.html", {}, frozenset(base)),
        Output("data/index.html", "data.html", {}, frozenset(base), final=True),
        Output("404.html", "404.html", {}, frozenset(base)),
        Output("offline/index.html", "offline.html", {}, frozenset(base)),
        Output("cari/index.html", "search.html", {}, frozenset(base)),
    ]
    for stage in graph.stages:
        # A stage page reads only its record and its divisions: reuse its Output while the
        # record's text is unchanged (a plan of 10,000 pages is then mostly lookups).
        outputs.append(
            graph.cache.get(
                ("page", stage.key, stage.text),
                lambda stage=stage: Output(
                    href(stage),
                    "stage.html",
                    {"entry": stage},
                    frozenset(
                        base | {stage.key} | {f"teams/{slug}" for slug in stage.record.divisions}  # type: ignore[attr-defined]
                    ),
                ),
            )
        )
    for team in graph.teams:
        stages = graph.stages_of_division(team.slug)
        outputs.append(
            Output(
                href(team),
                "team.html",
                {"entry": team, "stages": stages},
                frozenset(base | {team.key} | _keys(*stages)),
            )
        )
    for campaign in graph.campaigns:
        outputs.append(
            graph.cache.get(
                ("page", campaign.key, campaign.text),
                lambda campaign=campaign: Output(
                    href(campaign),
                    "campaign.html",
                    {"entry": campaign, "regions": graph.regions_of(campaign)},
                    frozenset(base | {campaign.key}),
                ),
            )
        )
    for region in graph.regions:
        outputs.append(
            Output(
                region_href(region),
                "region.html",
                {"region": region, "campaigns": graph.campaigns_in(region)},
                frozenset(base | {"campaigns/*"}),
            )
        )
    for page in graph.pages:
        outputs.append(
            Output(href(page), "page.html", {"entry": page}, frozenset(base | {page.key}))
        )
    if graph.history is not None:
        outputs.append(Output(CHANGES_PAGE, "changes.html", {}, frozenset(base | {"history"})))
    return outputs


def global_context(graph: SiteGraph) -> dict[str, Any]:
    """What every template can use."""
    return {
        "site": graph.content.site,
        "graph": graph,
        "nav": [
            *NAV,
            *((href(p), p.record.menu) for p in graph.pages if p.record.menu),  # type: ignore[attr-defined]
            *([(CHANGES_PAGE, "Riwayat")] if graph.history is not None else []),
        ],
        "href": href,
        "region_href": region_href,
        "status_labels": STATUS_LABELS,
        "phase_labels": PHASE_LABELS,
        "collections": COLLECTIONS,
    }
