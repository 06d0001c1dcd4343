"""The language of the messages staff read: English for developers, Indonesian for staff.

Messages are written in English in the code, wrapped in ``_()`` (or ``ngettext``), and
translated from the gettext catalogue ``locale/<lang>/LC_MESSAGES/pantau.po``. The catalogue
is read with Babel and compiled in memory on first use, so the ``.po`` file is the only copy
kept. ``scripts/messages.py`` extracts the messages into ``locale/pantau.pot`` and merges them
into each catalogue; a test fails when a message is missing or untranslated.

The language is chosen once per command (``--lang``, else the locale: ``LANGUAGE``,
``LC_ALL``, ``LC_MESSAGES``, ``LANG``) and, on the server, per request (``Accept-Language``),
through a context variable, so threads and requests never see each other's language.
"""

from __future__ import annotations

import contextlib
import gettext
import io
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from functools import cache
from pathlib import Path

DOMAIN = "pantau"
LOCALE_DIR = Path(__file__).parent / "locale"

#: The languages messages exist in; the first is the one the code is written in.
LANGUAGES = ("en", "id")

_process_language = "en"
_request_language: ContextVar[str | None] = ContextVar("pantau_language", default=None)


def normalise(value: str | None) -> str | None:
    """'id_ID.UTF-8' -> 'id', 'in' (Java's old code) -> 'id', 'en-GB' -> 'en'; None when
    the value names no language Pantau has."""
    if not value:
        return None
    code = value.strip().replace("-", "_").split(".")[0].split("@")[0].split("_")[0].lower()
    code = {"in": "id", "c": "en", "posix": "en"}.get(code, code)
    return code if code in LANGUAGES else None


def from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language the locale asks for, as gettext reads it; English when none is known."""
    environ = os.environ if environ is None else environ
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable)
        if not value:
            continue
        for part in value.split(":"):
            language = normalise(part)
            if language:
                return language
        if variable != "LANGUAGE":
            return "en"  # set, but to a language Pantau lacks: English, as gettext does
    return "en"


def from_accept_language(header: str | None) -> str | None:
    """The best of LANGUAGES for an HTTP Accept-Language header, or None."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = normalise(tag)
        if language and quality > 0:
            choices.append((-quality, index, language))
    return min(choices)[2] if choices else None


def set_language(language: str) -> None:
    """Choose the language of this process's messages (the command line does, once)."""
    global _process_language
    _process_language = normalise(language) or "en"


def language() -> str:
    """The language of messages made now: the request's, else the process's."""
    return _request_language.get() or _process_language


@contextlib.contextmanager
def using(language_code: str | None) -> Iterator[None]:
    """Make messages in this language within the block (and threads started from it that
    copy the context), e.g. for one HTTP request; None keeps the process's language."""
    token = _request_language.set(normalise(language_code))
    try:
        yield
    finally:
        _request_language.reset(token)


@cache
def translations(language_code: str) -> gettext.NullTranslations:
    """The compiled catalogue of a language (English: the messages as written)."""
    if language_code == LANGUAGES[0]:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / language_code / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language_code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    """The message in the current language."""
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural message for count, in the current language."""
    return translations(language()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark a message for the catalogue where it is defined; translate it with ``_`` where it
    is shown."""
    return message
