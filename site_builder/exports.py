"""Machine-readable outputs: JSON, CSV and JSON Schema per collection, and the calendar."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from icalendar import Calendar, Event

from .dates import EN_DASH
from .graph import STATUS_LABELS, SiteGraph
from .load import Entry
from .models import COLLECTIONS, Regions
from .pages import Output, href, region_href

EXPORTED = ("stages", "teams", "campaigns")


def record_row(graph: SiteGraph, entry: Entry) -> dict[str, Any]:
    """A record as plain JSON data, with its stable id (the slug) and page path."""
    row: dict[str, Any] = {"id": entry.slug, "url": href(entry)}
    row.update(entry.record.model_dump(mode="json"))
    if entry.collection == "stages":
        row["status"] = graph.status(entry)
    return row


def _rows(graph: SiteGraph, collection: str) -> list[dict[str, Any]]:
    if collection == "regions":
        return [
            {"id": r.slug, "url": region_href(r), **r.model_dump(mode="json", exclude={"slug"})}
            for r in graph.regions
        ]
    entries = {"stages": graph.stages, "teams": graph.teams, "campaigns": graph.campaigns}
    return [record_row(graph, e) for e in entries[collection]]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """Rows as CSV: lists of text joined with '; ', nested values as JSON."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key)) for key in columns})
    return buffer.getvalue().encode("utf-8")


def to_json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode()


def data_outputs(graph: SiteGraph) -> list[Output]:
    """data/<collection>.json, .csv and .schema.json."""
    outputs = []
    for collection in (*EXPORTED, "regions"):
        deps = frozenset({"regions"} if collection == "regions" else {f"{collection}/*"})
        model = Regions if collection == "regions" else COLLECTIONS[collection].model
        outputs += [
            Output(
                f"data/{collection}.json",
                records=deps,
                make=lambda c=collection: to_json(_rows(graph, c)),
            ),
            Output(
                f"data/{collection}.csv",
                records=deps,
                make=lambda c=collection: to_csv(_rows(graph, c)),
            ),
            Output(
                f"data/{collection}.schema.json",
                make=lambda m=model: to_json(m.model_json_schema()),
            ),
        ]
    return outputs


def calendar(graph: SiteGraph) -> bytes:
    """Every dated stage as an all-day event (end-only stages on their last day)."""
    cal = Calendar()
    cal.add("prodid", "-//Pantau//Tahapan Pilkada//ID")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Tahapan {EN_DASH} {graph.content.site.title}")
    cal.add("x-wr-timezone", graph.content.site.timezone)
    host = (graph.content.site.base_url or "https://pantau.invalid/").split("/")[2]
    for entry in graph.stages:
        stage: Any = entry.record
        first = stage.start or stage.end
        last = stage.end or stage.start
        if first is None:
            continue
        event = Event()
        event.add("uid", f"{entry.slug}@{host}")
        title = stage.title if stage.start else f"{stage.title} (batas akhir)"
        event.add("summary", title)
        event.add("dtstart", first)
        event.add("dtend", last + dt.timedelta(days=1))
        event.add("dtstamp", graph.updated(entry).astimezone(dt.UTC))
        status = graph.status(entry)
        event.add("description", f"{STATUS_LABELS[status]}. {stage.summary}")
        if graph.content.site.base_url:
            event.add("url", graph.content.site.base_url + href(entry))
        if status == "dibatalkan":
            event.add("status", "CANCELLED")
        cal.add_component(event)
    return cal.to_ical()


FEED_SIZE = 50


def feed_entries(graph: SiteGraph) -> list[Entry]:
    """The latest stages and campaigns, newest update first (ties by path, for stable output)."""
    entries = [*graph.stages, *graph.campaigns]
    ordered = sorted(entries, key=lambda e: (graph.updated(e), e.key), reverse=True)
    return ordered[:FEED_SIZE]
