"""Voter participation (partisipasi pemilih): the raw figures of each count as its sources
give them, the turnout the site computes from them, the figures others reported, and the
targets the turnout is measured against.

Only raw figures are typed into the content: voters on the list (DPT), voters who took part,
valid and invalid votes, each where a source states it. The turnout is always computed by the
build (``Turnout.computed``); a percentage somebody published is kept as a ``Figure`` with who
said it and where, and is shown as theirs, never as the site's own arithmetic. Where figures
disagree, the page shows each one beside the others instead of choosing one silently.

``models.py`` imports this module last, once it has defined the shared types (``Strict``,
``Source``, ``Day``, ``Text``); the fields that use these models resolve on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from .i18n import _
from .models import Checked, Day, Source, Strict, Text


class Figure(Strict):
    """A turnout somebody published: a percentage (or their words, where they gave none),
    who said it, how they got it, and where it was reported."""

    percent: float | None = Field(
        default=None, ge=0, le=100, description="The percentage as published, e.g. 69.18."
    )
    words: str | None = Field(
        default=None,
        description="What was said when no exact percentage was given, in Indonesian, e.g. "
        "'lebih dari 60 persen'.",
    )
    who: Text = Field(description="Who said it, e.g. 'Ketua KPU Kaltim Fahmi Idris'.")
    basis: str | None = Field(
        default=None,
        description="How they got it, where the source says, e.g. 'dihitung dari DPT 2.690.565'.",
    )
    date: Day | None = Field(default=None, description="When it was said or published.")
    source: Source = Field(description="Where it was reported.")

    @model_validator(mode="after")
    def _says_something(self) -> Figure:
        if self.percent is None and not self.words:
            raise ValueError(
                "percent: "
                + _("a reported turnout needs its percentage, or the words that were said")
            )
        return self


class Turnout(Strict):
    """Participation in one count (an election, a re-vote, or an earlier election kept for
    comparison): the raw figures, each only where a source states it."""

    election: Text = Field(description="Which count, e.g. 'Pilgub Kaltim 2024' or 'PSU Pilbup'.")
    kind: Literal["pilkada", "psu", "pemilu"] = Field(
        description="pilkada (the 2024 regional election), psu (a re-vote) or pemilu (the "
        "February 2024 general election, shown for comparison)."
    )
    date: Day = Field(description="Voting day (YYYY-MM-DD).")
    registered: int | None = Field(
        default=None, ge=1, description="Voters on the final list (DPT), as the source gives it."
    )
    took_part: int | None = Field(
        default=None,
        ge=0,
        description="Voters who took part (pengguna hak pilih), including transferred (DPPh) "
        "and additional (DPTb) voters where the source counts them.",
    )
    valid: int | None = Field(default=None, ge=0, description="Valid votes (suara sah).")
    invalid: int | None = Field(default=None, ge=0, description="Invalid votes (suara tidak sah).")
    official: Figure | None = Field(
        default=None,
        description="The turnout the election's organiser (KPU) stated, where one statement "
        "stands; leave out where KPU statements disagree (list them under reported).",
    )
    reported: list[Figure] = Field(
        default_factory=list,
        description="Other published turnout figures, especially those that disagree.",
    )
    note: str | None = Field(default=None, description="A caveat about these figures.")
    checked: Checked = Field(
        default="press",
        description="What the figures were checked against: document, press, unchecked or "
        "illustrative (as for records).",
    )
    sources: list[Source] = Field(
        min_length=1, description="Sources of the raw figures (DPT, took part, votes)."
    )

    @model_validator(mode="after")
    def _votes_within_took_part(self) -> Turnout:
        if self.took_part is not None and self.valid is not None and self.valid > self.took_part:
            message = _("{valid} valid votes are more than the {took_part} voters who took part")
            raise ValueError("valid: " + message.format(valid=self.valid, took_part=self.took_part))
        return self

    @property
    def computed(self) -> float | None:
        """Voters who took part as a percentage of the voters on the list, or None where
        either is unknown. Computed by the build; never typed into the content."""
        if self.took_part is None or self.registered is None:
            return None
        return 100 * self.took_part / self.registered

    @property
    def counted(self) -> int | None:
        """Valid plus invalid votes, where both are known."""
        if self.valid is None or self.invalid is None:
            return None
        return self.valid + self.invalid

    @property
    def ballots_gap(self) -> int | None:
        """Voters who took part minus the votes counted (valid + invalid), where all three
        are known and they differ; None otherwise."""
        counted = self.counted
        if counted is None or self.took_part is None or counted == self.took_part:
            return None
        return self.took_part - counted

    def figures(self) -> list[Figure]:
        """The official figure (if any), then the others reported."""
        return [*([self.official] if self.official else []), *self.reported]

    def headline(self) -> tuple[float | None, str]:
        """The turnout to chart and how it was obtained: 'dihitung' (computed from the raw
        figures), 'kpu' (the organiser's stated figure) or '' (none known)."""
        if self.computed is not None:
            return self.computed, "dihitung"
        if self.official is not None and self.official.percent is not None:
            return self.official.percent, "kpu"
        return None, ""


class Target(Strict):
    """A turnout target the results are measured against, with who set it."""

    label: Text = Field(description="Short name shown on the chart, e.g. 'Target KPU Kaltim'.")
    percent: float = Field(gt=0, le=100, description="The target in percent, e.g. 77.5.")
    who: Text = Field(description="Who set it and for what, in Indonesian.")
    date: Day | None = Field(default=None, description="When it was stated.")
    source: Source = Field(description="Where it was reported.")


@dataclass(frozen=True)
class Row:
    """One count of one region, as the participation page lists it (its repr is what an
    incremental build compares, so it holds every figure the page shows)."""

    region_slug: str
    region_name: str
    turnout: Turnout


def rows(regions: list[Any]) -> list[Row]:
    """Every count of every region that has participation figures, in the regions' order and
    each region's own order."""
    return [
        Row(region.slug, region.name, turnout)
        for region in regions
        for turnout in getattr(region, "participation", [])
    ]


def headlines(found: list[Row], kinds: tuple[str, ...] = ("pilkada",)) -> list[Row]:
    """Of ``found``, each region's first count of one of ``kinds`` with a turnout to show."""
    seen: set[str] = set()
    chosen: list[Row] = []
    for row in found:
        if row.region_slug in seen or row.turnout.kind not in kinds:
            continue
        if row.turnout.headline()[0] is not None:
            seen.add(row.region_slug)
            chosen.append(row)
    return chosen


#: How a charted turnout was obtained, as the chart's table says it.
HOW = {"dihitung": "dihitung dari DPT dan pemilih yang hadir", "kpu": "angka KPU, dikutip pers"}


def turnout_chart(
    chart_id: str,
    title: str,
    description: str,
    items: list[tuple[str, Turnout, str | None]],
    targets: list[Target],
) -> Any:
    """A bar chart of turnouts (label, count, link) against the targets: each count's
    computed turnout, or the KPU's figure where none can be computed (styled apart and said
    so in the table); counts with neither are left out."""
    from .charts import Bar, Line, bar_chart  # charts builds on dates, which builds on models

    bars = []
    for label, turnout, href in items:
        value, how = turnout.headline()
        if value is not None:
            bars.append(Bar(label, value, kind=how, href=href, extra=(HOW[how],)))
    return bar_chart(
        chart_id,
        title,
        description,
        bars,
        unit="%",
        lines=[Line(target.label, target.percent) for target in targets],
        label_heading="Pemilihan",
        value_heading="Partisipasi",
        extra_headings=("Asal angka",),
    )


def grouped(found: list[Row]) -> list[tuple[str, str, list[Turnout]]]:
    """(region slug, region name, its counts) for the rows of each region, in their order."""
    groups: dict[str, tuple[str, str, list[Turnout]]] = {}
    for row in found:
        groups.setdefault(row.region_slug, (row.region_slug, row.region_name, []))[2].append(
            row.turnout
        )
    return list(groups.values())
