"""The site graph: records in display order, cross-links and what is computed from dates.

Everything here is pure and depends only on the content and the build's reference date, so
the same input always gives the same graph.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from .cache import RenderCache
from .dates import start_of_day
from .load import Content, Entry
from .models import Region, Stage

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
    stage: Any = entry.record
    when = stage.start or stage.end
    return (when is None, when or dt.date.max, stage.end or stage.start or dt.date.max, entry.slug)


@dataclass(frozen=True)
class SiteGraph:
    """The content in the order and with the links the pages need."""

    content: Content
    today: dt.date
    stages: list[Entry]
    teams: list[Entry]
    campaigns: list[Entry]
    pages: list[Entry]
    regions: list[Region]
    history: History | None = None
    cache: RenderCache = field(default_factory=RenderCache, compare=False, repr=False)

    def revision(self, entry: Entry) -> int | None:
        return self.history.revisions.get(entry.key) if self.history else None

    def status(self, entry: Entry) -> str:
        return stage_status(entry.record, self.today)  # type: ignore[arg-type]

    def stages_in_phase(self, phase: str) -> list[Entry]:
        return [s for s in self.stages if s.record.phase == phase]  # type: ignore[attr-defined]

    def stages_of_division(self, slug: str) -> list[Entry]:
        return self._stages_by_division.get(slug, [])

    @functools.cached_property
    def _stages_by_division(self) -> dict[str, list[Entry]]:
        index: dict[str, list[Entry]] = {}
        for stage in self.stages:
            for slug in stage.record.divisions:  # type: ignore[attr-defined]
                index.setdefault(slug, []).append(stage)
        return index

    def divisions_of(self, stage: Entry) -> list[Entry]:
        teams = self.content.entries["teams"]
        return [teams[slug] for slug in stage.record.divisions]  # type: ignore[attr-defined]

    def campaigns_in(self, region: Region) -> list[Entry]:
        """Campaigns naming this region, or the whole province."""
        return self._campaigns_by_region.get(region.slug, [])

    @functools.cached_property
    def _campaigns_by_region(self) -> dict[str, list[Entry]]:
        province = {r.slug for r in self.regions if r.kind == "provinsi"}
        index: dict[str, list[Entry]] = {}
        for campaign in self.campaigns:
            named = set(campaign.record.regions)  # type: ignore[attr-defined]
            for region in self.regions:
                if named & ({region.slug} | province):
                    index.setdefault(region.slug, []).append(campaign)
        return index

    def regions_of(self, campaign: Entry) -> list[Region]:
        return [self.content.regions[s] for s in campaign.record.regions]  # type: ignore[attr-defined]

    def current_stages(self) -> list[Entry]:
        return [s for s in self.stages if self.status(s) == "berlangsung"]

    def next_stage(self) -> Entry | None:
        return next((s for s in self.stages if self.status(s) == "akan-datang"), None)

    def days_to_election(self) -> int:
        """Positive before voting day, 0 on it, negative after."""
        return (self.content.site.election_day - self.today).days

    def latest_campaigns(self, count: int = 3) -> list[Entry]:
        return sorted(self.campaigns, key=_campaign_recency, reverse=True)[:count]

    def updated(self, entry: Entry) -> dt.datetime:
        """When a record last changed: its own 'updated', or the start of the build's day."""
        return entry.record.updated or start_of_day(self.today)

    def newest_of(self, keys: frozenset[str]) -> dt.datetime:
        """The newest change among the records a page reads ("Data per ...")."""
        found: list[dt.datetime] = []
        entries = self.content.entries
        for key in keys:
            collection, _, slug = key.partition("/")
            if slug == "*":
                found += [
                    e.record.updated
                    for e in entries.get(collection, {}).values()
                    if e.record.updated
                ]
            elif slug and slug in entries.get(collection, {}):
                updated = entries[collection][slug].record.updated
                if updated:
                    found.append(updated)
        if "history" in keys and self.history and self.history.changes:
            found.append(self.history.changes[0].time)
        if "*" in keys:
            found.append(self.newest_update())
        return max(found, default=start_of_day(self.today))

    def newest_update(self) -> dt.datetime:
        times = [
            e.record.updated
            for e in (*self.stages, *self.teams, *self.campaigns, *self.pages)
            if e.record.updated
        ]
        return max(times, default=start_of_day(self.today))


def _campaign_recency(entry: Entry) -> tuple[Any, ...]:
    record: Any = entry.record
    return (record.start or record.end or dt.date.min, entry.slug)


def build_graph(
    content: Content,
    today: dt.date,
    history: History | None = None,
    cache: RenderCache | None = None,
) -> SiteGraph:
    stages = sorted(content.records("stages"), key=_stage_key)
    teams = sorted(
        content.records("teams"),
        key=lambda e: (ROLE_ORDER[e.record.role], e.record.name),  # type: ignore[attr-defined]
    )
    campaigns = sorted(
        (e for e in content.records("campaigns") if not e.record.draft),  # type: ignore[attr-defined]
        key=_campaign_recency,
        reverse=True,
    )
    pages = sorted(content.records("pages"), key=lambda e: e.slug)
    regions = sorted(content.regions.values(), key=lambda r: (r.kind != "provinsi", r.kind, r.name))
    cache = cache if cache is not None else RenderCache()
    cache.next_build()
    return SiteGraph(content, today, stages, teams, campaigns, pages, regions, history, cache)
