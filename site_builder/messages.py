"""Turn pydantic's validation errors into plain sentences with a file, line and field."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Problem
from .readers import Loc, Parsed

_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_]+): (.*)$", re.S)


#: Fields of earlier versions, and what replaced them.
RENAMED = {
    "verified": "'verified' was replaced by 'checked': write checked: document (checked "
    "against the primary document), press (against agreeing press reports), unchecked or "
    "illustrative",
    "code": "'code' is now 'kemendagri_code' (the Home Ministry's code, e.g. '64.01')",
}


#: Limits pydantic reports, as the end of "found X, expected ...".
_BOUNDS = {
    "greater_than_equal": "a number of at least {ge}",
    "greater_than": "a number above {gt}",
    "less_than_equal": "a number of at most {le}",
    "less_than": "a number below {lt}",
    "string_too_long": "text of at most {max_length} characters",
    "too_long": "at most {max_length} items",
}


def field_name(loc: Loc) -> str:
    """('members', 0, 'kind') -> 'members[0].kind'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"'{text}'"


def _allowed_fields(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names allowed at loc's parent, walking nested models."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if info is None:
            return []
        annotation = info.annotation
        nested = [
            arg
            for arg in (*getattr(annotation, "__args__", ()), annotation)
            if isinstance(arg, type) and issubclass(arg, BaseModel)
        ]
        if not nested:
            return []
        current = nested[0]
    return sorted(current.model_fields) if hasattr(current, "model_fields") else []


def explain(error: dict[str, Any], model: type[BaseModel]) -> tuple[Loc, str]:
    """One pydantic error as (location, sentence)."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    last = loc[-1] if loc else ""
    if kind == "missing":
        return loc, "this required field is missing"
    if kind == "extra_forbidden" and last in RENAMED:
        return loc, RENAMED[str(last)]
    if kind == "extra_forbidden":
        allowed = [f for f in _allowed_fields(model, loc) if f != "body"]
        hint = difflib.get_close_matches(str(last), allowed, n=1)
        guess = f" Did you mean '{hint[0]}'?" if hint else ""
        return loc, f"unknown field '{last}'.{guess} Allowed fields: {', '.join(allowed)}"
    if kind == "literal_error":
        return loc, f"found {_shown(value)}, expected one of: {ctx.get('expected', '')}"
    if kind in ("bool_parsing", "bool_type"):
        return loc, f"found {_shown(value)}, expected true or false"
    if kind.startswith("date_"):
        return loc, f"found {_shown(value)}, expected a real date written as YYYY-MM-DD"
    if kind.startswith("datetime_"):
        return loc, (
            f"found {_shown(value)}, expected a date and time like 2024-11-27T10:00:00+08:00"
        )
    if kind == "string_type":
        return loc, f"found {_shown(value)}, expected text"
    if kind == "string_too_short":
        return loc, "must not be empty"
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        plural = "s" if need != 1 else ""
        return loc, f"needs at least {need} item{plural}, found {len(value or [])}"
    if kind == "list_type":
        return loc, f"found {_shown(value)}, expected a list (one '- item' per line)"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return loc, f"found {_shown(value)}, expected a mapping of 'field: value' lines"
    if kind == "string_pattern_mismatch":
        if last == "url" or last == "base_url":
            return (
                loc,
                f"found {_shown(value)}, expected an address starting with http:// or https://",
            )
        if last == "src":
            return loc, (
                f"found {_shown(value)}, expected a path under content/media/ ending in "
                ".png, .jpg, .jpeg or .webp"
            )
        if last == "kemendagri_code":
            return loc, f"found {_shown(value)}, expected a code like '64' or '64.01'"
        return loc, (
            f"found {_shown(value)}, expected a slug: lowercase letters, digits and single hyphens"
        )
    if kind in _BOUNDS:
        return loc, f"found {_shown(value)}, expected {_BOUNDS[kind].format(**ctx)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return loc, f"found {_shown(value)}, expected a whole number"
    if kind == "value_error":
        message = str(error.get("msg", ""))
        match = _FIELD_PREFIX.match(message)
        if match and loc and loc[-1] == match.group(1):
            return loc, match.group(2)  # a field validator naming its own field
        if match:
            return (*loc, match.group(1)), match.group(2)
        return loc, message.removeprefix("Value error, ")
    return loc, f"{error.get('msg', 'invalid value')} (found {_shown(value)})"


def problems_from(
    exc: ValidationError, model: type[BaseModel], parsed: Parsed, name: str
) -> list[Problem]:
    """Every error of a failed validation, each placed on its line."""
    problems = []
    for error in exc.errors(include_url=False):
        loc, message = explain(dict(error), model)
        problems.append(Problem(name, parsed.line_of(loc), field_name(loc), message))
    return problems
