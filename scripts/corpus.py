"""The benchmark corpus: the shipped content plus N synthetic records, and the same records
converted for Pelican and Hugo.

    generate(target, records)   # Pantau content folder: shipped content + `records` records
    read_documents(content)     # every record of a Pantau content folder, tool-neutral
    write_pelican(docs, site)   # Pelican site: content/*.md with metadata lines + pelicanconf.py
    write_hugo(docs, site)      # Hugo site: content/<section>/<slug>.md + layouts + config

Synthetic records: 60% stages, 20% teams (divisions), 20% campaigns, each with a Markdown body
of 300-600 words drawn from a fixed word list with a seeded RNG (one RNG per record, so record
k is the same whatever N is), one or two `## headings` and, in one record in three, a small
table. Every other campaign is province-wide (`regions: [kalimantan-timur]`).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parent.parent
WITA = ZoneInfo("Asia/Makassar")
COLLECTIONS = ("stages", "teams", "campaigns", "pages")
PROVINCE = "kalimantan-timur"
# The 10 kabupaten/kota of content/regions.yaml.
REGIONS = (
    "paser",
    "kutai-kartanegara",
    "berau",
    "kutai-barat",
    "kutai-timur",
    "penajam-paser-utara",
    "mahakam-ulu",
    "balikpapan",
    "samarinda",
    "bontang",
)
PHASES = ("persiapan", "penyelenggaraan", "pasca")
# A division every stage can fall back on when N is too small to have synthetic teams.
SHIPPED_DIVISION = "pemantauan-analisis"
UPDATED = "2026-11-29T10:00:00+08:00"

_WORD_TEXT = """
pemilih suara tahapan kampanye daerah pengawasan pemantauan laporan kecamatan desa kelurahan
panitia logistik kotak surat tempat pemungutan penghitungan rekapitulasi calon pasangan bupati
wali kota gubernur wakil partai politik uang netralitas aparatur sipil negara keamanan
ketertiban masyarakat sosialisasi partisipasi pemula perempuan disabilitas akses jadwal
anggaran dana hibah peraturan keputusan komisi badan pengawas petugas relawan warga sungai
hulu hilir pedalaman perbatasan jalan perahu cuaca hujan banjir jaringan sinyal internet
media sosial hoaks berita informasi publik transparansi terbuka rapat koordinasi evaluasi
temuan rekomendasi tindak lanjut sengketa gugatan mahkamah konstitusi putusan ulang hasil
perolehan sah tidak dan yang di ke dari untuk dengan pada dalam oleh agar serta juga telah
akan sudah belum masih setiap seluruh beberapa banyak baru lama pagi siang malam hari minggu
bulan tahun provinsi kabupaten daftar tetap sementara perbaikan pencocokan penelitian
kerawanan deteksi dini pelanggaran dugaan klarifikasi saksi formulir salinan distribusi
"""
WORDS = _WORD_TEXT.split()

STAGE = """\
---
title: {title}
phase: {phase}
start: {start}
summary: {summary}
monitoring:
  - {monitoring}
divisions:
  - {division}
checked: unchecked
sources:
  - title: Sumber sintetis untuk uji
    url: https://example.org/sumber-uji
updated: {updated}
---
{body}"""

TEAM = """\
---
name: {title}
role: divisi
summary: {summary}
tupoksi:
  - {tupoksi}
checked: unchecked
sources:
  - title: Sumber sintetis untuk uji
    url: https://example.org/sumber-uji
updated: {updated}
---
{body}"""

CAMPAIGN = """\
---
title: {title}
summary: {summary}
audience: [pemilih pemula, masyarakat umum]
regions: [{region}]
organiser: Penyelenggara uji
call_to_action: Datang ke TPS dan bawa KTP elektronik.
checked: unchecked
sources:
  - title: Sumber sintetis untuk uji
    url: https://example.org/sumber-uji
updated: {updated}
---
{body}"""


@dataclass(frozen=True)
class Document:
    """One record, reduced to what every tool renders: title, date, summary and body."""

    collection: str
    slug: str
    title: str
    date: dt.datetime
    summary: str
    body: str


def _words(rng: random.Random, count: int) -> list[str]:
    return rng.choices(WORDS, k=count)


def _sentence(rng: random.Random, count: int) -> str:
    words = _words(rng, count)
    return " ".join(words).capitalize() + "."


def _quoted(text: str) -> str:
    """A YAML scalar for any text (JSON strings are YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _table(rng: random.Random) -> str:
    rows = ["| Kabupaten/kota | TPS | Catatan |", "|---|---:|---|"]
    for region in rng.sample(REGIONS, rng.randint(3, 5)):
        name = region.replace("-", " ").title()
        rows.append(f"| {name} | {rng.randint(40, 2400)} | {' '.join(_words(rng, 4))} |")
    return "\n".join(rows)


def body(rng: random.Random) -> str:
    """A Markdown body of 300-600 words: paragraphs, one or two headings, maybe a table."""
    remaining = rng.randint(300, 600)
    paragraphs: list[str] = []
    while remaining > 0:
        sentences: list[str] = []
        for _ in range(rng.randint(3, 6)):
            if remaining <= 0:
                break
            count = min(remaining, rng.randint(6, 14))
            sentences.append(_sentence(rng, count))
            remaining -= count
        paragraphs.append(" ".join(sentences))
    for _ in range(rng.randint(1, 2)):
        heading = "## " + " ".join(_words(rng, rng.randint(2, 4))).capitalize()
        paragraphs.insert(rng.randint(1, max(1, len(paragraphs) - 1)), heading)
    if rng.random() < 1 / 3:
        paragraphs.insert(rng.randint(1, len(paragraphs)), _table(rng))
    return "\n\n".join(paragraphs) + "\n"


def _rng(seed: int, kind: str, n: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{n}")


def generate(target: Path, records: int, seed: int = 2024) -> Path:
    """Copy the shipped content to `target` and add `records` synthetic records."""
    shutil.copytree(ROOT / "content", target)
    teams = records // 5
    campaigns = records // 5
    stages = records - teams - campaigns
    for n in range(teams):
        rng = _rng(seed, "team", n)
        text = TEAM.format(
            title=_quoted(f"Divisi uji {n}"),
            summary=_quoted(_sentence(rng, rng.randint(12, 24))),
            tupoksi=_quoted(_sentence(rng, 8)),
            updated=UPDATED,
            body=body(rng),
        )
        (target / "teams" / f"divisi-uji-{n}.md").write_text(text, encoding="utf-8")
    for n in range(stages):
        rng = _rng(seed, "stage", n)
        division = f"divisi-uji-{n % teams}" if teams else SHIPPED_DIVISION
        text = STAGE.format(
            title=_quoted(f"Tahapan uji {n}"),
            phase=PHASES[n % len(PHASES)],
            start=f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
            summary=_quoted(_sentence(rng, rng.randint(12, 24))),
            monitoring=_quoted(_sentence(rng, 6)),
            division=division,
            updated=UPDATED,
            body=body(rng),
        )
        (target / "stages" / f"tahapan-uji-{n}.md").write_text(text, encoding="utf-8")
    for n in range(campaigns):
        rng = _rng(seed, "campaign", n)
        region = PROVINCE if n % 2 == 0 else REGIONS[(n // 2) % len(REGIONS)]
        text = CAMPAIGN.format(
            title=_quoted(f"Kampanye uji {n}"),
            summary=_quoted(_sentence(rng, rng.randint(12, 24))),
            region=region,
            updated=UPDATED,
            body=body(rng),
        )
        (target / "campaigns" / f"kampanye-uji-{n}.md").write_text(text, encoding="utf-8")
    return target


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=WITA)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=WITA)
    if isinstance(value, str):
        try:
            return _when(dt.datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _split(text: str) -> tuple[dict[str, Any], str]:
    """Front matter and body of a .md record; a .yaml record is all front matter."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if text.startswith("---\n"):
        front, _, rest = text[4:].partition("\n---\n")
        return yaml.load(front, Loader=loader) or {}, rest
    return yaml.load(text, Loader=loader) or {}, ""


def read_documents(content: Path) -> list[Document]:
    """Every record of a Pantau content folder (stages, teams, campaigns, pages)."""
    docs: list[Document] = []
    for collection in COLLECTIONS:
        folder = content / collection
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".md", ".yaml", ".yml"):
                continue
            meta, text = _split(path.read_text(encoding="utf-8"))
            date = _when(meta.get("start")) or _when(meta.get("updated"))
            docs.append(
                Document(
                    collection=collection,
                    slug=path.stem,
                    title=str(meta.get("title") or meta.get("name") or path.stem),
                    date=date or dt.datetime(2024, 11, 27, tzinfo=WITA),
                    summary=" ".join(str(meta.get("summary") or "").split()),
                    body=text,
                )
            )
    return docs


PELICANCONF = """\
# Minimal Pelican settings for the Pantau benchmark: defaults, except these.
AUTHOR = "Pantau benchmark"
SITENAME = "Pantau benchmark"
SITEURL = ""
PATH = "content"
TIMEZONE = "Asia/Makassar"
DEFAULT_LANG = "id"
RELATIVE_URLS = True
"""


def write_pelican(docs: list[Document], site: Path) -> Path:
    """A Pelican site: every record in content/ as Markdown with metadata lines."""
    folder = site / "content"
    folder.mkdir(parents=True)
    (site / "pelicanconf.py").write_text(PELICANCONF, encoding="utf-8")
    for doc in docs:
        head = [
            f"Title: {doc.title}",
            f"Date: {doc.date.astimezone(WITA):%Y-%m-%d %H:%M}",
            f"Category: {doc.collection}",
            f"Slug: {doc.slug}",
        ]
        if doc.summary:
            head.append(f"Summary: {doc.summary}")
        text = "\n".join(head) + "\n\n" + doc.body
        (folder / f"{doc.collection}-{doc.slug}.md").write_text(text, encoding="utf-8")
    return site


HUGO_CONFIG = """\
baseURL: /
languageCode: id
title: Pantau benchmark
timeZone: Asia/Makassar
relativeURLs: true
buildFuture: true
disableKinds: []
"""

HUGO_HEAD = """\
<!doctype html>
<html lang="id">
<head><meta charset="utf-8"><title>{{ .Title }} | {{ .Site.Title }}</title></head>
<body>
<nav><a href="{{ "/" | relURL }}">{{ .Site.Title }}</a></nav>
"""

HUGO_LAYOUTS = {
    "single.html": HUGO_HEAD
    + """\
<main>
<p><a href="{{ .CurrentSection.RelPermalink }}">{{ .CurrentSection.Title }}</a></p>
<h1>{{ .Title }}</h1>
<p>{{ .Summary }}</p>
<p><time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2 January 2006" }}</time></p>
{{ .Content }}
</main>
</body>
</html>
""",
    "list.html": HUGO_HEAD
    + """\
<main>
<h1>{{ .Title }}</h1>
<ul>
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>: {{ .Summary }}</li>
{{ end }}</ul>
</main>
</body>
</html>
""",
    "index.html": HUGO_HEAD
    + """\
<main>
<h1>{{ .Site.Title }}</h1>
{{ range .Site.Sections }}<section>
<h2><a href="{{ .RelPermalink }}">{{ .Title }}</a> ({{ len .Pages }})</h2>
<ul>
{{ range first 10 .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>
{{ end }}</ul>
</section>
{{ end }}</main>
</body>
</html>
""",
}


def write_hugo(docs: list[Document], site: Path) -> Path:
    """A Hugo site: content/<collection>/<slug>.md with YAML front matter, minimal layouts."""
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "config.yaml").write_text(HUGO_CONFIG, encoding="utf-8")
    for name, text in HUGO_LAYOUTS.items():
        folder = site / "layouts" if name == "index.html" else site / "layouts" / "_default"
        (folder / name).write_text(text, encoding="utf-8")
    for collection in {doc.collection for doc in docs}:
        (site / "content" / collection).mkdir(parents=True)
    for doc in docs:
        front = [
            "---",
            f"title: {_quoted(doc.title)}",
            f"date: {doc.date.isoformat()}",
            f"summary: {_quoted(doc.summary)}",
            "---",
        ]
        text = "\n".join(front) + "\n" + doc.body
        path = site / "content" / doc.collection / f"{doc.slug}.md"
        path.write_text(text, encoding="utf-8")
    return site
