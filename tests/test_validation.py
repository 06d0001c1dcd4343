"""Every kind of content error: file, line, field and a plain sentence; all in one run."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from site_builder.build import build
from site_builder.errors import ContentError, Problem
from site_builder.load import load_content, read_record
from site_builder.models import COLLECTIONS

from .conftest import Writer


def problems(root: Path) -> list[Problem]:
    with pytest.raises(ContentError) as info:
        load_content(root)
    return info.value.problems


def only(root: Path) -> Problem:
    (problem,) = problems(root)
    return problem


def test_scratch_content_is_valid(scratch_content: Path) -> None:
    content = load_content(scratch_content)
    assert set(content.entries["stages"]) == {"pemungutan-suara"}
    assert content.entries["teams"]["keamanan"].record.members[0].kind == "aparat keamanan"


def test_shipped_content_is_valid() -> None:
    content = load_content(Path(__file__).parent.parent / "content")
    assert len(content.regions) == 11
    assert sum(1 for r in content.regions.values() if r.kind != "provinsi") == 10
    assert len(content.entries["campaigns"]) >= 5
    assert all(e.record.checked == "illustrative" for e in content.entries["teams"].values())


def test_missing_required_field(scratch_content: Path, write: Writer) -> None:
    write("stages/tanpa-ringkasan.md", "---\ntitle: X\nphase: pasca\nstart: 2025-01-01\n---\n")
    problem = only(scratch_content)
    assert problem.path.endswith("stages/tanpa-ringkasan.md")
    assert (problem.line, problem.field) == (2, "summary")
    assert problem.message == "this required field is missing"


def test_unknown_field_suggests_the_right_one(scratch_content: Path, write: Writer) -> None:
    write(
        "stages/salah-ketik.md",
        "---\ntitle: X\nphase: pasca\nstart: 2025-01-01\nsumary: typo\n---\n",
    )
    messages = {p.field: p for p in problems(scratch_content)}
    assert messages["sumary"].line == 5
    assert "unknown field 'sumary'. Did you mean 'summary'?" in messages["sumary"].message
    assert "summary" in messages  # the real field is still reported missing


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("phase: sebelum", "phase", "found 'sebelum', expected one of: 'persiapan'"),
        ("start: 2024-13-01", "start", "found '2024-13-01', expected a real date"),
        ("checked: mungkin", "checked", "found 'mungkin', expected one of: 'document'"),
        ("verified: true", "verified", "'verified' was replaced by 'checked'"),
        ("monitoring: satu hal", "monitoring", "expected a list"),
        ("divisions: [Bukan Slug]", "divisions[0]", "expected a slug"),
    ],
)
def test_wrong_values(
    scratch_content: Path, write: Writer, line: str, field: str, expected: str
) -> None:
    fields = {"title": "X", "phase": "pasca", "start": "2025-01-01", "summary": "Y"}
    key = line.split(":")[0]
    fields[key] = line.split(": ", 1)[1]
    text = "---\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "---\n"
    write("stages/nilai-salah.md", text)
    problem = only(scratch_content)
    assert problem.field == field
    assert expected in problem.message
    assert problem.line == list(fields).index(key) + 2


def test_end_before_start(scratch_content: Path, write: Writer) -> None:
    write(
        "stages/terbalik.md",
        "---\ntitle: X\nphase: pasca\nstart: 2025-02-01\nend: 2025-01-01\nsummary: Y\n---\n",
    )
    problem = only(scratch_content)
    assert (problem.line, problem.field) == (5, "end")
    assert "ends (2025-01-01) before it starts (2025-02-01)" in problem.message


def test_nested_field_and_url(scratch_content: Path, write: Writer) -> None:
    write(
        "stages/sumber.md",
        """\
        ---
        title: X
        phase: pasca
        start: 2025-01-01
        summary: Y
        sources:
          - title: Ok
            url: https://example.org
          - title: Bad
            url: javascript:alert(1)
        ---
        """,
    )
    problem = only(scratch_content)
    assert (problem.line, problem.field) == (10, "sources[1].url")
    assert "http:// or https://" in problem.message


@pytest.mark.parametrize("level", ["document", "press"])
def test_checked_needs_a_source(scratch_content: Path, write: Writer, level: str) -> None:
    write("pages/tentang.md", f"---\ntitle: Tentang\nchecked: {level}\n---\nIsi.\n")
    problem = only(scratch_content)
    assert problem.field == "checked"
    assert "needs the sources it was checked against" in problem.message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://rmol.id/amp/2025/02/14/656304/whatsapp:/send", "stray 'whatsapp:/'"),
        ("https:/kaltim.antaranews.com/berita/1", "starting with http:// or https://"),
        ("https://kaltim antaranews.com/", "contains a space"),
        ("https://-/berita", "no valid host name"),
        ("https://kaltim.antaranews.com:99999/", "invalid port"),
        ("javascript:alert(1)", "http:// or https://"),
    ],
)
def test_a_malformed_source_url_is_refused(
    scratch_content: Path, write: Writer, url: str, expected: str
) -> None:
    write(
        "pages/tentang.md",
        f"---\ntitle: Tentang\nsources:\n  - title: Berita\n    url: {url}\n---\nIsi.\n",
    )
    problem = only(scratch_content)
    assert (problem.line, problem.field) == (5, "sources[0].url")
    assert expected in problem.message


def test_an_archived_copy_keeps_its_embedded_address(scratch_content: Path, write: Writer) -> None:
    url = "https://web.archive.org/web/2024/https://kaltim.antaranews.com/berita/1"
    write("pages/tentang.md", f"---\ntitle: T\nsources:\n  - title: B\n    url: {url}\n---\n")
    assert load_content(scratch_content).entries["pages"]["tentang"].record.sources[0].url == url


def test_a_stage_following_an_unknown_stage_is_refused(
    scratch_content: Path, write: Writer
) -> None:
    write(
        "stages/pengusulan.md",
        "---\ntitle: P\nphase: pasca\nsummary: S.\nafter:\n  stage: tidak-ada\n  days: 3\n---\n",
    )
    problem = only(scratch_content)
    assert (problem.line, problem.field) == (6, "after.stage")
    assert "unknown stage 'tidak-ada'" in problem.message


def test_invalid_slug_file_name(scratch_content: Path, write: Writer) -> None:
    write("campaigns/Ayo Memilih.md", "---\ntitle: x\n---\n")
    found = problems(scratch_content)
    (problem,) = (p for p in found if p.field == "slug")
    assert any(p.field == "summary" for p in found)  # its fields are checked in the same run
    assert "e.g. 'ayo-memilih'" in problem.message


@pytest.mark.parametrize("stem", ["a" * 81, "nl\n", "-awal", "dua--garis"])
def test_slugs_are_whole_short_matches(scratch_content: Path, write: Writer, stem: str) -> None:
    write(f"pages/{stem}.md", "---\ntitle: x\n---\n")
    problem = only(scratch_content)
    assert problem.field == "slug"
    assert "at most 80 lowercase letters" in problem.message


def test_the_longest_slug_is_accepted(scratch_content: Path, write: Writer) -> None:
    write(f"pages/{'a' * 80}.md", "---\ntitle: x\n---\n")
    assert "a" * 80 in load_content(scratch_content).entries["pages"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("end: 9999-12-31", "end"),
        ("start: 0001-01-01", "start"),
        ("updated: 9999-12-31T23:59:59+08:00", "updated"),
    ],
)
def test_dates_the_site_cannot_show_are_refused(
    scratch_content: Path, write: Writer, line: str, field: str
) -> None:
    write("stages/jauh.md", f"---\ntitle: X\nphase: pasca\nsummary: Y\n{line}\n---\n")
    found = {p.field: p for p in problems(scratch_content)}
    assert found[field].line == 5
    assert "expected a date between 1900 and 2199" in found[field].message
    if field == "updated":  # reported in the same run: the stage has no date at all
        assert "a stage needs a start date" in found["start"].message


def test_broken_division_reference_names_both_files(scratch_content: Path, write: Writer) -> None:
    write(
        "stages/rujukan.md",
        "---\ntitle: X\nphase: pasca\nstart: 2025-01-01\nsummary: Y\ndivisions:\n"
        "  - keamanan\n  - hantu\n---\n",
    )
    problem = only(scratch_content)
    assert problem.path.endswith("stages/rujukan.md")
    assert (problem.line, problem.field) == (8, "divisions[1]")
    # content-relative, so a server's answer shows none of its own paths
    assert "there is no teams/hantu.md or .yaml in the content folder" in problem.message
    assert str(scratch_content) not in problem.message


def test_unknown_region_names_regions_file(scratch_content: Path, write: Writer) -> None:
    text = (scratch_content / "campaigns/ayo-memilih.md").read_text()
    write("campaigns/ayo-memilih.md", text.replace("[samarinda]", "[samarinda, atlantis]"))
    problem = only(scratch_content)
    assert problem.field == "regions[1]"
    assert "unknown region 'atlantis'" in problem.message
    assert "not listed in regions.yaml" in problem.message


def test_missing_image(scratch_content: Path, write: Writer) -> None:
    text = (scratch_content / "campaigns/ayo-memilih.md").read_text()
    write(
        "campaigns/ayo-memilih.md",
        text.replace(
            "checked: unchecked", "checked: unchecked\nimage:\n  src: poster.png\n  alt: P"
        ),
    )
    problem = only(scratch_content)
    assert problem.field == "image.src"
    assert "the image media/poster.png is not in the content folder" in problem.message


def test_image_needs_alt_text(scratch_content: Path, write: Writer) -> None:
    text = (scratch_content / "campaigns/ayo-memilih.md").read_text()
    write(
        "campaigns/ayo-memilih.md",
        text.replace("checked: unchecked", "checked: unchecked\nimage:\n  src: poster.png"),
    )
    # Both in one run: the missing alt text, and the missing file (there is no media/).
    assert [p.field for p in problems(scratch_content)] == ["image.alt", "image.src"]


def test_stray_and_duplicate_files(scratch_content: Path, write: Writer) -> None:
    write("teams/catatan.txt", "hello")
    write("teams/keamanan.md", "---\nname: x\n---\n")
    found = problems(scratch_content)
    assert any("not a record file" in p.message for p in found)
    assert any("also used by" in p.message or p.field == "role" for p in found)


def test_every_problem_in_one_run(scratch_content: Path, write: Writer) -> None:
    write("stages/a.md", "---\ntitle: X\n---\n")
    write("teams/b.yaml", "name: [oops\n")
    write("campaigns/c.md", "---\ntitle: X\nwho: ?\n---\n")
    paths = {Path(p.path).name for p in problems(scratch_content)}
    assert paths == {"a.md", "b.yaml", "c.md"}


def test_read_record_is_pure_and_shared() -> None:
    spec = COLLECTIONS["stages"]
    entry = read_record(
        spec, "uji", "---\ntitle: X\nphase: pasca\nend: 2025-01-01\nsummary: Y\n---\n", "uji.md"
    )
    assert entry.record.end.isoformat() == "2025-01-01"


def test_check_command_prints_lines_and_exits_1(scratch_content: Path, write: Writer) -> None:
    write(
        "stages/terbalik.md",
        "---\ntitle: X\nphase: pasca\nstart: 2025-02-01\nend: 2025-01-01\nsummary: Y\n---\n",
    )
    result = subprocess.run(
        [sys.executable, "-m", "site_builder", "check", "--content", str(scratch_content)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{scratch_content / 'stages' / 'terbalik.md'}:5: end: the stage ends")
    assert result.stderr.splitlines()[-1] == "1 problem found."


def test_check_command_on_valid_content(scratch_content: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "site_builder", "check", "--content", str(scratch_content)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "3 records and 2 regions are valid" in result.stdout


@pytest.mark.parametrize("where", ["pages/rahasia.md", "media/rahasia.png", "media/luar"])
def test_links_out_of_the_content_folder_are_refused(
    scratch_content: Path, tmp_path: Path, where: str
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "kunci.md").write_text("---\ntitle: Kunci rahasia\n---\nJangan terbit.\n")
    link = scratch_content / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret if where == "media/luar" else secret / "kunci.md")
    problem = only(scratch_content)
    assert problem.path == str(link)
    assert "outside the content folder" in problem.message


def test_a_link_inside_the_content_folder_is_followed(
    scratch_content: Path, tmp_path: Path
) -> None:
    (scratch_content / "media").mkdir()
    (scratch_content / "media/poster.png").write_bytes(b"\x89PNG")
    (scratch_content / "media/sama.png").symlink_to(scratch_content / "media/poster.png")
    assert "sama.png" in load_content(scratch_content).media


def test_a_static_file_linked_from_outside_is_not_published(
    scratch_content: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "id_rsa"
    outside.write_text("PRIVATE KEY")
    (scratch_content / "static").mkdir()
    (scratch_content / "static/kunci.txt").symlink_to(outside)
    with pytest.raises(ContentError) as info:
        build(scratch_content, tmp_path / "out", today=dt.date(2024, 11, 27))
    assert "outside the content folder" in str(info.value)
    assert not (tmp_path / "out" / "static" / "kunci.txt").exists()


def test_one_check_reports_every_problem_of_a_record(scratch_content: Path, write: Writer) -> None:
    # A bad field used to hide the date order, the references and the image until it was
    # fixed: one run now names all four.
    write(
        "campaigns/semua-salah.md",
        """\
        ---
        title: Semua salah
        summary: Ringkas.
        audience: [pemilih pemula]
        regions: [samarinda]
        organiser: Tim Uji
        call_to_action: Datang.
        checked: mungkin
        start: 2024-11-20
        end: 2024-11-01
        image:
          src: tidak-ada.png
          alt: Poster
        ---
        """,
    )
    write(
        "stages/salah-juga.md",
        "---\ntitle: X\nphase: sebelum\nstart: 2025-01-01\nsummary: Y\n"
        "divisions: [keamanan-ketertban]\n---\n",
    )
    found = {(Path(p.path).name, p.field): p for p in problems(scratch_content)}
    assert "expected one of" in found[("semua-salah.md", "checked")].message
    assert "before it starts" in found[("semua-salah.md", "end")].message
    assert found[("semua-salah.md", "end")].line == 10
    assert "media/tidak-ada.png is not in" in found[("semua-salah.md", "image.src")].message
    assert "expected one of" in found[("salah-juga.md", "phase")].message
    division = found[("salah-juga.md", "divisions[0]")]
    assert division.line == 6
    assert "unknown division 'keamanan-ketertban'" in division.message
    assert len(found) == 5


def test_an_unknown_reference_suggests_the_nearest_slug(
    scratch_content: Path, write: Writer
) -> None:
    write(
        "stages/dekat.md",
        "---\ntitle: X\nphase: pasca\nstart: 2025-01-01\nsummary: Y\ndivisions: [keamaman]\n---\n",
    )
    problem = only(scratch_content)
    assert problem.message.startswith("unknown division 'keamaman'; did you mean 'keamanan'?")


def test_a_published_record_may_not_point_at_a_draft(scratch_content: Path) -> None:
    team = scratch_content / "teams/keamanan.yaml"
    team.write_text(team.read_text() + "draft: true\n")
    problem = only(scratch_content)
    assert (problem.field, problem.line) == ("divisions[0]", 7)
    assert "the division 'keamanan' is a draft (draft: true)" in problem.message


@pytest.mark.parametrize("kind", ["stage", "team", "campaign", "page"])
def test_a_skeleton_is_a_draft_and_check_refuses_it_published(
    scratch_content: Path, kind: str
) -> None:
    spec = next(s for s in COLLECTIONS.values() if s.kind == kind)
    assert "\ndraft: true" in spec.skeleton
    path = scratch_content / spec.folder / "baru.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(spec.skeleton)
    load_content(scratch_content, publishing=True)  # a draft may hold placeholders
    path.write_text(spec.skeleton.replace("\ndraft: true", "\n# draft: true"))
    load_content(scratch_content)  # it still builds: the rule is `pantau check`'s
    found = {p.field: p for p in problems_publishing(scratch_content)}
    title = "name" if kind == "team" else "title"
    assert found[title].message.startswith(
        f"still holds the placeholder '{'Nama divisi' if kind == 'team' else 'Judul '}"
    )
    assert found[title].message.endswith(f"write the real {title}, or keep draft: true")
    assert found[title].line == 2
    assert "body" in found
    assert "needs at least one source" in found["sources"].message
    assert {p.path for p in found.values()} == {str(path)}


def problems_publishing(root: Path) -> list[Problem]:
    with pytest.raises(ContentError) as info:
        load_content(root, publishing=True)
    return info.value.problems


def test_every_collection_keeps_its_drafts_off_the_site(
    scratch_content: Path, tmp_path: Path
) -> None:
    for spec in COLLECTIONS.values():
        (scratch_content / spec.folder).mkdir(exist_ok=True)
        (scratch_content / spec.folder / "rahasia-draf.md").write_text(spec.skeleton)
    content = load_content(scratch_content, publishing=True)
    assert all(
        not s.published(content.entries[s.name]["rahasia-draf"].data) for s in COLLECTIONS.values()
    )
    result = build(scratch_content, tmp_path / "out", today=dt.date(2024, 11, 27))
    leaks = [name for name, data in result.files.items() if b"rahasia-draf" in data]
    leaks += [name for name in result.files if "rahasia-draf" in name]
    assert not leaks
    for spec in COLLECTIONS.values():
        placeholder = spec.skeleton.split("\n")[1].split(": ", 1)[1].encode()
        assert not [name for name, data in result.files.items() if placeholder in data], spec.name
