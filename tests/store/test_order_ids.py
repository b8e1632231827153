"""Order ids as shops write them: imported by the real import code, found in any case."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from store.importers import ImportFileError, import_orders
from store.models import Contact, Order, VerifiedOrder
from store.orders import ORDER_ID_RULES, get_order, is_verified, valid_order_id, verify_order

HEADER = (
    "order_id,placed_at,customer_email,customer_name,country,postcode,language,status,"
    "total,currency,carrier,tracking_number,shipped_at,promised_delivery,delivered_at,"
    "last_scan_at,sku,quantity\n"
)
SHAPES = ["SZ-20001", "302-1234567-1234567", "#A1B2C3", "2026/1234", "10234"]
NOW = datetime(2026, 3, 10, 10, 0)

pytestmark = pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")


def order_line(order_id: str, email: str = "ana@example.com") -> str:
    return (
        f"{order_id},2026-03-01T10:00:00,{email},Ana,DE,10115,de,shipped,59.90,EUR,DHL,JD1,"
        "2026-03-02,2026-03-09,,2026-03-03T08:00:00Z,SKU-1,1\n"
    )


def imported(sessions: sessionmaker[Session], tmp_path: Path, *ids: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "".join(order_line(i) for i in ids), encoding="utf-8")
    result = import_orders(sessions, path)
    assert result.created == len(ids)


def test_every_shape_is_imported_and_found_in_any_case_with_or_without_hash(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    imported(sessions, tmp_path, *SHAPES)
    with sessions() as session:
        stored = set(session.scalars(select(Order.id)))
        assert stored == {"SZ-20001", "302-1234567-1234567", "A1B2C3", "2026/1234", "10234"}
        for typed, found in [
            ("sz-20001", "SZ-20001"),
            ("#Sz-20001", "SZ-20001"),
            ("a1b2c3", "A1B2C3"),
            ("#a1b2c3", "A1B2C3"),
            ("302-1234567-1234567", "302-1234567-1234567"),
            ("#10234", "10234"),
        ]:
            order = get_order(session, typed)
            assert order is not None and order.id == found, typed
            assert order.items[0].sku == "SKU-1" and order.shipment is not None
        assert get_order(session, "SZ-2000") is None and get_order(session, "20001") is None


def test_verification_links_the_stored_order_whatever_the_case_typed(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    imported(sessions, tmp_path, "SZ-20001")
    with sessions() as session, session.begin():
        contact = Contact(
            channel="console", external_id="c1", chat_id="c1", created_at=NOW, last_seen_at=NOW
        )
        session.add(contact)
        session.flush()
        assert not verify_order(session, contact, "sz-20001", "someone@example.com", NOW)
        assert verify_order(session, contact, "sz-20001", "ANA@example.com", NOW)
        links = session.scalars(select(VerifiedOrder.order_id)).all()
        assert links == ["SZ-20001"]
        assert is_verified(session, contact, "#SZ-20001") and is_verified(
            session, contact, "sz-20001"
        )
        assert not is_verified(session, contact, "SZ-20002")


def test_an_id_that_breaks_the_rules_is_refused_with_the_rules(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    bad = ["SZ 20001", "ABC-DEF", "<b>1</b>", "1" * 41, "-10234"]
    path.write_text(HEADER + "".join(order_line(i) for i in bad), encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        import_orders(sessions, path)
    problems = caught.value.problems
    assert len(problems) == len(bad)  # every bad row named, each with the rules
    for line, (problem, typed) in enumerate(zip(problems, bad, strict=True), start=2):
        if len(typed) > 40:  # the column's own limit speaks first
            assert problem == f"{path}:{line}: order_id: {len(typed)} characters; at most 40 fit"
            continue
        assert problem.startswith(f"{path}:{line}: order_id: {typed[:60]!r}")
        assert ORDER_ID_RULES in problem
    assert "at most 40 characters" in ORDER_ID_RULES and "'-', '/'" in ORDER_ID_RULES
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_the_rules_in_python_are_the_ones_the_import_applies() -> None:
    for good in ["10234", "SZ-20001", "#A1B2C3", "2026/1234", "A_1", "302-1234567-1234567"]:
        assert valid_order_id(good) == good.lstrip("#")
    for bad in ["", "#", "ABCDEF", "SZ-", "-1", "1/", "SZ 1", "12.5", "١٢٣", "1" * 41]:
        assert valid_order_id(bad) is None, bad


def test_a_lookup_in_any_case_reads_the_index(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        if session.bind is None or session.bind.dialect.name != "sqlite":
            pytest.skip("the query plan is SQLite's")
        query = select(Order.id).where(func.upper(Order.id) == "SZ-20001")
        compiled = query.compile(session.bind, compile_kwargs={"literal_binds": True})
        plan = " ".join(
            str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
    assert "ix_orders_id_key" in plan, plan


def test_two_ids_of_a_file_that_differ_only_in_case_are_refused(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + order_line("SZ-1001") + order_line("sz-1001"), encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        import_orders(sessions, path)
    assert caught.value.problems == [
        f"{path}:3: order_id: 'sz-1001' differs from order 'SZ-1001' only in case; "
        "order ids are looked up in any case"
    ]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
