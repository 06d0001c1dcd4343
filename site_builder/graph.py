"""The site graph: records in display order, cross-links and what is computed from dates.

Everything here is pure and depends only on the content and the build's reference date, so
the same input always gives the same graph.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import deps
from .dates import start_of_day
from .deps import Fragments, Memo
from .load import Content, Entry
from .models import COLLECTIONS, Region, Site, Stage

STATUS_LABELS = {
    "selesai": "Selesai",
    "berlangsung": "Berlangsung",
    "akan-datang": "Akan datang",
    "ditunda": "Ditunda",
    "dibatalkan": "Dibatalkan",
    "relatif": "Jadwal menyesuaikan",
}

PHASE_LABELS = {
    "persiapan": "Persiapan",
    "penyelenggaraan": "Penyelenggaraan",
    "pasca": "Pasca pemungutan suara",
}

ROLE_ORDER = {"ketua": 0, "sekretariat": 1, "divisi": 2}


@dataclass(frozen=True)
class Change:
    """One accepted change, as the public change log shows it."""

    seq: int
    time: dt.datetime
    key: str
    title: str
    action: str
    role: str
    revision: int


@dataclass(frozen=True)
class History:
    """What the sync server knows and the builder cannot: revisions and recent changes."""

    revisions: dict[str, int]
    changes: list[Change]


def href(entry: Entry) -> str:
    """The site path of a record's page."""
    prefix = COLLECTIONS[entry.collection].url
    return f"{prefix}/{entry.slug}/index.html" if prefix else f"{entry.slug}/index.html"


def region_href(region: Region) -> str:
    return f"wilayah/{region.slug}/index.html"


def stage_status(stage: Stage, today: dt.date) -> str:
    """selesai / berlangsung / akan-datang from the dates, unless overridden by a decision."""
    if stage.override and stage.override.status == "postponed":
        return "ditunda"
    if stage.override and stage.override.status == "cancelled":
        return "dibatalkan"
    first, last = stage.start, stage.end or stage.start
    if last is None:
        return "relatif"
    if today > last:
        return "selesai"
    if first is None or today >= first:
        return "berlangsung"
    return "akan-datang"


def _stage_key(entry: Entry) -> tuple[Any, ...]:
    stage: Any = entry.data
    when = stage.start or stage.end
    return (when is None, when or dt.date.max, stage.end or stage.start or dt.date.max, entry.slug)


@dataclass(frozen=True)
class SiteGraph:
    """The content in the order and with the links the pages need.

    Everything a template or an export reads goes through a property or a method here that
    notes what it read (see ``deps``): a record, a list, a query's result, a status, the date.
    """

    content: Content
    build_date: dt.date
    lists: dict[str, list[Entry]]
    region_list: list[Region]
    changes: History | None = None
    fragments: Fragments = field(default_factory=Fragments, compare=False, repr=False)
    memo: Memo = field(default_factory=Memo, compare=False, repr=False)

    # lists ----------------------------------------------------------------------------------

    def listed(self, collection: str) -> list[Entry]:
        """The published records of a collection, in display order."""
        deps.note("l:" + collection)
        return self.lists[collection]

    @property
    def stages(self) -> list[Entry]:
        return self.listed("stages")

    @property
    def teams(self) -> list[Entry]:
        return self.listed("teams")

    @property
    def campaigns(self) -> list[Entry]:
        return self.listed("campaigns")

    @property
    def pages(self) -> list[Entry]:
        return self.listed("pages")

    @property
    def regions(self) -> list[Region]:
        deps.note("regions")
        return self.region_list

    @property
    def site(self) -> Site:
        deps.note("site")
        return self.content.site

    @property
    def today(self) -> dt.date:
        deps.note("today")
        return self.build_date

    @property
    def history(self) -> History | None:
        deps.note("h:changes")
        return self.changes

    # queries: each notes its own key, compared later by the keys it returned ---------------

    def query(self, name: str, arg: str = "") -> Any:
        """Run a named query (see QUERIES), noting ``q:name:arg`` rather than what it scans."""
        deps.note(f"q:{name}:{arg}")
        return self._answer(name, arg)

    def _answer(self, name: str, arg: str) -> Any:
        def run() -> Any:
            with deps.paused():
                return QUERIES[name](self, arg)

        return self.memo.get(("query", name, arg), run)

    def answer_key(self, name: str, arg: str) -> str:
        """What a query's result is compared by: the keys of the records it returned."""
        result = self._answer(name, arg)
        items = result if isinstance(result, list) else [result]
        return "|".join(item.key if isinstance(item, Entry) else repr(item) for item in items)

    def stages_in_phase(self, phase: str) -> list[Entry]:
        return self.query("phase", phase)  # type: ignore[no-any-return]

    def stages_of_division(self, slug: str) -> list[Entry]:
        return self.query("division", slug)  # type: ignore[no-any-return]

    def campaigns_in(self, region: Region) -> list[Entry]:
        """Campaigns naming this region itself (province-wide ones are listed once, on the
        province's page, so region pages do not grow with every province-wide campaign)."""
        return self.query("region", region.slug)  # type: ignore[no-any-return]

    def current_stages(self) -> list[Entry]:
        return self.query("current")  # type: ignore[no-any-return]

    def next_stage(self) -> Entry | None:
        return self.query("next")  # type: ignore[no-any-return]

    def latest_campaigns(self, count: int = 3) -> list[Entry]:
        return self.query("latest", str(count))  # type: ignore[no-any-return]

    def menu(self) -> list[tuple[str, str]]:
        """(page path, label) of the pages that put themselves in the main menu."""
        return self.query("menu")  # type: ignore[no-any-return]

    # single values ------------------------------------------------------------------------

    def revision(self, entry: Entry) -> int | None:
        deps.note("h:rev:" + entry.key)
        return self.changes.revisions.get(entry.key) if self.changes else None

    def status(self, entry: Entry) -> str:
        deps.note("status:" + entry.key)
        return stage_status(entry.data, self.build_date)  # type: ignore[arg-type]

    def divisions_of(self, stage: Entry) -> list[Entry]:
        teams = self.content.entries["teams"]
        return [teams[slug] for slug in stage.record.divisions]  # type: ignore[attr-defined]

    def regions_of(self, campaign: Entry) -> list[Region]:
        deps.note("regions")
        return [self.content.regions[s] for s in campaign.record.regions]  # type: ignore[attr-defined]

    def days_to_election(self) -> int:
        """Positive before voting day, 0 on it, negative after."""
        return (self.site.election_day - self.today).days

    def updated(self, entry: Entry) -> dt.datetime:
        """When a record last changed: its own 'updated', or the start of the build's day."""
        return entry.record.updated or start_of_day(self.today)

    def newest_of(self, keys: set[str] | frozenset[str]) -> dt.datetime:
        """The newest change among the records read ("Data per ..."), or the start of the
        build's day when none of them says when it changed."""
        found: list[dt.datetime] = []
        entries = self.content.entries
        for key in keys:
            if key.startswith("r:"):
                collection, _, slug = key[2:].partition("/")
                entry = entries.get(collection, {}).get(slug)
                if entry is not None and entry.data.updated:
                    found.append(entry.data.updated)
        if "h:changes" in keys and self.changes and self.changes.changes:
            found.append(self.changes.changes[0].time)
        if not found:
            deps.note("today")
        return max(found, default=start_of_day(self.build_date))


def _campaign_recency(entry: Entry) -> tuple[Any, ...]:
    record: Any = entry.data
    return (record.start or record.end or dt.date.min, entry.slug)


def _phase(graph: SiteGraph, phase: str) -> list[Entry]:
    return [s for s in graph.lists["stages"] if s.data.phase == phase]  # type: ignore[attr-defined]


def _division(graph: SiteGraph, slug: str) -> list[Entry]:
    index = graph.memo.get(("index", "division"), lambda: _division_index(graph))
    return index.get(slug, [])


def _division_index(graph: SiteGraph) -> dict[str, list[Entry]]:
    index: dict[str, list[Entry]] = {}
    for stage in graph.lists["stages"]:
        for slug in stage.data.divisions:  # type: ignore[attr-defined]
            index.setdefault(slug, []).append(stage)
    return index


def _region(graph: SiteGraph, slug: str) -> list[Entry]:
    index = graph.memo.get(("index", "region"), lambda: _region_index(graph))
    return index.get(slug, [])


def _region_index(graph: SiteGraph) -> dict[str, list[Entry]]:
    index: dict[str, list[Entry]] = {}
    for campaign in graph.lists["campaigns"]:
        for slug in dict.fromkeys(campaign.data.regions):  # type: ignore[attr-defined]
            index.setdefault(slug, []).append(campaign)
    return index


def _status_of(graph: SiteGraph, wanted: str) -> list[Entry]:
    return [s for s in graph.lists["stages"] if graph.status(s) == wanted]


def _next(graph: SiteGraph, _arg: str) -> Entry | None:
    return next(iter(_status_of(graph, "akan-datang")), None)


def _latest(graph: SiteGraph, count: str) -> list[Entry]:
    return heapq.nlargest(int(count), graph.lists["campaigns"], key=_campaign_recency)


def _feed(graph: SiteGraph, count: str) -> list[Entry]:
    entries = [*graph.lists["stages"], *graph.lists["campaigns"]]
    return heapq.nlargest(int(count), entries, key=lambda e: (graph.updated(e), e.key))


def _menu(graph: SiteGraph, _arg: str) -> list[tuple[str, str]]:
    return [(href(p), p.data.menu) for p in graph.lists["pages"] if p.data.menu]  # type: ignore[attr-defined]


#: Queries over the content by name: each returns records (or one), compared by their keys.
QUERIES: dict[str, Callable[[SiteGraph, str], Any]] = {
    "phase": _phase,
    "division": _division,
    "region": _region,
    "current": lambda graph, _arg: _status_of(graph, "berlangsung"),
    "next": _next,
    "latest": _latest,
    "menu": _menu,
    "feed": _feed,
    "pages": lambda graph, _arg: [],  # the plan's HTML pages: answered by render.make_plan
}


def build_graph(
    content: Content,
    today: dt.date,
    history: History | None = None,
    fragments: Fragments | None = None,
) -> SiteGraph:
    lists = {
        "stages": sorted(content.records("stages"), key=_stage_key),
        "teams": sorted(
            content.records("teams"),
            key=lambda e: (ROLE_ORDER[e.data.role], e.data.name),  # type: ignore[attr-defined]
        ),
        "campaigns": sorted(
            (e for e in content.records("campaigns") if not e.data.draft),  # type: ignore[attr-defined]
            key=_campaign_recency,
            reverse=True,
        ),
        "pages": sorted(content.records("pages"), key=lambda e: e.slug),
    }
    regions = sorted(content.regions.values(), key=lambda r: (r.kind != "provinsi", r.kind, r.name))
    return SiteGraph(content, today, lists, regions, history, fragments or Fragments())
