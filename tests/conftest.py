"""Shared fixtures: a session build of the real content, and scratch content from strings."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from site_builder.build import BuildResult, build

if TYPE_CHECKING:
    from .server import ServerProcess

# Messages in English, whatever the machine's locale: tests compare them, and commands run in
# subprocesses inherit this. The Indonesian messages are tested with --lang and
# Accept-Language (tests/test_i18n.py).
for _variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_variable, None)
os.environ["LANG"] = "C.UTF-8"

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
VOTING_DAY = dt.date(2024, 11, 27)

SITE = """\
title: Situs Uji
organisation: Tim Uji
election_day: 2024-11-27
"""

REGIONS = """\
regions:
  - slug: kalimantan-timur
    name: Provinsi Kalimantan Timur
    kind: provinsi
    kemendagri_code: "64"
    seat: Samarinda
    election: Pilgub
    sources:
      - title: Sumber wilayah
        url: https://example.org/wilayah
  - slug: samarinda
    name: Kota Samarinda
    kind: kota
    kemendagri_code: "64.72"
    seat: Samarinda
    election: Pilwali
    sources:
      - title: Sumber wilayah
        url: https://example.org/wilayah
"""

STAGE = """\
---
title: Pemungutan suara
phase: penyelenggaraan
start: 2024-11-27
summary: Hari pemungutan suara.
divisions:
  - keamanan
checked: press
sources:
  - title: Sumber tahapan
    url: https://example.org/tahapan
---
Isi **tahapan**.
"""

TEAM = """\
name: Keamanan dan Ketertiban
role: divisi
summary: Mengamankan tahapan.
tupoksi:
  - Mengamankan TPS.
members:
  - name: Polda Kalimantan Timur
    kind: aparat keamanan
    role: anggota
checked: unchecked
sources:
  - title: Sumber tim
    url: https://example.org/tim
"""

CAMPAIGN = """\
---
title: Ayo memilih
summary: Ajakan memilih.
audience: [pemilih pemula]
regions: [samarinda]
organiser: Tim Uji
call_to_action: Datang ke TPS.
checked: unchecked
sources:
  - title: Sumber kampanye
    url: https://example.org/kampanye
---
Isi kampanye.
"""

Writer = Callable[[str, str], Path]


#: A small valid content folder: site, two regions, one stage, one team, one campaign.
SCRATCH = {
    "site.yaml": SITE,
    "regions.yaml": REGIONS,
    "stages/pemungutan-suara.md": STAGE,
    "teams/keamanan.yaml": TEAM,
    "campaigns/ayo-memilih.md": CAMPAIGN,
}


def write_scratch(root: Path, extra: dict[str, str] | None = None) -> Path:
    """Write the scratch content folder (plus ``extra`` files) under root; returns root."""
    for name, text in {**SCRATCH, **(extra or {})}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def scratch_content(tmp_path: Path) -> Path:
    """A small valid content folder: site, two regions, one stage, one team, one campaign."""
    return write_scratch(tmp_path / "content")


@pytest.fixture
def write(scratch_content: Path) -> Writer:
    """Write (dedented) text to a file under the scratch content folder."""

    def writer(name: str, text: str) -> Path:
        path = scratch_content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return writer


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The shipped content, built once for the session as of voting day."""
    out = tmp_path_factory.mktemp("site") / "public"
    return build(CONTENT, out, today=VOTING_DAY)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, one per test module (see test_browser for its setup)."""
    from .test_browser import CHROMIUM, CHROMIUM_ARGS, playwright_api

    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real sync server on the scratch content, one per test module."""
    from .server import scratch_server

    process = scratch_server(tmp_path_factory)
    yield process
    process.stop()
