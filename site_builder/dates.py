"""Indonesian formatting of dates and numbers (Babel) and the build's reference date in WITA."""

from __future__ import annotations

import datetime as dt
import functools

from babel.dates import format_date
from babel.numbers import format_decimal

from .models import WITA

EN_DASH = "\u2013"


def today_wita() -> dt.date:
    """The current date in Asia/Makassar (WITA)."""
    return dt.datetime.now(WITA).date()


def tanggal(value: dt.date | dt.datetime | None) -> str:
    """27 November 2024."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(WITA).date()
    return _date(value, "d MMMM y")


@functools.lru_cache(maxsize=4096)
def _date(day: dt.date, pattern: str) -> str:
    """A date in Indonesian words (a site shows the same few hundred dates on every page)."""
    return format_date(day, pattern, locale="id")


def tanggal_jam(value: dt.datetime | None) -> str:
    """27 November 2024 10.00 WITA."""
    if value is None:
        return ""
    local = value.astimezone(WITA)
    # Babel's "d MMMM y HH.mm", with the date's words from the cache.
    return f"{_date(local.date(), 'd MMMM y')} {local:%H.%M} WITA"


def rentang(start: dt.date | None, end: dt.date | None) -> str:
    """A date range in words: '24 Juni 2024 to 24 Juli 2024' (with an en dash), or
    'sampai 26 Januari 2024' when only the end is known."""
    if start and end and end != start:
        return f"{tanggal(start)} {EN_DASH} {tanggal(end)}"
    if start:
        return tanggal(start)
    if end:
        return f"sampai {tanggal(end)}"
    return ""


def rentang_singkat(start: dt.date | None, end: dt.date | None) -> str:
    """A compact range for lists, with an en dash: '27 Feb to 16 Nov 2024', '27 to 29 Agu
    2024' (no spaces), '24 Des 2024 to 6 Jan 2025', or 's.d. 26 Jan 2024' (until) when only
    the end is known."""

    def short(day: dt.date, pattern: str = "d MMM y") -> str:
        return _date(day, pattern)

    if start and end and end != start:
        if start.year != end.year:
            return f"{short(start)} {EN_DASH} {short(end)}"
        if start.month != end.month:
            return f"{short(start, 'd MMM')} {EN_DASH} {short(end)}"
        return f"{start.day}{EN_DASH}{short(end)}"
    if start:
        return short(start)
    if end:
        return f"s.d. {short(end)}"
    return ""


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=WITA)


def angka(value: int | float) -> str:
    """306392 -> '306.392'."""
    return format_decimal(value, locale="id")


def persen(value: float | None) -> str:
    """88.1234 -> '88,12%' (two decimals, as election results are reported); '' if unknown."""
    if value is None:
        return ""
    return format_decimal(round(value, 2), format="0.00", locale="id") + "%"
