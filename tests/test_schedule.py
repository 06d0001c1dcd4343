"""Scheduled publishing: ``publish_at`` and ``expire_at`` decide when a record is on the site,
for ``pantau build --today`` (the start of that day, WITA) and for the sync server (the
current moment, rebuilt by itself when the next one comes)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import httpx
import pytest

from site_builder.build import build
from site_builder.errors import ContentError
from site_builder.graph import build_graph, next_change, reference_moment
from site_builder.load import load_content
from site_builder.models import WITA

from .conftest import CAMPAIGN, TEAM, Writer
from .server import ServerProcess

PAGE = "kampanye/terjadwal/index.html"


def scheduled_campaign(publish_at: str | None, expire_at: str | None) -> str:
    lines = [f"publish_at: {publish_at}"] if publish_at else []
    lines += [f"expire_at: {expire_at}"] if expire_at else []
    head = CAMPAIGN.replace("title: Ayo memilih", "title: Kampanye terjadwal")
    return head.replace("---\n", "---\n" + "".join(f"{line}\n" for line in lines), 1)


def shown(out: Path) -> dict[str, bool]:
    """Where the scheduled campaign appears in a built site."""
    exported = json.loads((out / "data/campaigns.json").read_text("utf-8"))
    return {
        "page": (out / PAGE).is_file(),
        "list": "terjadwal" in (out / "kampanye/index.html").read_text("utf-8"),
        "region": "terjadwal" in (out / "wilayah/samarinda/index.html").read_text("utf-8"),
        "json": "terjadwal" in json.dumps(exported),
        "csv": "terjadwal" in (out / "data/campaigns.csv").read_text("utf-8"),
        "search": "terjadwal" in (out / "search/index.js").read_text("utf-8"),
    }


def test_build_follows_publish_at_and_expire_at(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    write(
        "campaigns/terjadwal.md",
        scheduled_campaign("2024-11-25T10:00:00", "2024-11-28T00:00:00"),
    )
    out = tmp_path / "out"
    expected = {
        dt.date(2024, 11, 24): False,  # before publish_at
        dt.date(2024, 11, 25): False,  # the build's moment is 00:00, before 10:00
        dt.date(2024, 11, 26): True,
        dt.date(2024, 11, 27): True,
        dt.date(2024, 11, 28): False,  # expire_at is the start of that day: gone
        dt.date(2024, 11, 26): True,  # and back, incrementally
    }
    # Each build is incremental on the last one's folder and verified against a clean build.
    for day, visible in [*expected.items(), (dt.date(2024, 11, 24), False)]:
        build(scratch_content, out, today=day, verify=True)
        assert shown(out) == dict.fromkeys(shown(out), visible), day


def test_offsets_and_exact_moments(scratch_content: Path, write: Writer) -> None:
    # 02:00 UTC is 10:00 WITA.
    write("campaigns/terjadwal.md", scheduled_campaign("2024-11-25T02:00:00+00:00", None))
    content = load_content(scratch_content)

    def listed(today: dt.date) -> bool:
        graph = build_graph(content, today)
        return any(e.slug == "terjadwal" for e in graph.lists["campaigns"])

    assert not listed(dt.datetime(2024, 11, 25, 9, 59, 59, tzinfo=WITA))
    assert listed(dt.datetime(2024, 11, 25, 10, 0, tzinfo=WITA))  # from publish_at itself
    assert listed(dt.datetime(2024, 11, 25, 2, 0, tzinfo=dt.UTC))
    assert not listed(dt.date(2024, 11, 25)) and listed(dt.date(2024, 11, 26))
    graph = build_graph(content, dt.datetime(2024, 11, 25, 23, 30, tzinfo=dt.UTC))
    assert graph.build_date == dt.date(2024, 11, 26)  # the date in WITA
    assert reference_moment(dt.date(2024, 11, 25)) == dt.datetime(2024, 11, 25, tzinfo=WITA)


def test_expire_before_publish_is_refused(scratch_content: Path, write: Writer) -> None:
    write(
        "campaigns/terjadwal.md",
        scheduled_campaign("2024-11-25T10:00:00", "2024-11-25T10:00:00"),
    )
    with pytest.raises(ContentError) as caught:
        load_content(scratch_content)
    assert "expire_at" in str(caught.value)
    assert "after publish_at" in str(caught.value)


def test_dates_are_bounded(scratch_content: Path, write: Writer) -> None:
    write("campaigns/terjadwal.md", scheduled_campaign("2500-01-01T00:00:00", None))
    with pytest.raises(ContentError) as caught:
        load_content(scratch_content)
    assert "publish_at" in str(caught.value)


def test_next_change(scratch_content: Path, write: Writer) -> None:
    write(
        "campaigns/terjadwal.md",
        scheduled_campaign("2024-11-25T10:00:00", "2024-11-26T08:30:00"),
    )
    content = load_content(scratch_content)
    at = dt.datetime(2024, 11, 25, 9, 0, tzinfo=WITA)
    assert next_change(content, at) == dt.datetime(2024, 11, 25, 10, 0, tzinfo=WITA)
    at = dt.datetime(2024, 11, 25, 10, 0, tzinfo=WITA)  # strictly after the moment given
    assert next_change(content, at) == dt.datetime(2024, 11, 26, 0, 0, tzinfo=WITA)
    at = dt.datetime(2024, 11, 26, 0, 0, tzinfo=WITA)
    assert next_change(content, at) == dt.datetime(2024, 11, 26, 8, 30, tzinfo=WITA)


def test_a_stage_links_only_divisions_on_the_site(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    write("teams/keamanan.yaml", "publish_at: 2024-11-26T00:00:00\n" + TEAM)
    out = tmp_path / "out"
    build(scratch_content, out, today=dt.date(2024, 11, 25), verify=True)
    stage = (out / "tahapan/pemungutan-suara/index.html").read_text("utf-8")
    assert "Keamanan dan Ketertiban" not in stage
    assert not (out / "tim/keamanan/index.html").exists()
    build(scratch_content, out, today=dt.date(2024, 11, 26), verify=True)
    stage = (out / "tahapan/pemungutan-suara/index.html").read_text("utf-8")
    assert "Keamanan dan Ketertiban" in stage


@pytest.mark.slow
def test_server_publishes_at_publish_at_by_itself(scratch_content: Path, tmp_path: Path) -> None:
    """No request and no cron: the server's builder wakes up at publish_at."""
    seed = tmp_path / "seed"
    shutil.copytree(scratch_content, seed)
    soon = dt.datetime.now(WITA).replace(microsecond=0) + dt.timedelta(seconds=6)
    text = scheduled_campaign(soon.isoformat(), None)
    (seed / "campaigns/terjadwal.md").write_text(text, encoding="utf-8")
    server = ServerProcess(tmp_path / "data", seed=seed).start()
    try:
        url = f"{server.url}/{PAGE.removesuffix('index.html')}"
        assert httpx.get(url, timeout=5).status_code == 404
        deadline = time.monotonic() + 20
        status = 404
        while time.monotonic() < deadline and status != 200:
            time.sleep(0.25)
            status = httpx.get(url, timeout=5).status_code
        assert status == 200, server.log.read_text()
        assert dt.datetime.now(WITA) >= soon
        listing = httpx.get(f"{server.url}/kampanye/", timeout=5).text
        assert "Kampanye terjadwal" in listing
    finally:
        server.stop()
