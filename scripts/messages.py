"""Keep the message catalogue in step with the code.

    python scripts/messages.py           # extract, then merge into each language's .po
    python scripts/messages.py --check   # exit 1 if a catalogue is out of step (what CI checks)

Messages are the strings in ``_()``, ``N_()`` and ``ngettext()`` calls in ``site_builder``
and ``sync_server`` (extracted with Babel), the notes in the ``pantau new`` skeletons, and
the help of every command and option, the descriptions of the models' fields (the data
package's columns), and the labels and help of the browser editor's forms (the models'
field titles and descriptions).
After merging, fill in each new ``msgstr`` in ``site_builder/locale/<lang>/LC_MESSAGES/
pantau.po`` (keep every ``{name}`` placeholder as it is); messages the code no longer
says are dropped by the merge.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "site_builder" / "locale"
PACKAGES = ("site_builder", "sync_server")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]*)[^{}]*\}(?!\})")

sys.path.insert(0, str(ROOT))


def extract() -> Catalog:
    """Every message of the code and the skeletons, with where it is used."""
    from site_builder import skeletons

    catalog = Catalog(project="pantau", charset="utf-8")
    for package in PACKAGES:
        for filename, line, message, comments, _context in extract_from_dir(
            ROOT / package,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            catalog.add(
                message, locations=[(f"{package}/{filename}", line)], auto_comments=comments
            )
    for name in ("STAGE", "TEAM", "CAMPAIGN", "PAGE"):
        for note in skeletons.comments(getattr(skeletons, name)):
            catalog.add(note, locations=[(f"site_builder/skeletons.py:{name}", 0)])
    from site_builder.cli import help_texts
    from sync_server.cli import main as pantau

    for text in help_texts(pantau):
        if text not in catalog:
            catalog.add(text, locations=[("pantau --help", 0)])
    from site_builder.datapackage import model_texts

    for text in model_texts():
        if text not in catalog:
            catalog.add(text, locations=[("data/datapackage.json", 0)])
    from site_builder.forms import form_texts

    for text in form_texts():
        if text not in catalog:
            catalog.add(text, locations=[("/redaksi/ forms", 0)])
    return catalog


def catalogues() -> dict[str, Path]:
    return {path.parent.parent.name: path for path in sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))}


def read(path: Path, language: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def problems(template: Catalog, language: str, catalog: Catalog) -> list[str]:
    """What is out of step between the code's messages and one catalogue."""
    found: list[str] = []
    wanted = {message.id for message in template if message.id}
    have = {message.id for message in catalog if message.id}
    for missing in sorted(wanted - have, key=str):
        found.append(f"{language}: missing: {missing!r}")
    for extra in sorted(have - wanted, key=str):
        found.append(f"{language}: no longer used: {extra!r}")
    for message in catalog:
        if not message.id or message.id not in wanted:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            found.append(f"{language}: not translated: {ids[0]!r}")
            continue
        names = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != names:
                found.append(
                    f"{language}: placeholders differ: {ids[0]!r} has {sorted(names)}, "
                    f"the translation {sorted(set(PLACEHOLDER.findall(string)))}"
                )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if out of step")
    args = parser.parse_args()
    template = extract()
    found: list[str] = []
    for language, path in catalogues().items():
        catalog = read(path, language)
        if not args.check:
            catalog.update(template, no_fuzzy_matching=True)
            with path.open("wb") as handle:
                write_po(handle, catalog, width=100, include_lineno=False, ignore_obsolete=True)
            catalog = read(path, language)
        found += problems(template, language, catalog)
    for line in found:
        print(line)
    print(f"{len(template)} messages; {len(found)} to do")
    return 1 if found and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
