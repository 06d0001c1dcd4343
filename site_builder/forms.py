"""What the browser editor's form for a collection looks like, made from the collection's
model (its fields, their types, titles and descriptions) and its declared references, so a
field is described once. Labels and help are in Indonesian from the message catalogue.

Each field is a dict: ``name``, ``label``, ``help``, ``kind``, ``required``, and per kind
``options`` (select, choices: [value, label] pairs, or the collection or "regions" they come
from in ``source``) or ``fields`` (group, rows: the fields of each item). Kinds: text,
markdown, date, datetime, number, checkbox, select, lines (a list of texts, one a line),
choices (a list of slugs), group (a mapping of plain fields), rows (a list of such
mappings), and raw (anything else: kept as it is, edited in the raw text view)."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .datapackage import indonesian
from .models import COLLECTIONS, Record, unwrap

#: Fields the server keeps (the time of a change is the revision's own): not in the form.
HIDDEN = frozenset({"updated"})
#: The order of the fields every record has, after the collection's own.
COMMON_ORDER = ("body", "sources", "checked", "draft", "publish_at", "expire_at")
#: Plain types a form input edits, by the kind of input.
_PLAIN = {"date": "date", "datetime": "datetime", "int": "number", "float": "number"}


def label_of(name: str, info: FieldInfo) -> str:
    """A field's title as pydantic gives it (its own, or its name in words)."""
    return info.title or name.replace("_", " ").capitalize()


def form(collection: str, translate: Callable[[str], str] = indonesian) -> list[dict[str, Any]]:
    """The form of a collection's records, field by field: the collection's own fields,
    then those every record has. Labels and help pass through ``translate``."""
    spec = COLLECTIONS[collection]
    references = {r.field: r.target for r in spec.references}
    names = [n for n in spec.model.model_fields if n not in HIDDEN]
    # The collection's own fields first, then those every record has.
    common = [n for n in Record.model_fields if n in names]
    ordered = [n for n in names if n not in common] + sorted(common, key=COMMON_ORDER.index)
    return [_field(name, spec.model.model_fields[name], references, translate) for name in ordered]


def _field(
    name: str,
    info: FieldInfo,
    references: dict[str, str],
    translate: Callable[[str], str],
    prefix: str = "",
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": name,
        "label": translate(label_of(name, info)),
        "help": translate(info.description) if info.description else "",
        "required": info.is_required(),
    }
    found.update(_kind(prefix + name, info.annotation, references, translate))
    return found


def _kind(
    path: str, annotation: Any, references: dict[str, str], translate: Callable[[str], str]
) -> dict[str, Any]:
    inner, _optional = unwrap(annotation)
    if path in references:
        many = typing.get_origin(inner) in (list, tuple)
        return {"kind": "choices" if many else "select", "source": references[path]}
    if path == "body":
        return {"kind": "markdown"}
    origin = typing.get_origin(inner)
    if origin is typing.Literal:
        values = [str(v) for v in typing.get_args(inner)]
        return {"kind": "select", "options": [[v, v] for v in values]}
    if inner is bool:
        return {"kind": "checkbox"}
    if inner is str:
        return {"kind": "text"}
    if isinstance(inner, type) and inner.__name__ in _PLAIN:
        return {"kind": _PLAIN[inner.__name__]}
    if origin in (list, tuple):
        (item,) = typing.get_args(inner)[:1] or (Any,)
        item, _ = unwrap(item)
        if item is str:
            return {"kind": "lines"}
        if _is_plain_model(item):
            return {"kind": "rows", "fields": _subfields(path, item, references, translate)}
    if _is_plain_model(inner):
        return {"kind": "group", "fields": _subfields(path, inner, references, translate)}
    return {"kind": "raw"}


def _subfields(
    path: str, model: type[BaseModel], references: dict[str, str], translate: Callable[[str], str]
) -> list[dict[str, Any]]:
    return [
        _field(name, info, references, translate, prefix=path + ".")
        for name, info in model.model_fields.items()
    ]


def _is_plain_model(value: Any) -> bool:
    """A model whose every field a plain input edits (a source, an image, a button)."""
    if not (isinstance(value, type) and issubclass(value, BaseModel)):
        return False
    for info in value.model_fields.values():
        inner, _ = unwrap(info.annotation)
        plain = inner in (str, bool) or typing.get_origin(inner) is typing.Literal
        if not plain and not (isinstance(inner, type) and inner.__name__ in _PLAIN):
            return False
    return True


def form_texts() -> list[str]:
    """Every label and help text the forms show, for the message catalogue."""
    texts: list[str] = []

    def collect(text: str) -> str:
        texts.append(text)
        return text

    for name in COLLECTIONS:
        form(name, collect)
    return list(dict.fromkeys(texts))
