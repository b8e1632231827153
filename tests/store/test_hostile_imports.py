"""Hostile import files (issue 13 point 6): every value the store cannot keep as written is
refused as ``file:line: column: reason``, every problem of a row is named, nothing is written.

Each case below is one file: the good order line with one value replaced (or a whole-file
oddity). The import must raise ImportFileError, never another exception, name the line and
the column, and leave the store empty. Files that are broken as a whole (encodings, binary
files, broken CSV and JSON structure) and the odd files that are accepted, with what they
store, are in ``test_hostile_import_files.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from store.importers import ImportFileError, import_inventory, import_orders
from store.models import Customer, Order, OrderItem, Product

GOOD = {
    "order_id": "SZ-1",
    "placed_at": "2026-03-01T09:00:00",
    "customer_email": "mia@example.com",
    "customer_name": "Mia",
    "country": "DE",
    "postcode": "10115",
    "language": "de",
    "status": "in_transit",
    "total": "42.00",
    "currency": "EUR",
    "carrier": "DHL",
    "tracking_number": "JD0123456789",
    "shipped_at": "2026-03-02T10:00:00",
    "promised_delivery": "2026-03-12",
    "delivered_at": "",
    "last_scan_at": "2026-03-04T07:00:00Z",
    "sku": "NW-LAMP-WHT",
    "quantity": "1",
}
COLUMNS = list(GOOD)


def _csv(*rows: dict[str, str], separator: str = ",") -> str:
    lines = [separator.join(COLUMNS)]
    lines += [separator.join(row[c] for c in COLUMNS) for row in rows]
    return "\n".join(lines) + "\n"


def _with(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


# (case, the value changed, the column named, a words of the reason)
VALUE_CASES = [
    ("nan total", {"total": "NaN"}, "total", "not a finite number"),
    ("infinite total", {"total": "Infinity"}, "total", "not a finite number"),
    ("minus infinity", {"total": "-inf"}, "total", "not a finite number"),
    ("huge exponent", {"total": "1e400"}, "total", "out of range"),
    ("three decimals", {"total": "12.345"}, "total", "more than 2 decimals"),
    ("too much money", {"total": "99999999999"}, "total", "out of range"),
    ("negative total", {"total": "-5"}, "total", "out of range"),
    ("underscored number", {"total": "4_2"}, "total", "not a number"),
    ("20-digit quantity", {"quantity": "12345678901234567890"}, "quantity", "out of range"),
    ("fractional quantity", {"quantity": "1.5"}, "quantity", "not a whole number"),
    ("zero quantity", {"quantity": "0"}, "quantity", "out of range"),
    ("arabic digits", {"quantity": "١٢"}, "quantity", "not a whole number"),
    ("date past 9999 in UTC", {"placed_at": "9999-12-31T23:00:00-05:00"}, "placed_at", "UTC"),
    ("date before year 1 in UTC", {"placed_at": "0001-01-01T00:30:00+01:00"}, "placed_at", "UTC"),
    ("year 1900", {"placed_at": "1900-01-01"}, "placed_at", "out of range"),
    ("year 9999", {"promised_delivery": "9999-12-31"}, "promised_delivery", "out of range"),
    ("month 13", {"shipped_at": "2026-13-01"}, "shipped_at", "not an ISO date"),
    ("european date", {"placed_at": "01.03.2026"}, "placed_at", "not an ISO date"),
    ("200 kB name", {"customer_name": "x" * 200_000}, "customer_name", "at most 200"),
    ("long order id", {"order_id": "9" * 41}, "order_id", "at most 40"),
    ("long sku", {"sku": "S" * 61}, "sku", "at most 60"),
    ("long tracking", {"tracking_number": "T" * 81}, "tracking_number", "at most 80"),
    ("nul in a name", {"customer_name": "Mi\x00a"}, "customer_name", "NUL"),
    ("three-letter country", {"country": "DEU"}, "country", "two-letter"),
    ("euro sign currency", {"currency": "€"}, "currency", "three-letter"),
    ("unknown status", {"status": "teleported"}, "status", "is not one of"),
    ("no e-mail", {"customer_email": "mia.example.com"}, "customer_email", "e-mail"),
    ("missing sku", {"sku": ""}, "sku", "missing"),
    ("only a hash", {"order_id": "#"}, "order_id", "missing"),
    ("30 February", {"placed_at": "2026-02-30"}, "placed_at", "not an ISO date"),
    ("hour 25", {"placed_at": "2026-03-01T25:00"}, "placed_at", "not an ISO date"),
    ("leap second", {"shipped_at": "2026-03-02T23:59:60"}, "shipped_at", "not an ISO date"),
    ("thousands comma", {"total": '"1,234.50"'}, "total", "not a number"),
    ("thousands dot", {"total": '"1.234,50"'}, "total", "not a number"),
    ("negative zero quantity", {"quantity": "-0"}, "quantity", "out of range"),
    ("5000-digit quantity", {"quantity": "9" * 5000}, "quantity", "out of range"),
    (
        "e-mail header injection",
        {"customer_email": '"m@x.de\r\nBcc: y@x.de"'},
        "customer_email",
        "U+000D",
    ),
    ("e-mail display name", {"customer_email": "Mia <m@x.de>"}, "customer_email", "not an e-mail"),
    ("two e-mails", {"customer_email": "m@x.de;leo@x.de"}, "customer_email", "not an e-mail"),
    ("whitespace-only e-mail", {"customer_email": "\u00a0 \t "}, "customer_email", "missing"),
    ("bidi override in a name", {"customer_name": "Mia\u202egnp.exe"}, "customer_name", "U+202E"),
    (
        "terminal escape in a name",
        {"customer_name": "\x1b[2J\x1b[31mMia"},
        "customer_name",
        "U+001B",
    ),
    ("line break in a sku", {"sku": '"NW-LAMP\nWHT"'}, "sku", "control character U+000A"),
    ("utf-8 encoded surrogate", {"customer_name": "Mi\ud800a"}, "customer_name", "byte 0xED"),
]


def _refused(sessions: sessionmaker[Session], path: Path, importer=import_orders) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ImportFileError) as caught:
        importer(sessions, path)
    with sessions() as session:
        for table in (Order, OrderItem, Customer, Product):
            assert session.scalar(select(func.count()).select_from(table)) == 0, "half-written"
    return caught.value.problems


@pytest.mark.parametrize(
    ("case", "change", "column", "reason"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES]
)
def test_a_hostile_value_is_named_and_nothing_is_written(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    case: str,
    change: dict[str, str],
    column: str,
    reason: str,
) -> None:
    path = tmp_path / "orders.csv"
    text = _csv(GOOD | {"order_id": "SZ-0"}, _with(**change))
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate: bad UTF-8
    problems = _refused(sessions, path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:3: {column}: "), problems[0]
    assert reason in problems[0]
    assert len(problems[0]) < 300  # a 200 kB value is not echoed back


def test_every_problem_of_a_row_is_named(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    bad = _with(total="NaN", quantity="12345678901234567890", placed_at="someday", country="X")
    path.write_text(_csv(bad, _with(order_id="SZ-2", status="lost")), encoding="utf-8")
    problems = _refused(sessions, path)
    named = [p.removeprefix(f"{path}:").split(":")[:2] for p in problems]
    assert sorted(named) == sorted(
        [
            ["2", " total"],
            ["2", " quantity"],
            ["2", " placed_at"],
            ["2", " country"],
            ["3", " status"],
        ]
    )


def test_lines_of_one_order_that_disagree_are_refused(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        _csv(
            GOOD,
            _with(sku="NW-KTL-BLK"),  # a second line of the order: fine
            _with(order_id="SZ-9"),
            _with(sku="NW-TEE-RED", status="delivered", total="40.00"),  # disagrees
        ),
        encoding="utf-8",
    )
    problems = _refused(sessions, path)
    assert [p.split(": ")[1] for p in problems] == ["status", "total"]
    assert all(p.startswith(f"{path}:5: ") and "line 2" in p for p in problems)
    assert "'delivered' differs from 'in_transit'" in problems[0]


def test_whole_line_and_whole_file_problems(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    line = ",".join(GOOD[c] for c in COLUMNS)
    path.write_bytes(
        (",".join(COLUMNS) + "\n" + line.replace("42.00", "42,00") + "\n").encode()
        + line.replace("Mia", "Mi\xe9a").encode("latin-1")
        + b"\n"
        + line.replace("Mia", "M" * (1 << 20)).encode()
        + b"\n"
    )
    problems = _refused(sessions, path)
    assert problems[0].startswith(f"{path}:2: 19 values, but the header names 18 columns")
    assert "decimal comma" in problems[0]
    assert problems[1].startswith(f"{path}:3: customer_name: not UTF-8 text (byte 0xE9)")
    assert problems[2].startswith(f"{path}:4: the line is longer than")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text(_csv(GOOD), encoding="utf-16")
    assert "UTF-16" in _refused(sessions, utf16)[0]
    colons = tmp_path / "colons.csv"
    colons.write_text(_csv(GOOD, separator=":").replace("T09:00", "T09"), encoding="utf-8")
    problem = _refused(sessions, colons)[0]
    assert problem.startswith(f"{colons}:1: header: no known column names")
    assert "comma, semicolon, tab" in problem
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert "the file is empty" in _refused(sessions, empty)[0]


def test_hostile_json_lines(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    rows = [
        json.dumps(GOOD | {"total": 1}),
        '{"order_id": "J-2", "total": NaN}',
        json.dumps(GOOD | {"order_id": "J-3", "customer_name": {"first": "Mia"}}),
        json.dumps(GOOD | {"order_id": "J-4", "customer_name": "Mi\ud800a"}),
        "[1, 2]",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    problems = _refused(sessions, path)
    assert f"{path}:2: total: 'NaN' is not a finite number" in problems
    assert f"{path}:3: customer_name: must be a single value, not a JSON object or list" in problems
    assert f"{path}:4: customer_name: contains a lone surrogate" in " ".join(problems)
    assert f"{path}:5: a line must be a JSON object" in problems


def test_hostile_inventory(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(
        "sku,name,on_hand,reserved,reorder_point,lead_time_days,daily_sales\n"
        "NW-1,Lamp,10,2,5,14,1.5\n"
        "NW-2,Kettle,12345678901234567890,0,5,14,nan\n"
        "NW-1,Lamp,11,2,5,14,1.5\n",
        encoding="utf-8",
    )
    problems = _refused(sessions, path, import_inventory)
    assert problems == [
        f"{path}:3: on_hand: '12345678901234567890' is out of range (0 to 2,147,483,647)",
        f"{path}:3: daily_sales: 'nan' is not a finite number",
        f"{path}:4: sku: 'NW-1' is also on line 2 with other values; one row per SKU",
    ]


def test_european_excel_files_are_read(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """Semicolons and decimal commas (Excel in Germany, France...) and tabs import as such."""
    semicolons = tmp_path / "orders.csv"
    semicolons.write_text(_csv(_with(total="42,50"), separator=";"), encoding="utf-8-sig")
    assert import_orders(sessions, semicolons).created == 1
    tabs = tmp_path / "orders.tsv"
    tabs.write_text(_csv(_with(order_id="SZ-2"), separator="\t"), encoding="utf-8")
    assert import_orders(sessions, tabs).created == 1
    with sessions() as session:
        first = session.get(Order, "SZ-1")
        assert first is not None and str(first.total) == "42.50"
        assert session.get(Order, "SZ-2") is not None
