"""The built default site: links, titles, determinism, status, exports, safety."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from icalendar import Calendar
from PIL import Image

from site_builder.build import BuildResult, build
from site_builder.errors import ContentError, TemplateError
from site_builder.graph import build_graph
from site_builder.load import load_content

from .conftest import CONTENT, VOTING_DAY, Writer
from .htmlcheck import internal_target, read_page

ATOM = "{http://www.w3.org/2005/Atom}"


def html_pages(result: BuildResult) -> dict[str, str]:
    return {p: d.decode() for p, d in result.files.items() if p.endswith(".html")}


def test_expected_pages_exist(built_site: BuildResult) -> None:
    files = set(built_site.files)
    for path in [
        "index.html",
        "tahapan/index.html",
        "tahapan/pemungutan-suara/index.html",
        "tim/index.html",
        "tim/keamanan-ketertiban/index.html",
        "kampanye/index.html",
        "kampanye/tolak-politik-uang/index.html",
        "wilayah/mahakam-ulu/index.html",
        "tentang/index.html",
        "data/index.html",
        "404.html",
        "tahapan.ics",
        "feed.xml",
        "data/stages.json",
        "data/stages.csv",
        "data/stages.schema.json",
    ]:
        assert path in files, path
    assert "sitemap.xml" not in files  # no base_url in the shipped site.yaml
    assert (built_site.out / "index.html").read_bytes() == built_site.files["index.html"]


def test_every_internal_link_resolves_and_pages_have_title_and_lang(
    built_site: BuildResult,
) -> None:
    pages = html_pages(built_site)
    broken = []
    for path, html in pages.items():
        facts = read_page(html)
        assert facts.lang == "id", path
        assert facts.title.strip(), path
        for link in facts.links:
            target = internal_target(path, link)
            if target is None:
                continue
            assert not link.startswith("/"), f"{path}: absolute link {link}"
            if target not in built_site.files:
                broken.append(f"{path} -> {link}")
    assert broken == []


def test_no_external_resources(built_site: BuildResult) -> None:
    for path, html in html_pages(built_site).items():
        for tag, attrs in read_page(html).tags:
            if tag in ("script", "img", "link", "iframe") and (
                attrs.get("src") or attrs.get("href")
            ):
                url = attrs.get("src") or attrs.get("href") or ""
                assert "://" not in url, f"{path}: {tag} loads {url}"


def test_every_record_page_says_what_was_checked(built_site: BuildResult) -> None:
    team = built_site.files["tim/keamanan-ketertiban/index.html"].decode()
    main = team.split("<main")[1].split("</main>")[0]
    assert 'class="badge badge-illustrative"' in main and "<strong>Ilustrasi.</strong>" in main
    stage = built_site.files["tahapan/pemungutan-suara/index.html"].decode()
    main = stage.split("<main")[1].split("</main>")[0]
    assert "badge-illustrative" not in main and "<strong>Dicek pada" in main


def test_indonesian_dates(built_site: BuildResult) -> None:
    stage = built_site.files["tahapan/coklit/index.html"].decode()
    assert "24 Juni 2024 \u2013 24 Juli 2024" in stage
    home = built_site.files["index.html"].decode()
    assert "27 November 2024" in home


def test_two_builds_are_byte_identical(tmp_path: Path, built_site: BuildResult) -> None:
    again = build(CONTENT, tmp_path / "again", today=VOTING_DAY)
    assert again.files.keys() == built_site.files.keys()
    different = [p for p in again.files if again.files[p] != built_site.files[p]]
    assert different == []
    on_disk = {
        str(p.relative_to(tmp_path / "again"))
        for p in (tmp_path / "again").rglob("*")
        if p.is_file()
    }
    assert on_disk == set(again.files) | {".pantau-build"}


@pytest.mark.parametrize(
    ("today", "slug", "status"),
    [
        (dt.date(2024, 9, 24), "kampanye", "akan-datang"),
        (dt.date(2024, 9, 25), "kampanye", "berlangsung"),
        (dt.date(2024, 11, 23), "kampanye", "berlangsung"),
        (dt.date(2024, 11, 24), "kampanye", "selesai"),
        (dt.date(2024, 11, 27), "pemungutan-suara", "berlangsung"),
        (dt.date(2024, 11, 28), "pemungutan-suara", "selesai"),
        (dt.date(2024, 1, 10), "perencanaan-program-anggaran", "berlangsung"),
        (dt.date(2024, 1, 27), "perencanaan-program-anggaran", "selesai"),
        # follows penetapan-calon-terpilih (ends 11 July 2025) by at most 3 days
        (dt.date(2025, 7, 14), "pengusulan-pengangkatan", "berlangsung"),
        (dt.date(2025, 7, 15), "pengusulan-pengangkatan", "selesai"),
    ],
)
def test_stage_status_by_date(today: dt.date, slug: str, status: str) -> None:
    graph = build_graph(load_content(CONTENT), today)
    stage = next(s for s in graph.stages if s.slug == slug)
    assert graph.status(stage) == status


def test_status_is_rendered_from_today(tmp_path: Path) -> None:
    before = build(CONTENT, tmp_path / "a", today=dt.date(2024, 9, 1))
    during = build(CONTENT, tmp_path / "b", today=dt.date(2024, 10, 1))
    page = "tahapan/kampanye/index.html"
    assert "status-akan-datang" in before.files[page].decode()
    assert "status-berlangsung" in during.files[page].decode()
    assert "lagi menuju hari pemungutan suara" in before.files["index.html"].decode()


def test_postponed_stage(scratch_content: Path, write: Writer, tmp_path: Path) -> None:
    write(
        "stages/ditunda.md",
        """\
        ---
        title: Tahapan ditunda
        phase: pasca
        start: 2024-12-01
        summary: Y
        override:
          status: postponed
          reason: Menunggu putusan.
        ---
        """,
    )
    result = build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    page = result.files["tahapan/ditunda/index.html"].decode()
    assert "Ditunda" in page and "Menunggu putusan." in page


THEME_SCRIPTS = ("static/pantau.js", "static/search.js", "static/temuan.js", "search/index.js")

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[klik](javascript:alert(1))",
    '<a href="javascript:alert(1)">a</a>',
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<p onclick="alert(1)">p</p>',
]


def test_xss_payloads_never_reach_the_output(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    payload = "\n\n".join(XSS)
    field = '<script>alert(2)</script>\\" onmouseover=\\"alert(3)'
    write(
        "stages/xss.md",
        f"""\
        ---
        title: "{field}"
        phase: pasca
        start: 2024-12-01
        summary: "{field}"
        monitoring: ["{field}"]
        ---
        """
        + payload.replace("\n", "\n        ")
        + "\n",
    )
    result = build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    for path, data in result.files.items():
        if not path.endswith((".html", ".xml")):
            continue
        text = data.decode().lower()
        assert "<script>" not in text, path  # no inline script at all
        assert "javascript:" not in text, path
        assert "<iframe" not in text and "<svg" not in text, path
        for tag, attrs in read_page(text).tags:
            assert not any(name.startswith("on") for name in attrs), (path, tag, attrs)
            if tag == "script":
                assert (attrs.get("src") or "").endswith(THEME_SCRIPTS), (path, attrs)
    page = result.files["tahapan/xss/index.html"].decode()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_failed_build_leaves_old_output_untouched(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    first = build(scratch_content, out, today=VOTING_DAY)
    before = {p: (out / p).read_bytes() for p in first.files}
    write("stages/rusak.md", "---\ntitle: X\n---\n")
    with pytest.raises(ContentError):
        build(scratch_content, out, today=VOTING_DAY)
    (scratch_content / "stages/rusak.md").unlink()
    write(
        "templates/stage.html",
        "{% extends 'base.html' %}{% block main %}{{ entry.nope }}{% endblock %}",
    )
    with pytest.raises(TemplateError):
        build(scratch_content, out, today=VOTING_DAY)
    after = {p: (out / p).read_bytes() for p in first.files}
    assert after == before
    # Only the site and the engine's state beside it: no staging folder is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".public.pantau-state",
        "content",
        "public",
    ]


def test_template_typo_names_template_and_line(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    override = write(
        "templates/stage.html",
        "{% extends 'base.html' %}\n{% block main %}\n"
        "<p>{{ entry.record.titel }}</p>\n{% endblock %}\n",
    )
    with pytest.raises(TemplateError) as info:
        build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    assert f"{override}:3:" in str(info.value)
    assert "titel" in str(info.value)


def test_refuses_to_replace_a_folder_it_did_not_write(
    scratch_content: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(Exception, match="not written by 'pantau build'"):
        build(scratch_content, precious, today=VOTING_DAY)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_data_exports_match_the_records(built_site: BuildResult) -> None:
    content = load_content(CONTENT)
    for collection in ("stages", "teams", "campaigns"):
        rows = json.loads(built_site.files[f"data/{collection}.json"])
        published = {
            slug
            for slug, e in content.entries[collection].items()
            if not getattr(e.record, "draft", False)
        }
        assert {row["id"] for row in rows} == published
        for row in rows:
            record = content.entries[collection][row["id"]].record
            assert row["sources"] == [s.model_dump() for s in record.sources]
            assert row["checked"] == record.checked
            # The collection file leaves bodies out and names the file with the whole record.
            assert "body" not in row
            whole = json.loads(built_site.files[row["data"]])
            assert whole["body"] == record.body
            assert {k: v for k, v in whole.items() if k != "body"} == {
                k: v for k, v in row.items() if k != "data"
            }
        table = list(
            csv.DictReader(io.StringIO(built_site.files[f"data/{collection}.csv"].decode()))
        )
        assert [r["id"] for r in table] == [row["id"] for row in rows]
        schema = json.loads(built_site.files[f"data/{collection}.schema.json"])
        assert schema["type"] == "array" and schema["items"]["additionalProperties"] is False
    stages = {row["id"]: row for row in json.loads(built_site.files["data/stages.json"])}
    assert stages["pemungutan-suara"]["start"] == "2024-11-27"
    assert stages["pemungutan-suara"]["status"] == "berlangsung"
    regions = json.loads(built_site.files["data/regions.json"])
    assert len(regions) == 11


def test_calendar_parses_with_every_dated_stage(built_site: BuildResult) -> None:
    calendar = Calendar.from_ical(built_site.files["tahapan.ics"])
    events = {str(e["uid"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    content = load_content(CONTENT)
    dated = {s for s, e in content.entries["stages"].items() if e.record.start or e.record.end}
    assert set(events) == dated
    voting = events["pemungutan-suara"]
    assert voting.decoded("dtstart") == dt.date(2024, 11, 27)
    assert voting.decoded("dtend") == dt.date(2024, 11, 28)
    campaign = events["kampanye"]
    assert campaign.decoded("dtend") == dt.date(2024, 11, 24)


def test_atom_feed_parses(built_site: BuildResult) -> None:
    root = ET.fromstring(built_site.files["feed.xml"])
    entries = root.findall(f"{ATOM}entry")
    content = load_content(CONTENT)
    records = len(content.entries["stages"]) + len(content.entries["campaigns"])
    assert len(entries) == min(records, 50)
    assert all(e.find(f"{ATOM}updated") is not None for e in entries)


def test_sitemap_and_robots_with_base_url(scratch_content: Path, tmp_path: Path) -> None:
    site = scratch_content / "site.yaml"
    site.write_text(site.read_text() + "base_url: https://pantau.example.id\n")
    result = build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    root = ET.fromstring(result.files["sitemap.xml"])
    locs = [e.text for e in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "https://pantau.example.id/" in locs
    assert "https://pantau.example.id/tahapan/pemungutan-suara/" in locs
    assert b"Sitemap: https://pantau.example.id/sitemap.xml" in result.files["robots.txt"]


def test_drafts_stay_off_the_site(scratch_content: Path, write: Writer, tmp_path: Path) -> None:
    text = (scratch_content / "campaigns/ayo-memilih.md").read_text()
    write(
        "campaigns/rahasia.md",
        text.replace("checked: unchecked", "checked: unchecked\ndraft: true"),
    )
    result = build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    assert "kampanye/rahasia/index.html" not in result.files
    assert b"rahasia" not in result.files["data/campaigns.json"]


def test_campaign_image_is_copied_and_has_alt(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    (scratch_content / "media").mkdir()
    (scratch_content / "media/poster.png").write_bytes(b"\x89PNG fake bytes")
    text = (scratch_content / "campaigns/ayo-memilih.md").read_text()
    write(
        "campaigns/ayo-memilih.md",
        text.replace(
            "checked: unchecked",
            "checked: unchecked\nimage:\n  src: poster.png\n  alt: Poster ajakan",
        ),
    )
    result = build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    assert result.files["media/poster.png"] == b"\x89PNG fake bytes"
    # Not an image Pillow reads: phones get it as it is, and the site still builds.
    assert result.files["media/@720/poster.png"] == b"\x89PNG fake bytes"
    page = result.files["kampanye/ayo-memilih/index.html"].decode()
    assert '<source media="(max-width: 40rem)" srcset="../../media/@720/poster.png">' in page
    assert '<img src="../../media/poster.png" alt="Poster ajakan"' in page
    cards = result.files["kampanye/index.html"].decode()
    assert 'class="card-poster" src="../media/@720/poster.png" alt="Poster ajakan"' in cards


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_a_wide_poster_gets_a_copy_720_pixels_wide_for_phones(
    scratch_content: Path, write: Writer, tmp_path: Path, kind: str
) -> None:
    name = f"lebar.{kind.lower()}"
    (scratch_content / "media").mkdir()
    Image.new("RGB", (1800, 1200), (11, 58, 91)).save(scratch_content / "media" / name, kind)
    text = (scratch_content / "campaigns/ayo-memilih.md").read_text()
    write(
        "campaigns/ayo-memilih.md",
        text.replace(
            "checked: unchecked", f"checked: unchecked\nimage:\n  src: {name}\n  alt: Poster lebar"
        ),
    )
    result = build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    with Image.open(io.BytesIO(result.files[f"media/@720/{name}"])) as phone:
        assert (phone.format, phone.size) == (kind, (720, 480))
    assert len(result.files[f"media/@720/{name}"]) < len(result.files[f"media/{name}"])
    assert (
        f"media/@720/{name}"
        in zipfile.ZipFile(io.BytesIO(result.files["unduh/pantau-situs.zip"])).namelist()
    )


def test_css_is_small() -> None:
    css = Path(__file__).parent.parent / "themes/default/static/style.css"
    assert css.stat().st_size < 20 * 1024


def test_user_override_template_wins(scratch_content: Path, write: Writer, tmp_path: Path) -> None:
    write("templates/404.html", "{% extends 'base.html' %}{% block title %}Hilang{% endblock %}")
    result = build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    assert "<title>Hilang · Situs Uji</title>" in result.files["404.html"].decode()


def test_copy_of_content_builds_anywhere(tmp_path: Path) -> None:
    shutil.copytree(CONTENT, tmp_path / "content")
    result = build(tmp_path / "content", tmp_path / "out", today=VOTING_DAY)
    assert result.pages > 40


def test_a_theme_folder_that_gains_templates_later_is_used(
    scratch_content: Path, tmp_path: Path
) -> None:
    """A theme by path that has no templates/ yet: once one appears, the next build uses it,
    even when every other input is old enough for the build to answer "nothing changed"."""
    theme = tmp_path / "tema"
    theme.mkdir()
    site = scratch_content / "site.yaml"
    site.write_text(site.read_text() + "theme: ../tema\n")
    long_ago = 1_577_836_800 * 10**9
    for path in [*scratch_content.rglob("*"), theme]:
        os.utime(path, ns=(long_ago, long_ago))
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    assert build(scratch_content, out, today=VOTING_DAY).changes.rendered == 0
    (theme / "templates").mkdir()
    page = theme / "templates" / "404.html"
    page.write_text("{% extends 'base.html' %}{% block title %}Hilang sekali{% endblock %}")
    os.utime(page, ns=(long_ago, long_ago))
    result = build(scratch_content, out, today=VOTING_DAY)
    assert "<title>Hilang sekali · Situs Uji</title>" in result.files["404.html"].decode()


def test_csv_cells_never_start_a_formula(scratch_content: Path, tmp_path: Path) -> None:
    (scratch_content / "stages/pemungutan-suara.md").write_text(
        "---\ntitle: '@SUM(A1)'\nphase: pasca\nstart: 2024-11-27\n"
        "summary: '=HYPERLINK(\"https://x.invalid\")'\nmonitoring:\n  - '+1 pantau'\n"
        "legal_basis: '-2+3'\n---\n"
    )
    result = build(scratch_content, tmp_path / "out", today=VOTING_DAY)
    (row,) = csv.DictReader(io.StringIO(result.files["data/stages.csv"].decode()))
    assert row["title"] == "'@SUM(A1)"
    assert row["summary"] == '\'=HYPERLINK("https://x.invalid")'
    (item,) = csv.DictReader(io.StringIO(result.files["data/stage_monitoring.csv"].decode()))
    assert item["value"] == "'+1 pantau"
    for cells in (row, item):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells.values())
