"""Importing orders and inventory from the shop's exports (CSV or JSON lines), beside the bot.

The column names are a public contract (README, "Importing data"). An import reads the file
twice, streaming, so memory stays bounded whatever its size:

1. **check**: every row is parsed and checked (:mod:`store.import_values`), every problem of
   every row is collected as ``file:line: column: reason``, and the lines of one order (or
   the rows of one SKU) must agree; nothing is written. A file with any problem raises
   :class:`ImportFileError` and writes nothing.
2. **write**: the rows are read again and written in chunks of :data:`CHUNK_ORDERS` orders,
   each chunk its own short transaction (:mod:`store.import_writes`), so the live bot keeps
   answering on SQLite. Re-importing updates rows by key (order id, SKU).

What was chosen: an import that stops half-way (the process killed, the disk full) leaves the
chunks before it written, never a half-written order; importing the same file again finishes
it, because an import is an upsert. A file that changes between the passes is refused at the
first row that no longer checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from store.import_reading import ImportFileError, Problem, SourceRow, rows
from store.import_values import RowValues
from store.import_writes import OrderChunk, write_orders, write_products
from store.order_rows import (
    INVENTORY_COLUMNS,
    INVENTORY_OPTIONAL,
    ORDER_COLUMNS,
    ORDER_REQUIRED,
    OrderLine,
    conflicting_columns,
    parse_order_line,
    parse_product,
)

__all__ = ["ImportFileError", "ImportResult", "import_inventory", "import_orders"]

CHUNK_ORDERS = 2_000  # orders per transaction: a few tenths of a second of writing at most
CHUNK_PRODUCTS = 5_000
PRODUCT_COLUMNS = INVENTORY_COLUMNS + INVENTORY_OPTIONAL
MAX_PROBLEMS = 1_000  # problems kept to show; all are counted
_LINE_BITS = 32
_LINE_MASK = (1 << _LINE_BITS) - 1
_FINGERPRINT_MASK = (1 << 48) - 1

# (phase, bytes done, bytes in all): "checking" then "writing"
ImportProgress = Callable[[str, int, int], None]


@dataclass
class ImportResult:
    """What an import wrote."""

    created: int = 0
    updated: int = 0
    rows: int = 0


def _keyed(fingerprint: int, line: int) -> int:
    """One int per key seen: its values' fingerprint and the line it was first seen on."""
    return ((fingerprint & _FINGERPRINT_MASK) << _LINE_BITS) | line


class _Check:
    """The checking pass's findings: problems, kept up to :data:`MAX_PROBLEMS`, and the first
    line of each key with the fingerprint of its values (to find lines that disagree)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.count = 0
        self.rows = 0
        self.first: dict[str, int] = {}
        self.disagreeing: list[tuple[int, int]] = []  # (line, the key's first line)

    def add(self, problems: list[Problem]) -> None:
        self.count += len(problems)
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(problems[:room])

    def see(self, key: str, fingerprint: int, line: int) -> None:
        """Note that ``key``'s values on ``line`` have ``fingerprint``."""
        known = self.first.get(key)
        if known is None:
            self.first[key] = _keyed(fingerprint, line)
        elif known >> _LINE_BITS != fingerprint & _FINGERPRINT_MASK:
            self.count += 1
            if len(self.disagreeing) < MAX_PROBLEMS:
                self.disagreeing.append((line, known & _LINE_MASK))

    def first_line(self, key: str) -> int:
        return self.first[key] & _LINE_MASK


def _progress(progress: ImportProgress | None, phase: str, total: int) -> Callable[[int], None]:
    if progress is None:
        return lambda _done: None
    return lambda done: progress(phase, done, total)


def _fail(path: Path, check: _Check, extra: list[Problem]) -> ImportFileError:
    problems = sorted([*check.problems, *extra], key=lambda p: p.line)[:MAX_PROBLEMS]
    return ImportFileError([p.render(path) for p in problems], check.count)


# --- orders -----------------------------------------------------------------------------------


def import_orders(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    progress: ImportProgress | None = None,
    chunk_orders: int = CHUNK_ORDERS,
) -> ImportResult:
    """Import orders (one row per order line) from ``path``: check all, then write in chunks."""
    size = path.stat().st_size
    check = _Check()
    for record in rows(path, ORDER_COLUMNS, ORDER_REQUIRED, _progress(progress, "checking", size)):
        if isinstance(record, Problem):
            check.add([record])
            continue
        check.rows += 1
        line, problems = parse_order_line(record)
        if line is None:
            check.add(problems)
        else:
            check.see(line.order["id"], line.fingerprint, record.line)
    if check.count:
        raise _fail(path, check, _disagreements(path, check))
    result = ImportResult(rows=check.rows)
    chunk = OrderChunk()
    last_id = None
    for record, line in _order_lines(path, _progress(progress, "writing", size)):
        order_id = line.order["id"]
        if len(chunk) >= chunk_orders and order_id != last_id:
            _commit_orders(sessions, chunk, result)
            chunk = OrderChunk()
        last_id = order_id
        if check.first_line(order_id) == record.line:  # the order's first line: the order
            chunk.orders[order_id] = line.order
            chunk.shipments[order_id] = line.shipment
            chunk.customers.setdefault(line.order["email"].lower(), line.customer)
        chunk.items.append({"order_id": order_id, "sku": line.sku, "quantity": line.quantity})
    _commit_orders(sessions, chunk, result)
    return result


def _order_lines(
    path: Path, progress: Callable[[int], None]
) -> Iterator[tuple[SourceRow, OrderLine]]:
    """The checked file's lines again; refuses a file that changed since it was checked."""
    for record in rows(path, ORDER_COLUMNS, ORDER_REQUIRED, progress):
        line = None if isinstance(record, Problem) else parse_order_line(record)[0]
        if isinstance(record, Problem) or line is None:
            where = record.line
            raise ImportFileError(
                [f"{path}:{where}: the file changed while it was imported; import it again"]
            )
        yield record, line


def _commit_orders(
    sessions: sessionmaker[Session], chunk: OrderChunk, result: ImportResult
) -> None:
    if not chunk.items:
        return
    with sessions() as session, session.begin():
        created, updated = write_orders(session, chunk)
    result.created += created
    result.updated += updated


def _disagreements(path: Path, check: _Check) -> list[Problem]:
    """Name the columns in which lines of one order differ from the order's first line
    (read again: the checking pass kept only fingerprints)."""
    if not check.disagreeing:
        return []
    wanted = {n for pair in check.disagreeing for n in pair}
    parsed: dict[int, OrderLine] = {}
    for record in rows(path, ORDER_COLUMNS, ORDER_REQUIRED):
        if isinstance(record, SourceRow) and record.line in wanted:
            line = parse_order_line(record)[0]
            if line is not None:
                parsed[record.line] = line
    problems = []
    for number, first in check.disagreeing:
        this, that = parsed[number], parsed[first]
        for column, mine, theirs in conflicting_columns(this, that):
            problems.append(
                Problem(
                    number,
                    column,
                    f"{mine} differs from {theirs} on line {first} of order "
                    f"{this.order['id']!r}; the lines of one order agree on all but sku and "
                    "quantity",
                )
            )
    return problems


# --- inventory --------------------------------------------------------------------------------


def import_inventory(
    sessions: sessionmaker[Session], path: Path, *, progress: ImportProgress | None = None
) -> ImportResult:
    """Import the inventory position per SKU from ``path``: check all, then write in chunks."""
    size = path.stat().st_size
    check = _Check()
    for record in rows(
        path, PRODUCT_COLUMNS, INVENTORY_COLUMNS, _progress(progress, "checking", size)
    ):
        if isinstance(record, Problem):
            check.add([record])
            continue
        check.rows += 1
        values = RowValues(record)
        product = parse_product(values)
        if product is None:
            check.add(values.problems)
            continue
        sku, fingerprint = product["sku"], hash(tuple(sorted(product.items())))
        known = check.first.get(sku)
        if known is None:
            check.first[sku] = _keyed(fingerprint, record.line)
        elif known >> _LINE_BITS != fingerprint & _FINGERPRINT_MASK:
            first = known & _LINE_MASK
            reason = f"{sku!r} is also on line {first} with other values; one row per SKU"
            check.add([Problem(record.line, "sku", reason)])
    if check.count:
        raise _fail(path, check, [])
    result = ImportResult(rows=check.rows)
    batch: dict[str, dict[str, Any]] = {}
    for record in rows(
        path, PRODUCT_COLUMNS, INVENTORY_COLUMNS, _progress(progress, "writing", size)
    ):
        product = parse_product(RowValues(record)) if isinstance(record, SourceRow) else None
        if product is None:
            raise ImportFileError(
                [f"{path}: the file changed while it was imported; import it again"]
            )
        if check.first_line(product["sku"]) != record.line:
            continue  # the same row again
        batch[product["sku"]] = product
        if len(batch) >= CHUNK_PRODUCTS:
            _commit_products(sessions, batch, result)
            batch = {}
    _commit_products(sessions, batch, result)
    return result


def _commit_products(
    sessions: sessionmaker[Session], batch: dict[str, dict[str, Any]], result: ImportResult
) -> None:
    if not batch:
        return
    with sessions() as session, session.begin():
        created, updated = write_products(session, list(batch.values()))
    result.created += created
    result.updated += updated
