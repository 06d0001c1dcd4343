from __future__ import annotations

import pytest

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
