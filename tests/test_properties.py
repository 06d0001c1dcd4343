"""Properties over generated records: whatever validates also builds, and the pages it makes
hold the text escaped."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from site_builder.build import build
from site_builder.errors import ContentError
from site_builder.load import load_content

from .conftest import write_scratch

#: Text as staff might paste it: markup, quotes, emoji, right-to-left, control-free.
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("<>&\"'*_#`[]()"),
    min_size=0,
    max_size=120,
)
#: Required text: never blank (a blank one is refused, which other tests cover).
said = st.builds(lambda text: "A" + text, texts)
#: Mostly valid values, sometimes one the models must refuse.
days = st.one_of(
    st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31)),
    st.dates(min_value=dt.date(1899, 12, 25), max_value=dt.date(2200, 1, 5)),
)
urls = st.sampled_from(
    [
        "https://example.org/berita",
        "https://kaltim.antaranews.com/berita/1?x=1&y=<2>",
        "http://127.0.0.1:8000/a",
        "https://web.archive.org/web/2024/https://example.org/",
    ]
)
sources = st.lists(st.fixed_dictionaries({"title": said, "url": urls}), max_size=3)


@st.composite
def stage_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": draw(said),
        "phase": draw(st.sampled_from(["persiapan", "penyelenggaraan", "pasca"])),
        "summary": draw(said),
        "monitoring": draw(st.lists(said, max_size=3)),
        "checked": draw(st.sampled_from(["document", "press", "unchecked", "illustrative"])),
        "sources": draw(sources),
        "body": draw(texts),
    }
    for key in ("start", "end"):
        if draw(st.booleans()):
            fields[key] = draw(days).isoformat()
    if draw(st.booleans()):
        fields["after"] = {"stage": "pemungutan-suara", "days": draw(st.integers(0, 4000))}
    return fields


@st.composite
def campaign_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": draw(said),
        "summary": draw(said),
        "audience": draw(st.lists(said, min_size=1, max_size=2)),
        "regions": ["samarinda"],
        "organiser": draw(said),
        "call_to_action": draw(said),
        "channels": draw(st.lists(said, max_size=2)),
        "checked": draw(st.sampled_from(["press", "unchecked"])),
        "sources": draw(sources),
        "body": draw(texts),
    }
    if draw(st.booleans()):
        fields["action"] = {"label": draw(said.map(lambda t: t[:60])), "url": draw(urls)}
    for key in ("start", "end"):
        if draw(st.booleans()):
            fields[key] = draw(days).isoformat()
    return fields


def as_markdown(fields: dict[str, Any]) -> str:
    front = {k: v for k, v in fields.items() if k != "body"}
    return f"---\n{yaml.safe_dump(front, allow_unicode=True)}---\n{fields['body']}\n"


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stage=stage_fields(), campaign=campaign_fields())
def test_whatever_validates_builds(stage: dict[str, Any], campaign: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="pantau-property-") as tmp:
        root = write_scratch(
            Path(tmp) / "content",
            {"stages/acak.md": as_markdown(stage), "campaigns/acak.md": as_markdown(campaign)},
        )
        try:
            load_content(root)
        except ContentError as exc:
            assert all(p.line >= 1 and p.message for p in exc.problems)
            event("refused: " + exc.problems[0].field)
            return
        event("built")
        result = build(root, Path(tmp) / "public", today=dt.date(2024, 11, 27))
        page = result.files["tahapan/acak/index.html"].decode()
        assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]
        shutil.rmtree(Path(tmp) / "public")
