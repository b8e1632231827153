"""Hostile import files broken as a whole (issue 13 point 6), and odd files that are accepted.

The first part: files in another encoding, binary files renamed ``.csv``, broken CSV and JSON
structure. Each is one file; the import raises ImportFileError, never another exception, with
exactly one problem named ``file:line: reason`` (``file:line: column: reason`` where a column
is known), and writes nothing.

The second part: files a real export sends that are not wrong, only odd (Excel's byte order
mark and CRLF, a status in capitals, ``+5``, a value that looks like a spreadsheet formula...);
each imports, and the test names exactly what is stored. Formula-looking names are kept as
the text they are: the store is no spreadsheet, and no export of orders writes them to one.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from store.import_values import shown
from store.importers import import_inventory, import_orders
from store.models import Order
from tests.store.test_hostile_imports import COLUMNS, GOOD, _csv, _refused, _with

HEADER = ",".join(COLUMNS)
INVENTORY = "sku,name,on_hand,reserved,reorder_point,lead_time_days,daily_sales\n"


def _line(row: dict[str, str]) -> str:
    return ",".join(row[c] for c in COLUMNS)


def _workbook() -> bytes:
    """A real Excel workbook holding the good order line: an .xlsx is a ZIP archive."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    sheet.append([GOOD[c] for c in COLUMNS])
    saved = io.BytesIO()
    book.save(saved)
    return saved.getvalue()


def _json(row: dict[str, Any], extra: str = "") -> bytes:
    """``row`` as one JSON line, with ``extra`` (raw JSON members) before its closing brace."""
    text = json.dumps(row)
    return (text[:-1] + extra + "}\n").encode()


NESTED = "[" * 100_000 + "]" * 100_000  # deeper than any Python reads
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an Excel 97-2003 .xls (a compound document)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4

# (case, file name, the file's bytes, the start of its one problem after "file:")
FILE_CASES: list[tuple[str, str, bytes, str]] = [
    (
        "utf-16 without a byte order mark",
        "orders.csv",
        _csv(GOOD).encode("utf-16-le"),
        "1: the file is UTF-16 or UTF-32 text (NUL bytes between the letters)",
    ),
    ("utf-32", "orders.csv", _csv(GOOD).encode("utf-32"), "1: the file is UTF-32 text"),
    ("a PNG renamed .csv", "orders.csv", PNG, "1: the file is a PNG image, not text"),
    ("an Excel workbook", "orders.xlsx", _workbook(), "1: the file is a ZIP archive (an Excel"),
    (
        "an .xls renamed .xlsx",
        "orders.xlsx",
        OLE2 + bytes(504),
        "1: the file is an Excel 97-2003 workbook (.xls), not text",
    ),
    (
        "a gzip renamed .csv",
        "orders.csv",
        gzip.compress(_csv(GOOD).encode()),
        "1: the file is a gzip",
    ),
    ("only NUL bytes", "orders.csv", bytes(4096), "1: the file starts with NUL bytes"),
    ("only a byte order mark", "orders.csv", b"\xef\xbb\xbf", "1: header: the file is empty"),
    (
        "a 5 MB first line",
        "orders.csv",
        b"order_id," * 600_000,
        "1: the line is longer than 1,048,576 characters; stopped",
    ),
    (
        "a duplicated column",
        "orders.csv",
        (HEADER + ",Total\n" + _line(GOOD) + ",40.00\n").encode(),
        "1: header: column 'total' appears more than once",
    ),
    (
        "a row with fewer fields",
        "orders.csv",
        (HEADER + "\n" + ",".join(GOOD[c] for c in COLUMNS[:-2]) + "\n").encode(),
        "2: 16 values, but the header names 18 columns",
    ),
    (
        "a quote never closed",
        "orders.csv",
        _csv(GOOD, _with(order_id="SZ-2", customer_name='"Mia'), _with(order_id="SZ-3")).encode(),
        "3: 4 values, but the header names 18 columns (read on to line 4: a double quote",
    ),
    (
        "lone CR line ends",
        "orders.csv",
        _csv(GOOD, _with(order_id="SZ-2", total="NaN")).replace("\n", "\r").encode(),
        "3: total: 'NaN' is not a finite number",
    ),
    (
        "thousands separator, semicolons",
        "orders.csv",
        _csv(_with(total="1.234,50"), separator=";").encode(),
        "2: total: '1.234,50' is not a number (write it like 1234.56)",
    ),
    (
        "json nested 100,000 deep",
        "orders.jsonl",
        _json(GOOD, f', "customer_name": {NESTED}'),
        "1: not readable JSON: values nested too deeply",
    ),
    (
        "json key given twice",
        "orders.jsonl",
        _json(GOOD, ', "total": "4200.00"'),
        "1: total: given more than once in the object, in any case",
    ),
    (
        "json key twice in two cases",
        "orders.jsonl",
        _json(GOOD, ', "Status": "delivered"'),
        "1: status: given more than once in the object, in any case",
    ),
    (
        "json 5000-digit number",
        "orders.jsonl",
        _json({k: v for k, v in GOOD.items() if k != "quantity"}, ', "quantity": ' + "7" * 5000),
        f"1: quantity: {shown('7' * 5000)} is out of range (1 to 2,147,483,647)",
    ),
    (
        "inventory 5000-digit stock",
        "inventory.csv",
        (INVENTORY + "NW-1,Lamp," + "8" * 5000 + ",0,5,14,1\n").encode(),
        f"2: on_hand: {shown('8' * 5000)} is out of range (0 to 2,147,483,647)",
    ),
    (
        "inventory tab in a name",
        "inventory.csv",
        (INVENTORY + 'NW-1,"Lamp\twhite",1,0,5,14,1\n').encode(),
        "2: name: contains the control character U+0009",
    ),
]


@pytest.mark.parametrize(
    ("case", "name", "data", "problem"), FILE_CASES, ids=[c[0] for c in FILE_CASES]
)
def test_a_hostile_file_is_refused_by_line_and_nothing_is_written(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    case: str,
    name: str,
    data: bytes,
    problem: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    importer = import_inventory if name.startswith("inventory") else import_orders
    problems = _refused(sessions, path, importer)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{problem}"), problems[0]
    assert len(problems[0]) < 300 + len(str(path))


ORDER_KEYS = ("placed_at", "email", "customer_name", "country", "postcode", "language", "status")
STORED = {  # the good line as stored: its texts as written, its dates and items parsed
    **{key: GOOD[key] for key in ORDER_KEYS if key in GOOD},
    **{key: GOOD[key] for key in ("total", "currency", "tracking_number")},
    "placed_at": datetime(2026, 3, 1, 9, 0),
    "email": GOOD["customer_email"],
    "items": [(GOOD["sku"], int(GOOD["quantity"]))],
    "last_scan_at": datetime(2026, 3, 4, 7, 0),  # "Z": UTC
}
FORMULAS = ['"=HYPERLINK(""http://x.example/"",""Mia"")"', "+cmd|' /C calc'!A0", "@SUM(1+1)"]

# (case, file name, the file's text, what each order stores where it differs from STORED)
ACCEPTED_CASES: list[tuple[str, str, str, dict[str, dict[str, Any]]]] = [
    (
        "Excel CSV UTF-8 on Windows: byte order mark and CRLF",
        "orders.csv",
        "\ufeff" + _csv(GOOD, _with(order_id="SZ-2")).replace("\n", "\r\n"),
        {"SZ-1": {}, "SZ-2": {}},
    ),
    ("status in capitals", "orders.csv", _csv(_with(status="IN_TRANSIT")), {"SZ-1": {}}),
    (
        "status with a trailing space",
        "orders.csv",
        HEADER + "\n" + _line(_with(status='"delivered "')) + "\n",
        {"SZ-1": {"status": "delivered"}},
    ),
    ("lower-case codes", "orders.csv", _csv(_with(currency="eur", country="de")), {"SZ-1": {}}),
    (
        "plus signs",
        "orders.csv",
        _csv(_with(quantity="+5", total="+42.00")),
        {"SZ-1": {"items": [("NW-LAMP-WHT", 5)]}},
    ),
    ("negative zero total", "orders.csv", _csv(_with(total="-0.00")), {"SZ-1": {"total": "0.00"}}),
    (
        "names that look like formulas",
        "orders.csv",
        _csv(*(_with(order_id=f"SZ-{n}", customer_name=f) for n, f in enumerate(FORMULAS))),
        {
            "SZ-0": {"customer_name": '=HYPERLINK("http://x.example/","Mia")'},
            "SZ-1": {"customer_name": "+cmd|' /C calc'!A0"},
            "SZ-2": {"customer_name": "@SUM(1+1)"},
        },
    ),
    (  # two lines of one order that agree: the order has both lines, not one merged
        "the same line twice",
        "orders.csv",
        _csv(GOOD, GOOD),
        {"SZ-1": {"items": [("NW-LAMP-WHT", 1), ("NW-LAMP-WHT", 1)]}},
    ),
    ("a header and no rows", "orders.csv", HEADER + "\r\n", {}),
    ("an .xlsx that is CSV text", "orders.xlsx", _csv(GOOD), {"SZ-1": {}}),  # read as what it is
]


def _stored(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    with sessions() as session:
        return {
            order.id: {
                **{key: getattr(order, key) for key in ORDER_KEYS},
                "total": str(order.total),
                "currency": order.currency,
                "items": sorted((item.sku, item.quantity) for item in order.items),
                "tracking_number": order.shipment.tracking_number if order.shipment else None,
                "last_scan_at": order.shipment.last_scan_at if order.shipment else None,
            }
            for order in session.scalars(select(Order))
        }


@pytest.mark.parametrize(
    ("case", "name", "text", "expected"), ACCEPTED_CASES, ids=[c[0] for c in ACCEPTED_CASES]
)
def test_an_odd_file_is_imported_as_meant(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    case: str,
    name: str,
    text: str,
    expected: dict[str, dict[str, Any]],
) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode())
    result = import_orders(sessions, path)
    assert (result.created, result.updated) == (len(expected), 0)
    assert _stored(sessions) == {key: STORED | changes for key, changes in expected.items()}
