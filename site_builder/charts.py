"""Charts drawn at build time as accessible inline SVG, with the same figures as a text table.

No chart library, no script and no style attribute (the site's Content-Security-Policy allows
neither inline script nor inline style): the SVG's geometry is in attributes, its colours are
classes styled in the theme's style.css (the "Charts" block). Every chart is a ``<figure>``
holding an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>``, and
a real ``<table>`` with the same values, so it reads the same without JavaScript, without
images, offline, and to a screen reader.

Example (the findings per status, from a template or a page's context)::

    bar_chart(
        "temuan-status",
        "Temuan menurut status",
        "Jumlah temuan tim pemantau menurut status tindak lanjutnya.",
        [Bar("Ditindaklanjuti", 4), Bar("Dalam proses", 2), Bar("Selesai", 7)],
        value_heading="Jumlah temuan",
    )
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from .dates import angka, persen

WIDTH = 320  # viewBox units; the figure scales to its column, so a phone shows it 1:1
LABEL_LINE = 16  # the label and value line above each bar
BAR = 12
GAP = 10
LINE_LABEL = 14  # each reference line's label, above the bars


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, and optionally how it is shown and linked.

    ``kind`` adds the class ``chart-bar-<kind>`` (e.g. to set apart figures of another
    nature); ``extra`` holds the cells of the table's extra columns (``extra_headings``)."""

    label: str
    value: float
    shown: str | None = None
    kind: str = ""
    href: str | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Line:
    """A reference line across the bars, such as a target."""

    label: str
    value: float


def number(unit: str) -> Callable[[float], str]:
    """How values are printed by default: '66,72%' for percentages, '1.234' otherwise (with
    the unit after a space, if any)."""
    if unit == "%":
        return persen
    return lambda value: angka(value) + (f" {unit}" if unit else "")


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    unit: str = "",
    lines: Sequence[Line] = (),
    maximum: float | None = None,
    label_heading: str = "",
    value_heading: str = "Nilai",
    extra_headings: Sequence[str] = (),
    caption: str | None = None,
    fmt: Callable[[float], str] | None = None,
) -> Markup:
    """A horizontal bar chart as a ``<figure>``: the SVG (named by ``title``, described by
    ``description``) and a table of the same values.

    ``chart_id`` must be unique on the page (it prefixes the ids the SVG refers to).
    ``lines`` draws reference lines (targets) across the bars and adds them to the table's
    caption. The scale runs from 0 to ``maximum`` (default: 100 for percentages, otherwise
    the largest value or line). ``fmt`` prints a value (default: see ``number``).
    ``caption`` is shown under the chart (default: ``description``). No bars, no chart:
    an empty string."""
    if not bars:
        return Markup("")
    show = fmt or number(unit)
    top = max([*(b.value for b in bars), *(line.value for line in lines), 0.0])
    scale_max = maximum if maximum is not None else (100.0 if unit == "%" else top) or 1.0
    row = LABEL_LINE + BAR + GAP
    head = LINE_LABEL * len(lines) + (4 if lines else 0)
    height = head + row * len(bars) + 2

    def x(value: float) -> float:
        return round(WIDTH * min(max(value, 0.0), scale_max) / scale_max, 2)

    ident = escape(chart_id)
    parts = [
        f'<svg class="chart-svg" role="img" aria-labelledby="{ident}-judul {ident}-uraian" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" focusable="false">',
        f'<title id="{ident}-judul">{escape(title)}</title>',
        f'<desc id="{ident}-uraian">{escape(description)}</desc>',
    ]
    for i, bar in enumerate(bars):
        y = head + i * row
        kind = f" chart-bar-{escape(bar.kind)}" if bar.kind else ""
        parts.append(
            f'<g class="chart-row"><text class="chart-label" x="0" y="{y + LABEL_LINE - 4}">'
            f"{escape(bar.label)}</text>"
            f'<text class="chart-value" x="{WIDTH}" y="{y + LABEL_LINE - 4}" '
            f'text-anchor="end">{escape(bar.shown or show(bar.value))}</text>'
            f'<rect class="chart-track" x="0" y="{y + LABEL_LINE}" width="{WIDTH}" '
            f'height="{BAR}"/>'
            f'<rect class="chart-bar{kind}" x="0" y="{y + LABEL_LINE}" '
            f'width="{x(bar.value)}" height="{BAR}"/></g>'
        )
    for i, line in enumerate(lines):
        at = x(line.value)
        anchor = "end" if at > WIDTH / 2 else "start"
        nudge = -3 if anchor == "end" else 3
        parts.append(
            f'<g class="chart-line chart-line-{i + 1}">'
            f'<line x1="{at}" x2="{at}" y1="{LINE_LABEL * i + 2}" y2="{height}"/>'
            f'<text x="{round(at + nudge, 2)}" y="{LINE_LABEL * (i + 1) - 2}" '
            f'text-anchor="{anchor}">{escape(line.label)} {escape(show(line.value))}</text></g>'
        )
    parts.append("</svg>")

    headings = f'<th scope="col" class="num">{escape(value_heading)}</th>' + "".join(
        f'<th scope="col">{escape(h)}</th>' for h in extra_headings
    )
    body = []
    for bar in bars:
        label = escape(bar.label)
        if bar.href:
            label = Markup(f'<a href="{escape(bar.href)}">{label}</a>')
        cells = "".join(
            f'<td data-label="{escape(h)}">{escape(c)}</td>'
            for h, c in zip(extra_headings, bar.extra, strict=False)
        )
        body.append(
            f'<tr><th scope="row">{label}</th>'
            f'<td class="num" data-label="{escape(value_heading)}">'
            f"{escape(bar.shown or show(bar.value))}</td>{cells}</tr>"
        )
    reference = "; ".join(f"{line.label}: {show(line.value)}" for line in lines)
    table_caption = escape(title) + (escape(f" ({reference})") if reference else "")
    table = (
        f'<div class="table-wrap"><table class="chart-table stack"><caption>{table_caption}'
        f'</caption><thead><tr><th scope="col">{escape(label_heading)}</th>{headings}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )
    return Markup(
        f'<figure class="chart" id="{ident}">{"".join(parts)}'
        f"<figcaption>{escape(caption if caption is not None else description)}</figcaption>"
        f"{table}</figure>"
    )
