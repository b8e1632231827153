"""A seller's FAQ as a spreadsheet: ``crossdesk kb import FILE`` and ``crossdesk kb export FILE``.

Sellers keep their FAQ where they keep everything else, in Excel or a CSV file. One row per
entry and language, with the columns

    id, language, questions, answer, topic     (title optional)

``questions`` holds one question per line of the cell (or several separated by `` | ``);
``topic`` names the library topic the entry answers (knowledge/library/catalogue.yaml), or is
empty. An import checks every row first and reports every problem as ``file:line: column:
reason``; only a clean sheet is written, as ``faq/<language>.yaml`` files of the KB folder.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from knowledge.kb import KnowledgeBaseError, load_knowledge_base

COLUMNS = ("id", "language", "title", "questions", "answer", "topic")
REQUIRED = ("id", "language", "answer")
_ID = re.compile(r"^[a-z0-9_]+$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
MAX_CELL = 5000
# the csv module refuses a field over 128 kB (process-wide; the order import raises it too):
# up to a megabyte a long cell is read and refused by name as longer than MAX_CELL
_FIELD_LIMIT = 1 << 20
if csv.field_size_limit() < _FIELD_LIMIT:
    csv.field_size_limit(_FIELD_LIMIT)
# what no answer means to say: C0 controls but tab and line breaks, DEL, C1, lone surrogates
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class SheetError(Exception):
    """The sheet cannot be imported; ``problems`` names every one as file:line: column: reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row by lower-case column name) for a .csv or .xlsx file; raises
    SheetError when the file is not what its name says (never a parser's traceback)."""
    if path.suffix.lower() == ".xlsx":
        yield from _workbook_rows(path)
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise SheetError(
            [
                f"{path}: not UTF-8 text (byte {error.start}); save the sheet as "
                "'CSV UTF-8' or as .xlsx"
            ]
        ) from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:  # one column, or nothing to tell by: the usual comma
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        for row in reader:
            yield reader.line_num, dict(zip(header, row, strict=False))
    except csv.Error as error:
        raise SheetError([f"{path}:{reader.line_num}: not readable as CSV: {error}"]) from None


def _workbook_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(path, read_only=True, data_only=True).active
    except Exception as error:  # openpyxl raises what its zip and XML readers raise
        raise SheetError(
            [f"{path}: not an Excel workbook ({type(error).__name__}); save it as .xlsx or .csv"]
        ) from None
    if sheet is None:
        return
    values = sheet.iter_rows(values_only=True)
    header = [str(cell or "").strip().lower() for cell in next(values, ())]
    for number, row in enumerate(values, start=2):
        cells = ["" if cell is None else str(cell) for cell in row]
        yield number, dict(zip(header, cells, strict=False))


def read_sheet(path: Path, topics: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The entries of the sheet by language; raises SheetError naming every problem."""
    problems: list[str] = []
    by_language: dict[str, list[dict[str, Any]]] = {}
    seen: dict[tuple[str, str], int] = {}
    header_checked = False
    for number, row in _rows(path):
        if not header_checked:
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise SheetError(
                    [
                        f"{path}:1: missing column(s) {', '.join(missing)}; the columns are "
                        f"{', '.join(COLUMNS)} (title and topic optional)"
                    ]
                )
            header_checked = True
        cells = {key: (row.get(key) or "").strip() for key in COLUMNS}
        if not any(cells.values()):
            continue
        where = f"{path}:{number}"
        entry_id, language = cells["id"], cells["language"].lower()
        for column, value in cells.items():
            if len(value) > MAX_CELL:
                problems.append(f"{where}: {column}: longer than {MAX_CELL} characters")
            control = _CONTROL.search(value)
            if control:
                problems.append(
                    f"{where}: {column}: holds the control character "
                    f"U+{ord(control.group()):04X}; remove it"
                )
        if not _ID.match(entry_id):
            problems.append(f"{where}: id: {entry_id!r} must be lower-case letters, digits and _")
        if not _LANGUAGE.match(language):
            problems.append(f"{where}: language: {language!r} must be a code like en, de, zh")
        if not cells["answer"]:
            problems.append(f"{where}: answer: empty")
        named = [t.strip() for t in cells["topic"].split(",") if t.strip()]
        problems.extend(
            f"{where}: topic: {topic!r} is not a library topic "
            f"(see knowledge/library/catalogue.yaml)"
            for topic in named
            if topic not in topics
        )
        key = (language, entry_id)
        if key in seen:
            problems.append(f"{where}: id: {entry_id!r} in {language} is also on line {seen[key]}")
        seen.setdefault(key, number)
        questions = [q.strip() for q in re.split(r"\n|\s\|\s", cells["questions"]) if q.strip()]
        entry: dict[str, Any] = {"id": entry_id}
        if cells["title"]:
            entry["title"] = cells["title"]
        if questions:
            entry["questions"] = questions
        if named:
            entry["topic"] = named[0] if len(named) == 1 else named
        entry["answer"] = cells["answer"]
        by_language.setdefault(language, []).append(entry)
    if not header_checked:
        raise SheetError([f"{path}:1: empty; the columns are {', '.join(COLUMNS)}"])
    if problems:
        raise SheetError(problems)
    return by_language


def import_sheet(path: Path, kb_dir: Path, topics: set[str]) -> dict[str, int]:
    """Write the sheet's entries as ``kb_dir/faq/<lang>.yaml``; entries per language."""
    by_language = read_sheet(path, topics)
    (kb_dir / "faq").mkdir(parents=True, exist_ok=True)
    for language, entries in by_language.items():
        target = kb_dir / "faq" / f"{language}.yaml"
        temporary = target.with_suffix(".yaml.tmp")
        temporary.write_text(
            yaml.safe_dump(
                {"locale": language, "entries": entries},
                allow_unicode=True,
                sort_keys=False,
                width=100,
            ),
            encoding="utf-8",
        )
        temporary.replace(target)
    return {language: len(entries) for language, entries in by_language.items()}


def export_sheet(kb_dir: Path | None, path: Path) -> int:
    """Write the KB's FAQ as a .csv or .xlsx sheet; the number of rows written."""
    try:
        kb = load_knowledge_base(kb_dir)
    except KnowledgeBaseError as exc:
        raise SheetError([str(exc)]) from None
    rows = [
        (
            entry.id,
            language,
            entry.title,
            "\n".join(entry.questions),
            entry.answer,
            ", ".join(entry.topics),
        )
        for language, entries in sorted(kb.faq.items())
        for entry in entries.values()
    ]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(COLUMNS)
        for row in rows:
            sheet.append(row)
        book.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
    return len(rows)
