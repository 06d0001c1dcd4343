"""Turn pydantic's validation errors into plain sentences with a file, line and field."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Problem
from .i18n import N_, _, ngettext
from .readers import Loc, Parsed

_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_]+): (.*)$", re.S)


#: Fields of earlier versions, and what replaced them.
RENAMED = {
    "verified": N_(
        "'verified' was replaced by 'checked': write checked: document (checked "
        "against the primary document), press (against agreeing press reports), unchecked or "
        "illustrative"
    ),
    "code": N_("'code' is now 'kemendagri_code' (the Home Ministry's code, e.g. '64.01')"),
}


#: Limits pydantic reports, as the end of "found X, expected ...".
_BOUNDS = {
    "greater_than_equal": N_("a number of at least {ge}"),
    "greater_than": N_("a number above {gt}"),
    "less_than_equal": N_("a number of at most {le}"),
    "less_than": N_("a number below {lt}"),
    "string_too_long": N_("text of at most {max_length} characters"),
    "too_long": N_("at most {max_length} items"),
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
        return _("a mapping")
    if isinstance(value, list):
        return _("a list")
    if value is None:
        return _("nothing")
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
    found = _shown(value)
    if kind == "missing":
        return loc, _("this required field is missing")
    if kind == "extra_forbidden" and last in RENAMED:
        return loc, _(RENAMED[str(last)])
    if kind == "extra_forbidden":
        allowed = ", ".join(f for f in _allowed_fields(model, loc) if f != "body")
        hint = difflib.get_close_matches(str(last), allowed.split(", "), n=1)
        if hint:
            return loc, _(
                "unknown field '{field}'. Did you mean '{hint}'? Allowed fields: {allowed}"
            ).format(field=last, hint=hint[0], allowed=allowed)
        return loc, _("unknown field '{field}'. Allowed fields: {allowed}").format(
            field=last, allowed=allowed
        )
    expected = _expected(kind, str(last), ctx)
    if expected is not None:
        return loc, _("found {found}, expected {expected}").format(found=found, expected=expected)
    if kind == "string_too_short":
        return loc, _("must not be empty")
    if kind == "too_short":
        need = int(ctx.get("min_length", 1))
        return loc, ngettext(
            "needs at least {need} item, found {count}",
            "needs at least {need} items, found {count}",
            need,
        ).format(need=need, count=len(value or []))
    if kind == "value_error":
        message = str(error.get("msg", ""))
        match = _FIELD_PREFIX.match(message)
        if match and loc and loc[-1] == match.group(1):
            return loc, match.group(2)  # a field validator naming its own field
        if match:
            return (*loc, match.group(1)), match.group(2)
        return loc, message.removeprefix("Value error, ")
    return loc, _("{message} (found {found})").format(
        message=error.get("msg", _("invalid value")), found=found
    )


def _expected(kind: str, field: str, ctx: dict[str, Any]) -> str | None:
    """What a field of this error kind expects, as the end of "found X, expected ..."."""
    if kind == "literal_error":
        return _("one of: {choices}").format(choices=ctx.get("expected", ""))
    if kind in ("bool_parsing", "bool_type"):
        return _("true or false")
    if kind.startswith("date_"):
        return _("a real date written as YYYY-MM-DD")
    if kind.startswith("datetime_"):
        return _("a date and time like 2024-11-27T10:00:00+08:00")
    if kind == "string_type":
        return _("text")
    if kind == "list_type":
        return _("a list (one '- item' per line)")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("a mapping of 'field: value' lines")
    if kind == "string_pattern_mismatch":
        if field in ("url", "base_url"):
            return _("an address starting with http:// or https://")
        if field == "src":
            return _("a path under content/media/ ending in .png, .jpg, .jpeg or .webp")
        if field == "kemendagri_code":
            return _("a code like '64' or '64.01'")
        return _("a slug: lowercase letters, digits and single hyphens")
    if kind in _BOUNDS:
        return _(_BOUNDS[kind]).format(**ctx)
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("a whole number")
    return None


def problems_from(
    exc: ValidationError, model: type[BaseModel], parsed: Parsed, name: str
) -> list[Problem]:
    """Every error of a failed validation, each placed on its line."""
    problems = []
    for error in exc.errors(include_url=False):
        loc, message = explain(dict(error), model)
        problems.append(Problem(name, parsed.line_of(loc), field_name(loc), message))
    return problems
