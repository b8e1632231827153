"""Reading a shop's export row by row: CSV with any usual separator, or JSON lines.

Files of any size are streamed: one line at a time, each line bounded (:data:`MAX_LINE_CHARS`),
so memory does not grow with the file. The CSV separator is the one that makes the header
name the most known columns (comma, semicolon as European Excel writes it, tab, vertical bar);
a header that names none of the required columns is refused with the separators tried.

Bytes that are not UTF-8 are kept as surrogate escapes (``errors="surrogateescape"``) rather
than stopping the whole file at the first one: the value checks name the line and column of
each (:mod:`store.import_values`). A file that is not UTF-8 text at all (UTF-16 or UTF-32, a
workbook, an image, an archive renamed ``.csv``) is refused at its first bytes, by name.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_LINE_CHARS = 1 << 20  # a longer line is refused: no real order line is a megabyte
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
PROGRESS_EVERY = 2_000  # rows between two progress reports
# the csv module refuses fields over 128 kB with an error that names no column; the line
# bound above is the real limit, and the column checks name an oversize field
if csv.field_size_limit() < MAX_LINE_CHARS:
    csv.field_size_limit(MAX_LINE_CHARS)

Progress = Callable[[int], None]  # called with the bytes read so far
SAVE_AS = "save it as CSV UTF-8 (comma delimited)"
_BYTE_ORDER_MARKS = (  # the UTF-32 marks first: b"\xff\xfe" also starts UTF-32 LE's
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_SIGNATURES = (  # the first bytes of files that are not text, as exports get renamed
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument workbook?)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
)


@dataclass(frozen=True)
class Problem:
    """Why one line (and, when known, one column of it) cannot be imported."""

    line: int
    column: str | None
    reason: str

    def render(self, path: Path) -> str:
        """``file:line: column: reason`` (``file:line: reason`` for a whole line)."""
        where = f"{path}:{self.line}:"
        return f"{where} {self.column}: {self.reason}" if self.column else f"{where} {self.reason}"


class ImportFileError(Exception):
    """A file could not be imported; ``problems`` lists the problems found (the first
    :data:`MAX_PROBLEMS`), ``count`` how many there were in all."""

    def __init__(self, problems: list[str], count: int | None = None) -> None:
        self.count = len(problems) if count is None else count
        super().__init__(f"{self.count} problem(s); nothing was imported")
        self.problems = problems


@dataclass(slots=True)
class SourceRow:
    """One record of the file: its first line and its values by (lower-case) column name."""

    line: int
    values: dict[str, Any]  # text stripped; a JSON value may be of any JSON type
    decimal_comma: bool = False  # a semicolon or tab file: "42,50" is forty-two fifty
    clean: bool = False  # known to hold no NUL and no undecodable byte in any value


def clean_text(text: str) -> bool:
    """Whether ``text`` is known to hold nothing the value checks refuse: no NUL, control
    character, bidirectional control or surrogate (an undecodable byte, a lone half).

    ``str.isprintable`` is false for all of them (and for a few harmless characters, such as
    a no-break space, whose values the checks then read one by one).
    """
    return text.isprintable()


def not_text(start: bytes) -> str | None:
    """Why a file whose first bytes are ``start`` is not UTF-8 text, or None if it may be."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if start.startswith(mark):
            return f"the file is {encoding} text; {SAVE_AS}"
    for signature, what in _SIGNATURES:
        if start.startswith(signature):
            return f"the file is {what}, not text; {SAVE_AS}"
    if 0 in start:  # no column name, JSON object or UTF-8 text starts with a NUL byte
        if start.strip(b"\x00"):
            return f"the file is UTF-16 or UTF-32 text (NUL bytes between the letters); {SAVE_AS}"
        return f"the file starts with NUL bytes: binary data, not text; {SAVE_AS}"
    return None


class _LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def rows(
    path: Path,
    columns: Sequence[str],
    required: Sequence[str],
    progress: Progress | None = None,
) -> Iterator[SourceRow | Problem]:
    """Every record of ``path`` in order, or the problem of a line that cannot be read.

    ``columns`` are the names the importer knows, ``required`` those a CSV header must have;
    a header without them raises :class:`ImportFileError` at once, since no row could be
    read right. A problem that leaves the rest of the file unreadable (an over-long line, an
    unclosed quote) is the last thing yielded.
    """
    with path.open("rb") as raw:
        reason = not_text(raw.read(4))
        if reason is not None:
            raise ImportFileError([f"{path}:1: {reason}"])
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        lines = _bounded_lines(text)
        reader = _json_rows(lines, columns) if path.suffix.lower() in JSON_SUFFIXES else None
        if reader is None:
            reader = _csv_rows(path, lines, columns, required)
        for count, record in enumerate(reader, start=1):
            yield record
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(raw.tell())
        if progress is not None:
            progress(raw.tell())


def _bounded_lines(text: io.TextIOWrapper) -> Iterator[str]:
    """The lines of ``text``; raises :class:`_LineTooLong` for one over the bound."""
    number = 0
    while True:
        line = text.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise _LineTooLong(number)
        yield line


def _too_long(line: int) -> Problem:
    return Problem(line, None, f"the line is longer than {MAX_LINE_CHARS:,} characters; stopped")


class _JsonObject(dict[str, Any]):
    """A JSON object as read: keys stripped and lower-cased, text values stripped, and the
    keys it gives more than once (in any case), of which a dict would silently keep the last."""

    __slots__ = ("twice",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.twice: set[str] = set()
        for key, value in pairs:
            name = key.strip().lower()
            if name in self:
                self.twice.add(name)
            self[name] = value.strip() if type(value) is str else value


def _json_rows(lines: Iterator[str], columns: Sequence[str]) -> Iterator[SourceRow | Problem]:
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                # numbers and NaN/Infinity as written, so the checks see the text itself
                row = json.loads(
                    line,
                    object_pairs_hook=_JsonObject,
                    parse_float=str,
                    parse_int=str,
                    parse_constant=str,
                )
            except json.JSONDecodeError as exc:
                yield Problem(number, None, f"not valid JSON ({exc.msg})")
                continue
            except RecursionError:  # the decoder recurses once per level of nesting
                yield Problem(number, None, "not readable JSON: values nested too deeply")
                continue
            if not isinstance(row, _JsonObject):
                yield Problem(number, None, "a line must be a JSON object")
                continue
            twice = [name for name in columns if name in row.twice]
            for name in twice:
                yield Problem(number, name, "given more than once in the object, in any case")
            if twice:
                continue
            yield SourceRow(number, row)
    except _LineTooLong as exc:
        yield _too_long(exc.line)


def _csv_rows(
    path: Path, lines: Iterator[str], columns: Sequence[str], required: Sequence[str]
) -> Iterator[SourceRow | Problem]:
    try:
        header_line = next(lines, "")
    except _LineTooLong as exc:
        raise ImportFileError([_too_long(exc.line).render(path)]) from None
    if not header_line.strip():
        raise ImportFileError(
            [
                f"{path}:1: header: the file is empty; the first line names the "
                f"columns: {', '.join(required)}"
            ]
        )
    separator, header = _header(path, header_line, columns, required)
    reader = csv.reader(lines, delimiter=separator)
    decimal_comma = separator != ","
    ended = 1  # the line the previous record ended on
    try:
        for values in reader:
            first, ended = ended + 1, reader.line_num + 1
            if not values or values == [""]:
                continue
            if len(values) != len(header):
                reason = _width_reason(len(values), len(header), separator, first, ended)
                yield Problem(first, None, reason)
                continue
            # unknown columns all go to the key '', which nothing reads
            by_name = dict(zip(header, map(str.strip, values), strict=True))
            yield SourceRow(first, by_name, decimal_comma, clean_text("".join(values)))
    except _LineTooLong as exc:
        yield _too_long(exc.line)
    except csv.Error as exc:  # a field past the bound: an unclosed quote swallowed the file
        yield Problem(ended + 1, None, f"cannot be read as CSV ({exc}; an unclosed quote?)")


def _width_reason(found: int, expected: int, separator: str, first: int, last: int) -> str:
    """Why a record of ``found`` values, read from line ``first`` to line ``last``, does not
    fit a header of ``expected`` columns (one read over several lines has a quote open)."""
    reason = f"{found} values, but the header names {expected} columns"
    if last > first:
        return f"{reason} (read on to line {last}: a double quote in it is not closed?)"
    if separator != "," and found != expected:
        return f"{reason} (a {SEPARATORS[separator]} inside a value must be in double quotes)"
    if found > expected:
        return f"{reason} (a comma inside a value, such as a decimal comma, must be quoted)"
    return reason


def _header(
    path: Path, line: str, columns: Sequence[str], required: Sequence[str]
) -> tuple[str, list[str]]:
    """The separator and the column names of ``line`` (known ones lower-cased, others '')."""
    known = set(columns)

    def names(separator: str) -> list[str]:
        fields = next(csv.reader([line], delimiter=separator), [])
        return [field.strip().lower() for field in fields]

    scored = [(sum(name in known for name in names(s)), s) for s in SEPARATORS]
    score, separator = max(scored, key=lambda pair: pair[0])  # a tie keeps the comma
    header = names(separator)
    if score == 0:
        tried = ", ".join(SEPARATORS.values())
        raise ImportFileError(
            [
                f"{path}:1: header: no known column names ({tried} tried); the first line "
                f"must name the columns, e.g. {','.join(required)}"
            ]
        )
    problems = [
        f"{path}:1: header: column {name!r} appears more than once"
        for name in sorted({n for n in header if n in known and header.count(n) > 1})
    ]
    missing = [name for name in required if name not in header]
    if missing:
        found = ", ".join(n for n in header if n) or "nothing"
        problems.append(
            f"{path}:1: header: missing column(s) {', '.join(missing)} (read as "
            f"{SEPARATORS[separator]}-separated, it names: {found})"
        )
    if problems:
        raise ImportFileError(problems)
    return separator, [name if name in known else "" for name in header]
