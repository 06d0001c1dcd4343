"""What a private person's data looks like in a finding's text (a NIK, a phone number, an
e-mail address), so that validation can refuse it: a finding names institutions and public
officials in their public role, never a private person, a reporter or a witness."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .i18n import _

#: Web addresses are left out of the personal-data check: the long numbers in them are the
#: ids of news articles, not identity or phone numbers.
_WEB_ADDRESS = re.compile(r"https?://[^\s<>()\[\]]+", re.IGNORECASE)
#: What a private person's data looks like in Indonesian text, most specific first: a NIK (16
#: digits, maybe in groups of four), a phone number (+62, 62 or 0 before the 8 of a mobile
#: number; 9 to 13 digits written as from inside Indonesia, spaces and dashes allowed) and an
#: e-mail address.
_PERSONAL_DATA = (
    ("nik", re.compile(r"(?<!\w)\d{4}(?:[ .-]?\d{4}){3}(?!\w)")),
    (
        "phone",
        re.compile(r"(?<![\w+])(?:\+[ ]?62[ -]?|62(?=[ -]?8)[ -]?|0(?=8))(?:[ -]?\d){8,12}(?!\d)"),
    ),
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
)


@dataclass(frozen=True)
class PersonalData:
    """Text in a finding that looks like a private person's data: where and why."""

    line: int  # within the text, from 0
    message: str


def personal_data(text: str) -> PersonalData | None:
    """The first thing in ``text`` that looks like a private person's data (a NIK, a phone
    number, an e-mail address), with a sentence saying why it is refused, or None."""
    plain = _WEB_ADDRESS.sub(lambda m: " " * len(m.group(0)), text)
    found = [
        (match.start(), rank, kind, match.group(0))
        for rank, (kind, pattern) in enumerate(_PERSONAL_DATA)
        if (match := pattern.search(plain)) is not None
    ]
    if not found:
        return None
    start, _rank, kind, value = min(found)
    shown = value[:5]
    if kind == "nik":
        message = _(
            "looks like a NIK, an identity card number ({start}…); a finding never names a "
            "private person: remove it"
        ).format(start=shown)
    elif kind == "phone":
        message = _(
            "looks like a phone number ({start}…); a finding never names or contacts a private "
            "person: remove it"
        ).format(start=shown)
    else:
        message = _(
            "looks like an e-mail address ({start}…); a finding never names or contacts a "
            "private person: remove it"
        ).format(start=shown)
    return PersonalData(text.count("\n", 0, start), message)


def no_personal_data(value: str) -> str:
    found = personal_data(value)
    if found is not None:
        raise ValueError(found.message)
    return value
