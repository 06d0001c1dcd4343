"""Parse a record file's text into data, keeping the line of every key.

Two readers behind one interface, chosen by the file's extension:
``.md`` (YAML front matter between ``---`` lines, then a Markdown body) and ``.yaml``.
Both are pure: they take the text and a name for messages, and never open files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from .errors import ContentError, Problem
from .i18n import _

Loc = tuple[str | int, ...]

READER_EXTENSIONS = (".md", ".yaml", ".yml")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's when available) that leaves dates as text, so the models parse
    them and report bad ones (2024-13-01) as field errors instead of crashing the parser."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Parsed:
    """A parsed file: its data, and the line (1-based) where each key or item starts."""

    data: dict[str, Any]
    lines: dict[Loc, int] = field(default_factory=dict)
    first_line: int = 1

    def line_of(self, loc: Loc) -> int:
        """The line of the nearest enclosing key that exists in the file."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.first_line


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem], name: str):
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(
                    Problem(
                        name,
                        key_node.start_mark.line + 1,
                        ".".join(map(str, (*loc, key))),
                        _("the key '{key}' appears twice; keep only one of them").format(key=key),
                    )
                )
            seen.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*loc, key), lines, problems, name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _walk(item, (*loc, index), lines, problems, name)


#: Bounds on one file's YAML, far above any real record: text size, nesting depth, and the
#: number of values once aliases are expanded (a few hundred bytes of nested aliases can
#: otherwise stand for billions of values).
MAX_YAML_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_VALUES = 20_000


def _expanded_size(root: yaml.Node, name: str, line_offset: int) -> None:
    """Refuse a node graph whose expansion (aliases repeated in place) is too deep, too big
    or endless, before anything walks or builds it. Linear in the graph: each node's
    expanded size is computed once."""
    _Expansion(name, line_offset).size(root, 0)


class _Expansion:
    """The walk of ``_expanded_size`` (an object rather than a recursive closure, which would
    leave a reference cycle behind for every file read)."""

    def __init__(self, name: str, line_offset: int) -> None:
        self.name, self.line_offset = name, line_offset
        self.sizes: dict[int, int] = {}
        self.open_nodes: set[int] = set()

    def refuse(self, node: yaml.Node, why: str) -> ContentError:
        line = node.start_mark.line + 1 + self.line_offset
        return ContentError([Problem(self.name, line, "", why)])

    def size(self, node: yaml.Node, depth: int) -> int:
        sizes, open_nodes, refuse, size = self.sizes, self.open_nodes, self.refuse, self.size
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH:
            raise refuse(node, too_deep())
        if key in open_nodes:
            raise refuse(node, _("an alias (*name) refers to a value that contains it"))
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                total += size(key_node, depth + 1) + size(value_node, depth + 1)
                if total > MAX_VALUES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
                if total > MAX_VALUES:
                    break
        if total > MAX_VALUES:
            raise refuse(
                node,
                _(
                    "the data stands for more than {count:,} values once its aliases "
                    "(*name) are expanded; write the values out or use fewer aliases"
                ).format(count=MAX_VALUES),
            )
        open_nodes.discard(key)
        sizes[key] = total
        return total


def too_deep() -> str:
    return _("the data is nested more than {depth} levels deep").format(depth=MAX_DEPTH)


def yaml_hint(exc: yaml.MarkedYAMLError, text: str, index: int, line_offset: int = 0) -> str:
    """What to do about a YAML syntax error, in plain words (with '; ' before it), or ''.
    ``index`` is the 0-based line of the error within ``text``."""
    hint = _yaml_hint(exc, text, index, line_offset)
    return f"; {hint}" if hint else ""


def _unclosed(opened: str, line: int | None) -> str:
    """'the X opened on line N is never closed: ...' for a quote or bracket."""
    if opened == "quote":
        if line is None:
            return _("the quote (\" or ') is never closed: close it after the value")
        return _(
            "the quote (\" or ') opened on line {line} is never closed: close it after the value"
        ).format(line=line)
    if opened == "[":
        if line is None:
            return _("the '[' is never closed: close it with ']'")
        return _("the '[' opened on line {line} is never closed: close it with ']'").format(
            line=line
        )
    if line is None:
        return _("the '{{' is never closed: close it with '}}'").format()
    return _("the '{{' opened on line {line} is never closed: close it with '}}'").format(line=line)


def _yaml_hint(exc: yaml.MarkedYAMLError, text: str, index: int, line_offset: int) -> str:
    problem = f"{exc.context or ''} {exc.problem or ''}"
    opened = exc.context_mark
    line = opened.line + 1 + line_offset if opened else None
    lines = text.splitlines()
    here = lines[index] if 0 <= index < len(lines) else ""
    if "\t" in here or ("cannot start any token" in problem and "\t" in text):
        return _("a tab is not allowed for indenting: use spaces instead")
    if "mapping values are not allowed" in problem:
        key, _sep, value = here.strip().partition(": ")
        if key and value and len(here) < 80 and '"' not in value:
            example = f'{key}: "{value.strip()}"'
        else:
            example = 'summary: "Ringkas: jelas"'
        return _("a value that contains ': ' must be put in quotes, like this: {example}").format(
            example=example
        )
    if "quoted scalar" in problem:
        return _unclosed("quote", line)
    if "flow sequence" in problem or "',' or ']'" in problem:
        return _unclosed("[", line)
    if "flow mapping" in problem or "',' or '}'" in problem:
        return _unclosed("{", line)
    if "expected key" in problem or "block end" in problem:
        return _(
            "check the indentation: the fields of one record start in the same column, "
            "and the items of a list ('- ') line up under each other"
        )
    if "alias" in problem or "anchor" in problem:
        return _("'*' and '&' have a meaning in YAML: put a value starting with them in quotes")
    if "tag" in problem:
        return _("'!' starts a tag in YAML: put a value starting with '!' in quotes")
    return ""


def parse_yaml(text: str, name: str, line_offset: int = 0) -> Parsed:
    """Parse a YAML mapping; raise ContentError with the parser's line and column. The
    parse is bounded in size, depth and expanded values (see MAX_VALUES)."""
    if len(text) > MAX_YAML_BYTES:
        raise ContentError(
            [
                Problem(
                    name,
                    1 + line_offset,
                    "",
                    _(
                        "the fields are longer than {count:,} characters; a record's fields "
                        "are a few kilobytes"
                    ).format(count=MAX_YAML_BYTES),
                )
            ]
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node, name, line_offset)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 + line_offset) if mark else 1 + line_offset
        column = (mark.column + 1) if mark else 1
        reason = exc.problem or exc.context or _("not valid YAML")
        hint = yaml_hint(exc, text, mark.line if mark else 0, line_offset)
        raise ContentError(
            [
                Problem(
                    name,
                    line,
                    "",
                    _("invalid YAML at column {column}: {reason}").format(
                        column=column, reason=reason
                    )
                    + hint,
                )
            ]
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 + line_offset
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ContentError(
            [
                Problem(
                    name,
                    line,
                    "",
                    _(
                        "column {column} holds an invisible control character ({code}); "
                        "delete it and type the text again"
                    ).format(column=column, code=f"U+{exc.character:04X}"),
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        message = _("invalid YAML: {reason}").format(reason=exc)
        raise ContentError([Problem(name, 1 + line_offset, "", message)]) from None
    except RecursionError:
        raise ContentError(
            [
                Problem(
                    name,
                    1 + line_offset,
                    "",
                    too_deep(),
                )
            ]
        ) from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ContentError(
            [
                Problem(
                    name,
                    1 + line_offset,
                    "",
                    _("expected a mapping of 'field: value' lines, found a {kind}").format(
                        kind=type(data).__name__
                    ),
                )
            ]
        )
    lines: dict[Loc, int] = {}
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), lines, problems, name)
    if problems:
        raise ContentError([replace(p, line=p.line + line_offset) for p in problems])
    shifted = {loc: line + line_offset for loc, line in lines.items()}
    return Parsed(data=data, lines=shifted, first_line=1 + line_offset)


def split_front_matter(text: str, name: str) -> tuple[str, str]:
    """Split ``---``-fenced front matter from the Markdown body."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise ContentError(
            [Problem(name, 1, "", _("a .md record must start with a '---' line, then its fields"))]
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    raise ContentError(
        [Problem(name, 1, "", _("the front matter opened on line 1 is never closed with '---'"))]
    )


def parse_record(text: str, name: str) -> Parsed:
    """Parse a record file by its extension; a Markdown body becomes the 'body' field. A byte
    order mark some editors put first is ignored, as other site generators do."""
    text = text.removeprefix("\ufeff")
    if name.endswith(".md"):
        front, body = split_front_matter(text, name)
        parsed = parse_yaml(front, name, line_offset=1)
        if "body" in parsed.data:
            raise ContentError(
                [
                    Problem(
                        name,
                        parsed.lines[("body",)],
                        "body",
                        _(
                            "in a .md file the body is the text below the front matter, "
                            "not a 'body' field"
                        ),
                    )
                ]
            )
        parsed.data["body"] = body.strip("\n")
        return parsed
    return parse_yaml(text, name)
