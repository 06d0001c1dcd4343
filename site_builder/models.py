"""The typed models of Pantau's content, one per collection, declared field by field.

The same models validate files on disk (``pantau check``) and, later, updates arriving at the
sync server. Each field's description feeds the JSON Schema that ``pantau schema`` writes.
Adding a collection means adding one model here, registered with ``@collection`` (its
declaration says everything else that varies by collection), plus its templates in the theme.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import skeletons

WITA = ZoneInfo("Asia/Makassar")

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

#: The site's own top-level folders, besides each collection's: a record published at the top
#: level (a page) may not take one of these names, or two outputs would share one path.
SITE_SECTIONS = frozenset(
    {"cari", "data", "offline", "redaksi", "riwayat", "search", "static", "unduh", "wilayah"}
)
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, description="A slug: a-z, 0-9 and hyphens.")]
Url = Annotated[
    str,
    Field(pattern=r"^https?://[^\s]+$", description="An http:// or https:// address."),
]
Text = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Base for every model: unknown fields are errors, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Source(Strict):
    """Where a fact comes from; shown on the record's page."""

    title: Text = Field(description="What the source is, e.g. the outlet and headline.")
    url: Url = Field(description="The address of the page where the fact was found.")


class Record(Strict):
    """Fields every record has."""

    sources: list[Source] = Field(
        default_factory=list,
        description="Sources of the facts on this page (title + URL). Required when verified.",
    )
    verified: bool = Field(
        default=False,
        description="true once every fact is confirmed by a source; false shows a "
        "'belum terverifikasi / ilustrasi' badge.",
    )
    updated: dt.datetime | None = Field(
        default=None,
        description="When the record last changed (ISO 8601; without an offset it is WITA). "
        "The sync server sets it.",
    )
    body: str = Field(default="", description="Markdown text of the page.")

    @field_validator("updated")
    @classmethod
    def _assume_wita(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=WITA)
        return value

    @model_validator(mode="after")
    def _verified_needs_sources(self) -> Record:
        if self.verified and not self.sources:
            raise ValueError(
                "verified: a record marked verified: true needs at least one source; "
                "add one under 'sources' or set verified: false"
            )
        return self


@dataclass(frozen=True)
class Reference:
    """A field of a record that names other records by slug (or regions), and the name its
    inverse takes on the target's page (the stages of a division, the campaigns of a region)."""

    field: str
    target: str  # a collection name, or "regions"
    noun: str  # what one item is called in messages: "division", "region"
    backlink: str | None = None


@dataclass(frozen=True)
class CollectionSpec:
    """Everything that varies by collection: how it is stored, validated, ordered, published,
    searched, exported, started with `pantau new`, and who may write it."""

    name: str
    model: type[Record]
    url: str
    label: str
    label_one: str
    kind: str  # the singular name used by `pantau new <kind>`
    page_template: str
    list_template: str | None = None
    menu: str | None = None  # the list page's label in the main menu
    order: Callable[[Any, str], Any] = lambda record, slug: slug
    newest_first: bool = False
    search_fields: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    writers: frozenset[str] = frozenset({"admin"})
    exported: bool = True
    has_status: bool = False  # selesai / berlangsung / akan datang, from its dates
    skeleton: str = ""

    @property
    def folder(self) -> str:
        return self.name

    def published(self, record: Any) -> bool:
        """Whether a record appears on the site (a draft does not)."""
        return not getattr(record, "draft", False)


COLLECTIONS: dict[str, CollectionSpec] = {}


def reserved_slugs(spec: CollectionSpec) -> frozenset[str]:
    """Slugs this collection's records may not take: the site's own sections, for records
    published at the top level of the site."""
    if spec.url:
        return frozenset()
    return SITE_SECTIONS | {other.url for other in COLLECTIONS.values() if other.url}


def collection(name: str, **declaration: Any) -> Callable[[type[Record]], type[Record]]:
    """Register a record model as a collection stored in ``content/<name>/``, with the rest of
    its declaration (see CollectionSpec)."""

    def register(model: type[Record]) -> type[Record]:
        COLLECTIONS[name] = CollectionSpec(name, model, **declaration)
        return model

    return register


def writable(role: str) -> frozenset[str]:
    """The collections a role may write."""
    return frozenset(n for n, spec in COLLECTIONS.items() if role in spec.writers)


def check_order(kind: str, start: dt.date | None, end: dt.date | None) -> None:
    """An end before the start is an error on the 'end' field."""
    if start and end and end < start:
        raise ValueError(
            f"end: the {kind} ends ({end.isoformat()}) before it starts "
            f"({start.isoformat()}); end must be on or after start"
        )


class StatusOverride(Strict):
    """A stage's schedule changed by decision rather than by the calendar."""

    status: Literal["scheduled", "postponed", "cancelled"] = Field(
        description="scheduled (follows its dates), postponed (ditunda) or cancelled (dibatalkan)."
    )
    reason: str | None = Field(default=None, description="Why; required unless scheduled.")

    @model_validator(mode="after")
    def _reason_required(self) -> StatusOverride:
        if self.status != "scheduled" and not self.reason:
            raise ValueError(f"reason: a {self.status} stage needs a reason")
        return self


def _stage_order(record: Any, slug: str) -> tuple[Any, ...]:
    when = record.start or record.end
    last = record.end or record.start or dt.date.max
    return (when is None, when or dt.date.max, last, slug)


@collection(
    "stages",
    url="tahapan",
    label="Tahapan",
    label_one="Tahapan",
    kind="stage",
    page_template="stage.html",
    list_template="stages.html",
    menu="Tahapan",
    order=_stage_order,
    search_fields=("summary", "monitoring"),
    references=(Reference("divisions", "teams", "division", backlink="stages"),),
    writers=frozenset({"admin", "editor"}),
    has_status=True,
    skeleton=skeletons.STAGE,
)
class Stage(Record):
    """One stage (tahapan) of the election schedule."""

    title: Text = Field(description="Name of the stage, in Indonesian.")
    phase: Literal["persiapan", "penyelenggaraan", "pasca"] = Field(
        description="persiapan (preparation), penyelenggaraan (conduct) or pasca (after voting)."
    )
    start: dt.date | None = Field(
        default=None, description="First day (YYYY-MM-DD). Leave out when only the end is known."
    )
    end: dt.date | None = Field(
        default=None, description="Last day (YYYY-MM-DD). Leave out for a single-day stage."
    )
    schedule_note: str | None = Field(
        default=None,
        description="The schedule in words, for a stage timed relative to another event.",
    )
    legal_basis: str | None = Field(default=None, description="The rule that sets this stage.")
    summary: Text = Field(description="One or two sentences on what happens in this stage.")
    monitoring: list[Text] = Field(
        default_factory=list, description="What the monitoring team watches in this stage."
    )
    divisions: list[Slug] = Field(
        default_factory=list, description="Slugs of the team divisions responsible (content/teams)."
    )
    override: StatusOverride | None = Field(
        default=None, description="Set when the stage is postponed or cancelled."
    )

    @model_validator(mode="after")
    def _dates(self) -> Stage:
        check_order("stage", self.start, self.end)
        if not (self.start or self.end or self.schedule_note):
            raise ValueError(
                "start: a stage needs a start date, an end date, or a schedule_note "
                "that says when it happens"
            )
        return self


class Member(Strict):
    """An agency that sits in a division."""

    name: Text = Field(description="Name of the agency, e.g. 'Polda Kalimantan Timur'.")
    kind: Literal["perangkat daerah", "aparat keamanan", "lembaga"] = Field(
        description="perangkat daerah (regional agency), aparat keamanan (security) or lembaga."
    )
    role: Text = Field(description="Its role in the division, e.g. 'anggota'.")


ROLE_ORDER = {"ketua": 0, "sekretariat": 1, "divisi": 2}


@collection(
    "teams",
    url="tim",
    label="Tim Pemantau",
    label_one="Divisi tim",
    kind="team",
    page_template="team.html",
    list_template="teams.html",
    menu="Tim",
    order=lambda record, slug: (ROLE_ORDER[record.role], record.name),
    search_fields=("name", "summary", "tupoksi"),
    writers=frozenset({"admin", "editor"}),
    skeleton=skeletons.TEAM,
)
class Team(Record):
    """One division of the monitoring team."""

    name: Text = Field(description="Name of the division.")
    role: Literal["ketua", "sekretariat", "divisi"] = Field(
        description="Its place in the team: ketua (lead), sekretariat or divisi."
    )
    summary: Text = Field(description="One or two sentences on what the division does.")
    tupoksi: list[Text] = Field(
        min_length=1, description="Main tasks and functions (tugas pokok dan fungsi)."
    )
    members: list[Member] = Field(default_factory=list, description="Member agencies.")


class Image(Strict):
    """A poster image stored under content/media/."""

    src: Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]+\.(png|jpg|jpeg|webp)$")] = Field(
        description="Path of the image under content/media/, e.g. 'poster-pemula.webp'."
    )
    alt: Text = Field(description="What the image shows, for readers who cannot see it.")

    @field_validator("src")
    @classmethod
    def _inside_media(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("src: the image path must stay inside content/media/")
        return value


def _campaign_order(record: Any, slug: str) -> tuple[Any, ...]:
    return (record.start or record.end or dt.date.min, slug)


@collection(
    "campaigns",
    url="kampanye",
    label="Kampanye Partisipasi",
    label_one="Kampanye",
    kind="campaign",
    page_template="campaign.html",
    list_template="campaigns.html",
    menu="Kampanye",
    order=_campaign_order,
    newest_first=True,
    search_fields=("summary", "organiser", "audience", "channels"),
    references=(Reference("regions", "regions", "region", backlink="campaigns"),),
    writers=frozenset({"admin", "campaign"}),
    skeleton=skeletons.CAMPAIGN,
)
class Campaign(Record):
    """A voter-participation campaign."""

    title: Text = Field(description="Title of the campaign.")
    summary: Text = Field(description="One or two sentences on the campaign.")
    audience: list[Text] = Field(
        min_length=1, description="Who it is for, e.g. 'pemilih pemula', 'daerah terpencil'."
    )
    regions: list[Slug] = Field(
        min_length=1, description="Slugs of the regions it covers (content/regions.yaml)."
    )
    start: dt.date | None = Field(default=None, description="First day, if known.")
    end: dt.date | None = Field(default=None, description="Last day, if known.")
    organiser: Text = Field(description="Who runs it.")
    channels: list[Text] = Field(default_factory=list, description="How it reaches people.")
    image: Image | None = Field(default=None, description="Optional poster, with alt text.")
    call_to_action: Text = Field(description="What the reader is asked to do.")
    draft: bool = Field(default=False, description="true keeps the campaign off the site.")

    @model_validator(mode="after")
    def _dates(self) -> Campaign:
        check_order("campaign", self.start, self.end)
        return self


@collection(
    "pages",
    url="",
    label="Halaman",
    label_one="Halaman",
    kind="page",
    page_template="page.html",
    search_fields=("summary",),
    exported=False,
    skeleton=skeletons.PAGE,
)
class Page(Record):
    """A standalone page such as 'tentang' (about), published at /<slug>/."""

    title: Text = Field(description="Title of the page.")
    summary: str | None = Field(default=None, description="One sentence under the title.")
    menu: str | None = Field(
        default=None, description="Label in the main menu; pages without one stay out of it."
    )


class Region(Strict):
    """The province or one of its kabupaten/kota."""

    slug: Slug = Field(description="Slug used by records to refer to the region.")
    name: Text = Field(description="Name, e.g. 'Kutai Kartanegara'.")
    kind: Literal["provinsi", "kabupaten", "kota"] = Field(description="Kind of region.")
    code: Annotated[str, Field(pattern=r"^\d{2}(\.\d{2})?$")] = Field(
        description="BPS / Kemendagri code, e.g. '64.01'."
    )
    seat: Text = Field(description="Seat of government (pusat pemerintahan).")
    election: Literal["Pilgub", "Pilbup", "Pilwali"] = Field(
        description="The election held there in 2024."
    )
    summary: str | None = Field(default=None, description="Short notes on the region's Pilkada.")
    note: str | None = Field(default=None, description="A caveat about the data, if any.")
    sources: list[Source] = Field(min_length=1, description="Sources for the region's data.")


class Regions(Strict):
    """content/regions.yaml: the shared vocabulary of regions."""

    regions: list[Region] = Field(min_length=1, description="The province first, then the rest.")


class Site(Strict):
    """content/site.yaml: settings of the whole site."""

    title: Text = Field(description="Site title.")
    tagline: str | None = Field(default=None, description="One line under the title.")
    organisation: Text = Field(description="Who publishes the site.")
    language: Literal["id"] = Field(default="id", description="Language of the site.")
    timezone: Literal["Asia/Makassar"] = Field(
        default="Asia/Makassar", description="Timezone of dates (WITA)."
    )
    election_day: dt.date = Field(description="Voting day (YYYY-MM-DD).")
    base_url: Url | None = Field(
        default=None,
        description="Public address of the site; enables sitemap.xml and robots.txt.",
    )
    theme: str = Field(default="default", description="Theme name under themes/, or a path.")
    precache_budget_kb: int = Field(
        default=5120,
        ge=0,
        description="Precache the whole site for offline reading while it is at most this "
        "size (KB); past it only the shell is precached and pages are cached as visited.",
    )

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str | None) -> str | None:
        return value if value is None or value.endswith("/") else value + "/"


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every collection and of the two settings files."""
    schemas: dict[str, dict[str, Any]] = {
        name: spec.model.model_json_schema() for name, spec in COLLECTIONS.items()
    }
    schemas["site"] = Site.model_json_schema()
    schemas["regions"] = Regions.model_json_schema()
    return schemas
