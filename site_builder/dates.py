"""Indonesian date formatting (Babel) and the build's reference date in WITA."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date, format_datetime

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
    return format_date(value, "d MMMM y", locale="id")


def tanggal_jam(value: dt.datetime | None) -> str:
    """27 November 2024 10.00 WITA."""
    if value is None:
        return ""
    return format_datetime(value.astimezone(WITA), "d MMMM y HH.mm", locale="id") + " WITA"


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


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=WITA)
