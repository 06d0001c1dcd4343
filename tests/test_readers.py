from __future__ import annotations

import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder.errors import ContentError
from site_builder.readers import parse_record


def test_front_matter_fields_body_and_lines() -> None:
    text = "---\ntitle: Judul\nlist:\n  - a\n  - b\n---\n\nIsi.\n"
    parsed = parse_record(text, "x.md")
    assert parsed.data == {"title": "Judul", "list": ["a", "b"], "body": "Isi."}
    assert parsed.lines[("title",)] == 2
    assert parsed.lines[("list", 1)] == 5
    assert parsed.line_of(("list", 1, "missing")) == 5


def test_dates_stay_text_for_the_models_to_check() -> None:
    parsed = parse_record("start: 2024-13-01\n", "x.yaml")
    assert parsed.data == {"start": "2024-13-01"}


def test_invalid_yaml_reports_line_and_column() -> None:
    with pytest.raises(ContentError) as info:
        parse_record("---\ntitle: ok\nsummary: [unclosed\n---\n", "x.md")
    (problem,) = info.value.problems
    assert problem.path == "x.md"
    assert problem.line >= 3
    assert "invalid YAML at column" in problem.message


def test_duplicate_key_is_an_error_not_a_silent_overwrite() -> None:
    with pytest.raises(ContentError) as info:
        parse_record("title: a\nsummary: b\ntitle: c\n", "x.yaml")
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (3, "title")
    assert "appears twice" in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: x\n", "must start with a '---' line"),
        ("---\ntitle: x\n", "never closed"),
        ("---\n- a\n- b\n---\n", "expected a mapping"),
        ("---\nbody: x\n---\n", "not a 'body' field"),
    ],
)
def test_malformed_markdown_records(text: str, expected: str) -> None:
    with pytest.raises(ContentError) as info:
        parse_record(text, "x.md")
    assert expected in str(info.value)


def alias_bomb(levels: int) -> str:
    """A few hundred bytes that stand for 9**levels values once the aliases expand."""
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for level in range(levels):
        here, below = chr(98 + level), chr(97 + level)
        lines.append(f"{here}: &{here} [" + ",".join([f"*{below}"] * 9) + "]")
    return "---\n" + "\n".join(lines) + "\n---\n"


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (alias_bomb(8), 6, "more than 20,000 values once its aliases"),
        ("---\na: &a [*a]\n---\n", 2, "refers to a value that contains it"),
        ("---\na: " + "[" * 5000 + "]" * 5000 + "\n---\n", 2, "nesting depth"),
        (
            "---\na:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)) + "---\n",
            42,
            "nested more than 40 levels",
        ),
        ("---\ntitle: " + "x" * 1_000_001 + "\n---\n", 2, "longer than 1,000,000"),
    ],
)
def test_hostile_yaml_is_refused_quickly(text: str, line: int, expected: str) -> None:
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(ContentError) as info:
            parse_record(text, "x.md")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (problem,) = info.value.problems
    assert (problem.line, expected in problem.message) == (line, True), problem
    assert time.monotonic() - started < 2
    assert peak < 50_000_000


def test_aliases_within_bounds_still_work() -> None:
    text = "---\nsources: &s\n  - title: A\n    url: https://example.org/\nlain: *s\n---\n"
    parsed = parse_record(text, "x.md")
    assert parsed.data["lain"] == parsed.data["sources"]


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n ,?%@`\t\\x0")), max_size=200))
def test_any_text_loads_or_raises_the_projects_error(text: str) -> None:
    for name in ("x.md", "x.yaml"):
        try:
            parse_record(text if name.endswith(".yaml") else f"---\n{text}\n---\n", name)
        except ContentError as exc:
            assert all(p.path == name and p.line >= 1 for p in exc.problems)


def test_a_duplicate_key_in_front_matter_names_its_own_line() -> None:
    with pytest.raises(ContentError) as info:
        parse_record("---\ntitle: a\ntitle: b\n---\n", "x.md")
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (3, "title")


@pytest.mark.parametrize("name", ["x.md", "x.yaml"])
def test_a_byte_order_mark_is_ignored(name: str) -> None:
    text = "---\ntitle: a\n---\nIsi.\n" if name == "x.md" else "title: a\n"
    assert parse_record("\ufeff" + text, name).data["title"] == "a"


@pytest.mark.parametrize(
    ("front", "line", "hint"),
    [
        (
            "title: X\nsummary: Ringkas: jelas\n",
            3,
            """a value that contains ': ' must be put in quotes, like this: """
            """summary: "Ringkas: jelas\"""",
        ),
        ("title: X\nmonitoring:\n\t- satu\n", 4, "a tab is not allowed for indenting: use spaces"),
        ("title: 'X\nsummary: Y\n", 4, "the quote (\" or ') opened on line 2 is never closed"),
        ("title: X\ndivisions: [satu, dua\n", 4, "the '[' opened on line 3 is never closed"),
        ("title: X\naction: {label: Cek\n", 4, "the '{' opened on line 3 is never closed"),
    ],
)
def test_a_yaml_syntax_error_says_what_to_do(front: str, line: int, hint: str) -> None:
    with pytest.raises(ContentError) as info:
        parse_record(f"---\n{front}---\nIsi.\n", "stages/x.md")
    (problem,) = info.value.problems
    assert problem.line == line
    assert problem.message.startswith("invalid YAML at column ")
    assert hint in problem.message
