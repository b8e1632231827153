"""Importing orders and inventory from the shop's exports (CSV or JSON lines), beside the bot.

The column names are a public contract (README, "Importing data"). An import streams the file
twice, so memory stays bounded whatever its size:

1. **check**: every row is parsed and checked (:mod:`store.import_values`), every problem of
   every row is collected as ``file:line: column: reason``, and the lines of one order (or
   the rows of one SKU) must agree; only a few numbers per key are kept (:class:`_Keys`).
   Nothing is written: a file with any problem raises :class:`ImportFileError`.
2. **write**: the file is read again and written in chunks of :data:`CHUNK_ORDERS` orders,
   each its own short transaction of bulk statements (:mod:`store.import_writes`), so the
   live bot keeps answering on SQLite between them. Re-importing updates rows by key (order
   id, SKU). Only an order's first line is parsed in full again; its later lines give items.

What was chosen: an import that stops while writing (the process killed, the disk full)
leaves the chunks before it written; importing the same file again completes it, because an
import is an upsert. An order's adjacent lines are always in one chunk; lines of an order
spread over the file may land in two. A file changed between the passes is refused at the
first line that no longer matches what was checked.
"""

from __future__ import annotations

from collections.abc import Callable
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
    order_columns_as_written,
    order_id_as_written,
    parse_item,
    parse_order_line,
    parse_product,
)

__all__ = ["ImportFileError", "ImportResult", "import_inventory", "import_orders"]

CHUNK_ORDERS = 2_000  # orders per transaction: a few tenths of a second of writing at most
CHUNK_PRODUCTS = 5_000
PRODUCT_COLUMNS = INVENTORY_COLUMNS + INVENTORY_OPTIONAL
MAX_PROBLEMS = 1_000  # problems kept to show; all are counted
_LINE_BITS, _HASH_BITS = 32, 48
_LINE_MASK, _HASH_MASK = (1 << _LINE_BITS) - 1, (1 << _HASH_BITS) - 1

# (phase, bytes done, bytes in all): "checking" then "writing"
ImportProgress = Callable[[str, int, int], None]


@dataclass
class ImportResult:
    """What an import wrote."""

    created: int = 0
    updated: int = 0
    rows: int = 0


class _Keys:
    """What the checking pass keeps per key (order id, SKU): one int packing the line it was
    first seen on, a hash of its values as written, and a hash of its values as parsed.

    A later line of an order whose order columns are written exactly as on its first line
    agrees with it without being parsed again; one written differently ("DE" for "de") is
    parsed and compared by value.
    """

    def __init__(self) -> None:
        self.first: dict[str, int] = {}

    @staticmethod
    def pack(written: int, parsed: int, line: int) -> int:
        return (
            ((written & _HASH_MASK) << (_HASH_BITS + _LINE_BITS))
            | ((parsed & _HASH_MASK) << _LINE_BITS)
            | line
        )

    def get(self, key: str) -> int | None:
        return self.first.get(key)

    @staticmethod
    def line(packed: int) -> int:
        return packed & _LINE_MASK

    @staticmethod
    def written(packed: int) -> int:
        return packed >> (_HASH_BITS + _LINE_BITS)

    @staticmethod
    def parsed(packed: int) -> int:
        return (packed >> _LINE_BITS) & _HASH_MASK


class _Check:
    """The checking pass's findings: problems (kept up to :data:`MAX_PROBLEMS`, all counted),
    the rows read, each key's first line, and the lines that disagree with their key's."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.count = 0
        self.rows = 0
        self.keys = _Keys()
        self.scattered: set[str] = set()  # orders whose lines are not all adjacent
        self.disagreeing: list[tuple[int, int]] = []  # (line, the key's first line)
        self.spellings: dict[str, str] = {}  # upper-cased id -> as first written

    def case_clash(self, order_id: str) -> str | None:
        """The id seen before that ``order_id`` matches in any case, if one was (only ids with
        letters are remembered: digits have no case)."""
        if order_id.upper() == order_id.lower():
            return None
        first = self.spellings.setdefault(order_id.upper(), order_id)
        return None if first == order_id else first

    def add(self, problems: list[Problem]) -> None:
        self.count += len(problems)
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(problems[:room])

    def disagree(self, line: int, first: int) -> None:
        self.count += 1
        if len(self.disagreeing) < MAX_PROBLEMS:
            self.disagreeing.append((line, first))


def _progress(progress: ImportProgress | None, phase: str, total: int) -> Callable[[int], None]:
    if progress is None:
        return lambda _done: None
    return lambda done: progress(phase, done, total)


def _fail(path: Path, check: _Check, extra: list[Problem]) -> ImportFileError:
    problems = sorted([*check.problems, *extra], key=lambda p: p.line)[:MAX_PROBLEMS]
    return ImportFileError([p.render(path) for p in problems], check.count)


def _changed(path: Path, record: SourceRow | Problem) -> ImportFileError:
    return ImportFileError(
        [f"{path}:{record.line}: the file changed while it was imported; import it again"]
    )


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
    check = _check_orders(path, _progress(progress, "checking", size))
    if check.count:
        raise _fail(path, check, _disagreements(path, check))
    result = ImportResult(rows=check.rows)
    chunk, last_id = OrderChunk(), None
    for record in rows(path, ORDER_COLUMNS, ORDER_REQUIRED, _progress(progress, "writing", size)):
        if isinstance(record, Problem):
            raise _changed(path, record)
        order_id = order_id_as_written(record)
        known = check.keys.get(order_id)
        if known is None:
            raise _changed(path, record)
        if len(chunk) >= chunk_orders and order_id != last_id:
            _commit_orders(sessions, chunk, result)
            chunk = OrderChunk()
        last_id = order_id
        if _Keys.line(known) == record.line:  # the order's first line: the whole order
            line = parse_order_line(record)[0]
            if line is None:
                raise _changed(path, record)
            chunk.orders[order_id] = line.order
            chunk.shipments[order_id] = line.shipment
            if order_id in check.scattered:
                chunk.scattered.add(order_id)
            chunk.customers.setdefault(line.order["email"].lower(), line.customer)
            item: tuple[str, int] | None = (line.sku, line.quantity)
        else:  # a later line of the order: its item only
            item = parse_item(RowValues(record))
        if item is None:
            raise _changed(path, record)
        chunk.items.append({"order_id": order_id, "sku": item[0], "quantity": item[1]})
    _commit_orders(sessions, chunk, result)
    return result


def _check_orders(path: Path, progress: Callable[[int], None]) -> _Check:
    """The checking pass over an orders file."""
    check = _Check()
    last_id = None
    for record in rows(path, ORDER_COLUMNS, ORDER_REQUIRED, progress):
        if isinstance(record, Problem):
            check.add([record])
            continue
        check.rows += 1
        order_id = order_id_as_written(record)
        known = check.keys.get(order_id)
        if known is not None and order_id != last_id:
            check.scattered.add(order_id)
        last_id = order_id
        written = order_columns_as_written(record)
        if known is not None and _Keys.written(known) == written & _HASH_MASK:
            values = RowValues(record)  # the order as on its first line: the item only
            if parse_item(values) is None:
                check.add(values.problems)
            continue
        line, problems = parse_order_line(record)
        if line is None:
            check.add(problems)
        elif known is None:
            check.keys.first[line.order["id"]] = _Keys.pack(written, line.fingerprint, record.line)
            clash = check.case_clash(line.order["id"])
            if clash is not None:
                reason = (
                    f"{line.order['id']!r} differs from order {clash!r} only in case; "
                    "order ids are looked up in any case"
                )
                check.add([Problem(record.line, "order_id", reason)])
        elif _Keys.parsed(known) != line.fingerprint & _HASH_MASK:
            check.disagree(record.line, _Keys.line(known))
    return check


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
        sku, parsed = product["sku"], hash(tuple(product.values()))
        known = check.keys.get(sku)
        if known is None:
            check.keys.first[sku] = _Keys.pack(0, parsed, record.line)
        elif _Keys.parsed(known) != parsed & _HASH_MASK:
            first = _Keys.line(known)
            reason = f"{sku!r} is also on line {first} with other values; one row per SKU"
            check.add([Problem(record.line, "sku", reason)])
    if check.count:
        raise _fail(path, check, [])
    result = ImportResult(rows=check.rows)
    batch: list[dict[str, Any]] = []
    for record in rows(
        path, PRODUCT_COLUMNS, INVENTORY_COLUMNS, _progress(progress, "writing", size)
    ):
        product = parse_product(RowValues(record)) if isinstance(record, SourceRow) else None
        known = check.keys.get(product["sku"]) if product is not None else None
        if product is None or known is None:
            raise _changed(path, record)
        if _Keys.line(known) != record.line:
            continue  # the same row again
        batch.append(product)
        if len(batch) >= CHUNK_PRODUCTS:
            _commit_products(sessions, batch, result)
            batch = []
    _commit_products(sessions, batch, result)
    return result


def _commit_products(
    sessions: sessionmaker[Session], batch: list[dict[str, Any]], result: ImportResult
) -> None:
    if not batch:
        return
    with sessions() as session, session.begin():
        created, updated = write_products(session, batch)
    result.created += created
    result.updated += updated
