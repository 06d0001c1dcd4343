"""The typed models of Pantau's content, one per collection, declared field by field.

The same models validate files on disk (``pantau check``) and, later, updates arriving at the
sync server. Each field's description feeds the JSON Schema that ``pantau schema`` writes.
Adding a collection means adding one model here, registered with ``@collection`` (its
declaration says everything else that varies by collection), plus its templates in the theme.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from . import skeletons
from .i18n import N_, _
from .privacy import no_personal_data, personal_data
from .urls import normalise_url, well_formed_url

WITA = ZoneInfo("Asia/Makassar")

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

#: The site's own top-level folders, besides each collection's: a record published at the top
#: level (a page) may not take one of these names, or two outputs would share one path.
SITE_SECTIONS = frozenset(
    {
        "cari",
        "data",
        "offline",
        "partisipasi",
        "redaksi",
        "riwayat",
        "search",
        "static",
        "unduh",
        "wilayah",
    }
)
#: Longest slug: a file name (and a URL segment) every file system and server accepts.
MAX_SLUG = 80
Slug = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        max_length=MAX_SLUG,
        description=f"A slug: a-z, 0-9 and single hyphens, at most {MAX_SLUG} characters.",
    ),
]


def is_slug(text: str) -> bool:
    """A whole string that is a slug (``re.match`` with ``$`` would let a final newline in)."""
    return len(text) <= MAX_SLUG and re.fullmatch(SLUG_PATTERN, text) is not None


#: Dates the site can show and every export can write (a calendar event ends a day later).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


def _plausible(value: Any) -> Any:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(
            _("found {day}, expected a date between {first} and {last}").format(
                day=day.isoformat(), first=FIRST_DAY.year, last=LAST_DAY.year
            )
        )
    return value


Day = Annotated[dt.date, AfterValidator(_plausible)]
Moment = Annotated[dt.datetime, AfterValidator(_plausible)]
#: The validation context of data this program validated before (the build's record cache):
#: checks that cannot fail on it again, and normalisations already applied, are skipped.
KEPT = {"kept": True}


def _unless_kept(check: Callable[[str], str]) -> Callable[[str, ValidationInfo], str]:
    """A field check that data validated before (see ``KEPT``) skips."""

    def checked(value: str, info: ValidationInfo) -> str:
        return value if info.context is KEPT else check(value)

    # Not functools.wraps: pydantic would read the check's signature and not pass ``info``.
    checked.__name__ = checked.__qualname__ = check.__name__
    checked.check = check  # type: ignore[attr-defined]
    return checked


Url = Annotated[
    str,
    AfterValidator(_unless_kept(well_formed_url)),
    AfterValidator(_unless_kept(normalise_url)),
    Field(
        pattern=r"^https?://\S+$",
        max_length=2000,
        description="An http:// or https:// address with a host name.",
    ),
]
Text = Annotated[str, Field(min_length=1)]


@dataclass(frozen=True)
class CheckLevel:
    """How a record's facts were checked, as the site labels and explains it."""

    label: str  # the badge
    meaning: str  # one sentence for the about page and the record's footer
    against: str  # for messages (English; translated where shown)


#: The values of a record's ``checked`` field, most trustworthy first.
CHECKED: dict[str, CheckLevel] = {
    "document": CheckLevel(
        "Dicek pada dokumen resmi",
        "Fakta di halaman ini dicocokkan dengan dokumen resmi yang dikutip: peraturan, "
        "keputusan, atau putusan.",
        N_("the primary document"),
    ),
    "press": CheckLevel(
        "Dicek pada pemberitaan",
        "Fakta di halaman ini dicocokkan dengan beberapa pemberitaan media yang saling "
        "sesuai; dokumen resminya belum diperiksa.",
        N_("press reports"),
    ),
    "unchecked": CheckLevel(
        "Belum dicek",
        "Informasi di halaman ini belum dicocokkan dengan sumbernya; periksa sumbernya "
        "sebelum mengutip.",
        "nothing yet",
    ),
    "illustrative": CheckLevel(
        "Ilustrasi",
        "Halaman ini contoh susunan atau kegiatan yang lazim, bukan keterangan resmi.",
        "nothing: it is an example",
    ),
}
Checked = Literal["document", "press", "unchecked", "illustrative"]


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
        description="Sources of the facts on this page (title + URL). Required unless "
        "checked is 'unchecked' or 'illustrative'.",
    )
    checked: Checked = Field(
        default="unchecked",
        description="What the facts were checked against: document (the primary document, "
        "e.g. the regulation or decision), press (several press reports that agree), "
        "unchecked (not yet), or illustrative (an example, not a statement of fact).",
    )
    updated: Moment | None = Field(
        default=None,
        description="When the record last changed (ISO 8601; without an offset it is WITA). "
        "The sync server sets it.",
    )
    body: str = Field(default="", description="Markdown text of the page.")
    draft: bool = Field(
        default=False,
        description="true keeps the record off the site (its page, lists, search and data). "
        "`pantau new` starts every record as a draft.",
    )
    publish_at: Moment | None = Field(
        default=None,
        description="The record appears on the site from this moment (ISO 8601; without an "
        "offset it is WITA). Leave out to publish at once.",
    )
    expire_at: Moment | None = Field(
        default=None,
        description="The record leaves the site at this moment (ISO 8601; without an offset "
        "it is WITA); after publish_at. Leave out to keep it.",
    )

    @field_validator("updated", "publish_at", "expire_at")
    @classmethod
    def _assume_wita(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=WITA)
        return value

    @model_validator(mode="after")
    def _expires_after_publishing(self) -> Record:
        problem = schedule_problem(self.publish_at, self.expire_at)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _checked_needs_sources(self) -> Record:
        problem = checked_without_sources(self.checked, bool(self.sources))
        if problem:
            raise ValueError(problem)
        return self


def checked_without_sources(checked: Any, has_sources: bool) -> str | None:
    """The 'checked' problem of a record checked against sources it does not list, as
    'checked: sentence' (also applied to the raw data of a record with field errors)."""
    if checked in ("document", "press") and not has_sources:
        return "checked: " + _(
            "a record checked against {against} needs the sources it was checked against; "
            "add them under 'sources' or set checked: unchecked"
        ).format(against=_(CHECKED[checked].against))
    return None


def schedule_problem(publish_at: dt.datetime | None, expire_at: dt.datetime | None) -> str | None:
    """The problem of a record that would leave the site before it appears, as
    'expire_at: sentence'."""
    if publish_at is not None and expire_at is not None and expire_at <= publish_at:
        return "expire_at: " + _(
            "the record would leave the site ({expire_at}) before it appears ({publish_at}); "
            "expire_at must be after publish_at"
        ).format(expire_at=expire_at.isoformat(), publish_at=publish_at.isoformat())
    return None


def on_site(record: Any, moment: dt.datetime) -> bool:
    """Whether a record's schedule puts it on the site at ``moment``: from ``publish_at``
    (inclusive) until ``expire_at`` (exclusive). Drafts are decided by ``published``."""
    publish_at = getattr(record, "publish_at", None)
    expire_at = getattr(record, "expire_at", None)
    if publish_at is not None and moment < publish_at:
        return False
    return expire_at is None or moment < expire_at


def schedule_moments(record: Any) -> list[dt.datetime]:
    """The moments at which a record's schedule changes whether it is on the site."""
    moments = (getattr(record, "publish_at", None), getattr(record, "expire_at", None))
    return [m for m in moments if m is not None]


def stage_without_dates(has_start: bool, has_end: bool, has_after: bool) -> str | None:
    """The problem of a stage with no date and no stage it follows, as 'start: sentence'."""
    if not (has_start or has_end or has_after):
        return "start: " + _(
            "a stage needs a start date, an end date, or 'after' (the stage it "
            "follows and within how many days), so that its status can end"
        )
    return None


@dataclass(frozen=True)
class Reference:
    """A field of a record that names other records by slug (or regions), and the name its
    inverse takes on the target's page (the stages of a division, the campaigns of a region)."""

    field: str  # a list of slugs, or 'field.subfield' for one slug in a mapping
    target: str  # a collection name, or "regions"
    noun: str  # what one item is called in messages: "division", "region"
    backlink: str | None = None
    one: bool = False  # the field holds one optional slug rather than a list (a finding's stage)

    @property
    def single(self) -> bool:
        """Whether the field names one slug (so a problem names the field, not an item)."""
        return self.one or "." in self.field

    def values(self, record: Any) -> list[str]:
        """The slugs this reference names in a record."""
        name, _, inner = self.field.partition(".")
        value = getattr(record, name)
        if inner:
            value = getattr(value, inner, None) if value is not None else None
            return [value] if value else []
        return slugs_of(value)

    def raw_values(self, data: dict[str, Any]) -> list[str | None]:
        """The slugs this reference names in a record's parsed (unvalidated) data, by
        position; None where an item is not a slug (that is a field error of its own)."""
        name, _, inner = self.field.partition(".")
        value = data.get(name)
        if inner:
            value = value.get(inner) if isinstance(value, dict) else None
            return [value] if isinstance(value, str) and is_slug(value) else []
        if self.one:
            return [value] if isinstance(value, str) and is_slug(value) else []
        if not isinstance(value, list):
            return []
        return [item if isinstance(item, str) and is_slug(item) else None for item in value]


def slugs_of(value: Any) -> list[str]:
    """The slugs a reference field holds: a list of them, one slug, or none (None)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


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
        """Whether a record is meant for the site at all (a draft is not). References and
        checks go by this; whether it is on the site at a given moment is ``visible``."""
        return not getattr(record, "draft", False)

    def visible(self, record: Any, moment: dt.datetime) -> bool:
        """Whether a record appears on a site built for ``moment``: published, and within
        its schedule (``publish_at`` to ``expire_at``)."""
        return self.published(record) and on_site(record, moment)


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
        message = {
            "stage": N_(
                "the stage ends ({end}) before it starts ({start}); end must be on or after start"
            ),
            "campaign": N_(
                "the campaign ends ({end}) before it starts ({start}); "
                "end must be on or after start"
            ),
        }[kind]
        raise ValueError("end: " + _(message).format(end=end.isoformat(), start=start.isoformat()))


class After(Strict):
    """A stage that follows another: it ends at most ``days`` after that stage ends."""

    stage: Slug = Field(description="Slug of the stage it follows.")
    days: int = Field(ge=0, le=3650, description="Within how many days after that stage ends.")


class StatusOverride(Strict):
    """A stage's schedule changed by decision rather than by the calendar."""

    status: Literal["scheduled", "postponed", "cancelled"] = Field(
        description="scheduled (follows its dates), postponed (ditunda) or cancelled (dibatalkan)."
    )
    reason: str | None = Field(default=None, description="Why; required unless scheduled.")

    @model_validator(mode="after")
    def _reason_required(self) -> StatusOverride:
        if self.status != "scheduled" and not self.reason:
            message = {
                "postponed": N_("a postponed stage needs a reason"),
                "cancelled": N_("a cancelled stage needs a reason"),
            }[self.status]
            raise ValueError("reason: " + _(message))
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
    references=(
        Reference("divisions", "teams", N_("division"), backlink="stages"),
        Reference("after.stage", "stages", N_("stage")),
    ),
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
    start: Day | None = Field(
        default=None, description="First day (YYYY-MM-DD). Leave out when only the end is known."
    )
    end: Day | None = Field(
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
    after: After | None = Field(
        default=None,
        description="For a stage timed relative to another: it ends at most this many days "
        "after that stage ends (its status follows).",
    )
    override: StatusOverride | None = Field(
        default=None, description="Set when the stage is postponed or cancelled."
    )
    results: list[Tally] = Field(
        default_factory=list, description="Official counts decided in this stage, if any."
    )

    @model_validator(mode="after")
    def _dates(self) -> Stage:
        check_order("stage", self.start, self.end)
        problem = stage_without_dates(bool(self.start), bool(self.end), bool(self.after))
        if problem:
            raise ValueError(problem)
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
            raise ValueError("src: " + _("the image path must stay inside content/media/"))
        return value


class Action(Strict):
    """A button that takes the reader where the campaign asks them to go."""

    label: Text = Field(max_length=60, description="The button's words, e.g. 'Cek DPT online'.")
    url: Url = Field(description="Where it leads.")


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
    references=(Reference("regions", "regions", N_("region"), backlink="campaigns"),),
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
    start: Day | None = Field(default=None, description="First day, if known.")
    end: Day | None = Field(default=None, description="Last day, if known.")
    organiser: Text = Field(description="Who runs it.")
    channels: list[Text] = Field(default_factory=list, description="How it reaches people.")
    image: Image | None = Field(default=None, description="Optional poster, with alt text.")
    call_to_action: Text = Field(description="What the reader is asked to do.")
    action: Action | None = Field(
        default=None, description="A link for the call to action, shown as a button."
    )

    @model_validator(mode="after")
    def _dates(self) -> Campaign:
        check_order("campaign", self.start, self.end)
        return self


# findings (temuan) ---------------------------------------------------------------------------

#: What a finding is about, with the label the site shows.
FINDING_CATEGORIES: dict[str, str] = {
    "politik-uang": "Politik uang",
    "netralitas-asn": "Netralitas ASN",
    "kampanye-di-luar-jadwal": "Kampanye di luar jadwal",
    "alat-peraga": "Alat peraga kampanye",
    "logistik": "Logistik pemilihan",
    "data-pemilih": "Data pemilih",
    "keamanan": "Keamanan dan ketertiban",
    "hoaks": "Hoaks dan disinformasi",
    "syarat-pencalonan": "Syarat pencalonan",
    "penyalahgunaan-wewenang": "Penyalahgunaan wewenang",
    "lainnya": "Lainnya",
}
FindingCategory = Literal[
    "politik-uang",
    "netralitas-asn",
    "kampanye-di-luar-jadwal",
    "alat-peraga",
    "logistik",
    "data-pemilih",
    "keamanan",
    "hoaks",
    "syarat-pencalonan",
    "penyalahgunaan-wewenang",
    "lainnya",
]

#: Where a finding's follow-up stands, in the order it usually goes, with the site's label.
FINDING_STATUSES: dict[str, str] = {
    "dilaporkan": "Dilaporkan",
    "diteruskan": "Diteruskan",
    "ditindaklanjuti": "Ditindaklanjuti",
    "selesai": "Selesai",
    "tidak-terbukti": "Tidak terbukti",
    "dihentikan": "Dihentikan",
}
FollowUp = Literal[
    "dilaporkan", "diteruskan", "ditindaklanjuti", "selesai", "tidak-terbukti", "dihentikan"
]

#: Text of a finding: institutions and public officials in their public role, never a private
#: person's identity number, phone number or e-mail address.
PublicText = Annotated[str, Field(min_length=1), AfterValidator(_unless_kept(no_personal_data))]


Loc = tuple[str | int, ...]


def _problems_at(title: str, problems: list[tuple[Loc, str, Any]]) -> ValidationError:
    """Problems of a model's fields at exact places ((loc, sentence, value) each), raised
    from a validator that sees more than one field."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{message}", {"message": message}),
                loc=loc,
                input=value,
            )
            for loc, message, value in problems
        ],
    )


class FollowUpStep(Strict):
    """One dated step of a finding's follow-up."""

    date: Day = Field(description="When it happened (YYYY-MM-DD).")
    status: FollowUp = Field(
        description="Where the finding stood from that day: dilaporkan (reported), diteruskan "
        "(passed on), ditindaklanjuti (being acted on), selesai (closed), tidak-terbukti (not "
        "proven) or dihentikan (dropped)."
    )
    note: PublicText | None = Field(
        default=None, description="What happened, in a sentence (no private person's data)."
    )


def _finding_order(record: Any, slug: str) -> tuple[Any, ...]:
    return (record.observed, slug)


@collection(
    "findings",
    url="temuan",
    label="Temuan Pemantauan",
    label_one="Temuan",
    kind="finding",
    page_template="finding.html",
    list_template="findings.html",
    menu="Temuan",
    order=_finding_order,
    newest_first=True,
    search_fields=("summary", "passed_to"),
    references=(
        Reference("regions", "regions", N_("region"), backlink="findings"),
        Reference("stage", "stages", N_("stage"), backlink="findings", one=True),
    ),
    writers=frozenset({"admin", "editor"}),
    skeleton=skeletons.FINDING,
)
class Finding(Record):
    """What the monitoring team observed, and how it was followed up."""

    title: PublicText = Field(description="What was observed, in a short line.")
    observed: Day = Field(description="When the team observed it (YYYY-MM-DD).")
    regions: list[Slug] = Field(
        min_length=1, description="Slugs of the regions where it was observed (regions.yaml)."
    )
    stage: Slug | None = Field(
        default=None, description="Slug of the election stage it belongs to, if any."
    )
    category: FindingCategory = Field(
        description="What it is about: politik-uang, netralitas-asn, kampanye-di-luar-jadwal, "
        "alat-peraga, logistik, data-pemilih, keamanan, hoaks, syarat-pencalonan, "
        "penyalahgunaan-wewenang or lainnya."
    )
    summary: PublicText = Field(
        description="A short account: institutions and public officials in their public role, "
        "never a private person, a reporter or a witness."
    )
    passed_to: list[PublicText] = Field(
        default_factory=list,
        description="The bodies it was passed to, e.g. 'Bawaslu Kaltim'.",
    )
    timeline: list[FollowUpStep] = Field(
        min_length=1,
        description="The follow-up, oldest first: each step's date, status and note. The last "
        "step's status is the finding's current status.",
    )

    @property
    def current_status(self) -> str:
        """Where the follow-up stands: the status of the timeline's last step."""
        return self.timeline[-1].status

    def step_anchors(self) -> list[str]:
        """Each step's id on the finding's page ('langkah-2024-11-27-dilaporkan'): stable while
        its date and status are (the feed's entries are named by it); a repeat is numbered."""
        seen: dict[str, int] = {}
        anchors = []
        for step in self.timeline:
            base = f"langkah-{step.date.isoformat()}-{step.status}"
            seen[base] = seen.get(base, 0) + 1
            anchors.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
        return anchors

    @field_validator("body")
    @classmethod
    def _body_names_no_private_person(cls, value: str) -> str:
        return no_personal_data(value)

    @field_validator("sources")
    @classmethod
    def _sources_name_no_private_person(cls, value: list[Source]) -> list[Source]:
        problems: list[tuple[Loc, str, Any]] = []
        for index, source in enumerate(value):
            found = personal_data(source.title)
            if found is not None:
                problems.append(((index, "title"), found.message, source.title))
        if problems:
            raise _problems_at("Finding", problems)
        return value

    @model_validator(mode="after")
    def _timeline_in_order(self) -> Finding:
        problems: list[tuple[Loc, str, Any]] = []
        latest: dt.date | None = None  # the latest date of the steps in order so far
        for index, step in enumerate(self.timeline):
            if step.date < self.observed:
                message = _(
                    "dated {date}, before the finding was observed ({observed}); the timeline "
                    "follows the observation"
                ).format(date=step.date.isoformat(), observed=self.observed.isoformat())
            elif latest is not None and step.date < latest:
                message = _(
                    "dated {date}, before the step above it ({before}); list the timeline "
                    "oldest first, in the order things happened"
                ).format(date=step.date.isoformat(), before=latest.isoformat())
            else:
                latest = step.date
                continue
            problems.append((("timeline", index, "date"), message, step.date.isoformat()))
        if problems:
            raise _problems_at("Finding", problems)
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


class VoteCount(Strict):
    """The votes one candidate pair (or the empty box) received."""

    pair: Text = Field(description="The pair as the ballot names it, or 'Kolom kosong'.")
    votes: int = Field(ge=0, description="Votes, as the official tally gives them.")


class Tally(Strict):
    """One official count: the raw votes, from which the site computes each share."""

    label: Text = Field(description="Which count, e.g. 'Rekapitulasi KPU' or 'PSU'.")
    date: Day | None = Field(default=None, description="When it was decided.")
    votes: list[VoteCount] = Field(min_length=1, description="Votes per pair, as tallied.")
    valid: int | None = Field(
        default=None,
        ge=1,
        description="Valid votes in all. Without it shares are computed from the votes "
        "listed, and only when every pair is listed (complete: true).",
    )
    complete: bool = Field(
        default=True, description="false when some pairs' votes are not known: no shares."
    )
    source: Source = Field(description="Where these figures come from.")

    @model_validator(mode="after")
    def _valid_covers_votes(self) -> Tally:
        if self.valid is not None and sum(v.votes for v in self.votes) > self.valid:
            raise ValueError(
                "valid: "
                + _("the votes listed add up to {total}, more than the {valid} valid votes").format(
                    total=sum(v.votes for v in self.votes), valid=self.valid
                )
            )
        return self

    def rows(self) -> list[tuple[str, int, float | None]]:
        """(pair, votes, share of the valid votes in percent or None where it is unknown),
        most votes first."""
        total = self.valid or (sum(v.votes for v in self.votes) if self.complete else 0)
        ordered = sorted(self.votes, key=lambda v: -v.votes)
        return [(v.pair, v.votes, 100 * v.votes / total if total else None) for v in ordered]


class Outcome(Strict):
    """How a region's election ended."""

    elected: str | None = Field(
        default=None, description="The pair that took office, once declared."
    )
    tallies: list[Tally] = Field(
        default_factory=list, description="Official counts in order: the tally, then any PSU."
    )
    dispute: str | None = Field(
        default=None, description="What the Constitutional Court (MK) decided, in a sentence."
    )
    inaugurated: Day | None = Field(default=None, description="Day the pair took office.")
    sources: list[Source] = Field(min_length=1, description="Sources of the outcome.")


class Region(Strict):
    """The province or one of its kabupaten/kota."""

    slug: Slug = Field(description="Slug used by records to refer to the region.")
    name: Text = Field(description="Name, e.g. 'Kutai Kartanegara'.")
    kind: Literal["provinsi", "kabupaten", "kota"] = Field(description="Kind of region.")
    kemendagri_code: Annotated[str, Field(pattern=r"^\d{2}(\.\d{2})?$")] = Field(
        description="The Home Ministry's (Kemendagri) region code, e.g. '64.01'. BPS numbers "
        "some regions differently: do not put a BPS code here."
    )
    seat: Text = Field(description="Seat of government (pusat pemerintahan).")
    election: Literal["Pilgub", "Pilbup", "Pilwali"] = Field(
        description="The election held there in 2024."
    )
    summary: str | None = Field(default=None, description="Short notes on the region's Pilkada.")
    note: str | None = Field(default=None, description="A caveat about the data, if any.")
    outcome: Outcome | None = Field(
        default=None,
        description="How the election ended there, once it has; leave out what no source says.",
    )
    sources: list[Source] = Field(min_length=1, description="Sources for the region's data.")
    participation: list[_participation.Turnout] = Field(
        default_factory=list,
        description="Voter participation per count (the election, a re-vote, the February "
        "2024 general election for comparison): raw figures only; the site computes turnout.",
    )


class Regions(Strict):
    """content/regions.yaml: the shared vocabulary of regions."""

    regions: list[Region] = Field(min_length=1, description="The province first, then the rest.")


class Licence(Strict):
    """The terms under which others may reuse the site's data."""

    name: Text = Field(description="e.g. 'CC BY 4.0'.")
    url: Url = Field(description="The licence's text.")


class Site(Strict):
    """content/site.yaml: settings of the whole site."""

    title: Text = Field(description="Site title.")
    tagline: str | None = Field(default=None, description="One line under the title.")
    organisation: Text = Field(description="Who publishes the site.")
    language: Literal["id"] = Field(default="id", description="Language of the site.")
    timezone: Literal["Asia/Makassar"] = Field(
        default="Asia/Makassar", description="Timezone of dates (WITA)."
    )
    election_day: Day = Field(description="Voting day (YYYY-MM-DD).")
    base_url: Url | None = Field(
        default=None,
        description="Public address of the site; enables sitemap.xml and robots.txt.",
    )
    licence: Licence | None = Field(
        default=None, description="The licence of the site's data, shown on the data page."
    )
    theme: str = Field(default="default", description="Theme name under themes/, or a path.")
    precache_budget_kb: int = Field(
        default=5120,
        ge=0,
        description="Precache the whole site for offline reading while it is at most this "
        "size (KB); past it only the shell is precached and pages are cached as visited.",
    )
    participation_targets: list[_participation.Target] = Field(
        default_factory=list,
        description="Turnout targets the participation page measures results against, each "
        "with who set it and its source.",
    )

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str | None) -> str | None:
        return value if value is None or value.endswith("/") else value + "/"


def unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type inside Optional and Annotated, and whether None is allowed (a union of
    several other types is returned as it is)."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return annotation, optional
            annotation = args[0]
        else:
            return annotation, optional


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every collection and of the two settings files."""
    schemas: dict[str, dict[str, Any]] = {
        name: spec.model.model_json_schema() for name, spec in COLLECTIONS.items()
    }
    schemas["site"] = Site.model_json_schema()
    schemas["regions"] = Regions.model_json_schema()
    return schemas


# Last: participation's models build on the types above (resolved when first used).
from . import participation as _participation  # noqa: E402
