"""Checking one row's values before they are stored: every problem of the row, not the first.

A value is taken only if the store keeps it exactly as written and shows it as written: text
within its column's length, on one line, free of NUL and other control characters, of the
bidirectional controls that reorder how text is shown and of bytes that are not UTF-8, whole
numbers within the 32-bit integer columns, money with at most two decimals within
``Numeric(12, 2)``, finite numbers, and dates in a plausible range (:data:`EARLIEST` to
:data:`LATEST`: a year 1 or 9999 is a placeholder, and would make an alert rule fire forever
or never). The limits come from the models, so they follow the schema.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Numeric, String

from store.import_reading import Problem, SourceRow

INT_MAX = 2**31 - 1  # the Integer columns are 32-bit on PostgreSQL
REAL_MAX = 1e9  # no shop sells a billion of a SKU a day
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2199, 12, 31, 23, 59, 59)
_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")
# what no text column takes: C0 and C1 controls (NUL, tab, line breaks, escape...), the
# Unicode line and paragraph separators, bidirectional embeddings, overrides and isolates
# (they make "Mia\u202egnp.exe" show as "Miaexe.png"), and surrogates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_WHOLE_DIGITS = 19  # more digits than any column's number has; int() is not asked to read more
_SHOWN = 40  # characters of a bad value quoted in a message, as the reader sees them


def shown(value: str) -> str:
    """``value`` quoted for a message, cut to a readable length: at most ``_SHOWN``
    characters of it, fewer where ``repr`` writes them as escapes (``\\U0001195a``)."""
    cut = value[:_SHOWN]
    while len(repr(cut)) > _SHOWN + 2:  # + 2: the quotes
        cut = cut[:-1]
    return repr(cut if cut == value else cut + "…")


def length_of(column: ColumnElement[Any]) -> int:
    """The length of a ``String(n)`` column (the model is the one source of the limit)."""
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


def money_limits(column: ColumnElement[Any]) -> tuple[int, Decimal]:
    """The decimal places and the largest value a ``Numeric(p, s)`` column stores."""
    kind = column.type
    assert isinstance(kind, Numeric) and kind.precision is not None and kind.scale is not None
    places = kind.scale
    return places, Decimal(10) ** (kind.precision - places) - Decimal(1).scaleb(-places)


class RowValues:
    """The values of one row, each read by a method that records what is wrong with it.

    Every method returns the checked value or None, and appends a :class:`Problem` naming
    the column when the value cannot be stored as written; :attr:`problems` then lists every
    problem of the row.
    """

    def __init__(self, row: SourceRow) -> None:
        self.row = row
        self.values = row.values
        self.clean = row.clean
        self.problems: list[Problem] = []

    def fail(self, column: str, reason: str) -> None:
        """Record that ``column``'s value cannot be imported, and why."""
        self.problems.append(Problem(self.row.line, column, reason))

    def raw(self, column: str) -> str:
        """The value as text, stripped; '' when absent. Refuses nested JSON values."""
        value = self.values.get(column)
        if value.__class__ is str:  # every CSV value, most JSON ones (stripped when read)
            return value
        if value is None:
            return ""
        if isinstance(value, dict | list):
            self.fail(column, "must be a single value, not a JSON object or list")
            return ""
        return str(value).strip()

    def text(self, column: str, limit: int, *, required: bool = False) -> str:
        """Text of at most ``limit`` characters, valid Unicode, without NUL."""
        value = self.values.get(column)
        if value.__class__ is not str:
            value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "missing")
            return ""
        if not self.clean and not self._valid_text(column, value):
            return ""
        if len(value) > limit:
            self.fail(column, f"{len(value):,} characters; at most {limit} fit")
            return ""
        return value

    def _valid_text(self, column: str, value: str) -> bool:
        """Whether ``value`` is one line of valid Unicode text without control characters
        (else the problem is recorded)."""
        if "\x00" in value:
            self.fail(column, "contains a NUL character")
            return False
        unsafe = None if value.isprintable() else _UNSAFE.search(value)
        if unsafe is None:
            return True
        bad = unsafe.group()
        if "\udc80" <= bad <= "\udcff":  # an undecodable byte, kept as an escape
            self.fail(column, f"not UTF-8 text (byte 0x{ord(bad) - 0xDC00:02X}); save as UTF-8")
        elif "\ud800" <= bad <= "\udfff":
            self.fail(column, "contains a lone surrogate (\\ud800-\\udfff), not a character")
        elif _BIDI.fullmatch(bad):
            self.fail(
                column,
                f"contains the bidirectional control U+{ord(bad):04X}, which reorders how the "
                "text is shown",
            )
        else:
            self.fail(
                column,
                f"contains the control character U+{ord(bad):04X} (a line break, tab or "
                "escape); a value is one line of text",
            )
        return False

    def code(
        self, column: str, pattern: re.Pattern[str], what: str, *, required: bool = True
    ) -> str:
        """Upper-case text that must match ``pattern`` entirely (a country or currency code)."""
        value = self.raw(column).upper()
        if not value:
            if required:
                self.fail(column, "missing")
            return ""
        if not pattern.fullmatch(value):
            self.fail(column, f"{shown(value)} is not {what}")
            return ""
        return value

    def moment(self, column: str, *, required: bool = False) -> datetime | None:
        """An ISO date or date-time; with a time zone, converted to naive UTC."""
        value = self.values.get(column)
        if value.__class__ is not str:
            value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "missing")
            return None
        try:
            parsed = datetime.fromisoformat(value)  # Python 3.11 reads a "Z" as UTC too
        except ValueError:
            self.fail(column, f"{shown(value)} is not an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
            return None
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:
                self.fail(column, f"{shown(value)} is out of range in UTC")
                return None
        if not EARLIEST <= parsed <= LATEST:
            self.fail(column, f"{shown(value)} is out of range ({EARLIEST.year} to {LATEST.year})")
            return None
        return parsed

    def day(self, column: str) -> date | None:
        """A calendar date (a date-time's date)."""
        moment = self.moment(column)
        return moment.date() if moment is not None else None

    def whole(self, column: str, minimum: int = 0, maximum: int = INT_MAX) -> int | None:
        """A whole number from ``minimum`` to ``maximum``, written in ASCII digits."""
        value = self.raw(column)
        if not value:
            self.fail(column, "missing")
            return None
        if not _WHOLE.fullmatch(value):
            self.fail(column, f"{shown(value)} is not a whole number")
            return None
        # read without the leading zeros, and past _WHOLE_DIGITS not at all: int() refuses
        # more than 4,300 digits (a ValueError that names no column)
        digits = value.lstrip("+-").lstrip("0") or "0"
        sign = -1 if value.startswith("-") else 1
        number = sign * int(digits) if len(digits) <= _WHOLE_DIGITS else None
        if number is None or not minimum <= number <= maximum:
            self.fail(column, f"{shown(value)} is out of range ({minimum} to {maximum:,})")
            return None
        return number

    def money(self, column: str, places: int, maximum: Decimal) -> Decimal | None:
        """An amount of at most ``places`` decimals, from 0 to ``maximum``."""
        number = self._decimal(column)
        if number is None:
            return None
        if number < 0 or number > maximum:
            self.fail(column, f"{number} is out of range (0 to {maximum})")
            return None
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)  # finite: checked by _decimal
        if exponent < -places and number != number.quantize(Decimal(1).scaleb(-places)):
            self.fail(column, f"{number} has more than {places} decimals")
            return None
        return number

    def real(self, column: str, maximum: float = REAL_MAX) -> float | None:
        """A finite number from 0 to ``maximum``."""
        number = self._decimal(column)
        if number is None:
            return None
        value = float(number)
        if not 0 <= value <= maximum or not math.isfinite(value):
            self.fail(column, f"{number} is out of range (0 to {maximum:g})")
            return None
        return value

    def _decimal(self, column: str) -> Decimal | None:
        value = self.raw(column)
        if not value:
            self.fail(column, "missing")
            return None
        written = value
        if self.row.decimal_comma and _DECIMAL_COMMA.fullmatch(value):
            value = value.replace(",", ".")
        if not _DECIMAL.fullmatch(value):
            if value.strip("+-").lower() in {"nan", "inf", "infinity", "snan"}:
                self.fail(column, f"{shown(written)} is not a finite number")
            else:
                self.fail(column, f"{shown(written)} is not a number (write it like 1234.56)")
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.fail(column, f"{shown(written)} is not a number")
            return None
        if abs(number.adjusted()) > 30:  # 1e400 and the like: no column holds it
            self.fail(column, f"{shown(written)} is out of range")
            return None
        return number
