"""The store: migrations, importers, demo shop, order verification, outbox."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store import outbox
from store.customers import Author, contacts_for
from store.db import StoreError, create_store_engine, current_revision, session_factory, upgrade
from store.demo import generate_demo_shop
from store.importers import ImportFileError, import_inventory, import_orders
from store.models import Contact, Order, OrderItem, OutboxMessage, Product, Shipment
from store.orders import MAX_FAILURES, locked_until, verify_order

HEADER = (
    "order_id,placed_at,customer_email,customer_name,country,postcode,language,status,"
    "total,currency,carrier,tracking_number,shipped_at,promised_delivery,delivered_at,"
    "last_scan_at,sku,quantity\n"
)


def test_upgrade_is_idempotent_and_keeps_data(db_url: str) -> None:
    engine = create_store_engine(db_url)
    upgrade(engine)
    factory = session_factory(engine)
    with factory() as session, session.begin():
        generate_demo_shop(session, orders=20, products=5, seed=1, today=date(2026, 3, 1))
    upgrade(engine)
    assert current_revision(engine) is not None
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 20
    engine.dispose()


def test_migrations_build_the_schema_the_models_describe(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    engine = create_store_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError) as caught:
        create_store_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    assert "store.url" in str(caught.value)
    with pytest.raises(StoreError):
        create_store_engine("not a url")
    with pytest.raises(StoreError) as missing_folder:
        create_store_engine("sqlite:////no/such/folder/x.db")
    assert "does not exist" in str(missing_folder.value)


def test_import_orders_csv_groups_lines_and_updates_on_reimport(sessions, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER + "10234,2026-03-01T10:00:00,Ana@Example.com,Ana,de,10115,de,shipped,59.90,EUR,DHL,"
        "JD1,2026-03-02,2026-03-09,,2026-03-03T08:00:00Z,SKU-1,2\n"
        + "10234,2026-03-01T10:00:00,ana@example.com,Ana,DE,10115,de,shipped,59.90,EUR,DHL,"
        "JD1,2026-03-02,2026-03-09,,2026-03-03T08:00:00Z,SKU-2,1\n",
        encoding="utf-8",
    )
    result = import_orders(sessions, path)
    assert (result.created, result.updated, result.rows) == (1, 0, 2)
    with sessions() as session:
        order = session.get(Order, "10234")
        assert order is not None and order.country == "DE"
        assert sorted(i.sku for i in order.items) == ["SKU-1", "SKU-2"]
        assert order.shipment is not None and order.shipment.status == "in_transit"
        assert order.shipment.last_scan_at == datetime(2026, 3, 3, 8, 0)
    path.write_text(
        path.read_text()
        .replace("shipped,59.90", "delivered,59.90")
        .replace(",2026-03-09,,", ",2026-03-09,2026-03-08,"),
        encoding="utf-8",
    )
    again = import_orders(sessions, path)
    assert (again.created, again.updated) == (0, 1)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OrderItem)) == 2
        shipment = session.get(Shipment, "10234")
        assert shipment is not None and shipment.status == "delivered"


def test_bad_rows_are_all_reported_and_nothing_is_written(sessions, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    good = "1,2026-03-01,a@example.com,A,US,1,en,paid,10,USD,,,,,,,S,1\n"
    path.write_text(
        HEADER
        + good
        + "2,yesterday,a@example.com,A,US,1,en,paid,10,USD,,,,,,,S,1\n"
        + "3,2026-03-01,not-an-email,A,US,1,en,paid,10,USD,,,,,,,S,1\n"
        + "4,2026-03-01,a@example.com,A,US,1,en,teleported,10,USD,,,,,,,S,1\n"
        + "5,2026-03-01,a@example.com,A,US,1,en,paid,ten,USD,,,,,,,S,1\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError) as caught:
        import_orders(sessions, path)
    problems = caught.value.problems
    assert [p.split(":")[1] for p in problems] == ["3", "4", "5", "6"]
    assert "placed_at" in problems[0] and "customer_email" in problems[1]
    assert "status" in problems[2] and "total" in problems[3]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_import_orders_jsonl_and_missing_columns(sessions, tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    row = {
        "order_id": "#77",
        "placed_at": "2026-03-01",
        "customer_email": "b@example.com",
        "country": "fr",
        "status": "paid",
        "total": "5",
        "currency": "eur",
        "sku": "S",
        "quantity": 3,
    }
    path.write_text(json.dumps(row) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        import_orders(sessions, path)
    assert caught.value.problems == [
        f"{path}:3: not valid JSON (Expecting property name enclosed in double quotes)"
    ]
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    import_orders(sessions, path)
    with sessions() as session:
        order = session.get(Order, "77")
        assert order is not None and order.currency == "EUR" and order.items[0].quantity == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,sku\n1,S\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as missing:
        import_orders(sessions, bad)
    assert "missing column(s)" in missing.value.problems[0]


def test_import_inventory(sessions, tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(
        "sku,name,on_hand,reserved,reorder_point,lead_time_days,daily_sales\n"
        "NW-1,Lamp,10,2,5,14,1.5\n",
        encoding="utf-8",
    )
    assert import_inventory(sessions, path).created == 1
    path.write_text(path.read_text().replace("Lamp,10", "Lamp,3"), encoding="utf-8")
    assert import_inventory(sessions, path).updated == 1
    with sessions() as session:
        product = session.get(Product, "NW-1")
        assert product is not None and product.on_hand == 3 and product.daily_sales == 1.5
    path.write_text(
        "sku,name,on_hand,reserved,reorder_point,lead_time_days,daily_sales\n"
        "NW-2,Kettle,-1,0,5,14,1\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError) as caught:
        import_inventory(sessions, path)
    assert ":2: on_hand" in caught.value.problems[0]


def _snapshot(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [
        (o.id, o.email, o.status, str(o.total), o.country)
        for o in session.scalars(select(Order).order_by(Order.id).limit(200))
    ]


def test_demo_shop_is_deterministic_and_realistic(sessions) -> None:
    with sessions() as session, session.begin():
        summary = generate_demo_shop(
            session, orders=3000, products=100, seed=3, today=date(2026, 3, 1)
        )
        first = _snapshot(session)
    with sessions() as session, session.begin():
        generate_demo_shop(session, orders=3000, products=100, seed=3, today=date(2026, 3, 1))
        assert _snapshot(session) == first
        languages = set(session.scalars(select(Order.language).distinct()))
        carriers = set(session.scalars(select(Shipment.carrier).distinct()))
        stuck = session.scalar(
            select(func.count())
            .select_from(Shipment)
            .where(
                Shipment.delivered_at.is_(None),
                Shipment.last_scan_at < datetime(2026, 3, 1) - timedelta(days=5),
            )
        )
        unshipped = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(
                Order.status.in_(("paid", "processing")),
                Order.paid_at < datetime(2026, 3, 1) - timedelta(days=3),
            )
        )
        low = session.scalar(
            select(func.count())
            .select_from(Product)
            .where(Product.on_hand - Product.reserved <= Product.reorder_point)
        )
    assert summary.orders == 3000 and summary.products == 100
    assert languages == {"en", "es", "fr", "de", "it", "pt", "ru", "ja", "zh", "ar"}
    assert len(carriers) >= 5
    assert stuck > 0 and unshipped > 0 and low > 0
    with sessions() as session, session.begin():
        generate_demo_shop(session, orders=3000, products=100, seed=4, today=date(2026, 3, 1))
        assert _snapshot(session) != first


def test_verification_links_order_and_rate_limits_guessing(sessions) -> None:
    now = datetime(2026, 3, 10, 10, 0)
    with sessions() as session, session.begin():
        generate_demo_shop(session, orders=10, products=3, seed=1, today=date(2026, 3, 1))
        order = session.get(Order, "10001")
        assert order is not None
        contact = contacts_for(session, [Author("t", "1", "1")], now)[("t", "1")]
        assert not verify_order(session, contact, "10001", "wrong@example.com", now)
        assert not verify_order(session, contact, "99999", order.email, now)  # no such order
        assert verify_order(session, contact, "10001", order.email.upper(), now)
        assert verify_order(session, contact, "10001", f" {order.postcode} ", now)
        for _ in range(MAX_FAILURES):
            verify_order(session, contact, "10002", "00000", now)
        until = locked_until(session, contact, "10003", now)
        assert until is not None and until > now
        assert locked_until(session, contact, "10003", now + timedelta(hours=1)) is None


def test_outbox_claims_with_a_lease_and_dedupes(sessions) -> None:
    now = datetime(2026, 3, 10, 10, 0)
    with sessions() as session, session.begin():
        assert outbox.enqueue(
            session, channel="console", kind="k", payload={"text": "a"}, now=now, dedupe_key="x"
        )
        assert (
            outbox.enqueue(
                session, channel="console", kind="k", payload={"text": "b"}, now=now, dedupe_key="x"
            )
            is None
        )
    with sessions() as session, session.begin():
        claimed = outbox.claim(session, channels=["console"], now=now)
        assert [row.payload["text"] for row in claimed] == ["a"]
    with sessions() as session, session.begin():
        assert outbox.claim(session, channels=["console"], now=now) == []  # leased
        again = outbox.claim(session, channels=["console"], now=now + timedelta(minutes=2))
        assert len(again) == 1 and again[0].attempts == 2
        outbox.mark_sent(session, again[0].id, now=now)
    with sessions() as session:
        assert outbox.pending_count(session) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_outbox_commits_are_announced_to_the_engine_listeners(sessions, caplog) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 3, 10, 10, 0)
    engine = sessions.kw["bind"]
    heard: list[str] = []
    stop = outbox.on_commit(engine, lambda: heard.append("commit"))

    def broken() -> None:
        raise RuntimeError("listener bug")

    stop_broken = outbox.on_commit(engine, broken)
    try:
        with sessions() as session, session.begin():
            outbox.enqueue(session, channel="console", kind="k", payload={}, now=now)
            outbox.enqueue(session, channel="console", kind="k", payload={}, now=now)
        assert heard == ["commit"]  # once per commit, and a failing listener spoils nothing
        with sessions() as session, session.begin():
            session.scalar(select(func.count()).select_from(OutboxMessage))
        assert heard == ["commit"]  # nothing queued, nothing announced
        with pytest.raises(ZeroDivisionError), sessions() as session, session.begin():
            outbox.enqueue(session, channel="console", kind="k", payload={}, now=now)
            1 / 0  # noqa: B018
        with sessions() as session, session.begin():
            session.scalar(select(func.count()).select_from(OutboxMessage))
        assert heard == ["commit"]  # a rolled-back row was never there
    finally:
        stop()
        stop_broken()
    with sessions() as session, session.begin():
        outbox.enqueue(session, channel="console", kind="k", payload={}, now=now)
    assert heard == ["commit"]  # stopped listening
    assert "listener failed" in caplog.text
    with sessions() as session:
        assert outbox.pending_count(session) == 3


def test_contacts_are_created_once_and_kept_up_to_date(sessions) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 3, 10, 10, 0)
    with sessions() as session, session.begin():
        first = contacts_for(
            session, [Author("telegram", "7", "7", "Ana"), Author("slack", "7", "C1")], now
        )
        assert {key: c.display_name for key, c in first.items()} == {
            ("telegram", "7"): "Ana",
            ("slack", "7"): None,  # the same id on another platform is someone else
        }
        assert all(c.id is not None for c in first.values())  # ready for tickets and the log
    later = now + timedelta(hours=2)
    with sessions() as session, session.begin():
        again = contacts_for(
            session, [Author("telegram", "7", "8", None), Author("telegram", "9", "9")], later
        )
        known = again[("telegram", "7")]
        assert known.id == first[("telegram", "7")].id
        assert (known.chat_id, known.display_name, known.last_seen_at) == ("8", "Ana", later)
        assert again[("telegram", "9")].created_at == later
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 3
