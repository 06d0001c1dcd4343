"""Findings (temuan): what the monitoring team observed and how each finding was followed up.

A finding validates, renders on its own page, on the findings list (grouped by status, newest
first), on the pages of its stage and regions and as counts on the home page; text that looks
like a private person's data is refused with the file, line and field; the timeline must be in
order; the open data, the data package and the findings feed include it; builds re-render only
what a change touches; the campaign role cannot write one through the sync server; and the
list's filters work in Chromium, also offline. Scratch content only: the shipped findings are
not relied on."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from site_builder.build import BuildResult, build, verify_build
from site_builder.load import load_content
from site_builder.models import COLLECTIONS, FINDING_CATEGORIES, FINDING_STATUSES, writable
from site_builder.offline import SEARCH_PATH
from site_builder.preview import make_server
from site_builder.privacy import personal_data

from .conftest import VOTING_DAY, write_scratch
from .test_data_package import validate_package

ATOM = "{http://www.w3.org/2005/Atom}"

SOURCES = """\
checked: press
sources:
  - title: Sumber temuan
    url: https://example.org/temuan
"""

#: Samarinda, voting day, passed on: the newest finding.
NEWEST = (
    """\
---
title: Dugaan politik uang di Samarinda
observed: 2024-11-26
regions: [samarinda]
stage: pemungutan-suara
category: politik-uang
summary: Bawaslu Kota Samarinda menerima laporan dugaan pembagian uang di dekat TPS.
passed_to: [Bawaslu Kota Samarinda, Sentra Gakkumdu]
timeline:
  - date: 2024-11-26
    status: dilaporkan
    note: Tim melaporkan dugaan itu ke Bawaslu Kota Samarinda.
  - date: 2024-11-28
    status: diteruskan
    note: Laporan diteruskan ke Sentra Gakkumdu.
"""
    + SOURCES
    + """\
---
Uraian **temuan** di Samarinda.
"""
)

#: Samarinda again, older, also passed on: second in its group.
OLDER = (
    """\
---
title: Camat diduga tidak netral
observed: 2024-10-01
regions: [samarinda]
category: netralitas-asn
summary: Seorang camat di Samarinda hadir dalam acara kampanye pasangan calon.
timeline:
  - date: 2024-10-02
    status: diteruskan
"""
    + SOURCES
    + "---\n"
)

#: The province, closed: no stage.
PROVINCE = (
    """\
---
title: Hoaks jadwal pemungutan suara
observed: 2024-11-20
regions: [kalimantan-timur]
category: hoaks
summary: Pesan berantai menyebut pemungutan suara diundur; KPU Kaltim membantahnya.
passed_to: [KPU Kalimantan Timur]
timeline:
  - date: 2024-11-20
    status: dilaporkan
  - date: 2024-11-21
    status: selesai
    note: KPU Kalimantan Timur menerbitkan bantahan resmi.
"""
    + SOURCES
    + "---\n"
)

FINDINGS = {
    "findings/politik-uang-samarinda.md": NEWEST,
    "findings/camat-tidak-netral.md": OLDER,
    "findings/hoaks-jadwal.md": PROVINCE,
}


def pantau(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "site_builder", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The scratch content with three findings, built as of voting day."""
    content = write_scratch(tmp_path_factory.mktemp("findings") / "content", FINDINGS)
    return build(content, content.parent / "public", today=VOTING_DAY)


def page(site: BuildResult, path: str) -> str:
    return site.files[path].decode("utf-8")


def rows(site: BuildResult, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(page(site, f"data/{name}.csv"))))


# the collection ----------------------------------------------------------------------------


def test_findings_are_declared_once_and_only_staff_write_them() -> None:
    spec = COLLECTIONS["findings"]
    assert (spec.folder, spec.url, spec.kind) == ("findings", "temuan", "finding")
    assert "findings" in writable("admin") and "findings" in writable("editor")
    assert "findings" not in writable("campaign")
    fields = set(spec.model.model_fields)
    assert {"title", "observed", "regions", "stage", "category", "summary"} <= fields
    assert {"passed_to", "timeline", "sources", "checked", "draft", "body"} <= fields


def test_pantau_new_finding_writes_a_draft_that_checks(tmp_path: Path) -> None:
    content = write_scratch(tmp_path / "content")
    made = pantau("new", "finding", "temuan-baru", "--content", str(content))
    assert made.returncode == 0, made.stderr
    text = (content / "findings" / "temuan-baru.md").read_text()
    assert "draft: true" in text
    checked = pantau("check", "--content", str(content))
    assert checked.returncode == 0, checked.stdout + checked.stderr


# pages -----------------------------------------------------------------------------------


def test_the_list_groups_by_status_newest_first_with_filters_for_the_device(
    site: BuildResult,
) -> None:
    html = page(site, "temuan/index.html")
    passed_on = html[html.index('id="status-diteruskan"') : html.index('id="status-selesai"')]
    assert passed_on.index("Dugaan politik uang di Samarinda") < passed_on.index(
        "Camat diduga tidak netral"
    )
    closed = html[html.index('id="status-selesai"') :]
    assert "Hoaks jadwal pemungutan suara" in closed
    assert "26 November 2024" in passed_on and "Politik uang" in passed_on
    assert "Kota Samarinda" in passed_on
    assert 'data-regions="samarinda"' in passed_on
    assert 'data-stage="pemungutan-suara"' in passed_on
    # The filters: a form the script shows, a script from the site, the feed linked.
    assert "data-finding-filters hidden" in html
    assert '<script src="../static/temuan.js" defer></script>' in html
    assert "<script>" not in html
    assert (site.out / "static" / "temuan.js").is_file()
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Temuan dan tindak lanjutnya'
        in html
    )
    assert 'href="feed.xml"' in html


def test_a_finding_has_its_page_with_timeline_sources_and_badge(site: BuildResult) -> None:
    html = page(site, "temuan/politik-uang-samarinda/index.html")
    assert "<h1>Dugaan politik uang di Samarinda</h1>" in html
    assert "Bawaslu Kota Samarinda menerima laporan" in html
    assert "<strong>temuan</strong>" in html  # the body, as Markdown
    assert 'href="../../wilayah/samarinda/index.html">Kota Samarinda</a>' in html
    assert 'href="../../tahapan/pemungutan-suara/index.html">Pemungutan suara</a>' in html
    assert "Bawaslu Kota Samarinda, Sentra Gakkumdu" in html
    timeline = html[html.index('<ol class="follow-ups">') : html.index("</ol>")]
    assert timeline.index("26 November 2024") < timeline.index("28 November 2024")
    assert 'id="langkah-2024-11-28-diteruskan"' in timeline
    assert "Laporan diteruskan ke Sentra Gakkumdu." in timeline
    assert "Diteruskan</span> sejak 28 November 2024" in html  # the current status
    assert 'href="https://example.org/temuan"' in html
    assert "Dicek pada pemberitaan" in html


def test_stage_and_region_pages_show_their_findings(site: BuildResult) -> None:
    stage = page(site, "tahapan/pemungutan-suara/index.html")
    assert "Dugaan politik uang di Samarinda" in stage
    assert "Camat diduga" not in stage and "Hoaks jadwal" not in stage
    samarinda = page(site, "wilayah/samarinda/index.html")
    assert "Dugaan politik uang di Samarinda" in samarinda
    assert "Camat diduga tidak netral" in samarinda
    assert "Hoaks jadwal" not in samarinda
    province = page(site, "wilayah/kalimantan-timur/index.html")
    assert "Hoaks jadwal pemungutan suara" in province
    assert "Camat diduga" not in province


def test_the_home_page_counts_findings_by_status(site: BuildResult) -> None:
    html = page(site, "index.html")
    assert 'href="temuan/index.html#status-diteruskan"><strong>2</strong> diteruskan' in html
    assert 'href="temuan/index.html#status-selesai"><strong>1</strong> selesai' in html
    assert "status-dilaporkan" not in html  # no finding stands there now
    assert 'href="temuan/index.html"' in html


def test_the_findings_page_charts_status_and_category_with_a_text_table(site: BuildResult) -> None:
    """Both charts are drawn from the records: each has a title, a description and a table
    whose figures are the counts of the findings themselves."""
    html = page(site, "temuan/index.html")
    findings = [e.record for e in load_content(site.out.parent / "content").records("findings")]
    for chart, key, labels in (
        ("grafik-temuan-status", "current_status", FINDING_STATUSES),
        ("grafik-temuan-kategori", "category", FINDING_CATEGORIES),
    ):
        figure = html.split(f'id="{chart}"', 1)[1].split("</figure>", 1)[0]
        assert f'<title id="{chart}-judul">' in figure and f'<desc id="{chart}-uraian">' in figure
        cells = re.findall(r'<th scope="row">(.*?)</th>\s*<td[^>]*>(\d+)</td>', figure)
        table = {re.sub(r"<[^>]+>", "", label): count for label, count in cells}
        expected: dict[str, str] = {}
        for record in findings:
            label = labels[getattr(record, key)]
            expected[label] = str(int(expected.get(label, "0")) + 1)
        assert table == expected, (chart, table)


# personal data and order -------------------------------------------------------------------

PHONE = "looks like a phone number (0812-…); a finding never names or contacts a private person"
NIK = "looks like a NIK, an identity card number (64720…); a finding never names a private"
EMAIL = "looks like an e-mail address (budi.…); a finding never names or contacts a private"


@pytest.mark.parametrize(
    ("before", "after", "line", "field", "sentence"),
    [
        (
            "summary: Bawaslu Kota Samarinda",
            "summary: Saksi (0812-3456-7890) melihat Bawaslu Kota Samarinda",
            7,
            "summary",
            PHONE,
        ),
        (
            "    note: Laporan diteruskan ke Sentra Gakkumdu.",
            "    note: Pelapor dengan NIK 6472011203850001 diteruskan ke Sentra Gakkumdu.",
            15,
            "timeline[1].note",
            NIK,
        ),
        (
            "Uraian **temuan** di Samarinda.",
            "Uraian **temuan**.\n\nHubungi budi.santoso@example.com untuk rinciannya.",
            23,
            "body",
            EMAIL,
        ),
        (
            "passed_to: [Bawaslu Kota Samarinda, Sentra Gakkumdu]",
            "passed_to: [Bawaslu Kota Samarinda, 'Ketua RT 0812 3456 789']",
            8,
            "passed_to[1]",
            "looks like a phone number (0812 …)",
        ),
        (
            "  - title: Sumber temuan",
            "  - title: Kiriman warga +62 812-3456-7890",
            18,
            "sources[0].title",
            "looks like a phone number (+62 8…)",
        ),
    ],
)
def test_personal_data_in_a_finding_fails_pantau_check(
    tmp_path: Path, before: str, after: str, line: int, field: str, sentence: str
) -> None:
    assert before in NEWEST
    content = write_scratch(
        tmp_path / "content", {"findings/uji.md": NEWEST.replace(before, after)}
    )
    result = pantau("check", "--content", str(content))
    assert result.returncode == 1
    path = content / "findings" / "uji.md"
    assert f"{path}:{line}: {field}: {sentence}" in result.stderr, result.stderr
    assert "remove it" in result.stderr


def test_what_looks_like_personal_data_and_what_does_not() -> None:
    for text in (
        "0812-3456-789",
        "+62 812 3456 7890",
        "6281234567890",
        "NIK 6472 0112 0385 0001",
        "surel: humas@contoh.go.id",
    ):
        assert personal_data(text) is not None, text
    for text in (
        "Rekapitulasi 2024-11-27 pukul 08.00 WITA",
        "Rp 62.000.000 dan 628.123 suara",
        "https://news.example.com/read/2024/11/27/1234567890123456/judul",
        "akun @bawaslu_kaltim",
        "Putusan MK Nomor 195/PHPU.BUP-XXIII/2025",
    ):
        assert personal_data(text) is None, text
    assert personal_data("baris satu\nbaris dua 081234567890").line == 1  # type: ignore[union-attr]


def test_a_timeline_out_of_order_fails_with_its_line(tmp_path: Path) -> None:
    swapped = NEWEST.replace("  - date: 2024-11-26", "  - date: 2024-11-29")
    content = write_scratch(tmp_path / "content", {"findings/uji.md": swapped})
    result = pantau("check", "--content", str(content))
    assert result.returncode == 1
    path = content / "findings" / "uji.md"
    expected = (
        f"{path}:13: timeline[1].date: dated 2024-11-28, before the step above it (2024-11-29); "
        "list the timeline oldest first"
    )
    assert expected in result.stderr, result.stderr


def test_a_step_before_the_observation_fails(tmp_path: Path) -> None:
    early = NEWEST.replace("observed: 2024-11-26", "observed: 2024-11-27")
    content = write_scratch(tmp_path / "content", {"findings/uji.md": early})
    result = pantau("check", "--content", str(content))
    assert result.returncode == 1
    assert (
        f"{content / 'findings' / 'uji.md'}:10: timeline[0].date: dated 2024-11-26, before "
        "the finding was observed (2024-11-27)"
    ) in result.stderr, result.stderr


def test_a_finding_names_known_regions_and_stages(tmp_path: Path) -> None:
    wrong = NEWEST.replace("stage: pemungutan-suara", "stage: pemungutan-suar")
    wrong = wrong.replace("regions: [samarinda]", "regions: [samarind]")
    content = write_scratch(tmp_path / "content", {"findings/uji.md": wrong})
    result = pantau("check", "--content", str(content))
    assert result.returncode == 1
    path = content / "findings" / "uji.md"
    assert f"{path}:5: stage: unknown stage 'pemungutan-suar'; did you mean" in result.stderr
    assert f"{path}:4: regions[0]: unknown region 'samarind'; did you mean" in result.stderr


# open data and feed ------------------------------------------------------------------------


def test_the_open_data_holds_findings_and_validates(site: BuildResult) -> None:
    validate_package(site.out)
    data = site.out / "data"
    exported = json.loads((data / "findings.json").read_text())
    assert [f["id"] for f in exported] == [
        "politik-uang-samarinda",
        "hoaks-jadwal",
        "camat-tidak-netral",
    ]
    newest = exported[0]
    assert newest["url"] == "temuan/politik-uang-samarinda/index.html"
    assert newest["timeline"][-1] == {
        "date": "2024-11-28",
        "status": "diteruskan",
        "note": "Laporan diteruskan ke Sentra Gakkumdu.",
    }
    schema = json.loads((data / "findings.schema.json").read_text())
    jsonschema.validate(exported, schema, format_checker=jsonschema.FormatChecker())
    whole = json.loads((data / "findings" / "politik-uang-samarinda.json").read_text())
    assert whole["body"] == "Uraian **temuan** di Samarinda."
    table = {r["id"]: r for r in rows(site, "findings")}
    assert table["politik-uang-samarinda"]["stage"] == "pemungutan-suara"
    assert table["politik-uang-samarinda"]["category"] == "politik-uang"
    assert table["hoaks-jadwal"]["stage"] == ""
    steps = [(r["finding_id"], r["position"], r["status"]) for r in rows(site, "finding_timeline")]
    assert ("hoaks-jadwal", "2", "selesai") in steps
    assert ("politik-uang-samarinda", "1", "dilaporkan") in steps
    regions = [(r["finding_id"], r["region_id"]) for r in rows(site, "finding_regions")]
    assert ("camat-tidak-netral", "samarinda") in regions
    passed = [(r["finding_id"], r["value"]) for r in rows(site, "finding_passed_to")]
    assert ("hoaks-jadwal", "KPU Kalimantan Timur") in passed
    package = json.loads((data / "datapackage.json").read_text())
    by_name = {r["name"]: r for r in package["resources"]}
    assert {"fields": ["stage"], "reference": {"resource": "stages", "fields": ["id"]}} in (
        by_name["findings"]["schema"]["foreignKeys"]
    )


def test_search_finds_findings(site: BuildResult) -> None:
    text = page(site, SEARCH_PATH)
    assert '"Dugaan politik uang di Samarinda","temuan/politik-uang-samarinda/index.html"' in text
    assert "sentra gakkumdu" in text  # passed_to is searched


def test_the_findings_feed_has_one_entry_per_step_newest_first(site: BuildResult) -> None:
    feed = ET.fromstring(site.files["temuan/feed.xml"])
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2 + 1 + 2  # every step of the three findings
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)
    first = entries[0]
    assert first.findtext(f"{ATOM}title") == "Diteruskan: Dugaan politik uang di Samarinda"
    assert first.findtext(f"{ATOM}updated") == "2024-11-28T00:00:00+08:00"
    assert first.findtext(f"{ATOM}summary") == "Laporan diteruskan ke Sentra Gakkumdu."
    link = first.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == "politik-uang-samarinda/index.html#langkah-2024-11-28-diteruskan"
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)
    assert "tag:pantau,2024:findings/politik-uang-samarinda/langkah-2024-11-26-dilaporkan" in ids
    assert feed.findtext(f"{ATOM}updated") == "2024-11-28T00:00:00+08:00"
    assert page(site, "temuan/feed.xml").startswith('<?xml version="1.0" encoding="utf-8"?>\n')


def test_a_new_step_adds_an_entry_and_keeps_the_others_ids(tmp_path: Path) -> None:
    content = write_scratch(tmp_path / "content", FINDINGS)
    out = tmp_path / "public"

    def ids() -> list[str]:
        feed = ET.fromstring((out / "temuan" / "feed.xml").read_bytes())
        return [e.findtext(f"{ATOM}id") or "" for e in feed.findall(f"{ATOM}entry")]

    build(content, out, today=VOTING_DAY)
    before = ids()
    closed = PROVINCE.replace(
        "    note: KPU Kalimantan Timur menerbitkan bantahan resmi.\n",
        "    note: KPU Kalimantan Timur menerbitkan bantahan resmi.\n"
        "  - date: 2024-12-01\n    status: dihentikan\n",
    )
    (content / "findings" / "hoaks-jadwal.md").write_text(closed)
    build(content, out, today=VOTING_DAY)
    after = ids()
    assert after[0] == "tag:pantau,2024:findings/hoaks-jadwal/langkah-2024-12-01-dihentikan"
    assert after[1:] == before


def test_with_a_base_url_feed_links_and_ids_are_absolute(tmp_path: Path) -> None:
    site_yaml = "title: Situs Uji\norganisation: Tim Uji\nelection_day: 2024-11-27\n"
    site_yaml += "base_url: https://pantau.example.org/\n"
    content = write_scratch(tmp_path / "content", {**FINDINGS, "site.yaml": site_yaml})
    result = build(content, tmp_path / "public", today=VOTING_DAY)
    feed = ET.fromstring(result.files["temuan/feed.xml"])
    entry = feed.findall(f"{ATOM}entry")[0]
    address = "https://pantau.example.org/temuan/politik-uang-samarinda/index.html"
    assert entry.findtext(f"{ATOM}id") == address + "#langkah-2024-11-28-diteruskan"
    link = entry.find(f"{ATOM}link")
    assert link is not None and link.get("href") == address + "#langkah-2024-11-28-diteruskan"


# incremental -------------------------------------------------------------------------------


def test_a_changed_finding_re_renders_only_what_shows_it(tmp_path: Path) -> None:
    content = write_scratch(tmp_path / "content", FINDINGS)
    out = tmp_path / "public"
    build(content, out, today=VOTING_DAY)
    path = content / "findings" / "camat-tidak-netral.md"
    path.write_text(OLDER.replace("hadir dalam acara", "terlihat di acara"))
    changes = build(content, out, today=VOTING_DAY).changes
    assert not changes.full
    rendered = set(changes.outputs)
    assert {
        "temuan/camat-tidak-netral/index.html",
        "temuan/index.html",
        "wilayah/samarinda/index.html",
    } <= rendered
    untouched = {
        "index.html",  # the counts by status did not change
        "temuan/politik-uang-samarinda/index.html",
        "temuan/hoaks-jadwal/index.html",
        "wilayah/kalimantan-timur/index.html",
        "tahapan/pemungutan-suara/index.html",  # it does not name this stage
        "tim/keamanan/index.html",
        "kampanye/ayo-memilih/index.html",
    }
    assert untouched.isdisjoint(rendered), sorted(untouched & rendered)
    # A new step changes the status: now the home page's counts follow.
    path.write_text(OLDER.replace("    status: diteruskan\n", "    status: selesai\n"))
    changes = build(content, out, today=VOTING_DAY).changes
    assert {"index.html", "temuan/index.html", "temuan/feed.xml"} <= set(changes.outputs)
    assert "temuan/hoaks-jadwal/index.html" not in changes.outputs
    home = (out / "index.html").read_text()
    assert "<strong>1</strong> diteruskan" in home and "<strong>2</strong> selesai" in home
    verify_build(content, out, VOTING_DAY)


# the sync server ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_campaign_role_cannot_write_a_finding(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from .server import make_token, scratch_server

    server = scratch_server(tmp_path_factory, FINDINGS)
    try:
        campaign = make_token(server.data, "kampanye", "campaign")
        editor = make_token(server.data, "editor", "editor")
        new = {"Content-Type": "text/markdown", "If-None-Match": "*"}
        url = "/api/records/findings/temuan-baru"
        with server.client(campaign) as http:
            refused = http.put(url, content=OLDER, headers=new)
            assert refused.status_code == 403, refused.text
            assert "findings" in refused.json()["error"]
            changed = http.put(
                "/api/records/findings/camat-tidak-netral",
                content=OLDER.replace("Seorang camat", "Camat"),
                headers={"Content-Type": "text/markdown", "If-Match": "1"},
            )
            assert changed.status_code == 403, changed.text
        with server.client(editor) as http:
            made = http.put(url, content=OLDER, headers=new)
            assert made.status_code == 201, made.text
            private = OLDER.replace("Seorang camat", "Camat (0812-3456-7890)")
            refused = http.put("/api/records/findings/temuan-lain", content=private, headers=new)
            assert refused.status_code == 422, refused.text
            assert "looks like a phone number" in refused.text
    finally:
        server.stop()


# the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The scratch site with findings, served on 127.0.0.1 as a web server would."""
    content = write_scratch(tmp_path_factory.mktemp("served") / "content", FINDINGS)
    out = content.parent / "public"
    build(content, out, today=VOTING_DAY)
    server = make_server(out, "127.0.0.1", 0)
    server.RequestHandlerClass.log_message = lambda *args: None  # type: ignore[assignment]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def shown_titles(page: Any) -> list[str]:
    return page.locator("[data-finding]:visible h3").all_inner_texts()  # type: ignore[no-any-return]


@pytest.mark.slow
def test_filtering_by_region_works_on_the_device_also_offline(served: str, browser: Any) -> None:
    context = browser.new_context(service_workers="allow")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(served + "temuan/index.html")
        page.wait_for_function(
            "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
        )
        assert len(shown_titles(page)) == 3
        assert "semua 3 temuan" in page.locator("#temuan-jumlah").inner_text()
        page.select_option("#saring-wilayah", "samarinda")
        assert shown_titles(page) == [
            "Dugaan politik uang di Samarinda",
            "Camat diduga tidak netral",
        ]
        assert page.locator("#status-selesai").is_hidden()  # a group left empty is hidden
        assert "2 dari 3" in page.locator("#temuan-jumlah").inner_text()
        assert page.url.endswith("temuan/index.html?wilayah=samarinda")

        context.set_offline(True)
        page.reload()  # from the service worker's cache, the filter read from the address
        assert page.locator("#saring-wilayah").input_value() == "samarinda"
        assert len(shown_titles(page)) == 2
        page.select_option("#saring-wilayah", "kalimantan-timur")
        assert shown_titles(page) == ["Hoaks jadwal pemungutan suara"]
        page.select_option("#saring-status", "diteruskan")
        assert shown_titles(page) == []
        assert page.locator("#temuan-kosong").is_visible()
        page.click("text=Tampilkan semua")
        page.wait_for_function(
            "() => document.querySelectorAll('[data-finding]:not([hidden])').length === 3"
        )
        assert errors == []
    finally:
        context.close()


@pytest.mark.slow
def test_without_javascript_the_findings_are_plain_grouped_lists(served: str, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(served + "temuan/index.html")
        assert page.locator("form[data-finding-filters]").is_hidden()
        assert len(shown_titles(page)) == 3
        headings = page.locator("section[data-finding-group] h2").all_inner_texts()
        assert headings == ["Diteruskan (2)", "Selesai (1)"]
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", [360, 1280])
def test_findings_pages_fit_a_phone_and_a_desktop_and_pass_axe(
    served: str, browser: Any, width: int
) -> None:
    from .test_browser import AXE
    from .test_layout import LAYOUT_PROBLEMS

    artifacts = Path(__file__).parent.parent / "test-artifacts" / "layout"
    artifacts.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        for name, path in [
            ("temuan", "temuan/index.html"),
            ("temuan-detail", "temuan/politik-uang-samarinda/index.html"),
            ("beranda-temuan", "index.html"),
        ]:
            page.goto(served + path)
            page.screenshot(path=str(artifacts / f"{name}-{width}.png"), full_page=True)
            assert page.evaluate(LAYOUT_PROBLEMS) == [], (path, width)
            page.evaluate(AXE.read_text(encoding="utf-8"))
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            serious = [
                (v["id"], [n["target"] for n in v["nodes"]][:3])
                for v in result["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert serious == [], (path, width)
        nav = page.locator("nav[aria-label='Menu utama'] a", has_text="Temuan")
        assert nav.is_visible()
    finally:
        context.close()
