"""Machine-readable outputs: JSON, CSV and JSON Schema per collection, and the calendar."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import textwrap
from collections.abc import Callable, Hashable
from typing import Any

from .datapackage import EXPORTED, STATUSES, Table, all_tables, package, rows
from .dates import EN_DASH
from .graph import STATUS_LABELS, SiteGraph
from .load import Entry
from .models import COLLECTIONS, Region
from .pages import Output, href, region_href


def _status(graph: SiteGraph, entry: Entry) -> str | None:
    return graph.status(entry) if COLLECTIONS[entry.collection].has_status else None


def record_path(entry: Entry) -> str:
    """data/<collection>/<slug>.json: one record whole, body included."""
    return f"data/{entry.collection}/{entry.slug}.json"


def site_url(graph: SiteGraph, path: str) -> str:
    """A site path as the data gives it: absolute when the site has a base_url, else as
    the path from the site's root."""
    return (graph.site.base_url or "") + path


def record_row(graph: SiteGraph, entry: Entry, *, body: bool = True) -> dict[str, Any]:
    """A record as plain JSON data, with its stable id (the slug) and page. Without the body
    (the collection files), it names the file that has the whole record instead, so the
    collection files grow with the number of records, not with the length of their texts."""
    row: dict[str, Any] = {"id": entry.slug, "url": site_url(graph, href(entry))}
    row.update(entry.record.model_dump(mode="json", exclude=None if body else {"body"}))
    status = _status(graph, entry)
    if status is not None:
        row["status"] = status
    if not body:
        row["data"] = site_url(graph, record_path(entry))
    return row


def region_row(graph: SiteGraph, region: Region) -> dict[str, Any]:
    return {
        "id": region.slug,
        "url": site_url(graph, region_href(region)),
        **region.model_dump(mode="json", exclude={"slug"}),
    }


def region_rows(graph: SiteGraph) -> list[dict[str, Any]]:
    return [region_row(graph, r) for r in graph.regions]


#: What a spreadsheet takes for the start of a formula ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """One CSV cell. Text a spreadsheet would run as a formula gets a leading apostrophe,
    as OWASP recommends, so opening the file runs nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) and not _is_number(value) else text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def csv_lines(header: list[str], rows: list[dict[str, Any]]) -> str:
    """Rows as CSV lines, in the header's order."""
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
    rows = graph.fragments.combined(
        [
            (
                ("json", e.key),
                lambda e=e: textwrap.indent(
                    json.dumps(record_row(graph, e, body=False), ensure_ascii=False, indent=2),
                    "  ",
                ),
            )
            for e in graph.listed(collection)
        ],
        ",\n".join,
    )
    return ("[\n" + rows + "\n]\n" if rows else "[]\n").encode()


def _root(table: Table) -> Table:
    while table.parent is not None:
        table = table.parent
    return table


#: Between one record's lines of each table in the fragment that holds them all (a control
#: character, which no record's fields can hold: the reader refuses them).
TABLE_SEPARATOR = "\x1e"


def _record_lines(root: Table, data: dict[str, Any]) -> str:
    """The CSV lines one record (or region) gives each table of ``root``, in walk order."""
    found = rows(root, data)
    pieces = [csv_lines(t.header, found[t.name]) for t in root.walk()]
    assert not any(TABLE_SEPARATOR in piece for piece in pieces)
    return TABLE_SEPARATOR.join(pieces)


def table_csv(graph: SiteGraph, table: Table) -> bytes:
    """data/<table>.csv: a header line, then the rows each record gives the table. A
    record's lines for every table of its collection are made at once, in one fragment kept
    while what it read is unchanged, so a record is turned into rows once, not once per
    table; and the lines of a collection's tables are gathered once per build."""
    root = _root(table)
    place = [t.name for t in root.walk()].index(table.name)
    lines = graph.memo.get(("csv", root.name), lambda: _collection_lines(graph, root))
    return (",".join(table.header) + "\n" + "".join(lines[place])).encode("utf-8")


def _collection_lines(graph: SiteGraph, root: Table) -> list[list[str]]:
    """For each table of ``root`` (in walk order), the lines of every record in list order."""
    items: list[tuple[Hashable, Callable[[], str]]]
    if root.name == "regions":
        # The region is looked up again inside the fragment, so that the fragment itself
        # records that it read the regions (a captured object would read nothing).
        items = [
            (
                ("csv", "regions/" + region.slug),
                lambda i=index: _record_lines(root, region_row(graph, graph.regions[i])),
            )
            for index, region in enumerate(graph.regions)
        ]
    else:
        items = [
            (("csv", e.key), lambda e=e: _record_lines(root, record_row(graph, e, body=False)))
            for e in graph.listed(root.name)
        ]
    made = graph.fragments.combined(items, _merge_lines)
    if not made:
        return [[] for _ in root.walk()]
    return [[part] for part in made.split(TABLE_SEPARATOR)]


def _merge_lines(pieces: list[str]) -> str:
    """Several records' lines (see ``_record_lines``) as one piece of the same shape: each
    table's lines one after the other (associative, as ``Fragments.combined`` needs)."""
    if not pieces:
        return ""
    tables = zip(*(piece.split(TABLE_SEPARATOR) for piece in pieces), strict=True)
    return TABLE_SEPARATOR.join("".join(lines) for lines in tables)


def export_schema(collection: str, *, whole: bool) -> dict[str, Any]:
    """The JSON Schema of what data/<collection>.json holds (a list of rows without the
    text), or with ``whole`` of one data/<collection>/<slug>.json (the text included)."""
    model = Region if collection == "regions" else COLLECTIONS[collection].model
    schema = model.model_json_schema(mode="serialization")
    fields = dict(schema.pop("properties"))
    fields.pop("slug", None) if collection == "regions" else None
    if not whole:
        fields.pop("body", None)
    properties: dict[str, Any] = {
        "id": {"type": "string", "description": "The stable identifier (the slug)."},
        "url": {"type": "string", "description": "The page of the record."},
        **fields,
    }
    if collection != "regions" and COLLECTIONS[collection].has_status:
        properties["status"] = {
            "enum": list(STATUSES),
            "description": "Status on the build's date.",
        }
    if collection != "regions" and not whole:
        properties["data"] = {"type": "string", "description": "The file with the whole record."}
    row = {
        "type": "object",
        "title": schema.get("title", collection),
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    document: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    if whole:
        document.update(row)
    else:
        document.update({"type": "array", "items": row})
    if "$defs" in schema:
        document["$defs"] = schema["$defs"]
    return document


def created(graph: SiteGraph) -> dt.datetime:
    """When the data last changed: the newest known change of an exported record, else the
    start of the build's day (never a made-up time of day)."""
    times = [graph.changed(e) for c in EXPORTED for e in graph.listed(c)]
    return max((t for t in times if t is not None), default=graph.updated_today())


def data_outputs(graph: SiteGraph) -> list[Output]:
    """data/<collection>.json and its JSON Schema, data/<collection>/<slug>.json for each
    record, a CSV per table with data/datapackage.json describing them."""
    outputs = [
        Output(record_path(e), make=lambda e=e: to_json(record_row(graph, e)))
        for collection in EXPORTED
        for e in graph.lists[collection]
    ]
    for collection in (*EXPORTED, "regions"):
        outputs += [
            Output(f"data/{collection}.json", make=lambda c=collection: json_export(graph, c)),
            Output(
                f"data/{collection}.schema.json",
                make=lambda c=collection: to_json(export_schema(c, whole=False)),
            ),
        ]
        if collection != "regions":
            outputs.append(
                Output(
                    f"data/{collection}.record.schema.json",
                    make=lambda c=collection: to_json(export_schema(c, whole=True)),
                )
            )
    outputs += [Output(t.path, make=lambda t=t: table_csv(graph, t)) for t in all_tables()]
    outputs.append(
        Output("data/datapackage.json", make=lambda: to_json(package(graph.site, created(graph))))
    )
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
    events = graph.fragments.combined(
        [(("ics", e.key), lambda e=e: _event(graph, e)) for e in graph.stages], b"".join
    )
    return head + events + b"END:VCALENDAR" + end


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
