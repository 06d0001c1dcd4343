"""Machine-readable outputs: JSON, CSV and JSON Schema per collection, and the calendar."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import textwrap
from typing import Any

from .dates import EN_DASH
from .graph import STATUS_LABELS, SiteGraph
from .load import Entry
from .models import COLLECTIONS, Regions
from .pages import Output, href, region_href

EXPORTED = tuple(name for name, spec in COLLECTIONS.items() if spec.exported)


def _status(graph: SiteGraph, entry: Entry) -> str | None:
    return graph.status(entry) if COLLECTIONS[entry.collection].has_status else None


def record_path(entry: Entry) -> str:
    """data/<collection>/<slug>.json: one record whole, body included."""
    return f"data/{entry.collection}/{entry.slug}.json"


def record_row(graph: SiteGraph, entry: Entry, *, body: bool = True) -> dict[str, Any]:
    """A record as plain JSON data, with its stable id (the slug) and page path. Without the
    body (the collection files), it names the file that has the whole record instead, so the
    collection files grow with the number of records, not with the length of their texts."""
    row: dict[str, Any] = {"id": entry.slug, "url": href(entry)}
    row.update(entry.record.model_dump(mode="json", exclude=None if body else {"body"}))
    if not body:
        row["data"] = record_path(entry)
    status = _status(graph, entry)
    if status is not None:
        row["status"] = status
    return row


def region_rows(graph: SiteGraph) -> list[dict[str, Any]]:
    return [
        {"id": r.slug, "url": region_href(r), **r.model_dump(mode="json", exclude={"slug"})}
        for r in graph.regions
    ]


def _entries(graph: SiteGraph, collection: str) -> list[Entry]:
    return graph.listed(collection)


def columns(collection: str) -> list[str]:
    """CSV columns: the id, the page, every field of the model but the body, a stage's
    status, and the file with the whole record."""
    fields = [f for f in COLLECTIONS[collection].model.model_fields if f != "body"]
    status = ["status"] if COLLECTIONS[collection].has_status else []
    return ["id", "url", *fields, *status, "data"]


#: What a spreadsheet takes for the start of a formula ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """One CSV cell. Text a spreadsheet would run as a formula gets a leading apostrophe,
    as OWASP recommends, so opening the file runs nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = "; ".join(value)
    elif isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) and not _is_number(value) else text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def csv_lines(header: list[str], rows: list[dict[str, Any]]) -> str:
    """Rows as CSV: lists of text joined with '; ', nested values as JSON."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    for row in rows:
        writer.writerow({key: _cell(row.get(key)) for key in header})
    return buffer.getvalue()


def to_json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode()


def json_export(graph: SiteGraph, collection: str) -> bytes:
    """data/<collection>.json: the same bytes as json.dumps(rows, indent=2), assembled from
    rows serialised once per record text."""
    if collection == "regions":
        return to_json(region_rows(graph))
    pieces = [
        graph.fragments.get(
            ("json", e.key),
            lambda e=e: textwrap.indent(
                json.dumps(record_row(graph, e, body=False), ensure_ascii=False, indent=2), "  "
            ),
        )
        for e in _entries(graph, collection)
    ]
    return ("[\n" + ",\n".join(pieces) + "\n]\n" if pieces else "[]\n").encode()


def csv_export(graph: SiteGraph, collection: str) -> bytes:
    """data/<collection>.csv, one header line, then one line per record."""
    if collection == "regions":
        rows = region_rows(graph)
        header = list(rows[0]) if rows else ["id"]
        return (",".join(header) + "\n" + csv_lines(header, rows)).encode()
    header = columns(collection)
    lines = [
        graph.fragments.get(
            ("csv", e.key),
            lambda e=e: csv_lines(header, [record_row(graph, e, body=False)]),
        )
        for e in _entries(graph, collection)
    ]
    return (",".join(header) + "\n" + "".join(lines)).encode("utf-8")


def data_outputs(graph: SiteGraph) -> list[Output]:
    """data/<collection>.json, .csv and .schema.json, and data/<collection>/<slug>.json for
    each record."""
    outputs = [
        Output(record_path(e), make=lambda e=e: to_json(record_row(graph, e)))
        for collection in EXPORTED
        for e in graph.lists[collection]
    ]
    for collection in (*EXPORTED, "regions"):
        model = Regions if collection == "regions" else COLLECTIONS[collection].model
        outputs += [
            Output(f"data/{collection}.json", make=lambda c=collection: json_export(graph, c)),
            Output(f"data/{collection}.csv", make=lambda c=collection: csv_export(graph, c)),
            Output(
                f"data/{collection}.schema.json",
                make=lambda m=model: to_json(m.model_json_schema()),
            ),
        ]
    return outputs


def calendar(graph: SiteGraph) -> bytes:
    """Every dated stage as an all-day event (end-only stages on their last day)."""
    from icalendar import Calendar  # imported when a calendar is made: it is slow to load

    cal = Calendar()
    cal.add("prodid", "-//Pantau//Tahapan Pilkada//ID")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Tahapan {EN_DASH} {graph.site.title}")
    cal.add("x-wr-timezone", graph.site.timezone)
    head, end = cal.to_ical().rsplit(b"END:VCALENDAR", 1)
    events = []
    for entry in graph.stages:
        events.append(graph.fragments.get(("ics", entry.key), lambda e=entry: _event(graph, e)))
    return head + b"".join(events) + b"END:VCALENDAR" + end


def _event(graph: SiteGraph, entry: Entry) -> bytes:
    """One stage as a VEVENT, or nothing for a stage without dates."""
    from icalendar import Event

    base_url = graph.site.base_url
    host = (base_url or "https://pantau.invalid/").split("/")[2]
    stage: Any = entry.record
    first = stage.start or stage.end
    last = stage.end or stage.start
    if first is None:
        return b""
    event = Event()
    event.add("uid", f"{entry.slug}@{host}")
    title = stage.title if stage.start else f"{stage.title} (batas akhir)"
    event.add("summary", title)
    event.add("dtstart", first)
    event.add("dtend", last + dt.timedelta(days=1))
    event.add("dtstamp", graph.updated(entry).astimezone(dt.UTC))
    status = graph.status(entry)
    event.add("description", f"{STATUS_LABELS[status]}. {stage.summary}")
    if base_url:
        event.add("url", base_url + href(entry))
    if status == "dibatalkan":
        event.add("status", "CANCELLED")
    return event.to_ical()


FEED_SIZE = 50


def feed_entries(graph: SiteGraph) -> list[Entry]:
    """The latest stages and campaigns, newest update first (ties by path, for stable output)."""
    return graph.query("feed", str(FEED_SIZE))  # type: ignore[no-any-return]
