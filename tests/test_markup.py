"""Record bodies render to safe HTML: headings from h2 with toc-style ids, aligned tables."""

from __future__ import annotations

import re

import pytest

from site_builder.markup import render_markdown, sanitise


def headings(html: str) -> list[tuple[str, str, str]]:
    """(level, id, inner HTML) of every heading, in order."""
    return re.findall(r'<h([1-6]) id="([^"]*)">(.*?)</h\1>', html, re.DOTALL)


def test_headings_start_at_h2_and_stop_at_h6() -> None:
    html = render_markdown("# Satu\n## Dua\n### Tiga\n#### Empat\n##### Lima\n###### Enam")
    assert [level for level, _, _ in headings(html)] == ["2", "3", "4", "5", "6", "6"]
    assert "<h1" not in html


def test_heading_ids_are_python_markdown_toc_slugs() -> None:
    # Expected ids are what python-markdown's toc extension (baselevel 2) produced.
    source = "\n\n".join(
        [
            "## Tujuan",
            "## Susunan tim",
            "## Tentang situs ini",
            "## Pemungutan & Penghitungan Suara",
            "## Baru 17 tahun pada hari pemungutan suara?",
            "## Sengketa hasil di MK (Mahkamah Konstitusi)",
            "## Kab. Kutai Kartanegara: 18 kecamatan",
            "## Pemilu -- ringkas",
            "## Ä Ö Ü ß é ñ",
            "## `kode` *miring* **tebal**",
            "## [tautan](https://kpu.go.id)",
            "## A &amp; B",
            "## snake_case_name",
            "Setext judul\n============",
        ]
    )
    assert [(level, id_) for level, id_, _ in headings(render_markdown(source))] == [
        ("3", "tujuan"),
        ("3", "susunan-tim"),
        ("3", "tentang-situs-ini"),
        ("3", "pemungutan-penghitungan-suara"),
        ("3", "baru-17-tahun-pada-hari-pemungutan-suara"),
        ("3", "sengketa-hasil-di-mk-mahkamah-konstitusi"),
        ("3", "kab-kutai-kartanegara-18-kecamatan"),
        ("3", "pemilu-ringkas"),
        ("3", "a-o-u-e-n"),
        ("3", "kode-miring-tebal"),
        ("3", "tautan"),
        ("3", "a-b"),
        ("3", "snake_case_name"),
        ("2", "setext-judul"),
    ]


def test_duplicate_and_empty_heading_ids_get_suffixes() -> None:
    source = "# Tahapan\n\n# Tahapan\n\n## Tahapan\n\n# Tahapan_1\n\n# !!!\n\n# ???"
    ids = [id_ for _, id_, _ in headings(render_markdown(source))]
    assert ids == ["tahapan", "tahapan_1", "tahapan_2", "tahapan_3", "_1", "_2"]


def test_heading_keeps_inline_markup() -> None:
    html = render_markdown("# Jadwal *kampanye* `2024`")
    assert headings(html) == [
        ("2", "jadwal-kampanye-2024", "Jadwal <em>kampanye</em> <code>2024</code>")
    ]


def test_raw_html_heading_is_neither_shifted_nor_given_an_id() -> None:
    html = render_markdown("<h2>Mentah</h2>\n\n# Markdown")
    assert "<h2>Mentah</h2>" in html
    assert headings(html) == [("2", "markdown", "Markdown")]


def test_table_keeps_alignment_as_text_align_only() -> None:
    html = render_markdown(
        "| Kiri | Kanan | Tengah | Biasa |\n"
        "|:-----|------:|:------:|-------|\n"
        "| a    | 1     | b      | c     |\n"
    )
    assert '<th style="text-align:left">Kiri</th>' in html
    assert '<th style="text-align:right">Kanan</th>' in html
    assert '<td style="text-align:right">1</td>' in html
    assert '<td style="text-align:center">b</td>' in html
    assert "<th>Biasa</th>" in html and "<td>c</td>" in html


def test_style_keeps_only_text_align() -> None:
    html = render_markdown(
        "<table><tr>"
        '<td style="position:fixed;top:0;text-align:right">a</td>'
        '<th style="position:fixed;inset:0;z-index:9">b</th>'
        "</tr></table>"
    )
    assert '<td style="text-align:right">a</td>' in html
    assert "position" not in html and "z-index" not in html and "inset" not in html
    # style is allowed on table cells only
    assert "style" not in render_markdown('<p style="text-align:right">x</p>')
    assert "style" not in render_markdown('<a href="https://x.org" style="position:fixed">x</a>')


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "Teks <script>alert(1)</script> biasa",
        '<img src="x" onerror="alert(1)">',
        '<a href="https://kpu.go.id" onclick="alert(1)">kpu</a>',
        '<p onmouseover="alert(1)">hover</p>',
        "[klik](javascript:alert(1))",
        "[klik](JaVaScRiPt:alert(1))",
        '[klik]( <javascript:alert(1)> "judul")',
        "[klik](&#106;avascript:alert(1))",
        "[klik](javascript&colon;alert(1))",
        "[klik](javascr&#105;pt:alert(1))",
        "[klik](javascript\\:alert(1))",
        "[klik][ref]\n\n[ref]: javascript:alert(1)",
        "<javascript:alert(1)>",
        "[klik](vbscript:msgbox(1))",
        '<a href="javascript:alert(1)">klik</a>',
        "[klik](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<iframe src="https://evil.example"></iframe>',
        "<style>body{display:none}</style>",
        '<svg onload="alert(1)"></svg>',
        "# Judul <img src=x onerror=alert(1)>",
    ],
)
def test_xss_payloads_are_removed(payload: str) -> None:
    html = render_markdown(payload).lower()
    assert "<script" not in html
    assert "<iframe" not in html and "<svg" not in html and "<style" not in html
    assert "<img" not in html
    assert not re.search(r"\son\w+\s*=", html)
    assert "javascript:" not in html and "vbscript:" not in html
    assert 'href="data:' not in html


@pytest.mark.parametrize(
    "source",
    [
        "[klik](javascript:alert(1))",
        '[klik]( <JavaScript:alert(1)> "judul")',
        "[klik](&#106;avascript:alert(1))",
        "[klik][ref]\n\n[ref]: javascript:alert(1)",
        "[klik](data:text/html;base64,PHNjcmlwdD4=)",
        "[klik](file:///etc/passwd)",
    ],
)
def test_refused_link_keeps_its_text_without_href(source: str) -> None:
    # As python-markdown + nh3 did: the link text stays, the URL goes.
    html = render_markdown(source)
    assert re.fullmatch(r'<p><a (title="judul" )?rel="noopener noreferrer">klik</a></p>\s*', html)


def test_safe_links_keep_href_and_get_rel() -> None:
    html = render_markdown('[KPU](https://kpu.go.id "Situs KPU")')
    assert '<a href="https://kpu.go.id" title="Situs KPU" rel="noopener noreferrer">KPU</a>' in html


@pytest.mark.parametrize("body", ["", "   ", "\n\n", " \t\n  \n"])
def test_empty_body_renders_nothing(body: str) -> None:
    assert render_markdown(body) == ""


def test_common_features_render() -> None:
    html = render_markdown(
        "Paragraf *miring* dan **tebal** dengan [tautan](https://kpu.go.id).\n\n"
        "- satu\n- dua\n\n"
        "1. pertama\n2. kedua\n\n"
        "> kutipan\n\n"
        "Kode `x = 1`.\n\n"
        "    blok kode\n\n"
        "---\n"
    )
    for fragment in [
        "<p>Paragraf <em>miring</em> dan <strong>tebal</strong>",
        "<ul>\n<li>satu</li>\n<li>dua</li>\n</ul>",
        "<ol>\n<li>pertama</li>\n<li>kedua</li>\n</ol>",
        "<blockquote>\n<p>kutipan</p>\n</blockquote>",
        "<code>x = 1</code>",
        "<pre><code>blok kode\n</code></pre>",
        "<hr>",
    ]:
        assert fragment in html


def test_sanitise_is_public_and_cleans() -> None:
    assert sanitise('<p onclick="x()">a<script>b</script></p>') == "<p>a</p>"
