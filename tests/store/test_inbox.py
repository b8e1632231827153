"""The inbox's rules, on the real databases: a key is stored once, one person's rows are
handled oldest first, a row is taken by one transaction only, failures back off and give up,
handled rows are pruned after the retention."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from store import inbox
from store.inbox import Arrival
from store.models import InboxItem

LEASE = timedelta(seconds=120)


def _arrival(key: str, user: str = "u1", channel: str = "telegram") -> Arrival:
    return Arrival(channel, key, f"{channel}:{user}", {"text": key}, {"thread": None})


def _accept(app: App, *arrivals: Arrival) -> list[bool]:
    with app.sessions() as session, session.begin():
        return inbox.accept(session, list(arrivals), app.services.clock())


def test_a_key_twice_in_one_call_is_new_once_and_rows_keep_their_order(app: App) -> None:
    arrivals = [_arrival(str(n), f"u{n % 7}") for n in range(inbox.ACCEPT_CHUNK + 50)]
    redelivered = arrivals[3]
    assert _accept(app, *arrivals[:2], redelivered, *arrivals[2:]) == (
        [True] * 4 + [False] + [True] * (len(arrivals) - 4)
    )
    with app.sessions() as session:
        stored = session.query(InboxItem).order_by(InboxItem.id).all()
    assert [row.key for row in stored] == [a.key for a in [*arrivals[:2], redelivered]] + [
        a.key for a in arrivals[2:] if a is not redelivered
    ]
    assert stored[0].message == {"text": "0"} and stored[0].route == {"thread": None}


def _due(app: App, busy_users: set[str] | None = None) -> list[str]:
    with app.sessions() as session:
        rows = inbox.due(
            session,
            channel="telegram",
            now=app.services.clock(),
            limit=50,
            busy_users=busy_users or set(),
        )
    return [row.key for row in rows]


def _take(app: App, *keys: str) -> set[str]:
    with app.sessions() as session, session.begin():
        ids = {row.id: row.key for row in session.query(InboxItem) if row.key in keys}
        taken = inbox.take(session, list(ids), app.services.clock(), LEASE)
    return {ids[i] for i in taken}


def _finish(app: App, *keys: str) -> None:
    with app.sessions() as session, session.begin():
        inbox.finish(session, [row.id for row in session.query(InboxItem) if row.key in keys])


def test_a_key_is_stored_once_and_a_redelivery_is_told_apart(app: App) -> None:
    assert _accept(app, _arrival("1"), _arrival("2", "u2")) == [True, True]
    assert _accept(app, _arrival("2", "u2"), _arrival("3", "u3"), _arrival("1")) == [
        False,
        True,
        False,
    ]
    # the same platform id on another channel is another delivery
    assert _accept(app, _arrival("1", channel="slack")) == [True]
    with app.sessions() as session:
        assert inbox.counts(session) == {"pending": 4}


def test_only_each_persons_oldest_pending_row_is_due(app: App) -> None:
    _accept(app, _arrival("a1", "alice"), _arrival("b1", "bob"), _arrival("a2", "alice"))
    assert _due(app) == ["a1", "b1"]
    assert _due(app, busy_users={"telegram:bob"}) == ["a1"]
    assert _take(app, "a1") == {"a1"}
    assert _due(app) == ["b1"]  # a1 is being answered: a2 waits until its replies are out
    _finish(app, "a1")
    assert _due(app) == ["b1", "a2"]


def test_a_row_is_taken_once_and_never_before_an_older_one(app: App) -> None:
    _accept(app, _arrival("a1", "alice"), _arrival("a2", "alice"))
    assert _take(app, "a2") == set()  # a1 is still pending: a2 waits
    assert _take(app, "a1") == {"a1"}
    assert _take(app, "a1") == set()  # handled already (by another replica, say)
    assert _take(app, "a2") == set()  # a1's replies are not out yet
    _finish(app, "a1")
    assert _take(app, "a2") == {"a2"}


def test_a_row_whose_process_died_while_answering_holds_back_only_for_its_lease(
    app: App,
) -> None:
    """The replica that took a1 died before sending its replies: alice's a2 waits for the
    lease (the outbox sends a1's replies when their own lease ends), then goes on."""
    clock = app.services.clock
    _accept(app, _arrival("a1", "alice"), _arrival("a2", "alice"))
    assert _take(app, "a1") == {"a1"}
    clock.advance(seconds=LEASE.total_seconds() - 1)  # type: ignore[attr-defined]
    assert _due(app) == []
    clock.advance(seconds=1)  # type: ignore[attr-defined]
    assert _due(app) == ["a2"]
    with app.sessions() as session, session.begin():
        assert inbox.counts(session) == {"sending": 1, "pending": 1}
        assert inbox.finish_abandoned(session, clock()) == 1
        assert inbox.counts(session) == {"done": 1, "pending": 1}


def test_a_failing_row_backs_off_then_is_given_up(app: App) -> None:
    clock = app.services.clock
    _accept(app, _arrival("a1", "alice"), _arrival("a2", "alice"))
    with app.sessions() as session, session.begin():
        first = session.query(InboxItem).filter_by(key="a1").one()
        assert inbox.retry_later(
            session, first.id, now=clock(), delay=timedelta(seconds=5), give_up_after=2
        )
    assert _due(app) == []  # backing off, and alice's a2 waits behind it
    clock.advance(seconds=5)  # type: ignore[attr-defined]
    assert _due(app) == ["a1"]
    with app.sessions() as session, session.begin():
        first = session.query(InboxItem).filter_by(key="a1").one()
        assert not inbox.retry_later(
            session, first.id, now=clock(), delay=timedelta(seconds=5), give_up_after=2
        )
    assert _due(app) == ["a2"]  # a1 failed for good; the next message goes on
    with app.sessions() as session:
        assert inbox.counts(session) == {"failed": 1, "pending": 1}


def test_handled_rows_are_pruned_after_the_retention(app: App) -> None:
    clock = app.services.clock
    _accept(app, _arrival("old"), _arrival("waiting", "u2"))
    _take(app, "old")
    _finish(app, "old")
    clock.advance(hours=47)  # type: ignore[attr-defined]
    with app.sessions() as session, session.begin():
        assert inbox.prune(session, before=clock() - timedelta(hours=48)) == 0
    clock.advance(hours=2)  # type: ignore[attr-defined]
    with app.sessions() as session, session.begin():
        assert inbox.prune(session, before=clock() - timedelta(hours=48)) == 1
        assert inbox.counts(session) == {"pending": 1}  # a pending row is never pruned
    assert _accept(app, _arrival("old")) == [True]  # forgotten: stored again
