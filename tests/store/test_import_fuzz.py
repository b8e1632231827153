"""Imports under hypothesis: any value in any column of an order file is either stored as
written or refused as ``file:line: column: reason`` with nothing written; no other exception.

The hand-written cases (``test_hostile_imports.py``) name each refusal; this draws the values
(any code point, lone surrogates and NUL included, numbers of every size and shape, dates of
every form) and checks only the contract, so it finds the cases nobody thought of.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from store.db import create_store_engine, session_factory, upgrade
from store.importers import ImportFileError, import_orders
from store.models import Base, Customer, Order, OrderItem
from tests.store.test_hostile_imports import COLUMNS, GOOD

_files = itertools.count(1)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
DATES = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.dates().map(str),
    st.from_regex(
        r"\A[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}(T[0-9:]{1,12})?([+-][0-9]{2}:?[0-9]{2}|Z)?\Z"
    ),
)
ANY_TEXT = st.text(
    st.one_of(st.characters(codec=None), st.sampled_from(["\x00", "\ud800", '"', ",", "\n"])),
    max_size=120,
)
VALUES = st.one_of(ANY_TEXT, NUMBERS, DATES)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine = create_store_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def _csv_field(value: str) -> str:
    """``value`` as one CSV field, quoted the way a spreadsheet quotes it."""
    return '"' + value.replace('"', '""') + '"'


def _emptied(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(column=st.sampled_from(COLUMNS), value=VALUES)
def test_any_value_is_stored_as_written_or_refused_by_line_and_column(
    sessions: sessionmaker[Session], tmp_path: Path, column: str, value: str
) -> None:
    path = tmp_path / f"orders-{next(_files)}.csv"
    row = GOOD | {column: value}
    text = ",".join(COLUMNS) + "\n" + ",".join(_csv_field(row[c]) for c in COLUMNS) + "\n"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate: bad UTF-8
    _emptied(sessions)
    try:
        import_orders(sessions, path)
    except ImportFileError as refused:
        assert refused.problems
        for problem in refused.problems:
            assert re.match(rf"{re.escape(str(path))}:\d+: ", problem), problem
            assert len(problem) - len(str(path)) < 400  # a huge value is not echoed back
        with sessions() as session:
            for table in (Order, OrderItem, Customer):
                assert session.scalar(select(func.count()).select_from(table)) == 0
        return
    with sessions() as session:  # accepted: stored as written (text columns, stripped)
        order = session.scalars(select(Order)).one()
        customer = session.get(Customer, order.customer_id)
        assert customer is not None
        if column == "order_id":
            assert order.id == value.strip().lstrip("#")
        if column == "customer_name":
            assert customer.name == value.strip()
        if column == "tracking_number" and order.shipment is not None:
            assert (order.shipment.tracking_number or "") == value.strip()
