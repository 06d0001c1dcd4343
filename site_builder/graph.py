"""The site graph: records in display order, cross-links and what is computed from dates.

Everything here is pure and depends only on the content and the build's reference date (or
moment, see ``reference_moment``), so the same input always gives the same graph.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import deps, participation
from .dates import start_of_day
from .deps import Fragments, Memo
from .load import Content, Entry
from .models import (
    COLLECTIONS,
    FINDING_STATUSES,
    WITA,
    Region,
    Site,
    Stage,
    schedule_moments,
    slugs_of,
)

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
    """What the sync server knows and the builder cannot: revisions, recent changes, and when
    each record last changed (by 'collection/slug'; a record with no known change time, such
    as one only imported, is left out)."""

    revisions: dict[str, int]
    changes: list[Change]
    times: dict[str, dt.datetime] = field(default_factory=dict)


def reference_moment(today: dt.date) -> dt.datetime:
    """The moment a build shows the site at, which decides each record's ``publish_at`` and
    ``expire_at``: a date (``--today``, or today's date for ``pantau build``) stands for its
    start, 00:00 WITA, so a build for a given date is always the same; a datetime (the sync
    server passes the current moment) is that moment itself."""
    if isinstance(today, dt.datetime):
        return today if today.tzinfo is not None else today.replace(tzinfo=WITA)
    return start_of_day(today)


def next_change(content: Content, moment: dt.datetime) -> dt.datetime:
    """The first moment after ``moment`` at which a site built from ``content`` would differ
    with time alone: a record's ``publish_at`` or ``expire_at``, or the next midnight WITA
    (stage and campaign statuses change by date)."""
    local = moment.astimezone(WITA)
    soonest = start_of_day(local.date() + dt.timedelta(days=1))
    for name in COLLECTIONS:
        for entry in content.records(name):
            for when in schedule_moments(entry.data):
                if moment < when < soonest:
                    soonest = when
    return soonest


def href(entry: Entry) -> str:
    """The site path of a record's page."""
    prefix = COLLECTIONS[entry.collection].url
    return f"{prefix}/{entry.slug}/index.html" if prefix else f"{entry.slug}/index.html"


def region_href(region: Region) -> str:
    return f"wilayah/{region.slug}/index.html"


Window = tuple[dt.date | None, dt.date | None]


def stage_status(stage: Any, today: dt.date, window: Window | None = None) -> str:
    """selesai / berlangsung / akan-datang from the dates (or, for a stage that follows
    another, from the window worked out by ``stage_windows``), unless overridden by a
    decision."""
    override = getattr(stage, "override", None)
    if override and override.status == "postponed":
        return "ditunda"
    if override and override.status == "cancelled":
        return "dibatalkan"
    first, last = window if window is not None else (stage.start, stage.end)
    last = last or first
    if last is None:
        return "relatif"  # follows a stage whose end is not known yet
    if today > last:
        return "selesai"
    if first is None or today >= first:
        return "berlangsung"
    return "akan-datang"


def stage_windows(stages: dict[str, Entry]) -> dict[str, Window]:
    """(first day, last day) of every stage: its own dates, or for a stage that follows
    another (``after``), from the end of that one to ``days`` later. Unknown where the chain
    reaches a stage without an end, a missing stage or a loop."""
    windows: dict[str, Window] = {}

    def window(slug: str, seen: frozenset[str]) -> Window:
        if slug in windows:
            return windows[slug]
        entry = stages.get(slug)
        if entry is None or slug in seen:
            return (None, None)
        stage: Stage = entry.data  # type: ignore[assignment]
        if stage.after is None or stage.start or stage.end:
            found: Window = (stage.start, stage.end)
        else:
            _, before_end = window(stage.after.stage, seen | {slug})
            found = (
                (before_end, before_end + dt.timedelta(days=stage.after.days))
                if before_end
                else (None, None)
            )
        windows[slug] = found
        return found

    for slug in stages:
        window(slug, frozenset())
    return windows


@dataclass(frozen=True)
class FindingStep:
    """One step of a finding's follow-up, as the findings feed lists it."""

    entry: Entry
    index: int  # its place in the finding's timeline, from 0
    date: dt.date
    status: str
    note: str | None
    anchor: str  # its id on the finding's page, stable while its date and status are

    @property
    def time(self) -> dt.datetime:
        """The start of its day (WITA): a step is known by its date only."""
        return start_of_day(self.date)


@dataclass(frozen=True)
class SiteGraph:
    """The content in the order and with the links the pages need.

    Everything a template or an export reads goes through a property or a method here that
    notes what it read (see ``deps``): a record, a list, a query's result, a status, the date.
    """

    content: Content
    build_date: dt.date
    lists: dict[str, list[Entry]]  # the records on the site at the build's moment
    region_list: list[Region]
    changes: History | None = None
    fragments: Fragments = field(default_factory=Fragments, compare=False, repr=False)
    memo: Memo = field(default_factory=Memo, compare=False, repr=False)
    #: Query answers of this build (queries note their own key, never what they read).
    answers: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False, repr=False)
    #: Each record's status on the build date (queries, pages and fingerprints all ask).
    statuses: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    #: Each stage's (first, last) day, worked out once per build (see ``window``).
    windows: dict[str, Window] = field(default_factory=dict, compare=False, repr=False)
    #: Indexes the queries build once per build (records by what they link to, by status).
    indexes: dict[str, dict[str, list[Entry]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    # lists ----------------------------------------------------------------------------------

    def listed(self, collection: str) -> list[Entry]:
        """The published records of a collection, in display order."""
        deps.note("l:" + collection)
        return self.lists[collection]

    def __getattr__(self, name: str) -> list[Entry]:
        """``graph.stages``, ``graph.campaigns`` ...: a collection's published records."""
        lists = self.__dict__.get("lists", {})
        if name in lists:
            return self.listed(name)
        raise AttributeError(name)

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
        key = (name, arg)
        try:
            return self.answers[key]
        except KeyError:
            with deps.paused():
                value = self.answers[key] = QUERIES[name](self, arg)
            return value

    def answer_key(self, name: str, arg: str) -> str:
        """What a query's result is compared by: the keys of the records it returned."""
        result = self._answer(name, arg)
        items = result if isinstance(result, list) else [result]
        return "|".join([item.key if isinstance(item, Entry) else repr(item) for item in items])

    def stages_in_phase(self, phase: str) -> list[Entry]:
        return self.query("phase", phase)  # type: ignore[no-any-return]

    def backlinks(self, source: str, field: str, slug: str) -> list[Entry]:
        """The published records of ``source`` whose ``field`` names ``slug`` (the stages of a
        division, the campaigns of a region: a region's page lists the campaigns naming it,
        and province-wide ones once, on the province's page, so pages do not grow with every
        province-wide campaign)."""
        return self.query("links", f"{source}.{field}:{slug}")  # type: ignore[no-any-return]

    def current_stages(self) -> list[Entry]:
        return self.query("current")  # type: ignore[no-any-return]

    def next_stage(self) -> Entry | None:
        return self.query("next")  # type: ignore[no-any-return]

    def last_finished(self) -> Entry | None:
        """The stage that ended last, once all are over."""
        return self.query("last")  # type: ignore[no-any-return]

    def now_stage(self) -> Entry | None:
        """The most specific stage running: of those with both dates, the shortest; stages
        known only by an end date (background work) come last."""
        return self.query("now")  # type: ignore[no-any-return]

    def latest_campaigns(self, count: int = 3) -> list[Entry]:
        return self.query("latest", str(count))  # type: ignore[no-any-return]

    def menu(self) -> list[tuple[str, str]]:
        """(page path, label) of the pages that put themselves in the main menu."""
        return self.query("menu")  # type: ignore[no-any-return]

    # findings -----------------------------------------------------------------------------

    def findings_with_status(self, status: str) -> list[Entry]:
        """The findings whose follow-up stands at ``status`` now (their last step's), newest
        first."""
        return self.query("finding-status", status)  # type: ignore[no-any-return]

    def findings_by_status(self) -> list[tuple[str, list[Entry]]]:
        """(status, the findings standing at it) for every status that has one, in the order
        a follow-up goes."""
        found = [(status, self.findings_with_status(status)) for status in FINDING_STATUSES]
        return [(status, entries) for status, entries in found if entries]

    def finding_counts(self) -> list[tuple[str, int]]:
        """(status, how many findings stand at it), as ``findings_by_status``."""
        return [(status, len(entries)) for status, entries in self.findings_by_status()]

    def finding_stages(self) -> list[Entry]:
        """The stages that findings name, in the schedule's order."""
        return self.query("finding-stages")  # type: ignore[no-any-return]

    def finding_steps(self, count: int) -> list[FindingStep]:
        """The latest ``count`` steps of every finding's follow-up (a finding's first step is
        its report), newest first; ties by finding and by place in its timeline."""
        steps = [
            FindingStep(entry, index, step.date, step.status, step.note, anchor)
            for entry in self.listed("findings")
            for index, (step, anchor) in enumerate(
                zip(entry.record.timeline, entry.record.step_anchors(), strict=True)  # type: ignore[attr-defined]
            )
        ]
        return heapq.nlargest(count, steps, key=lambda s: (s.date, s.entry.key, s.index))

    def participation_rows(self) -> list[participation.Row]:
        """Every count with participation figures, region by region (compared by the figures
        themselves, so only a change to them re-renders the pages that show them)."""
        return self.query("participation")  # type: ignore[no-any-return]

    def turnout_targets(self) -> list[participation.Target]:
        """The turnout targets of the settings."""
        return self.site.participation_targets

    # single values ------------------------------------------------------------------------

    def page_of(self, key: str) -> str | None:
        """The page of a record named by key ('stages/kampanye'), if it is published."""
        collection, _, slug = key.partition("/")
        if collection not in self.lists:
            return None
        entry = next((e for e in self.listed(collection) if e.slug == slug), None)
        return href(entry) if entry is not None else None

    def revision(self, entry: Entry) -> int | None:
        deps.note("h:rev:" + entry.key)
        return self.changes.revisions.get(entry.key) if self.changes else None

    def status(self, entry: Entry) -> str:
        deps.note("status:" + entry.key)
        return self.status_now(entry)

    def status_now(self, entry: Entry) -> str:
        """A stage's (or a dated campaign's) status on the build date, noting nothing."""
        found = self.statuses.get(entry.key)
        if found is None:
            window = self._windows().get(entry.slug) if entry.collection == "stages" else None
            found = self.statuses[entry.key] = stage_status(entry.data, self.build_date, window)
        return found

    def window(self, entry: Entry) -> Window:
        """A stage's (first, last) day, worked out for stages that follow another."""
        deps.note("status:" + entry.key)
        return self._windows().get(entry.slug, (None, None))

    def _windows(self) -> dict[str, Window]:
        # Read through status keys, fingerprinted by their values: nothing is noted.
        found = self.windows
        if not found and self.stage_records:
            with deps.paused():
                found.update(stage_windows(self.stage_records))
        return found

    @property
    def stage_records(self) -> dict[str, Entry]:
        return self.content.entries.get("stages", {})

    def linked(self, entry: Entry, field_name: str) -> list[Entry]:
        """The records one of a record's reference fields names (a stage's divisions) that
        are on the site (one scheduled for later, or expired, is left out)."""
        spec = COLLECTIONS[entry.collection]
        (reference,) = (r for r in spec.references if r.field == field_name)
        targets = self.content.entries[reference.target]
        shown = self.memo.get(
            ("shown", reference.target),
            lambda: frozenset(e.slug for e in self.listed(reference.target)),
        )
        slugs = slugs_of(getattr(entry.record, field_name))
        return [targets[slug] for slug in slugs if slug in shown]

    def regions_of(self, entry: Entry, field_name: str = "regions") -> list[Region]:
        """The regions a record names in one of its fields."""
        deps.note("regions")
        return [self.content.regions[s] for s in getattr(entry.record, field_name)]

    def days_to_election(self) -> int:
        """Positive before voting day, 0 on it, negative after."""
        return (self.site.election_day - self.today).days

    def changed(self, entry: Entry) -> dt.datetime | None:
        """When a record last changed, if known: its own 'updated' if its author set one,
        else the time of its last change in the sync server's history, else None."""
        return entry.record.updated or self.history_time(entry.key)

    def history_time(self, key: str) -> dt.datetime | None:
        """When the sync server last recorded a change to a record (noted as ``h:time:key``)."""
        deps.note("h:time:" + key)
        return self.changes.times.get(key) if self.changes else None

    def updated(self, entry: Entry) -> dt.datetime:
        """When a record last changed (see ``changed``), or the start of the build's day (for
        feeds and calendars, which need a time; pages show only known times)."""
        return self.changed(entry) or start_of_day(self.today)

    def updated_today(self) -> dt.datetime:
        return start_of_day(self.today)

    def newest_of(self, keys: set[str] | frozenset[str]) -> dt.datetime | None:
        """The newest change among the records read ("Data per ..."), or None when none of
        them says when it changed (a time is never made up)."""
        found: list[dt.datetime] = []
        entries = self.content.entries
        for key in list(keys):  # a copy: `keys` may be the set this render notes into
            if key.startswith("r:"):
                collection, _, slug = key[2:].partition("/")
                entry = entries.get(collection, {}).get(slug)
                if entry is None:
                    continue
                when = entry.data.updated or self.history_time(entry.key)
                if when is not None:
                    found.append(when)
        if "h:changes" in keys and self.changes and self.changes.changes:
            found.append(self.changes.changes[0].time)
        return max(found, default=None)


def _phase(graph: SiteGraph, phase: str) -> list[Entry]:
    return [s for s in graph.lists["stages"] if s.data.phase == phase]  # type: ignore[attr-defined]


def _links(graph: SiteGraph, arg: str) -> list[Entry]:
    where, _, slug = arg.partition(":")
    return links_index(graph, where).get(slug, [])


def links_index(graph: SiteGraph, where: str) -> dict[str, list[Entry]]:
    """The index of the 'links' queries on ``where`` ('<source>.<field>'), built once per
    build (queries note nothing, see SiteGraph._answer: a plain cache will do)."""
    index = graph.indexes.get(where)
    if index is None:
        source, _, field_name = where.partition(".")
        index = graph.indexes[where] = _link_index(graph, source, field_name)
    return index


def _link_index(graph: SiteGraph, source: str, field_name: str) -> dict[str, list[Entry]]:
    """slug -> the records of ``source`` whose ``field_name`` lists it, in display order."""
    index: dict[str, list[Entry]] = {}
    for entry in graph.lists.get(source, []):
        for slug in dict.fromkeys(slugs_of(getattr(entry.data, field_name))):
            index.setdefault(slug, []).append(entry)
    return index


def _status_of(graph: SiteGraph, wanted: str) -> list[Entry]:
    """The listed stages with one status, in list order (grouped once per build)."""
    groups = graph.indexes.get("status")
    if groups is None:
        groups = graph.indexes["status"] = {}
        for stage in graph.lists["stages"]:
            groups.setdefault(graph.status_now(stage), []).append(stage)
    return groups.get(wanted, [])


def _now(graph: SiteGraph, _arg: str) -> Entry | None:
    def specific(entry: Entry) -> tuple[Any, ...]:
        first, last = graph._windows().get(entry.slug, (None, None))
        last = last or first  # a single-day stage (voting day) is the most specific of all
        if first and last:
            return (0, (last - first).days, -first.toordinal(), entry.slug)
        return (1, last.toordinal() if last else 0, 0, entry.slug)

    return min(_status_of(graph, "berlangsung"), key=specific, default=None)


def _last(graph: SiteGraph, _arg: str) -> Entry | None:
    def end(entry: Entry) -> tuple[dt.date, str]:
        first, last = graph._windows().get(entry.slug, (None, None))
        return (last or first or dt.date.min, entry.slug)

    return max(_status_of(graph, "selesai"), key=end, default=None)


def _next(graph: SiteGraph, _arg: str) -> Entry | None:
    return next(iter(_status_of(graph, "akan-datang")), None)


def _latest(graph: SiteGraph, count: str) -> list[Entry]:
    order = COLLECTIONS["campaigns"].order
    campaigns = graph.lists["campaigns"]
    return heapq.nlargest(int(count), campaigns, key=lambda e: order(e.data, e.slug))


def _feed(graph: SiteGraph, count: str) -> list[Entry]:
    # As graph.updated(e), without noting (queries note nothing) for thousands of records.
    times = graph.changes.times if graph.changes else {}
    today = start_of_day(graph.today)

    def newest(e: Entry) -> tuple[dt.datetime, str]:
        return (e.data.updated or times.get(e.key) or today, e.key)

    entries = [*graph.lists["stages"], *graph.lists["campaigns"]]
    return heapq.nlargest(int(count), entries, key=newest)


def _menu(graph: SiteGraph, _arg: str) -> list[tuple[str, str]]:
    return [(href(p), p.data.menu) for p in graph.lists["pages"] if p.data.menu]  # type: ignore[attr-defined]


def _finding_status(graph: SiteGraph, status: str) -> list[Entry]:
    return [f for f in graph.lists["findings"] if f.data.current_status == status]  # type: ignore[attr-defined]


def _finding_stages(graph: SiteGraph, _arg: str) -> list[Entry]:
    named = {f.data.stage for f in graph.lists["findings"]}  # type: ignore[attr-defined]
    return [s for s in graph.lists["stages"] if s.slug in named]


#: Queries over the content by name: each returns records (or one), compared by their keys.
QUERIES: dict[str, Callable[[SiteGraph, str], Any]] = {
    "phase": _phase,
    "links": _links,
    "current": lambda graph, _arg: _status_of(graph, "berlangsung"),
    "next": _next,
    "now": _now,
    "last": _last,
    "latest": _latest,
    "menu": _menu,
    "feed": _feed,
    "finding-status": _finding_status,
    "finding-stages": _finding_stages,
    "pages": lambda graph, _arg: [],  # the plan's HTML pages: answered by render.make_plan
    "participation": lambda graph, _arg: participation.rows(graph.region_list),
}


def build_graph(
    content: Content,
    today: dt.date,
    history: History | None = None,
    fragments: Fragments | None = None,
) -> SiteGraph:
    """The graph of ``content`` as the site shows it on ``today``: a date, or a datetime for
    a build at an exact moment (see ``reference_moment``)."""
    moment = reference_moment(today)
    if isinstance(today, dt.datetime):
        today = moment.astimezone(WITA).date()
    lists = {
        name: sorted(
            (e for e in content.records(name) if spec.visible(e.data, moment)),
            key=lambda e, order=spec.order: order(e.data, e.slug),  # type: ignore[misc]
            reverse=spec.newest_first,
        )
        for name, spec in COLLECTIONS.items()
    }
    regions = sorted(content.regions.values(), key=lambda r: (r.kind != "provinsi", r.kind, r.name))
    return SiteGraph(content, today, lists, regions, history, fragments or Fragments())
