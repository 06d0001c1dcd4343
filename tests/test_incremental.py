"""Incremental builds equal clean builds: after any sequence of edits to a content folder, an
incremental ``build`` into the same output folder leaves exactly the bytes a build from
scratch makes (``verify_build``), and a state file that cannot be trusted is never used."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from site_builder import deps, parallel
from site_builder.build import BuildResult, SiteFiles, build, verify_build
from site_builder.engine import Engine
from site_builder.errors import BuildError, ContentError, PantauError, TemplateError
from site_builder.load import text_digest
from site_builder.models import COLLECTIONS as SPECS
from site_builder.models import reserved_slugs
from site_builder.state import state_path
from site_builder.themes import shipped

from .conftest import REGIONS, VOTING_DAY, Writer

THEME_TEMPLATES = shipped("themes") / "default" / "templates"

#: 2020-01-01T00:00:00Z: files given a modification time after this (one millisecond apart,
#: so float-based checks such as Jinja's template reload still tell them apart) are old
#: enough for the builder to keep their parsed records in its state.
OLD_NS = 1_577_836_800 * 10**9
STEP_NS = 1_000_000

COLLECTIONS = ("stages", "teams", "campaigns", "pages")
SUFFIX = {"stages": ".md", "teams": ".yaml", "campaigns": ".md", "pages": ".md"}

FIRST_DAY = dt.date(2024, 11, 20)
DAYS = 12


# content as data ---------------------------------------------------------------------------


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def record_text(collection: str, fields: dict[str, Any]) -> str:
    """A record file: front matter and a Markdown body, or (teams) a YAML file."""
    front = {k: v for k, v in fields.items() if v is not None and k != "body"}
    for key in ("start", "end"):
        if key in front:
            front[key] = front[key].isoformat()
    if collection == "teams":
        if fields.get("body"):
            front["body"] = fields["body"]
        return dump(front)
    return f"---\n{dump(front)}---\n{fields.get('body') or ''}\n"


def site_text(site: dict[str, Any]) -> str:
    fields = {
        "title": site["title"],
        "tagline": site["tagline"],
        "organisation": "Tim Uji",
        "election_day": VOTING_DAY.isoformat(),
        "base_url": site["base_url"],
        "precache_budget_kb": site["budget"],
        "theme": site["theme"],
    }
    return dump({k: v for k, v in fields.items() if v is not None})


EXTRA_REGION = {
    "slug": "balikpapan",
    "name": "Kota Balikpapan",
    "kind": "kota",
    "kemendagri_code": "64.71",
    "seat": "Balikpapan",
    "election": "Pilwali",
    "sources": [{"title": "Sumber wilayah", "url": "https://example.org/wilayah"}],
}


# strategies ----------------------------------------------------------------------------------

WORDS = ["Ayo", "memilih", "tahapan", "Pilkada", "Kaltim", "TPS", "suara", "dan", "&", "<b>", "é"]
words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
slugs = st.lists(
    st.sampled_from(["a", "b", "c", "tps", "suara", "2024", "x1"]), min_size=1, max_size=3
).map("-".join)
days = st.integers(0, DAYS - 1).map(lambda n: FIRST_DAY + dt.timedelta(days=n))
todays = st.integers(-2, DAYS + 1).map(lambda n: FIRST_DAY + dt.timedelta(days=n))
bodies = st.sampled_from(
    [
        "",
        "Isi **tebal**.",
        "Paragraf satu.\n\nParagraf dua yang lebih panjang.",
        "- butir\n- butir lain",
        "Tautan [contoh](https://example.org) & <em>miring</em>.",
    ]
)
updates = st.one_of(
    st.none(),
    st.sampled_from(
        ["2024-11-01T10:00:00+08:00", "2024-11-25T08:30:00+08:00", "2024-12-03T17:45:00"]
    ),
)
#: Files written with an old modification time (cached by the builder) or just now.
old_mtime = st.booleans()


@st.composite
def stage_dates(draw: st.DrawFn, stages: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["start", "range", "end", "after"] if stages else ["start"]))
    start = draw(days)
    none = {"start": None, "end": None, "schedule_note": None, "after": None}
    if kind == "start":
        return {**none, "start": start}
    if kind == "range":
        return {**none, "start": start, "end": start + dt.timedelta(days=draw(st.integers(0, 5)))}
    if kind == "end":
        return {**none, "end": start}
    after = {"stage": draw(st.sampled_from(stages)), "days": draw(st.integers(0, 3))}
    return {**none, "after": after, "schedule_note": "Tiga hari setelah penetapan."}


@st.composite
def campaign_dates(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(st.one_of(st.none(), days))
    end = draw(st.one_of(st.none(), days))
    if start and end and end < start:
        start, end = end, start
    return {"start": start, "end": end}


def new_stage(draw: st.DrawFn, teams: list[str], stages: list[str]) -> dict[str, Any]:
    return {
        "title": draw(words),
        "phase": draw(st.sampled_from(["persiapan", "penyelenggaraan", "pasca"])),
        **draw(stage_dates(stages)),
        "summary": draw(words),
        "divisions": draw(st.lists(st.sampled_from(teams), unique=True)) if teams else [],
        "override": draw(
            st.one_of(st.none(), st.just({"status": "postponed", "reason": "Menunggu putusan."}))
        ),
        "checked": "unchecked",
        "updated": draw(updates),
        "body": draw(bodies),
    }


def new_team(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(words),
        "role": draw(st.sampled_from(["ketua", "sekretariat", "divisi"])),
        "summary": draw(words),
        "tupoksi": draw(st.lists(words, min_size=1, max_size=2)),
        "checked": "unchecked",
        "updated": draw(updates),
        "body": draw(bodies),
    }


def new_campaign(draw: st.DrawFn, regions: list[str], media: list[str]) -> dict[str, Any]:
    posters = st.sampled_from(media).map(lambda src: {"src": src, "alt": "Poster kampanye"})
    return {
        "title": draw(words),
        "summary": draw(words),
        "audience": ["pemilih pemula"],
        "regions": draw(st.lists(st.sampled_from(regions), min_size=1, unique=True)),
        **draw(campaign_dates()),
        "organiser": "Tim Uji",
        "call_to_action": "Datang ke TPS.",
        "draft": draw(st.booleans()),
        "image": draw(st.one_of(st.none(), posters)) if media else None,
        "checked": "unchecked",
        "updated": draw(updates),
        "body": draw(bodies),
    }


def new_page(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "title": draw(words),
        "summary": draw(st.one_of(st.none(), words)),
        "menu": draw(st.one_of(st.none(), st.sampled_from(["Tentang", "Kontak", "FAQ"]))),
        "checked": "unchecked",
        "updated": draw(updates),
        "body": draw(bodies),
    }


#: Theme templates a content folder may override, and what an override adds to each: a plain
#: marker, or something that makes the template read more of the site than before.
TEMPLATES = [
    "_stage_item.html",
    "_status.html",
    "_campaign_card.html",
    "team.html",
    "stage.html",
    "page.html",
    "index.html",
    "base.html",
    "data.html",
    "feed.xml",
    "sw.js",
]
TEMPLATE_ADDITIONS = [
    "<!-- override {n} -->",
    "<!-- today {{{{ graph.today }}}} -->",
    "<!-- campaigns {{{{ graph.campaigns | length }}}} -->",
    "<!-- teams {{% for t in graph.teams %}}{{{{ t.record.name }}}};{{% endfor %}} -->",
]


def override_text(name: str, variant: int, n: int) -> str:
    """The theme's template with a visible addition (sw.js only sees its own variables)."""
    text = (THEME_TEMPLATES / name).read_text(encoding="utf-8")
    if name == "sw.js":
        return text + f"// override {n}\n"
    addition = TEMPLATE_ADDITIONS[variant].format(n=n)
    if "{% block main %}" in text:  # a page extending base.html: only its blocks are output
        return text.replace("{% block main %}", "{% block main %}" + addition, 1)
    return text + addition + "\n"


STATIC = ["extra.css", "extra.js"]
THEME_STATIC = ["style.css", "pantau.js"]

#: A theme folder beside the content folder (site.yaml: ``theme: ../tema``), outside it.
THEME = "tema"

#: Edits that expose builder bugs not fixed yet, each pinned by a strict xfail test below: the
#: property test leaves them out until the fix lands (then drop the entry and the marker).
KNOWN_BUGS: set[str] = set()

# the state machine -----------------------------------------------------------------------


class IncrementalBuilds(RuleBasedStateMachine):
    """Random edits to a small content folder; after each, an incremental build into the same
    output folder must equal a clean build."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="pantau-incremental-"))
        self.content = self.tmp / "content"
        self.out = self.tmp / "public"
        self.records: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
        self.regions: list[dict[str, Any]] = yaml.safe_load(REGIONS)["regions"]
        self.site: dict[str, Any] = {
            "title": "Situs Uji",
            "tagline": None,
            "base_url": None,
            "budget": None,
            "theme": None,
        }
        self.templates: dict[str, str] = {}
        self.static: dict[str, str] = {}
        self.theme_files: dict[str, str] = {}
        (self.tmp / THEME).mkdir()
        if "theme-folders" in KNOWN_BUGS:  # the theme has its folders from the start
            (self.tmp / THEME / "templates").mkdir()
            (self.tmp / THEME / "static").mkdir()
        self.media: dict[str, bytes] = {}
        self.today = VOTING_DAY
        self.fork = False
        #: Lists kept in runs of two items or so (see deps.Fragments.combined), so that this
        #: small site's lists are kept as a large site's are.
        self.small_runs = False
        #: One engine kept for every build (as pantau dev keeps one), or None: each build as
        #: a fresh process would make it.
        self.engine: Engine | None = None
        self.clock = 0
        self.steps = 0
        self.fresh: dict[Path, int] = {}
        self.last_fresh = 0
        self.last: BuildResult | None = None

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self, full: bool = False) -> BuildResult:
        with forked_rendering(self.fork), small_runs(self.small_runs):
            return build(self.content, self.out, today=self.today, full=full, engine=self.engine)

    def check(self) -> None:
        with forked_rendering(self.fork), small_runs(self.small_runs):
            assert_same_as_clean_build(self.content, self.out, self.today)

    # files ---------------------------------------------------------------------------------

    def write(self, relative: str, text: str | bytes, old: bool) -> None:
        """Write a file with a modification time no earlier write had: long ago (so its
        record may be cached) or now."""
        path = self.content / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        if old:
            self.age(path)
        else:
            ns = self.last_fresh = max(time.time_ns(), self.last_fresh + STEP_NS)
            os.utime(path, ns=(ns, ns))
            self.fresh[path] = self.steps

    def age(self, path: Path) -> None:
        """Give a file an old modification time no earlier write had."""
        self.clock += 1
        ns = OLD_NS + self.clock * STEP_NS
        os.utime(path, ns=(ns, ns))
        self.fresh.pop(path, None)

    def let_time_pass(self, steps: int = 0) -> None:
        """Files written ``steps`` or more steps ago are now old enough for the build to trust
        their modification time: they get an old one (a time no earlier write had, so this
        never hides a change). Then the build may answer "nothing changed" from a stamp of
        its inputs, and keep their records in its cache."""
        for path, written in list(self.fresh.items()):
            if self.steps - written >= steps and path.exists():
                self.age(path)
            elif not path.exists():
                del self.fresh[path]

    def remove(self, relative: str, folder_too: bool = False) -> None:
        path = self.content / relative
        path.unlink()
        if folder_too and not any(path.parent.iterdir()):
            path.parent.rmdir()

    def record_path(self, collection: str, slug: str) -> str:
        return f"{collection}/{slug}{SUFFIX[collection]}"

    def save(self, collection: str, slug: str, old: bool) -> None:
        fields = self.records[collection][slug]
        self.write(self.record_path(collection, slug), record_text(collection, fields), old)

    def save_regions(self, old: bool) -> None:
        self.write("regions.yaml", dump({"regions": self.regions}), old)

    def referenced(self, collection: str, slug: str) -> bool:
        stages = self.records["stages"].values()
        if collection == "stages":
            return any((s["after"] or {}).get("stage") == slug for s in stages)
        return collection == "teams" and any(slug in s["divisions"] for s in stages)

    def poster_in_use(self, name: str) -> bool:
        return any(
            (c["image"] or {}).get("src") == name for c in self.records["campaigns"].values()
        )

    def draw_record(self, collection: str, draw: st.DrawFn) -> dict[str, Any]:
        if collection == "stages":
            return new_stage(draw, sorted(self.records["teams"]), sorted(self.records["stages"]))
        if collection == "teams":
            return new_team(draw)
        if collection == "campaigns":
            return new_campaign(draw, [r["slug"] for r in self.regions], sorted(self.media))
        return new_page(draw)

    def has(self, collection: str) -> bool:
        return bool(self.records[collection])

    def pick(self, data: st.DataObject, collection: str) -> str:
        return data.draw(st.sampled_from(sorted(self.records[collection])), label="slug")

    def any_records(self) -> bool:
        return any(self.records.values())

    # set-up --------------------------------------------------------------------------------

    @initialize(data=st.data(), old=old_mtime)
    def initial_content(self, data: st.DataObject, old: bool) -> None:
        self.write("site.yaml", site_text(self.site), old)
        self.save_regions(old)
        for collection, slug in [
            ("teams", "keamanan"),
            ("stages", "pemungutan-suara"),
            ("campaigns", "ayo-memilih"),
            ("pages", "tentang"),
        ]:
            self.records[collection][slug] = self.draw_record(collection, data.draw)
            self.save(collection, slug, old)

    # records -------------------------------------------------------------------------------

    @rule(data=st.data(), collection=st.sampled_from(COLLECTIONS), old=old_mtime)
    def add_record(self, data: st.DataObject, collection: str, old: bool) -> None:
        slug = data.draw(slugs.filter(lambda s: s not in self.records[collection]), label="new")
        self.records[collection][slug] = self.draw_record(collection, data.draw)
        self.save(collection, slug, old)

    @precondition(any_records)
    @rule(data=st.data(), old=old_mtime)
    def change_record(self, data: st.DataObject, old: bool) -> None:
        collection = data.draw(st.sampled_from([c for c in COLLECTIONS if self.has(c)]))
        slug = self.pick(data, collection)
        fields = self.records[collection][slug]
        fresh = self.draw_record(collection, data.draw)
        # One field (or, for a stage's or campaign's dates, the dates together) changes.
        names = [k for k in fresh if k not in ("end", "schedule_note", "after")]
        name = data.draw(st.sampled_from(names), label="field")
        together = {"start": ["start", "end", "schedule_note", "after"]}.get(name, [name])
        if collection == "campaigns" and name == "start":
            together = ["start", "end"]
        for key in together:
            fields[key] = fresh[key]
        self.save(collection, slug, old)

    @precondition(any_records)
    @rule(data=st.data(), old=old_mtime)
    def touch_record(self, data: st.DataObject, old: bool) -> None:
        """The same text written again: only the modification time changes."""
        collection = data.draw(st.sampled_from([c for c in COLLECTIONS if self.has(c)]))
        self.save(collection, self.pick(data, collection), old)

    @precondition(any_records)
    @rule(data=st.data(), old=old_mtime)
    def rename_record(self, data: st.DataObject, old: bool) -> None:
        collection = data.draw(st.sampled_from([c for c in COLLECTIONS if self.has(c)]))
        slug = self.pick(data, collection)
        new = data.draw(slugs.filter(lambda s: s not in self.records[collection]), label="new")
        self.records[collection][new] = self.records[collection].pop(slug)
        self.remove(self.record_path(collection, slug))
        self.save(collection, new, old)
        for stage_slug, stage in self.records["stages"].items():
            if collection == "teams" and slug in stage["divisions"]:
                stage["divisions"] = [new if d == slug else d for d in stage["divisions"]]
                self.save("stages", stage_slug, old)
            if collection == "stages" and (stage["after"] or {}).get("stage") == slug:
                stage["after"] = {**stage["after"], "stage": new}
                self.save("stages", stage_slug, old)

    @precondition(any_records)
    @rule(data=st.data(), folder_too=st.booleans())
    def delete_record(self, data: st.DataObject, folder_too: bool) -> None:
        choices = [
            (c, s)
            for c in COLLECTIONS
            for s in sorted(self.records[c])
            if not self.referenced(c, s)
        ]
        if not choices:
            return
        collection, slug = data.draw(st.sampled_from(choices), label="record")
        del self.records[collection][slug]
        self.remove(self.record_path(collection, slug), folder_too)

    # regions -------------------------------------------------------------------------------

    @rule(old=old_mtime)
    def toggle_extra_region(self, old: bool) -> None:
        """Add a third region, or remove it again when no campaign names it."""
        if any(r["slug"] == EXTRA_REGION["slug"] for r in self.regions):
            if any(
                EXTRA_REGION["slug"] in c["regions"] for c in self.records["campaigns"].values()
            ):
                return
            self.regions = [r for r in self.regions if r["slug"] != EXTRA_REGION["slug"]]
        else:
            self.regions = [*self.regions, dict(EXTRA_REGION)]
        self.save_regions(old)

    @rule(data=st.data(), old=old_mtime)
    def change_region(self, data: st.DataObject, old: bool) -> None:
        index = data.draw(st.integers(0, len(self.regions) - 1), label="region")
        field = data.draw(st.sampled_from(["name", "summary"]), label="field")
        self.regions[index] = {**self.regions[index], field: data.draw(words)}
        self.save_regions(old)

    # templates, static files, settings, date -----------------------------------------------

    @rule(
        name=st.sampled_from(TEMPLATES),
        variant=st.integers(0, len(TEMPLATE_ADDITIONS) - 1),
        old=old_mtime,
    )
    def override_template(self, name: str, variant: int, old: bool) -> None:
        self.clock += 1
        self.templates[name] = override_text(name, variant, self.clock)
        self.write(f"templates/{name}", self.templates[name], old)

    @precondition(lambda self: bool(self.templates))
    @rule(data=st.data(), folder_too=st.booleans())
    def remove_template(self, data: st.DataObject, folder_too: bool) -> None:
        name = data.draw(st.sampled_from(sorted(self.templates)), label="template")
        del self.templates[name]
        self.remove(f"templates/{name}", folder_too)

    @rule(name=st.sampled_from(STATIC), text=words, old=old_mtime)
    def write_static(self, name: str, text: str, old: bool) -> None:
        self.static[name] = f"/* {text} */\n"
        self.write(f"static/{name}", self.static[name], old)

    @precondition(lambda self: bool(self.static))
    @rule(data=st.data(), folder_too=st.booleans())
    def remove_static(self, data: st.DataObject, folder_too: bool) -> None:
        name = data.draw(st.sampled_from(sorted(self.static)), label="static")
        del self.static[name]
        self.remove(f"static/{name}", folder_too)

    @rule(name=st.sampled_from(THEME_STATIC), text=words, old=old_mtime)
    def override_theme_static(self, name: str, text: str, old: bool) -> None:
        """A file in content/static/ replaces the theme's file of the same name."""
        self.static[name] = f"/* {text} */\n"
        self.write(f"static/{name}", self.static[name], old)

    @precondition(lambda self: self.last is not None)
    @rule(data=st.data())
    def delete_an_output_file(self, data: st.DataObject) -> None:
        """Someone deletes a built file: the next build puts it back."""
        path = data.draw(st.sampled_from(sorted(SiteFiles(self.out))), label="output")
        (self.out / path).unlink()

    @rule(
        name=st.sampled_from(["poster.png", "poster-2.webp"]),
        data=st.binary(min_size=1, max_size=40),
        old=old_mtime,
    )
    def write_media(self, name: str, data: bytes, old: bool) -> None:
        self.media[name] = data
        self.write(f"media/{name}", data, old)

    @precondition(lambda self: bool(self.media))
    @rule(data=st.data(), folder_too=st.booleans())
    def remove_media(self, data: st.DataObject, folder_too: bool) -> None:
        unused = [n for n in sorted(self.media) if not self.poster_in_use(n)]
        if unused:
            name = data.draw(st.sampled_from(unused), label="media")
            del self.media[name]
            self.remove(f"media/{name}", folder_too)

    @precondition(lambda self: self.last is not None)
    @rule()
    def full_rebuild(self) -> None:
        assert self.build(full=True).changes.full

    @precondition(lambda self: self.last is not None)
    @rule(
        broken=st.sampled_from(["record", "reference", "template"]),
        data=st.data(),
        old=old_mtime,
    )
    def failed_build_then_fix(self, broken: str, data: st.DataObject, old: bool) -> None:
        """A mistake fails the build and leaves the site as it was; then it is undone."""
        if broken == "template":
            name = data.draw(st.sampled_from(TEMPLATES), label="template")
            relative, text = f"templates/{name}", "{{ graph.nothing_here( }}\n"
        elif broken == "record" or not self.has("stages"):
            relative, text = "stages/rusak.md", "---\ntitle: ''\n---\n"
        else:
            slug = self.pick(data, "stages")
            relative = self.record_path("stages", slug)
            fields = {**self.records["stages"][slug], "divisions": ["tidak-ada"]}
            text = record_text("stages", fields)
        path = self.content / relative
        before_text = path.read_bytes() if path.exists() else None
        before_site = dict(SiteFiles(self.out))
        self.write(relative, text, old)
        try:
            self.build()
        except PantauError:
            assert dict(SiteFiles(self.out)) == before_site
        else:  # a template no output uses: a clean build does not fail either
            self.check()
        if before_text is None:
            self.remove(relative)
        else:
            self.write(relative, before_text, old)

    @rule(
        field=st.sampled_from(["title", "tagline", "base_url", "budget"]),
        data=st.data(),
        old=old_mtime,
    )
    def change_site(self, field: str, data: st.DataObject, old: bool) -> None:
        values = {
            "title": words,
            "tagline": st.one_of(st.none(), words),
            "base_url": st.sampled_from([None, "https://pantau.example.id/"]),
            # A budget too small for the whole site precaches only the shell.
            "budget": st.sampled_from([None, 1, 100000]),
        }
        self.site[field] = data.draw(values[field], label=field)
        self.write("site.yaml", site_text(self.site), old)

    @rule(on=st.booleans(), old=old_mtime)
    def use_own_theme(self, on: bool, old: bool) -> None:
        """Build with the theme folder beside the content folder, or with the default one."""
        self.site["theme"] = f"../{THEME}" if on else None
        self.write("site.yaml", site_text(self.site), old)

    @rule(kind=st.sampled_from(["templates", "static"]), data=st.data(), old=old_mtime)
    def write_theme_file(self, kind: str, data: st.DataObject, old: bool) -> None:
        """A template or static file in the theme folder (whose templates/ or static/ folder
        may not exist yet), whether or not the site uses that theme."""
        if kind == "templates":
            name = data.draw(st.sampled_from(TEMPLATES), label="template")
            variant = data.draw(st.integers(0, len(TEMPLATE_ADDITIONS) - 1), label="variant")
            self.clock += 1
            text = override_text(name, variant, self.clock)
        else:
            name = data.draw(st.sampled_from([*STATIC, *THEME_STATIC]), label="static")
            text = f"/* {data.draw(words, label='text')} */\n"
        self.theme_files[f"{kind}/{name}"] = text
        self.write(f"../{THEME}/{kind}/{name}", text, old)

    @precondition(lambda self: bool(self.theme_files))
    @rule(data=st.data(), folder_too=st.booleans())
    def remove_theme_file(self, data: st.DataObject, folder_too: bool) -> None:
        relative = data.draw(st.sampled_from(sorted(self.theme_files)), label="theme file")
        del self.theme_files[relative]
        self.remove(f"../{THEME}/{relative}", folder_too and "theme-folders" not in KNOWN_BUGS)

    @rule()
    def time_passes(self) -> None:
        self.let_time_pass()

    @rule(today=todays)
    def move_today(self, today: dt.date) -> None:
        self.today = today

    @precondition(lambda self: self.has("stages"))
    @rule(data=st.data(), edge=st.sampled_from(["start", "end"]), side=st.sampled_from([-1, 0, 1]))
    def move_today_across_a_stage(self, data: st.DataObject, edge: str, side: int) -> None:
        """The day before, on or after a stage's start or end: its status changes."""
        stage = self.records["stages"][self.pick(data, "stages")]
        day = stage[edge] or stage["start"] or stage["end"]
        if day is not None:
            self.today = day + dt.timedelta(days=side)

    @precondition(lambda self: self.last is not None)
    @rule(damage=st.sampled_from(["garbage", "empty", "tables", "foreign"]))
    def damage_the_state(self, damage: str) -> None:
        """A state file that cannot be trusted is ignored: the next build is a full one."""
        state = state_path(self.out)
        if damage == "garbage":
            state.write_bytes(b"\x00not SQLite\xff" * 100)
        elif damage == "empty":
            state.write_bytes(b"")
        elif damage == "tables":
            drop_table(state, "outputs")
            # and an input changes, or the build answers from the intact meta data that
            # nothing changed (rightly: the site is as the state says)
            self.write("site.yaml", site_text(self.site), old=True)
        else:  # the state of the same content built into another folder
            other = self.tmp / "other" / "public"
            with forked_rendering(self.fork):
                build(self.content, other, today=self.today)
            shutil.copyfile(state_path(other), state)
        if self.engine is not None:  # the file is read by the next process that starts
            self.engine = Engine(state_path(self.out))
        assert self.build().changes.full
        self.check()

    @rule(fork=st.booleans())
    def switch_rendering(self, fork: bool) -> None:
        """Render in forked workers, as for a big site, or all in this process."""
        self.fork = fork

    @rule(small=st.booleans())
    def switch_runs(self, small: bool) -> None:
        """Keep long lists in runs of a few items, as a site of thousands keeps them in runs
        of about deps.CHUNK, or item by item as a small site does."""
        self.small_runs = small

    @rule(long_lived=st.booleans())
    def switch_process(self, long_lived: bool) -> None:
        """Build with one engine from now on (what pantau dev does: records and fragments
        validated once stay in memory), or as a fresh process each time."""
        self.engine = Engine(state_path(self.out)) if long_lived else None

    @rule()
    def rebuild_unchanged(self) -> None:
        """Nothing changed since the last build: the next one writes and removes nothing."""
        result = self.build()
        assert not result.changes.full
        assert result.changes.written == []
        assert result.changes.removed == []

    # the property ----------------------------------------------------------------------------

    @invariant()
    def incremental_build_equals_clean_build(self) -> None:
        if not (self.content / "site.yaml").exists():
            return  # before initialize
        first = self.last is None
        self.last = self.build()
        assert self.last.changes.full == first
        self.check()
        self.steps += 1
        self.let_time_pass(steps=2)  # two builds saw them just written


@contextlib.contextmanager
def forked_rendering(on: bool) -> Iterator[None]:
    """With ``on``, every batch of outputs is shared out between forked workers, as a site of
    PARALLEL_FROM outputs or more is (when this process may fork); else as the site's size
    decides (for these small sites: all in this process)."""
    saved = parallel.PARALLEL_FROM
    parallel.PARALLEL_FROM = 1 if on else saved
    try:
        yield
    finally:
        parallel.PARALLEL_FROM = saved


@contextlib.contextmanager
def small_runs(on: bool = True) -> Iterator[None]:
    """With ``on``, lists of four items or more are kept in runs of two or so (at most
    three), as lists of thousands are kept in runs of deps.CHUNK."""
    saved = deps.CHUNK, deps.MAX_CHUNK
    if on:
        deps.CHUNK, deps.MAX_CHUNK = 2, 3
    try:
        yield
    finally:
        deps.CHUNK, deps.MAX_CHUNK = saved


def drop_table(state: Path, table: str) -> None:
    """Damage a state file past its meta data: one of its tables is gone."""
    with contextlib.closing(sqlite3.connect(state)) as db, db:
        db.execute(f"DROP TABLE IF EXISTS {table}")


def assert_same_as_clean_build(content: Path, out: Path, today: dt.date) -> None:
    """verify_build, and on a difference every file that differs (not only the first)."""
    try:
        verify_build(content, out, today)
    except BuildError as exc:
        with tempfile.TemporaryDirectory(prefix="pantau-clean-") as tmp:
            clean = build(content, Path(tmp) / "public", today=today).files
            built = SiteFiles(out)
            paths = sorted(set(clean) | set(built))
            differing = [p for p in paths if clean.get(p) != built.get(p)]
        raise AssertionError(f"{exc}; all files that differ: {differing}") from None


@pytest.mark.slow
def test_incremental_builds_equal_clean_builds() -> None:
    run_state_machine_as_test(
        IncrementalBuilds,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


# deterministic checks ----------------------------------------------------------------------

STAGE_TEMPLATE = """\
---
title: {title}
phase: penyelenggaraan
start: 2024-11-{day:02d}
summary: Tahapan {n}.
divisions: [keamanan]
---
Isi tahapan {n}.
"""


def test_one_changed_title_renders_only_what_shows_it(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    for n in range(1, 7):
        write(f"stages/tahap-{n}.md", STAGE_TEMPLATE.format(title=f"Tahap {n}", day=n, n=n))
    out = tmp_path / "public"
    first = build(scratch_content, out, today=VOTING_DAY)
    assert first.changes.full
    write("stages/tahap-3.md", STAGE_TEMPLATE.format(title="Tahap tiga diganti", day=3, n=3))
    second = build(scratch_content, out, today=VOTING_DAY)
    changes = second.changes
    assert not changes.full
    assert 0 < changes.rendered <= changes.total // 3, changes.summary()
    assert "tahapan/tahap-3/index.html" in changes.written
    others = {f"tahapan/tahap-{n}/index.html" for n in (1, 2, 4, 5, 6)}
    assert others.isdisjoint(changes.outputs), sorted(changes.outputs)
    assert "Tahap tiga diganti" in second.files["tahapan/tahap-3/index.html"].decode()
    assert "Tahap tiga diganti" in second.files["tahapan/index.html"].decode()
    verify_build(scratch_content, out, VOTING_DAY)


def item(
    versions: dict[int, int], made: list[int], n: int
) -> tuple[tuple[str, int], Callable[[], str]]:
    """Item n of a list for Fragments.combined: it reads r:<n>, shows its version and notes
    in ``made`` that it was made."""

    def make() -> str:
        made.append(n)
        deps.note(f"r:{n}")
        return f"<{n}.{versions[n]}>"

    return ("item", n), make


def test_a_long_list_is_kept_in_runs_and_a_change_makes_only_its_run_again() -> None:
    """Fragments.combined: the same value as one join, and after one item changes (or one
    is added) only the run or two around it are made again; the rest is reused."""
    versions = {n: 0 for n in range(0, 2000, 2)}
    made: list[int] = []

    def combined(kept: dict[Any, Any]) -> tuple[str, deps.Fragments]:
        fragments = deps.Fragments(kept)
        fragments.fingerprint = lambda key: str(versions.get(int(key[2:]), "-"))
        made.clear()
        items = [item(versions, made, n) for n in sorted(versions)]
        return fragments.combined(items, ",".join), fragments

    def expected() -> str:
        return ",".join(f"<{n}.{versions[n]}>" for n in sorted(versions))

    value, first = combined({})
    assert value == expected()
    assert sorted(made) == sorted(versions)
    kept = first.made_here()
    assert len(kept) < len(versions) / 8  # runs, not items

    versions[1000] += 1
    value, second = combined(kept)
    assert value == expected()
    assert 1000 in made and len(made) <= deps.MAX_CHUNK
    kept.update(second.made_here())

    versions[1001] = 0  # a new item between two others
    value, third = combined(kept)
    assert value == expected()
    assert 1001 in made and len(made) <= 2 * deps.MAX_CHUNK
    kept.update(third.made_here())

    del versions[0], versions[1998]  # the first and the last
    value, _ = combined(kept)
    assert value == expected()
    assert len(made) <= 2 * deps.MAX_CHUNK


def test_a_long_lived_process_makes_only_the_changed_items_of_a_run() -> None:
    """In one process (a server, pantau dev), the items of a run made again stay in memory,
    also through builds that take the run as kept: the next change to one of them makes that
    item alone; items are never written to the state, only runs are."""
    versions = {n: 0 for n in range(1000)}
    made: list[int] = []

    trusted: dict[Any, Any] = {}

    def build(*changed: int) -> deps.Fragments:
        for n in changed:
            versions[n] += 1
        fragments = deps.Fragments({}, trusted)
        fragments.fingerprint = lambda key: str(versions[int(key[2:])])
        fragments.changed = frozenset(f"r:{n}" for n in changed)
        made.clear()
        value = fragments.combined([item(versions, made, n) for n in versions], ",".join)
        assert value == ",".join(f"<{n}.{versions[n]}>" for n in versions)
        trusted.clear()
        trusted.update(fragments.used)
        return fragments

    build()
    assert len(made) == 1000
    build(500)
    assert 500 in made and len(made) <= deps.MAX_CHUNK  # its run, made afresh
    last = build(500)
    assert made == [500]
    assert all(key[0] == "run" for key in last.made_here())
    build(10)  # another run (a run holds at most MAX_CHUNK items): 500's is taken as kept
    build(500)
    assert made == [500]


def test_a_few_large_outputs_are_shared_between_the_cores(
    scratch_content: Path, write: Writer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change whose outputs were PARALLEL_BYTES large last time renders them in forked
    workers, however few they are, and the site equals a clean build."""
    if parallel.workers() == 1:
        pytest.skip("this process may not fork, or has one core")
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    monkeypatch.setattr(parallel, "PARALLEL_BYTES", 1)
    forks: list[int] = []
    fork = os.fork

    def counted() -> int:
        forks.append(1)
        return fork()

    monkeypatch.setattr(os, "fork", counted)
    write("stages/tahap-1.md", STAGE_TEMPLATE.format(title="Tahap satu", day=1, n=1))
    result = build(scratch_content, out, today=VOTING_DAY)
    assert not result.changes.full and result.changes.rendered < parallel.PARALLEL_FROM
    assert forks, "no worker was forked"
    monkeypatch.setattr(os, "fork", fork)
    assert_same_as_clean_build(scratch_content, out, VOTING_DAY)


def test_lists_kept_in_runs_follow_every_edit(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    """Lists of a site's records kept in runs (small ones here, as a large site keeps runs
    of deps.CHUNK) equal a clean build after a change, an addition, a deletion and a new
    order; a fresh process each time, reading the runs from the state file."""
    out = tmp_path / "public"
    with small_runs():
        for n in range(1, 13):
            write(f"stages/tahap-{n}.md", STAGE_TEMPLATE.format(title=f"Tahap {n}", day=n, n=n))
        assert build(scratch_content, out, today=VOTING_DAY).changes.full
        with contextlib.closing(sqlite3.connect(state_path(out))) as db:
            runs = db.execute("SELECT count(*) FROM fragments WHERE key LIKE '(''run''%'")
            assert runs.fetchone()[0] > 0
        edits: list[Callable[[], None]] = [
            lambda: write("stages/tahap-5.md", STAGE_TEMPLATE.format(title="Lima", day=5, n=5)),
            lambda: write("stages/tahap-13.md", STAGE_TEMPLATE.format(title="Baru", day=6, n=13)),
            lambda: (scratch_content / "stages" / "tahap-2.md").unlink(),
            lambda: write("stages/tahap-9.md", STAGE_TEMPLATE.format(title="Awal", day=1, n=9)),
        ]
        for edit in edits:
            edit()
            result = build(scratch_content, out, today=VOTING_DAY)
            assert not result.changes.full
            assert_same_as_clean_build(scratch_content, out, VOTING_DAY)


def test_a_long_lived_engine_validates_only_the_records_that_changed(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    """pantau dev keeps one engine: a record whose text is unchanged is the object it
    validated before; a changed one is read again, and the site equals a clean build."""
    for n in range(1, 4):
        write(f"stages/tahap-{n}.md", STAGE_TEMPLATE.format(title=f"Tahap {n}", day=n, n=n))
    out = tmp_path / "public"
    engine = Engine(state_path(out))
    build(scratch_content, out, today=VOTING_DAY, engine=engine)

    def validated(n: int) -> Any:
        path = scratch_content / "stages" / f"tahap-{n}.md"
        return engine.state.validated(path, text_digest(path.read_text(encoding="utf-8")))

    first = {n: validated(n) for n in range(1, 4)}
    assert all(entry is not None for entry in first.values())
    write("stages/tahap-2.md", STAGE_TEMPLATE.format(title="Tahap dua diganti", day=2, n=2))
    second = build(scratch_content, out, today=VOTING_DAY, engine=engine)
    assert not second.changes.full
    assert validated(1) is first[1] and validated(3) is first[3]
    assert validated(2) is not None and validated(2).data.title == "Tahap dua diganti"
    page = (out / "tahapan" / "tahap-2" / "index.html").read_text(encoding="utf-8")
    assert "Tahap dua diganti" in page
    assert_same_as_clean_build(scratch_content, out, VOTING_DAY)


def test_a_damaged_state_file_is_ignored(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    state = state_path(out)
    assert state == tmp_path / ".public.pantau-state"
    assert state.is_file()
    state.write_bytes(b"\x00garbage, not SQLite\xff" * 64)
    write("stages/baru.md", STAGE_TEMPLATE.format(title="Tahap baru", day=1, n=9))
    result = build(scratch_content, out, today=VOTING_DAY)
    assert result.changes.full
    verify_build(scratch_content, out, VOTING_DAY)
    again = build(scratch_content, out, today=VOTING_DAY)  # the replaced state is trusted
    assert not again.changes.full
    assert again.changes.written == []


def test_the_state_of_another_folder_is_ignored(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    one, two = tmp_path / "one" / "public", tmp_path / "two" / "public"
    build(scratch_content, one, today=VOTING_DAY)
    write("stages/baru.md", STAGE_TEMPLATE.format(title="Tahap baru", day=1, n=9))
    build(scratch_content, two, today=VOTING_DAY)
    shutil.copyfile(state_path(one), state_path(two))  # describes one, not two
    write("stages/baru.md", STAGE_TEMPLATE.format(title="Tahap baru lagi", day=2, n=9))
    result = build(scratch_content, two, today=VOTING_DAY)
    assert result.changes.full
    verify_build(scratch_content, two, VOTING_DAY)
    assert "Tahap baru lagi" in result.files["tahapan/baru/index.html"].decode()


# bugs the property test found, each pinned by a test ----------------------------------------


def test_a_region_page_shows_the_region_as_edited(scratch_content: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    regions = scratch_content / "regions.yaml"
    regions.write_text(REGIONS.replace("Provinsi Kalimantan Timur", "Provinsi Kaltim"))
    result = build(scratch_content, out, today=VOTING_DAY)
    assert (
        "<h1>Provinsi Kaltim</h1>" in result.files["wilayah/kalimantan-timur/index.html"].decode()
    )
    verify_build(scratch_content, out, VOTING_DAY)


@pytest.mark.parametrize("path", ["tim/keamanan/index.html", "sw.js"])
@pytest.mark.parametrize("settled", [False, True], ids=["fresh-content", "settled-content"])
def test_a_deleted_output_file_is_written_again(
    scratch_content: Path, tmp_path: Path, path: str, settled: bool
) -> None:
    """Also when no input changed and the content is old enough for the build to answer
    "nothing changed" from its stamp of the inputs alone."""
    if settled:
        for file in scratch_content.rglob("*"):
            os.utime(file, ns=(OLD_NS, OLD_NS))
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    again = build(scratch_content, out, today=VOTING_DAY)
    assert again.changes.rendered == 0
    (out / path).unlink()
    build(scratch_content, out, today=VOTING_DAY)
    assert (out / path).is_file()
    verify_build(scratch_content, out, VOTING_DAY)


def test_a_content_static_file_replaces_the_theme_file(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    write("static/style.css", "body { color: red }\n")
    result = build(scratch_content, out, today=VOTING_DAY)
    assert result.files["static/style.css"] == b"body { color: red }\n"
    verify_build(scratch_content, out, VOTING_DAY)


def coarse_clock() -> Callable[[Path], Path]:
    """Set files' modification time as a filesystem with one-second timestamps does for
    writes within one second: the same time for all of them (this second: just written)."""
    ns = time.time_ns() // 10**9 * 10**9

    def stamp(path: Path) -> Path:
        os.utime(path, ns=(ns, ns))
        return path

    return stamp


def test_a_static_file_rewritten_within_a_second_is_copied_again(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    stamp = coarse_clock()
    stamp(write("static/extra.css", "a { color: red }\n"))
    build(scratch_content, out, today=VOTING_DAY)
    stamp(write("static/extra.css", "a { color: tan }\n"))
    result = build(scratch_content, out, today=VOTING_DAY)
    assert result.files["static/extra.css"] == b"a { color: tan }\n"


def test_a_template_rewritten_within_a_second_is_used(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    stamp = coarse_clock()
    page = "{% extends 'base.html' %}{% block title %}TITLE{% endblock %}"
    stamp(write("templates/404.html", page.replace("TITLE", "Satu")))
    build(scratch_content, out, today=VOTING_DAY)
    stamp(write("templates/404.html", page.replace("TITLE", "Dua!")))
    result = build(scratch_content, out, today=VOTING_DAY)
    assert "<title>Dua! · Situs Uji</title>" in result.files["404.html"].decode()


def test_a_template_trusted_in_one_build_is_looked_at_again_in_the_next(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    """A build looks at each template's file once; the next build of the same process looks
    again, so an edit between two builds is used."""
    out = tmp_path / "public"
    page = "{% extends 'base.html' %}{% block title %}TITLE{% endblock %}"
    hour_ago = time.time() - 3600
    path = write("templates/404.html", page.replace("TITLE", "Satu"))
    os.utime(path, (hour_ago, hour_ago))  # old enough to be trusted
    build(scratch_content, out, today=VOTING_DAY)
    path.write_text(page.replace("TITLE", "Dua!"), encoding="utf-8")
    os.utime(path, (hour_ago + 60, hour_ago + 60))
    result = build(scratch_content, out, today=VOTING_DAY)
    assert "<title>Dua! · Situs Uji</title>" in result.files["404.html"].decode()


def test_a_broken_service_worker_template_is_a_template_error(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    before = dict(SiteFiles(out))
    write("templates/sw.js", "const X = {{ nothing( }};\n")
    with pytest.raises(TemplateError, match=r"sw\.js:1"):
        build(scratch_content, out, today=VOTING_DAY)
    assert dict(SiteFiles(out)) == before


def test_a_state_whose_tables_are_damaged_is_ignored(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    for folder in ("stages", "teams", "campaigns"):
        shutil.rmtree(scratch_content / folder)
    write("static/extra.css", "a { color: red }\n")
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    drop_table(state_path(out), "outputs")
    (scratch_content / "static" / "extra.css").unlink()
    result = build(scratch_content, out, today=VOTING_DAY)
    assert result.changes.full
    verify_build(scratch_content, out, VOTING_DAY)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("static/extra.css", "a { color: red }\n"),
        ("templates/404.html", "{% extends 'base.html' %}{% block title %}Hilang{% endblock %}"),
    ],
    ids=["static", "template"],
)
def test_a_new_folder_in_a_theme_outside_the_content_is_seen(
    scratch_content: Path, tmp_path: Path, name: str, text: str
) -> None:
    site = scratch_content / "site.yaml"
    site.write_text(site.read_text() + "theme: ../tema\n")
    (tmp_path / "tema").mkdir()
    for file in scratch_content.rglob("*"):
        os.utime(file, ns=(OLD_NS, OLD_NS))  # settled content: the stamp is trusted
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    build(scratch_content, out, today=VOTING_DAY)
    added = tmp_path / "tema" / name
    added.parent.mkdir()
    added.write_text(text)  # just written
    build(scratch_content, out, today=VOTING_DAY)
    verify_build(scratch_content, out, VOTING_DAY)


@pytest.mark.parametrize("slug", ["tahapan", "cari", "riwayat"])
def test_a_page_named_like_a_section_is_refused(
    scratch_content: Path, write: Writer, tmp_path: Path, slug: str
) -> None:
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    write(f"pages/{slug}.md", "---\ntitle: Halaman bernama seperti bagian situs\n---\nIsi.\n")
    with pytest.raises(ContentError, match=rf"pages/{slug}\.md:1: slug: .*section {slug}/"):
        build(scratch_content, out, today=VOTING_DAY)


def test_every_top_level_folder_of_the_site_is_reserved(
    scratch_content: Path, tmp_path: Path
) -> None:
    """A page can never share a path with a section, including sections added later."""
    result = build(scratch_content, tmp_path / "public", today=VOTING_DAY)
    folders = {path.split("/")[0] for path in result.files if "/" in path}
    pages = {path.stem for path in (scratch_content / "pages").glob("*")}
    assert folders - pages <= reserved_slugs(SPECS["pages"])


def test_a_template_added_beside_other_overrides_is_used(
    scratch_content: Path, write: Writer, tmp_path: Path
) -> None:
    write("templates/404.html", "{% extends 'base.html' %}{% block title %}Hilang{% endblock %}")
    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)  # compiles the theme's team.html
    team = (THEME_TEMPLATES / "team.html").read_text(encoding="utf-8")
    write("templates/team.html", team.replace("<h1>", '<h1 class="diganti">'))
    result = build(scratch_content, out, today=VOTING_DAY)
    assert '<h1 class="diganti">' in result.files["tim/keamanan/index.html"].decode()


def test_a_record_read_while_recent_is_reused_only_while_its_text_is_the_same(
    scratch_content: Path, tmp_path: Path
) -> None:
    """Files written a moment ago are kept with their text's digest: the next build reuses
    an unchanged one without parsing it, and sees an edit that kept the file's size and
    modification time (which a time-based check alone would miss)."""
    from site_builder.state import UNTRUSTED_TIME, State, state_path

    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)  # the files are seconds old: not trusted
    stage = scratch_content / "stages" / "pemungutan-suara.md"
    kept = State(state_path(out))._records[str(stage)]
    assert kept[0] == UNTRUSTED_TIME
    before = stage.stat()
    text = stage.read_text(encoding="utf-8")
    edited = text.replace("summary: Hari", "summary: Hali", 1)
    assert edited != text and len(edited) == len(text)
    stage.write_text(edited, encoding="utf-8")
    os.utime(stage, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same time
    result = build(scratch_content, out, today=VOTING_DAY)
    assert "Hali pemungutan suara" in result.files["tahapan/pemungutan-suara/index.html"].decode()
    verify_build(scratch_content, out, VOTING_DAY)


def test_a_fresh_process_takes_unchanged_records_from_the_state(
    scratch_content: Path, tmp_path: Path
) -> None:
    """The state keeps every record's validated data (written when the build is saved, not
    held as JSON while it runs); the next process reads unchanged records from it, equal to
    what parsing the files gives."""
    from site_builder.load import load_content
    from site_builder.state import State, state_path

    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)
    with contextlib.closing(sqlite3.connect(state_path(out))) as db:
        rows = dict(db.execute("SELECT path, data FROM records").fetchall())
    parsed = load_content(scratch_content)
    files = {str(e.path): e for entries in parsed.entries.values() for e in entries.values()}
    assert set(rows) == set(files)
    assert all(rows[p] == files[p].data.model_dump_json() for p in files)
    for path in files:  # old enough for their modification time to be trusted
        os.utime(path, ns=(OLD_NS, OLD_NS))
    build(scratch_content, out, today=VOTING_DAY)
    state = State(state_path(out))
    assert all(state.get(Path(p)) == (files[p].digest, rows[p]) for p in files)
    cached = load_content(scratch_content, cache=State(state_path(out)))
    assert {e.key: e.data for entries in cached.entries.values() for e in entries.values()} == {
        e.key: e.data for entries in parsed.entries.values() for e in entries.values()
    }


def test_a_full_build_that_did_not_read_the_content_keeps_the_record_cache(
    scratch_content: Path, tmp_path: Path
) -> None:
    """A server builds from the records it holds, not through the cache: when such a build
    is a full one (the state file is written afresh), every kept record stays in it."""
    from site_builder.state import State, state_path

    out = tmp_path / "public"
    build(scratch_content, out, today=VOTING_DAY)

    def kept() -> dict[str, tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(state_path(out))) as db:
            return {row[0]: row[1:] for row in db.execute("SELECT * FROM records")}

    before = kept()
    assert before
    state = State(state_path(out))
    state.load()
    state.save(dict(state.meta), {}, [], {}, {}, replace=True)
    assert kept() == before
