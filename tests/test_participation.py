"""Voter participation and the evaluation page: the figures on the pages are those computed
from the records, every published figure is shown with its source, every chart has a title,
a description and a text table of the same values, the pages rebuild when (and only when)
what they show changes, and in real Chromium they have no serious accessibility problem and
no sideways scrolling at 360 px and 1280 px."""

from __future__ import annotations

import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from site_builder.build import BuildResult, build
from site_builder.charts import Bar, Line, bar_chart
from site_builder.preview import make_server

from .conftest import CONTENT, VOTING_DAY

PAGES = ("partisipasi/index.html", "evaluasi/index.html", "wilayah/kalimantan-timur/index.html")


def regions() -> list[dict[str, Any]]:
    return yaml.safe_load((CONTENT / "regions.yaml").read_text(encoding="utf-8"))["regions"]


def count(n: int) -> str:
    """1882391 -> '1.882.391', written out here rather than with the site's own filter."""
    return f"{n:,}".replace(",", ".")


def percent(value: float) -> str:
    return f"{round(value, 2):.2f}".replace(".", ",") + "%"


class Tree(HTMLParser):
    """The elements of a page as (tag, attributes, text inside, children) nodes."""

    VOID: ClassVar[set[str]] = {
        "meta",
        "link",
        "input",
        "br",
        "img",
        "hr",
        "rect",
        "line",
        "base",
        "source",
    }

    def __init__(self, html: str) -> None:
        super().__init__()
        self.root: dict[str, Any] = {"tag": "", "attrs": {}, "text": [], "children": []}
        self.stack = [self.root]
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = {"tag": tag, "attrs": dict(attrs), "text": [], "children": []}
        self.stack[-1]["children"].append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1]["children"].append(
            {"tag": tag, "attrs": dict(attrs), "text": [], "children": []}
        )

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for node in self.stack:
            node["text"].append(data)


def find(node: dict[str, Any], tag: str, **attrs: str) -> list[dict[str, Any]]:
    """The descendants of ``node`` with this tag and attributes (``class_`` matches one of
    the classes)."""

    def matches(child: dict[str, Any]) -> bool:
        for key, wanted in attrs.items():
            if key == "class_":
                if wanted not in (child["attrs"].get("class") or "").split():
                    return False
            elif child["attrs"].get(key.replace("_", "-")) != wanted:
                return False
        return True

    found = []
    for child in node["children"]:
        if child["tag"] == tag and matches(child):
            found.append(child)
        found += find(child, tag, **attrs)
    return found


def text(node: dict[str, Any]) -> str:
    return re.sub(r"\s+", " ", "".join(node["text"])).strip()


def page(site: BuildResult, path: str) -> dict[str, Any]:
    return Tree((site.out / path).read_text(encoding="utf-8")).root


def figures(block: dict[str, Any]) -> dict[str, str]:
    return {
        n["attrs"]["data-figure"]: text(n)
        for tag in ("dd", "strong", "span")
        for n in find(block, tag)
        if "data-figure" in n["attrs"]
    }


@pytest.mark.parametrize("path", ["partisipasi/index.html", "wilayah/{slug}/index.html"])
def test_figures_on_the_pages_are_those_computed_from_the_records(
    built_site: BuildResult, path: str
) -> None:
    checked = 0
    for region in regions():
        counts = region.get("participation", [])
        if not counts:
            continue
        html = page(built_site, path.format(slug=region["slug"]))
        blocks = {b["attrs"]["data-election"]: b for b in find(html, "div", class_="turnout")}
        for record in counts:
            shown = figures(blocks[record["election"]])
            for name in ("registered", "took_part", "valid", "invalid"):
                if name in record:
                    assert shown[name] == count(record[name]), (region["slug"], name)
            if "registered" in record and "took_part" in record:
                expected = percent(100 * record["took_part"] / record["registered"])
                assert shown["computed"] == expected
                block = text(blocks[record["election"]])
                assert f"dihitung dari {count(record['took_part'])} pemilih" in block
                assert f"dibagi {count(record['registered'])} pemilih dalam DPT" in block
                checked += 1
            else:
                assert "computed" not in shown  # never a typed percentage as if computed
                assert "Tidak dihitung" in text(blocks[record["election"]])
            if "official" in record and "percent" in record["official"]:
                assert shown["official"] == percent(record["official"]["percent"])
    assert checked >= 3


def test_the_province_turnout_is_66_72_percent(built_site: BuildResult) -> None:
    """The raw KPU Kaltim tally (1,882,391 of 2,821,202) gives 66.72%, not a quoted 69.18%."""
    html = (built_site.out / "partisipasi" / "index.html").read_text(encoding="utf-8")
    assert 'data-figure="computed">66,72%' in html
    assert 'data-figure="computed">69,18%' not in html


@pytest.mark.parametrize("path", ["partisipasi/index.html", "wilayah/kalimantan-timur/index.html"])
def test_the_disagreement_is_shown_with_each_source(built_site: BuildResult, path: str) -> None:
    html = page(built_site, path)
    province = next(r for r in regions() if r["slug"] == "kalimantan-timur")
    pilgub = province["participation"][0]
    block = next(
        b
        for b in find(html, "div", class_="turnout")
        if b["attrs"]["data-election"] == pilgub["election"]
    )
    rows = find(block, "tr")[1:]
    assert len(rows) == len(pilgub["reported"])
    for row, reported in zip(rows, pilgub["reported"], strict=True):
        assert text(find(row, "th")[0]) == percent(reported["percent"])
        assert reported["who"] in text(row)
        links = [a["attrs"]["href"] for a in find(row, "a")]
        assert links == [reported["source"]["url"]]
    values = {text(find(row, "th")[0]) for row in rows}
    assert {"69,18%", "69,44%"} <= values
    assert "2.690.565" in text(block)  # the other DPT base the media computed from


def test_targets_are_shown_with_their_sources(built_site: BuildResult) -> None:
    site = yaml.safe_load((CONTENT / "site.yaml").read_text(encoding="utf-8"))
    html = (built_site.out / "partisipasi" / "index.html").read_text(encoding="utf-8")
    assert {t["percent"] for t in site["participation_targets"]} == {77.5, 82}
    for target in site["participation_targets"]:
        assert f"{target['label']}: {percent(target['percent'])}" in html
        assert f'href="{target["source"]["url"]}"' in html


def test_the_general_election_comparison(built_site: BuildResult) -> None:
    html = page(built_site, "partisipasi/index.html")
    (compare,) = [p for p in find(html, "p", class_="compare") if "Pemilu 2024" in text(p)]
    # 66.72 (computed) against the KPU's 79.82 for the presidential election
    assert compare["attrs"]["data-compare"] == f"{100 * 1882391 / 2821202 - 79.82:.2f}"
    assert "lebih rendah 13,10 poin persentase" in text(compare)


@pytest.mark.parametrize("path", PAGES)
def test_each_chart_has_a_title_a_description_and_a_table_of_the_same_values(
    built_site: BuildResult, path: str
) -> None:
    html = page(built_site, path)
    charts = find(html, "figure", class_="chart")
    assert charts
    for chart in charts:
        (svg,) = find(chart, "svg")
        assert svg["attrs"]["role"] == "img"
        title_id, desc_id = svg["attrs"]["aria-labelledby"].split()
        (title,) = find(svg, "title", id=title_id)
        (desc,) = find(svg, "desc", id=desc_id)
        assert text(title) and text(desc)
        drawn = [
            (text(label), text(value))
            for label, value in zip(
                find(svg, "text", class_="chart-label"),
                find(svg, "text", class_="chart-value"),
                strict=True,
            )
        ]
        (table,) = find(chart, "table")
        assert text(find(table, "caption")[0]).startswith(text(title))
        listed = [
            (text(find(row, "th")[0]), text(find(row, "td", class_="num")[0]))
            for row in find(find(table, "tbody")[0], "tr")
        ]
        assert drawn == listed and drawn


def test_the_regional_chart_has_one_bar_per_region_with_a_figure(built_site: BuildResult) -> None:
    html = page(built_site, "partisipasi/index.html")
    chart = find(html, "figure", id="grafik-wilayah")[0]
    labels = [text(t) for t in find(chart, "text", class_="chart-label")]
    expected = [
        r["name"]
        for r in regions()
        if any(
            c["kind"] == "pilkada"
            and (("registered" in c and "took_part" in c) or "percent" in c.get("official", {}))
            for c in r.get("participation", [])
        )
    ]
    assert sorted(labels) == sorted(expected)
    lines = [text(t) for t in find(chart, "text") if "Target" in text(t)]
    assert lines == ["Target KPU Kaltim 77,50%", "Target nasional KPU RI 82,00%"]
    assert "Kota Samarinda" not in labels  # its figures disagree and none is chosen
    assert "Kota Samarinda" in text(find(html, "p", class_="note")[0])


def test_bar_chart_is_generic_and_escapes() -> None:
    markup = str(
        bar_chart(
            "temuan-status",
            "Temuan <menurut> status",
            "Jumlah temuan.",
            [Bar("Dilaporkan", 3), Bar("Selesai & ditutup", 12, href="temuan/")],
            lines=[Line("Rata-rata", 7.5)],
            value_heading="Jumlah",
        )
    )
    assert "<menurut>" not in markup and "&lt;menurut&gt;" in markup
    assert "Selesai &amp; ditutup" in markup and 'href="temuan/"' in markup
    assert ">12</text>" in markup and '<td class="num" data-label="Jumlah">12</td>' in markup
    assert "style=" not in markup and "<script" not in markup
    widths = [
        float(w) for w in re.findall(r'class="chart-bar" x="0" y="[\d.]+" width="([\d.]+)"', markup)
    ]
    assert widths == [80.0, 320.0]  # scaled to the largest value


def test_evaluation_counts_what_each_division_did(built_site: BuildResult) -> None:
    html = page(built_site, "evaluasi/index.html")
    stages = {}
    for path in (CONTENT / "stages").glob("*.md"):
        data = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        if not data.get("draft"):
            stages[path.stem] = data.get("divisions", [])
    rows = {
        r["attrs"]["data-division"]: r for r in find(html, "tr") if "data-division" in r["attrs"]
    }
    teams = {p.stem for p in (CONTENT / "teams").iterdir()}
    assert set(rows) == teams
    for team, row in rows.items():
        expected = sorted(s for s, divisions in stages.items() if team in divisions)
        assert text(find(row, "td")[0]) == str(len(expected))
        linked = sorted(a["attrs"]["href"].split("/")[-2] for a in find(row, "a")[1:])
        assert linked == expected
    assert "Pelajaran" in text(html)
    assert "Bagian ini diisi tim pemantau" in text(html)  # content/pages/evaluasi.md


def test_a_figure_changed_rebuilds_the_pages_that_show_it_and_verify_passes(
    tmp_path: Path,
) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    out = tmp_path / "public"
    build(content, out, today=VOTING_DAY)
    path = content / "regions.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("took_part: 315424", "took_part: 315000"),
        encoding="utf-8",
    )
    result = build(content, out, today=VOTING_DAY, verify=True)
    written = set(result.changes.written)
    assert {"partisipasi/index.html", "evaluasi/index.html"} <= written
    assert "wilayah/balikpapan/index.html" in written
    assert "60,46%" in (out / "partisipasi" / "index.html").read_text(encoding="utf-8")
    # A stage's text is not on the participation page: it is not rendered again.
    stage = content / "stages" / "masa-tenang.md"
    stage.write_text(stage.read_text(encoding="utf-8").replace("Masa tenang", "Masa tenang!", 1))
    result = build(content, out, today=VOTING_DAY, verify=True)
    assert "partisipasi/index.html" not in set(result.changes.written)


# In real Chromium ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("path", ["partisipasi/index.html", "evaluasi/index.html"])
def test_no_serious_accessibility_violation(
    built_site: BuildResult, browser: Any, path: str
) -> None:

    from .test_browser import AXE

    server = make_server(built_site.out, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context(service_workers="block")
    try:
        tab = context.new_page()
        tab.goto(f"http://127.0.0.1:{server.server_port}/{path}")
        tab.evaluate(AXE.read_text(encoding="utf-8"))
        result = tab.evaluate("axe.run(document, {resultTypes: ['violations']})")
        problems = [
            f"{v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert problems == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()
