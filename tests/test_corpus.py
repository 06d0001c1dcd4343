"""The corpus of malformed content (tests/corpus/content): each file, put in a small valid
content folder, must give its own error, at its line and field, in a sentence, quickly, and
leave no site behind. Never a traceback, a hang or a partly written site."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from site_builder.build import build
from site_builder.errors import ContentError

CORPUS = Path(__file__).parent / "corpus" / "content"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text())


def place(case: dict[str, Any], root: Path) -> Path:
    (root / "media").mkdir(exist_ok=True)
    (root / "media" / "poster.png").write_bytes(b"\x89PNG\r\n")
    target = root / case["into"]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((CORPUS / case["file"]).read_bytes())
    return target


def test_the_corpus_is_large_and_covers_every_class() -> None:
    assert len(CASES) >= 100
    assert {c["class"] for c in CASES} >= {
        "yaml",
        "type",
        "url",
        "date",
        "reference",
        "encoding",
        "size",
        "name",
        "nesting",
        "image",
        "settings",
    }
    assert sorted(c["file"] for c in CASES) == sorted(
        p.name for p in CORPUS.iterdir() if p.name != "cases.yaml"
    )


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_each_malformed_file_gives_its_own_error(
    case: dict[str, Any], scratch_content: Path, tmp_path: Path
) -> None:
    target = place(case, scratch_content)
    out = tmp_path / "public"
    started = time.monotonic()
    with pytest.raises(ContentError) as info:
        build(scratch_content, out, today=dt.date(2024, 11, 27))
    assert time.monotonic() - started < 5
    problems = [p for p in info.value.problems if p.path == str(target)]
    assert problems, info.value.problems
    first = problems[0]
    assert (first.line, first.field) == (case["line"], case["field"]), first
    assert case["says"] in first.message
    assert not out.exists()  # nothing written, not even half a site


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [next(c for c in CASES if c["class"] == kind) for kind in sorted({c["class"] for c in CASES})],
    ids=lambda c: c["class"],
)
def test_pantau_check_says_it_in_a_sentence(case: dict[str, Any], scratch_content: Path) -> None:
    target = place(case, scratch_content)
    result = subprocess.run(
        [sys.executable, "-m", "sync_server", "check", "--content", str(scratch_content)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{target}:{case['line']}:" in result.stderr
    assert case["says"] in result.stderr
