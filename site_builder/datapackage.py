"""The open data as flat tables: one CSV per collection and one per list inside a record (a
stage's sources, a team's members, a campaign's regions ...), joined by keys, described by a
Frictionless Data Package (``data/datapackage.json``) with a Table Schema per CSV.

Every table follows from the models: a scalar field is a column, a nested mapping
(``after``, ``image``) becomes columns named ``after_stage``, ``image_src``, and a list
becomes a table of its own with the keys of the row it belongs to and its ``position``
(from 1). References (a stage's divisions, a campaign's regions, ``after.stage``) are
foreign keys. Column descriptions are the models' own, in Indonesian (from the message
catalogue) and English.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from .i18n import translations
from .models import COLLECTIONS, Region, Site, unwrap

EXPORTED = tuple(name for name, spec in COLLECTIONS.items() if spec.exported)

#: Columns every record table starts with, and the ones a stage adds.
ID_COLUMN = ("id", "The record's stable identifier (its slug); it never changes.")
URL_COLUMN = ("url", "Its page: absolute when the site has a base_url, else from the site root.")
DATA_COLUMN = ("data", "The JSON file with the whole record, its text included.")
STATUS_COLUMN = ("status", "The stage's status on the build's date.")
POSITION = ("position", "Its place in the record's list, from 1.")

#: The status values a stage can have in the data (graph.STATUS_LABELS' keys).
STATUSES = ("selesai", "berlangsung", "akan-datang", "ditunda", "dibatalkan", "relatif")

#: Fields left out of the tables: the text (in the record's JSON file) and ``draft`` (a
#: draft is never published, so it would always read false).
LEFT_OUT = frozenset({"body", "draft"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a Table Schema type
    description: str  # English; Indonesian from the catalogue
    path: tuple[str, ...] = ()  # where the value is in the item's data
    required: bool = False
    enum: tuple[str, ...] = ()
    format: str | None = None

    def descriptor(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.format:
            found["format"] = self.format
        found["description"] = indonesian(self.description)
        found["description_en"] = self.description
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.enum:
            constraints["enum"] = list(self.enum)
        if constraints:
            found["constraints"] = constraints
        return found


@dataclass
class Table:
    """One CSV: its columns, keys, and the tables of the lists in its items."""

    name: str
    description: str
    keys: list[str]  # the primary key
    columns: list[Column]
    list_path: tuple[str, ...] = ()  # where its items are in the parent item
    scalar: bool = False  # items are plain values (the column after the keys)
    parent: Table | None = None
    references: dict[str, str] = field(default_factory=dict)  # column -> table it names
    children: list[Table] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"data/{self.name}.csv"

    @property
    def header(self) -> list[str]:
        return [*self.keys, *(c.name for c in self.columns if c.name not in self.keys)]

    def walk(self) -> Iterator[Table]:
        yield self
        for child in self.children:
            yield from child.walk()

    def descriptor(self) -> dict[str, Any]:
        by_name = {c.name: c for c in self.columns}
        fields = [by_name[name].descriptor() for name in self.header]
        schema: dict[str, Any] = {"fields": fields, "primaryKey": list(self.keys)}
        foreign = []
        if self.parent is not None:
            mine = self.keys[:-1]
            foreign.append(
                {
                    "fields": mine,
                    "reference": {"resource": self.parent.name, "fields": self.parent.keys},
                }
            )
        for column, target in self.references.items():
            foreign.append(
                {"fields": [column], "reference": {"resource": target, "fields": ["id"]}}
            )
        if foreign:
            schema["foreignKeys"] = foreign
        return {
            "name": self.name,
            "path": f"{self.name}.csv",
            "title": indonesian(self.description),
            "description": self.description,
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": schema,
        }


def indonesian(text: str) -> str:
    return translations("id").gettext(text)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``models.unwrap``, with a union of several types read as text."""
    inner, optional = unwrap(annotation)
    several = typing.get_origin(inner) in (typing.Union, types.UnionType)
    return (str if several else inner), optional


def _scalar(annotation: Any) -> tuple[str, tuple[str, ...]] | None:
    """(Table Schema type, allowed values) of a plain value type, or None for other types."""
    if typing.get_origin(annotation) is Literal:
        return "string", tuple(str(v) for v in typing.get_args(annotation))
    if annotation is bool:
        return "boolean", ()
    if annotation is int:
        return "integer", ()
    if annotation is float:
        return "number", ()
    if annotation is dt.datetime:
        return "datetime", ()
    if annotation is dt.date:
        return "date", ()
    if annotation is str:
        return "string", ()
    return None


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _columns(
    table: Table, model: type[BaseModel], prefix: tuple[str, ...], refs: dict[str, str]
) -> None:
    """Add a model's fields to a table: scalars as columns, nested mappings flattened, lists
    as child tables."""
    hints = typing.get_type_hints(model, include_extras=True)
    for name, info in model.model_fields.items():
        if name in LEFT_OUT or (table.parent is None and name == "slug"):
            continue
        annotation, optional = _unwrap(hints.get(name, info.annotation))
        path = (*prefix, name)
        dotted = ".".join(path)
        description = info.description or name
        if typing.get_origin(annotation) is list:
            item, _optional = _unwrap(typing.get_args(annotation)[0])
            _child(table, name, path, item, description, refs.get(dotted))
            continue
        nested = _model_of(annotation)
        if nested is not None:
            _columns(table, nested, path, refs)
            continue
        kind = _scalar(annotation)
        if kind is None:
            continue
        column = "_".join(path)
        required = info.is_required() and not optional and not prefix
        fmt = "uri" if name == "url" else None
        table.columns.append(Column(column, kind[0], description, path, required, kind[1], fmt))
        if dotted in refs:
            table.references[column] = refs[dotted]


def _child(
    parent: Table, name: str, path: tuple[str, ...], item: Any, description: str, target: str | None
) -> None:
    """The table of a list field: the parent's keys, a position, and the item's columns."""
    root = parent
    while root.parent is not None:
        root = root.parent
    owner = _singular(root.name)
    if parent.parent is None:
        keys = [f"{owner}_id"]
    else:
        keys = [*parent.keys[:-1], f"{_singular(parent.list_path[-1])}_position"]
    keys.append("position")
    stem = _singular(parent.name) if parent.parent is not None else owner
    child = Table(f"{stem}_{'_'.join(path)}", description, keys, [], path, parent=parent)
    key_help = {
        keys[0]: f"The id of the {owner} in {root.name}.csv.",
        "position": POSITION[1],
    }
    for key in keys:
        text = key_help.get(key, "Its place in the list it belongs to, from 1.")
        kind = "string" if key == keys[0] else "integer"
        child.columns.append(Column(key, kind, text, (), True))
    nested = _model_of(item)
    if nested is None:
        kind = _scalar(item) or ("string", ())
        value = f"{_singular(target)}_id" if target else "value"
        child.scalar = True
        child.columns.append(Column(value, kind[0], description, (), True, kind[1]))
        if target:
            child.references[value] = target
    else:
        _columns(child, nested, (), {})
    parent.children.append(child)


def record_tables(collection: str) -> Table:
    """The tables of one collection (its own and those of its lists)."""
    spec = COLLECTIONS[collection]
    refs = {ref.field: ref.target for ref in spec.references}
    table = Table(collection, _doc(spec.model), ["id"], [])
    table.columns += [
        Column(ID_COLUMN[0], "string", ID_COLUMN[1], (), True),
        Column(URL_COLUMN[0], "string", URL_COLUMN[1], (), True),
    ]
    _columns(table, spec.model, (), refs)
    if spec.has_status:
        table.columns.append(
            Column(STATUS_COLUMN[0], "string", STATUS_COLUMN[1], (), True, STATUSES)
        )
    table.columns.append(Column(DATA_COLUMN[0], "string", DATA_COLUMN[1], (), True))
    return table


def region_tables() -> Table:
    table = Table("regions", _doc(Region), ["id"], [])
    table.columns += [
        Column(ID_COLUMN[0], "string", ID_COLUMN[1], (), True),
        Column(URL_COLUMN[0], "string", URL_COLUMN[1], (), True),
    ]
    _columns(table, Region, (), {})
    return table


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or model.__name__).split("\n\n")[0].replace("\n", " ")


@functools.cache
def all_tables() -> tuple[Table, ...]:
    """Every table, the record tables first, each followed by the tables of its lists (made
    once: they follow from the models alone)."""
    return tuple(
        t for root in (*map(record_tables, EXPORTED), region_tables()) for t in root.walk()
    )


def _value(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def rows(root: Table, data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The rows one record (its data as JSON values, with id, url, status, data) gives each
    table of ``root``."""
    found: dict[str, list[dict[str, Any]]] = {t.name: [] for t in root.walk()}

    def fill(table: Table, item: Any, keys: list[Any]) -> None:
        if table.scalar:
            found[table.name].append(dict(zip(table.header, [*keys, item], strict=True)))
            return
        row = dict(zip(table.keys, keys, strict=True))
        for column in table.columns:
            if column.name not in row:
                row[column.name] = (
                    _value(item, column.path) if column.path else item.get(column.name)
                )
        found[table.name].append(row)
        for child in table.children:
            for position, sub in enumerate(_value(item, child.list_path) or [], 1):
                fill(child, sub, [*keys, position])

    fill(root, data, [data["id"]])
    return found


def data_files() -> list[dict[str, Any]]:
    """The CSV files for the data page: file name, what it holds (in Indonesian), the table
    it belongs to (None for a record table) and its keys."""
    return [
        {
            "path": table.path,
            "name": table.path.removeprefix("data/"),
            "title": indonesian(table.description),
            "parent": table.parent.name if table.parent else None,
            "keys": table.keys,
        }
        for table in all_tables()
    ]


def model_texts() -> list[str]:
    """Every description of the models and their columns, for the message catalogue."""
    texts: list[str] = [PACKAGE_DESCRIPTION]
    for table in all_tables():
        texts.append(table.description)
        texts += [column.description for column in table.columns]
    return list(dict.fromkeys(texts))


PACKAGE_DESCRIPTION = (
    "The open data of the site: stages, team, campaigns and regions, as flat tables."
)


def package(site: Site, created: dt.datetime) -> dict[str, Any]:
    """The data package descriptor for data/datapackage.json."""
    resources = [table.descriptor() for table in all_tables()]
    descriptor: dict[str, Any] = {
        "name": "pantau-data",
        "title": site.title,
        "description": indonesian(PACKAGE_DESCRIPTION),
        "created": created.isoformat(),
        "resources": resources,
    }
    if site.base_url:
        descriptor["homepage"] = site.base_url
    if site.licence is not None:
        descriptor["licenses"] = [{"path": site.licence.url, "title": site.licence.name}]
    return descriptor
