"""What the public pages say: the stage that matters now, the outcome after the vote, the
stage list, results computed from raw votes, and campaigns' calls to action."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from site_builder.build import build
from site_builder.dates import rentang_singkat

from .conftest import CONTENT

IN_SEASON = dt.date(2024, 8, 28)  # candidate registration, with six background stages
AFTER = dt.date(2026, 11, 29)


def main_of(html: bytes) -> str:
    text = html.decode()
    return text[text.index("<main") : text.index("</main>")]


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_in_season_the_home_page_shows_one_stage_now_and_folds_the_rest(
    tmp_path: Path,
) -> None:
    home = main_of(build(CONTENT, tmp_path / "out", today=IN_SEASON).files["index.html"])
    assert home.count("data-now") == 1
    now = home.split("data-now", 1)[1].split("</ul>", 1)[0]
    assert now.count("<li") == 1 and "Pendaftaran pasangan calon" in now
    assert "Berikutnya, mulai 22 September 2024" in words(home)
    folded = home.split('<details class="others">', 1)[1].split("</details>", 1)[0]
    assert "Tahapan lain yang juga berlangsung (6)" in folded
    assert "Pendaftaran pasangan calon" not in folded
    # what matters now comes before the folded background stages
    assert home.index("data-now") < home.index('<details class="others">')


def test_on_voting_day_the_vote_is_the_stage_now(tmp_path: Path) -> None:
    result = build(CONTENT, tmp_path / "out", today=dt.date(2024, 11, 27))
    home = main_of(result.files["index.html"])
    now = home.split("data-now", 1)[1].split("</ul>", 1)[0]
    assert "Pemungutan suara" in now and "Penghitungan" not in now


def test_after_the_vote_the_home_page_shows_no_day_count(tmp_path: Path) -> None:
    home = words(main_of(build(CONTENT, tmp_path / "out", today=AFTER).files["index.html"]))
    assert "hari sejak" not in home
    assert "Semua tahapan sudah selesai; yang terakhir: Pelantikan kepala daerah" in home


OUTCOME = """\
    outcome:
      elected: Andi Harun\u2013Saefuddin Zuhri
      inaugurated: 2025-02-20
      tallies:
        - label: Rekapitulasi KPU
          votes:
            - pair: Andi Harun\u2013Saefuddin Zuhri
              votes: 306392
            - pair: Kolom kosong
              votes: 41301
          source:
            title: Hasil rekapitulasi
            url: https://example.org/rekap
      sources:
        - title: Hasil rekapitulasi
          url: https://example.org/rekap
"""


def test_after_the_vote_the_home_and_region_pages_show_the_outcome(
    scratch_content: Path, tmp_path: Path
) -> None:
    regions = scratch_content / "regions.yaml"
    text = regions.read_text()
    at = text.index("  - slug: samarinda")
    rest = text[at:]
    cut = rest.index("    sources:")
    regions.write_text(text[:at] + rest[:cut] + OUTCOME + rest[cut:])
    before = build(scratch_content, tmp_path / "before", today=dt.date(2024, 11, 26))
    assert "Hasil Pilkada 2024" not in before.files["index.html"].decode()
    result = build(scratch_content, tmp_path / "out", today=AFTER)
    home = words(main_of(result.files["index.html"]))
    assert "Hasil Pilkada 2024" in home
    assert "Kota Samarinda Andi Harun\u2013Saefuddin Zuhri Dilantik 20 Februari 2025" in home
    region = main_of(result.files["wilayah/samarinda/index.html"])
    assert re.findall(r'<td class="num">([^<]*)</td>', region) == [
        "306.392",
        "88,12%",
        "41.301",
        "11,88%",
    ]
    assert "dari jumlah suara yang tercantum" in region


def test_the_stage_list_is_in_time_order_with_a_jump_to_now(tmp_path: Path) -> None:
    result = build(CONTENT, tmp_path / "out", today=IN_SEASON)
    page = main_of(result.files["tahapan/index.html"])
    assert '<a href="#tahapan-pendaftaran-paslon">Loncat ke tahapan' in page
    assert 'id="tahapan-pendaftaran-paslon"' in page
    assert "27 Feb \u2013 16 Nov 2024" in page  # observers' registration, compact
    assert "27\u201329 Agu 2024" in page
    ids = re.findall(r'<li class="stage [^"]*" id="tahapan-([a-z0-9-]+)"', page)
    assert len(ids) == 25
    firsts = [re.search(rf'id="tahapan-{slug}".*?<span>([^<]*)</span>', page, re.S) for slug in ids]
    assert all(firsts)
    # an end-only stage sits at its end date: after the voters' list (31 May) comes what
    # started later, and 'Penyusunan peraturan' (until 18 Nov) comes after the campaign start
    assert ids.index("penyusunan-peraturan") > ids.index("kampanye")
    assert ids.index("penyusunan-peraturan") < ids.index("pemungutan-suara")


def test_status_badges_differ_by_more_than_colour(tmp_path: Path) -> None:
    page = main_of(build(CONTENT, tmp_path / "out", today=IN_SEASON).files["tahapan/index.html"])
    marks = dict(re.findall(r'status-([a-z-]+)"><span aria-hidden="true">(.)</span>', page))
    assert marks == {"selesai": "✓", "berlangsung": "●", "akan-datang": "○"}


def test_a_stage_that_follows_another_ends(tmp_path: Path) -> None:
    result = build(CONTENT, tmp_path / "out", today=AFTER)
    page = words(main_of(result.files["tahapan/pengusulan-pengangkatan/index.html"]))
    assert "Selesai" in page and "Jadwal menyesuaikan" not in page
    assert "Paling lambat 14 Juli 2025: 3 hari setelah Penetapan pasangan calon terpilih" in page


def test_compact_ranges() -> None:
    assert (
        rentang_singkat(dt.date(2024, 2, 27), dt.date(2024, 11, 16)) == "27 Feb \u2013 16 Nov 2024"
    )
    assert rentang_singkat(dt.date(2024, 8, 27), dt.date(2024, 8, 29)) == "27\u201329 Agu 2024"
    assert (
        rentang_singkat(dt.date(2024, 12, 24), dt.date(2025, 1, 6))
        == "24 Des 2024 \u2013 6 Jan 2025"
    )
    assert rentang_singkat(None, dt.date(2024, 1, 26)) == "s.d. 26 Jan 2024"
    assert rentang_singkat(dt.date(2024, 11, 27), None) == "27 Nov 2024"


RESULTS = """\
results:
  - label: PSU
    date: 2025-05-24
    valid: 20777
    votes:
      - pair: Angela Idang Belawan\u2013Suhuk
        votes: 10033
      - pair: Novita Bulan\u2013Artya Fathra Marthin
        votes: 7731
      - pair: Yohanes Avun\u2013Y. Juan Jenau
        votes: 3013
    source:
      title: Sumber hasil
      url: https://example.org/hasil
"""


def with_front(path: Path, extra: str) -> None:
    """Add front-matter lines right after a record's opening '---'."""
    head, rest = path.read_text().split("\n", 1)
    path.write_text(f"{head}\n{extra}{rest}")


def test_results_are_raw_votes_with_shares_computed(scratch_content: Path, tmp_path: Path) -> None:
    with_front(scratch_content / "stages/pemungutan-suara.md", RESULTS)
    result = build(scratch_content, tmp_path / "out", today=AFTER)
    page = main_of(result.files["tahapan/pemungutan-suara/index.html"])
    cells = re.findall(r'<td class="num">([^<]*)</td>', page)
    assert cells == ["10.033", "48,29%", "7.731", "37,21%", "3.013", "14,50%"]
    assert "Suara sah: 20.777" in page


def test_a_partial_tally_shows_no_shares(scratch_content: Path, tmp_path: Path) -> None:
    partial = RESULTS.replace("    valid: 20777\n", "    complete: false\n")
    with_front(scratch_content / "stages/pemungutan-suara.md", partial)
    page = main_of(
        build(scratch_content, tmp_path / "out", today=AFTER).files[
            "tahapan/pemungutan-suara/index.html"
        ]
    )
    assert "%" not in words(page).split("Hasil", 1)[1].split("Sumber:", 1)[0]
    assert "persentase tidak dihitung" in page


def test_a_campaign_action_is_a_button_and_sharing_requests_nothing(
    scratch_content: Path, tmp_path: Path
) -> None:
    action = "action:\n  label: Cek DPT online\n  url: https://cekdptonline.kpu.go.id/\n"
    with_front(scratch_content / "campaigns/ayo-memilih.md", action)
    page = main_of(
        build(scratch_content, tmp_path / "out", today=AFTER).files[
            "kampanye/ayo-memilih/index.html"
        ]
    )
    assert '<a class="button" href="https://cekdptonline.kpu.go.id/"' in page
    share = re.search(r'<p class="share"><a href="([^"]+)" data-share', page)
    assert share and share.group(1).startswith("https://wa.me/?text=")
    assert not re.search(r"<(img|iframe|script)[^>]+(wa\.me|whatsapp)", page)
