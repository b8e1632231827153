"""Dates and times as a customer reads them in their language, from Babel's CLDR data.

"2026-12-02 09:00 Europe/Berlin" is a programmer's way to write a time; a German customer reads
"Mittwoch, 2. Dezember 2026, 09:00 Mitteleuropäische Zeit" and a Japanese one
"2026年12月2日水曜日 9:00 中央ヨーロッパ時間".
"""

from __future__ import annotations

from datetime import date, datetime

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_timezone_name


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def local_datetime(moment: datetime, language: str) -> str:
    """The date with its weekday, the time and the time zone's name of the aware ``moment``, in
    the form ``language`` writes them (the zone named because customers may live in another)."""
    locale = _locale(language)
    day = format_date(moment, "full", locale=locale)
    clock = format_time(moment, "short", locale=locale)
    pattern = locale.datetime_formats.get("long") or "{1} {0}"
    joined = str(pattern).replace("{1}", day).replace("{0}", clock)
    zone = get_timezone_name(moment, "long", locale=locale, zone_variant="generic")
    return f"{joined} {zone}"


def local_date(day: date | datetime, language: str) -> str:
    """A calendar day in ``language``'s medium form ("2 dic 2026", "2026/12/02")."""
    return format_date(day, "medium", locale=_locale(language))
