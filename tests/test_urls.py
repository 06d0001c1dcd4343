"""Source addresses are kept in one form: no default port, no sharing widget's fragment, the
scheme and host in lower case; `pantau check` says which ones it changed and where."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from site_builder.build import build
from site_builder.load import load_content
from site_builder.models import Source
from site_builder.urls import normalise_url, normalise_url_with_reasons

from .conftest import CONTENT, VOTING_DAY, Writer

PANTAU = [sys.executable, "-m", "site_builder"]

OKEZONE = "https://news.okezone.com/read/2024/08/26/337/3054548/besok-kpu-buka-pendaftaran"


def check(content: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PANTAU, "check", "--content", str(content), *args], capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        (OKEZONE.replace(".com/", ".com:443/"), OKEZONE),
        ("http://kpu.go.id:80/berita?id=1", "http://kpu.go.id/berita?id=1"),
        ("https://kpu.go.id:0443", "https://kpu.go.id"),
        ("https://kpu.go.id:/berita", "https://kpu.go.id/berita"),
        ("HTTPS://KPU.go.id/Berita/A", "https://kpu.go.id/Berita/A"),
        ("https://kaltim.tribunnews.com/2024/a#.ZxY12ab", "https://kaltim.tribunnews.com/2024/a"),
        ("https://kaltim.tribunnews.com/a#.UxkA8VzTmDk.twitter", "https://kaltim.tribunnews.com/a"),
        ("https://www.lemonde.fr/a.html#xtor=AL-32280270", "https://www.lemonde.fr/a.html"),
        ("https://example.org/a#Echobox=1710000000", "https://example.org/a"),
        ("https://example.org/a#utm_source=wa&utm_medium=share", "https://example.org/a"),
        ("https://example.org/a#utm-source", "https://example.org/a"),
        ("https://example.org/a#at_pco=smlwn-1.0&at_si=1", "https://example.org/a"),
        ("https://jdih.kpu.go.id/pkpu-2#:~:text=pasal%205", "https://jdih.kpu.go.id/pkpu-2"),
        (
            "https://jdih.kpu.go.id/pkpu-2#pasal-5:~:text=ayat",
            "https://jdih.kpu.go.id/pkpu-2#pasal-5",
        ),
        ("https://example.org/a?#", "https://example.org/a?"),
        ("https://example.org/a#", "https://example.org/a"),
    ],
)
def test_normalise_url(written: str, kept: str) -> None:
    assert normalise_url(written) == kept


@pytest.mark.parametrize(
    "url",
    [
        "https://jdih.kpu.go.id/pkpu-8-2024#pasal-5",
        "https://example.org/a#at_a_glance",
        "https://example.org/a#.",
        "https://news.okezone.com:8443/read/1",
        "https://news.okezone.com:80/read/1",
        "http://news.okezone.com:443/read/1",
        "https://example.org/a?utm_source=wa&x=1",
        "https://example.org/amp/?p=8444",
        "https://web.archive.org/web/2024/https://kaltim.antaranews.com:443/berita/1",
        "https://example.org/Path/With/Case#Bab-II",
    ],
)
def test_normalise_url_keeps_what_addresses_something(url: str) -> None:
    assert normalise_url_with_reasons(url) == (url, [])


def test_the_reasons_say_what_changed() -> None:
    _url, reasons = normalise_url_with_reasons("https://Example.org:443/a#.XyZ12ab:~:text=x")
    assert reasons == [
        "default port removed",
        "scheme and host written in lower case",
        "text fragment removed",
        "sharing fragment removed",
    ]


HOSTS = st.from_regex(r"\A(?:[a-z0-9]{1,10}\.){1,3}[a-z]{2,6}\Z")
SEGMENT = st.text("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_.~%", max_size=12)
PATHS = st.lists(SEGMENT, max_size=4).map(lambda parts: "".join("/" + p for p in parts))
QUERIES = st.one_of(
    st.just(""), st.just("?"), SEGMENT.map(lambda q: "?" + q), st.just("?utm_source=wa&p=1")
)
REAL_FRAGMENTS = st.one_of(
    st.just(""), st.from_regex(r"\A#[a-zA-Z][a-zA-Z0-9-]{0,15}\Z").filter(lambda f: "utm" not in f)
)
PORTS = st.sampled_from(["", ":8080", ":8443", ":3000"])
CLEAN = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}{path}{query}{fragment}"
    ),
    st.sampled_from(["http", "https"]),
    HOSTS,
    PORTS,
    PATHS,
    QUERIES,
    REAL_FRAGMENTS,
)
DEFAULT_PORTS = st.sampled_from([":443", ":0443"])
TRACKING = st.sampled_from(
    ["#", "#.XyZ12ab", "#.UxkA8VzTmDk.dpbs", "#Echobox=17", "#xtor=RSS-1", "#utm_x=1", "#at_si=2"]
)
TEXT_FRAGMENTS = st.sampled_from(["", ":~:text=pasal%205", ":~:text=a&text=b"])


def valid(url: str) -> bool:
    try:
        Source(title="Berita", url=url)
    except ValidationError:
        return False
    return True


@given(CLEAN)
def test_an_address_without_default_port_or_tracking_is_unchanged(url: str) -> None:
    assert valid(url)
    assert normalise_url_with_reasons(url) == (url, [])


@given(
    st.sampled_from(["http", "https"]),
    HOSTS,
    PATHS,
    QUERIES,
    DEFAULT_PORTS,
    TRACKING,
    TEXT_FRAGMENTS,
    st.booleans(),
)
def test_normalising_is_idempotent_and_still_valid(
    scheme: str, host: str, path: str, query: str, port: str, tracking: str, text: str, shout: bool
) -> None:
    port = port if scheme == "https" else port.replace("443", "80")
    written = f"{scheme.upper()}://{host.upper()}" if shout else f"{scheme}://{host}"
    url = f"{written}{port}{path}{query}{tracking}{text}"
    normal = normalise_url(url)
    assert normal == f"{scheme}://{host}{path}{query}"
    assert normalise_url(normal) == normal
    assert valid(normal)
    assert Source(title="Berita", url=url).url == normal


@given(st.text(max_size=60))
def test_normalising_anything_never_fails_and_is_idempotent(text: str) -> None:
    normal = normalise_url(text)
    assert normalise_url(normal) == normal


@given(CLEAN, TEXT_FRAGMENTS.filter(bool))
def test_a_real_fragment_before_a_text_fragment_is_kept(clean: str, text: str) -> None:
    url = clean if "#" in clean else clean + "#bab-ii"
    assert normalise_url(url + text) == url


def write_dirty(write: Writer) -> None:
    """The scratch content with a :443 source on a stage and an AddThis fragment on a
    campaign's source and action."""
    write(
        "stages/pemungutan-suara.md",
        """\
        ---
        title: Pemungutan suara
        phase: penyelenggaraan
        start: 2024-11-27
        summary: Hari pemungutan suara.
        divisions:
          - keamanan
        checked: press
        sources:
          - title: Okezone
            url: https://news.okezone.com:443/read/2024/08/26/337/3054548/besok-kpu-buka-pendaftaran
          - title: Pasal lima
            url: https://jdih.kpu.go.id/pkpu-8-2024#pasal-5
        ---
        Isi.
        """,
    )
    write(
        "campaigns/ayo-memilih.md",
        """\
        ---
        title: Ayo memilih
        summary: Ajakan memilih.
        audience: [pemilih pemula]
        regions: [samarinda]
        organiser: Tim Uji
        call_to_action: Datang ke TPS.
        action:
          label: Cek DPT
          url: https://cekdptonline.kpu.go.id/#.XyZ12ab.twitter
        checked: unchecked
        sources:
          - title: Tribun
            url: https://kaltim.tribunnews.com/2024/11/26/ayo-memilih#.XyZ12ab
        ---
        Isi kampanye.
        """,
    )


def test_the_site_and_its_data_carry_the_normalised_addresses(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    write_dirty(write)
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    stage_page = (out / "tahapan/pemungutan-suara/index.html").read_text()
    assert f'href="{OKEZONE}"' in stage_page
    assert 'href="https://jdih.kpu.go.id/pkpu-8-2024#pasal-5"' in stage_page
    campaign_page = (out / "kampanye/ayo-memilih/index.html").read_text()
    assert 'href="https://kaltim.tribunnews.com/2024/11/26/ayo-memilih"' in campaign_page
    assert 'href="https://cekdptonline.kpu.go.id/"' in campaign_page
    stage = json.loads((out / "data/stages/pemungutan-suara.json").read_text())
    assert [s["url"] for s in stage["sources"]] == [
        OKEZONE,
        "https://jdih.kpu.go.id/pkpu-8-2024#pasal-5",
    ]
    campaign = json.loads((out / "data/campaigns/ayo-memilih.json").read_text())
    assert campaign["action"]["url"] == "https://cekdptonline.kpu.go.id/"
    assert campaign["sources"][0]["url"] == "https://kaltim.tribunnews.com/2024/11/26/ayo-memilih"
    tables = "".join(path.read_text() for path in sorted((out / "data").glob("*.csv")))
    assert OKEZONE in tables
    assert "https://kaltim.tribunnews.com/2024/11/26/ayo-memilih" in tables
    for path in out.rglob("*"):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                texts = [archive.read(name) for name in archive.namelist()]
        else:
            texts = [path.read_bytes()] if path.is_file() else []
        for data in texts:
            assert b"okezone.com:443" not in data, path
            assert b"#.XyZ12ab" not in data, path


def test_check_says_which_addresses_it_changed(scratch_content: Path, write: Writer) -> None:
    write_dirty(write)
    stage = scratch_content / "stages/pemungutan-suara.md"
    campaign = scratch_content / "campaigns/ayo-memilih.md"
    result = check(scratch_content)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].endswith("3 records and 2 regions are valid.")
    assert lines[1:] == [
        f"{campaign}:10: action.url: written as https://cekdptonline.kpu.go.id/#.XyZ12ab.twitter;"
        " Pantau uses https://cekdptonline.kpu.go.id/ (sharing fragment removed)",
        f"{campaign}:14: sources[0].url: written as "
        "https://kaltim.tribunnews.com/2024/11/26/ayo-memilih#.XyZ12ab; Pantau uses "
        "https://kaltim.tribunnews.com/2024/11/26/ayo-memilih (sharing fragment removed)",
        f"{stage}:11: sources[0].url: written as {OKEZONE.replace('.com/', '.com:443/')}; "
        f"Pantau uses {OKEZONE} (default port removed)",
    ]
    assert check(scratch_content, "--quiet").stdout.splitlines() == lines[:1]


def test_notes_name_settings_and_regions_too(scratch_content: Path) -> None:
    site = scratch_content / "site.yaml"
    site.write_text(
        site.read_text() + "licence:\n  name: CC BY 4.0\n"
        "  url: HTTPS://CreativeCommons.org:443/licenses/by/4.0/#\n"
    )
    regions = scratch_content / "regions.yaml"
    regions.write_text(
        regions.read_text().replace(
            "https://example.org/wilayah", "https://example.org/wilayah#utm_source=share", 1
        )
    )
    content = load_content(scratch_content)
    assert content.site.licence is not None
    assert content.site.licence.url == "https://creativecommons.org/licenses/by/4.0/"
    assert [(Path(n.path).name, n.line, n.field) for n in content.notes] == [
        ("regions.yaml", 10, "regions[0].sources[0].url"),
        ("site.yaml", 6, "licence.url"),
    ]
    assert content.notes[1].message.endswith(
        "(default port removed; scheme and host written in lower case; empty fragment removed)"
    )


def test_an_address_with_only_a_real_fragment_gets_no_note(
    scratch_content: Path, write: Writer
) -> None:
    write(
        "pages/tentang.md",
        "---\ntitle: Tentang\nsources:\n  - title: PKPU\n"
        "    url: https://jdih.kpu.go.id/pkpu-8-2024#pasal-5\n---\nIsi.\n",
    )
    content = load_content(scratch_content)
    page = content.entries["pages"]["tentang"].record
    assert page.sources[0].url == "https://jdih.kpu.go.id/pkpu-8-2024#pasal-5"
    assert content.notes == ()
    result = check(scratch_content)
    assert (result.returncode, len(result.stdout.splitlines())) == (0, 1)


def test_a_check_with_problems_prints_no_note(scratch_content: Path, write: Writer) -> None:
    write_dirty(write)
    write("pages/rusak.md", "---\ntitle: Rusak\nchecked: press\n---\n")
    result = check(scratch_content)
    assert result.returncode == 1
    assert "written as" not in result.stdout + result.stderr
    assert "1 problem found." in result.stderr


def test_the_shipped_content_carries_clean_addresses() -> None:
    assert load_content(CONTENT).notes == ()
