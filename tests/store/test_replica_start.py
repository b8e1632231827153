"""Replicas starting together on one PostgreSQL database: their migrations take turns, and
the sequences agree with the ids the demo shop wrote."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from store.db import create_store_engine, current_revision

# Each process imports and connects, says it is ready, waits for "go", then upgrades: the
# three upgrades start at the same moment instead of whenever each import happens to finish.
UPGRADER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from store.db import create_store_engine, upgrade

    url, folder, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    engine = create_store_engine(url)
    (folder / f"{name}.ready").touch()
    deadline = time.monotonic() + 60
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    upgrade(engine)
    """
)


def test_three_replicas_upgrading_a_fresh_database_at_once_all_succeed(
    db_url: str, tmp_path: Path
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database")
    names = ("a", "b", "c")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADER, db_url, str(tmp_path), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
            (tmp_path / f"{n}.ready").exists() for n in names
        ):
            if any(p.poll() is not None for p in processes):
                break  # one failed early: its error is reported below
            time.sleep(0.01)  # polling the other processes, not waiting for time to pass
        (tmp_path / "go").touch()
        results = [(p.wait(timeout=120), p.communicate()[1].decode()) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [code for code, _ in results] == [0, 0, 0], [err for _, err in results]
    engine = create_store_engine(db_url)
    assert current_revision(engine) is not None
    engine.dispose()


HEADER = (
    "order_id,placed_at,customer_email,customer_name,country,postcode,language,status,"
    "total,currency,carrier,tracking_number,shipped_at,promised_delivery,delivered_at,"
    "last_scan_at,sku,quantity\n"
)


def test_orders_of_new_customers_import_after_the_demo_shop(db_url: str, tmp_path: Path) -> None:
    from datetime import date

    from sqlalchemy import func, select

    from store.db import session_factory, upgrade
    from store.demo import generate_demo_shop
    from store.importers import import_orders
    from store.models import Customer

    engine = create_store_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        made = generate_demo_shop(session, orders=50, products=5, seed=3, today=date(2026, 3, 1))
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER
        + "".join(
            f"77{n},2026-03-01T10:00:00,new{n}@shop.example,New {n},DE,10115,de,paid,9.90,EUR,"
            ",,,,,,SKU-1,1\n"
            for n in range(3)
        ),
        encoding="utf-8",
    )
    assert import_orders(sessions, path).created == 3  # new ids after the demo's own
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == made.customers + 3
    engine.dispose()
