"""The one entry point every channel calls: who wrote, what is it, who handles it.

``Router.handle`` takes an :class:`IncomingMessage` and returns the replies to its sender;
``Router.handle_batch`` does the same for a burst of messages from different chats. Whatever a
message causes (a ticket, outbox rows for staff, a remembered language) is stored in one
transaction with it, or not at all. Anything that goes wrong inside is logged (without the
message text) and answered with a polite fallback: one bad message never stops a channel, and
in a batch it fails alone.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from handlers import customer, customer_actions, handoff, staff, staff_alerts, stock
from handlers.messages import Command, IncomingMessage, MessageKind, Reply
from handlers.services import Services
from handlers.ticket_commands import TICKET_COMMANDS
from knowledge.translation import TranslationUnavailable
from store.customers import Author, contacts_for, remember_language, with_ticket_activity
from store.db import bind_session, is_busy
from store.models import Contact
from store.tickets import TicketNumbers

log = logging.getLogger(__name__)

StaffCommand = Callable[[Services, Session, Command], Reply]


def _staff_help(services: Services, session: Session, command: Command) -> Reply:
    """``/help`` from staff: every staff command, one line each."""
    return staff.help_command(services, [*STAFF_COMMANDS, *TICKET_COMMANDS])


STAFF_COMMANDS: dict[str, StaffCommand] = {
    "order": staff.order_command,
    "stock": stock.stock_command,
    "alerts": staff_alerts.alerts_command,
    "help": _staff_help,
}
# every staff command, for the channels' menus and Slack's slash commands
STAFF_COMMAND_NAMES = frozenset(STAFF_COMMANDS) | frozenset(TICKET_COMMANDS)
CUSTOMER_COMMANDS = customer_actions.COMMANDS


class BatchHooks(Protocol):
    """What a caller of :meth:`Router.handle_batch` adds to each of the batch's transactions.

    The inbox worker (``bot/inbox_worker.py``) marks the messages' inbox rows done in the
    transaction that handles them and records the replies there, so that the work, the mark
    and the replies commit together or not at all.
    """

    def claim(self, session: Session, messages: Sequence[IncomingMessage]) -> set[int]:
        """First thing in a transaction: the indices of ``messages`` not to handle (someone
        else has, or must first)."""

    def record(
        self,
        session: Session,
        messages: Sequence[IncomingMessage],
        replies: Sequence[list[Reply] | None],
    ) -> None:
        """Last thing before the commit: store the replies (None for a message not handled)."""

    def failed(self, message: IncomingMessage, error: Exception) -> bool:
        """``message`` failed on its own: True if the caller will try it again later (then
        its sender gets no fallback now)."""


class Router:
    """Routes each incoming message to the customer pipeline, staff commands or the handoff."""

    def __init__(
        self,
        services: Services,
        *,
        translate_outside_writes: bool = False,
        keep_ticket_numbers: bool = False,
    ) -> None:
        """``translate_outside_writes``: fetch a translation the cache lacks between a
        rolled-back pass of the batch and the real one (see :meth:`handle_batch`), so that no
        write lock is held while the provider answers. ``keep_ticket_numbers``: the store's
        ids come from sequences that a rollback does not rewind (PostgreSQL), so the ticket
        numbers of the rolled-back pass are handed to the real one."""
        self.services = services
        self.translate_outside_writes = translate_outside_writes
        self.keep_ticket_numbers = keep_ticket_numbers

    def handle(self, message: IncomingMessage) -> list[Reply]:
        """Handle one message; never raises for bad input."""
        return self.handle_batch([message])[0]

    def handle_batch(
        self, messages: Sequence[IncomingMessage], hooks: BatchHooks | None = None
    ) -> list[list[Reply]]:
        """Handle messages from different chats together: the replies to each, in order.

        A burst is handled in one transaction, with the contacts loaded and created in one go,
        which costs a fraction of a transaction per message. The messages come from different
        chats at the same time, so any order among them is one they could have arrived in. If
        one message fails, the batch is retried without it (:meth:`_isolating`), so that one
        bad message costs the others nothing but a retry. ``hooks`` join each transaction.
        """
        if not messages:
            return []
        split = _first_repeat(messages)
        if split is not None:  # one user twice: theirs go one after the other
            return self.handle_batch(messages[:split], hooks) + self.handle_batch(
                messages[split:], hooks
            )
        translator = self.services.translator
        if not translator.enabled or not self.translate_outside_writes:
            return self._isolating(list(messages), hooks)
        # decide, call, then write: translations the cache lacks are noted, the transaction
        # is rolled back, they are fetched with no transaction open, and the batch is handled
        # again from the cache (a translator that takes seconds never holds the write lock);
        # the ticket numbers the rolled-back pass took are the ones the repeat uses
        numbers = TicketNumbers() if self.keep_ticket_numbers else None
        with translator.deferring() as wanted:
            try:
                return self._isolating(list(messages), hooks, wanted, numbers)
            except _TranslationsWanted:
                pass
        for text, source, target in dict.fromkeys(wanted):
            with contextlib.suppress(TranslationUnavailable):  # then it goes untranslated
                translator.translate(text, source, target)
        return self._isolating(list(messages), hooks, numbers=numbers)

    def _isolating(
        self,
        messages: list[IncomingMessage],
        hooks: BatchHooks | None,
        wanted: list[tuple[str, str, str]] | None = None,
        numbers: TicketNumbers | None = None,
    ) -> list[list[Reply]]:
        """``messages`` in one transaction; if that fails, again without the one that failed.

        A message whose own handling raised is left out and the others are retried at once.
        It is then tried alone, because it may only have met another message's failure (a
        query of its own flushes what the others changed); if it fails alone as well, its
        sender gets the fallback, once. A failure that no single message raised (at commit,
        say) splits the batch in halves until it has one. Each retry is a new transaction:
        everything the failed attempt did was rolled back.
        """
        try:
            return self._transaction(messages, hooks, wanted, numbers)
        except _TranslationsWanted:
            raise
        except _MessageFailed as failed:
            if len(messages) == 1:
                return [self._failed(messages[0], failed.error, hooks)]
            log.warning(
                "a batch of %d messages failed (%s); retrying it without the failing one",
                len(messages),
                type(failed.error).__name__,
            )
            index = failed.index
            # the parts commit one by one: none may be rolled back for a translation later
            with self.services.translator.fetching():
                others = self._isolating(
                    messages[:index] + messages[index + 1 :], hooks, numbers=numbers
                )
                alone = self._isolating([messages[index]], hooks, numbers=numbers)
            return [*others[:index], *alone, *others[index:]]
        except Exception as error:
            if len(messages) == 1:
                return [self._failed(messages[0], error, hooks)]
            log.warning(
                "a batch of %d messages failed (%s); retrying it in halves",
                len(messages),
                type(error).__name__,
            )
            half = len(messages) // 2
            with self.services.translator.fetching():
                first = self._isolating(messages[:half], hooks, numbers=numbers)
                return first + self._isolating(messages[half:], hooks, numbers=numbers)

    def _failed(
        self, message: IncomingMessage, error: Exception, hooks: BatchHooks | None = None
    ) -> list[Reply]:
        """The fallback for a message that failed on its own; logged without its content.

        At ERROR the log names the exception's type and where it was raised; the traceback,
        whose last line may quote the message, goes to DEBUG. When ``hooks`` take the
        message back to retry it later, it gets no answer now.
        """
        log.error(
            "handling a %s message on %s failed: %s at %s",
            message.kind,
            message.channel,
            type(error).__name__,
            _where(error),
        )
        log.debug("the failure's traceback", exc_info=error)
        if hooks is not None and hooks.failed(message, error):
            return []
        return [self.fallback(message, error)]

    def fallback(self, message: IncomingMessage, error: Exception | None = None) -> Reply:
        """The polite "something went wrong" answer to ``message``, in its sender's language
        as far as the platform tells it ("one moment" when ``error`` is a busy store)."""
        language = self.services.support.default_language
        if message.language_hint:
            hint = message.language_hint.split("-")[0].lower()
            language = hint if hint in self.services.support.languages else language
        # a busy store is no fault of the message: "one moment", not "I did not understand"
        key = "fallback.busy" if error is not None and is_busy(error) else "fallback.text"
        return Reply(self.services.texts.get(key, language), language=language)

    # --- routing --------------------------------------------------------------------------

    def _transaction(
        self,
        messages: Sequence[IncomingMessage],
        hooks: BatchHooks | None,
        wanted: list[tuple[str, str, str]] | None = None,
        numbers: TicketNumbers | None = None,
    ) -> list[list[Reply]]:
        """Staff first, then customers, whose contacts and tickets are looked up together.

        With ``wanted`` (the translator deferring), a batch that noted translations to fetch
        is rolled back (:class:`_TranslationsWanted`) instead of committed. ``numbers`` keeps
        the ticket numbers of a transaction that is rolled back for the next one."""
        replies: list[list[Reply] | None] = [None] * len(messages)
        with (
            numbers.transaction() if numbers is not None else contextlib.nullcontext(),
            self.services.sessions() as session,
            session.begin(),
            bind_session(session),
        ):
            if numbers is not None:
                numbers.attach(session)
            skipped = hooks.claim(session, messages) if hooks is not None else set()
            customers = []
            for index, message in enumerate(messages):
                if index in skipped:
                    continue
                if message.in_staff_chat or message.kind is not MessageKind.TEXT:
                    with _blaming(index):
                        replies[index] = self._staff(session, message)
                if replies[index] is None:
                    if message.in_staff_chat:
                        replies[index] = []  # staff talking among themselves
                    else:
                        customers.append(index)
            authors = [_author(messages[i]) for i in customers]
            contacts = contacts_for(session, authors, self.services.clock())
            active = with_ticket_activity(session, contacts.values())
            theirs = [contacts[(a.channel, a.external_id)] for a in authors]
            for index, contact in zip(customers, theirs, strict=True):
                self._adopt_hint(contact, messages[index])
            with self._understood_together(customers, theirs, messages, active):
                for index, contact in zip(customers, theirs, strict=True):
                    with _blaming(index):
                        replies[index] = self._customer(session, contact, messages[index], active)
            if wanted:
                raise _TranslationsWanted  # rolls back: handled again once they are fetched
            if hooks is not None:
                for index in skipped:
                    replies[index] = None
                hooks.record(session, messages, replies)
        return [r or [] for r in replies]

    def _customer(
        self, session: Session, contact: Contact, message: IncomingMessage, active: set[int]
    ) -> list[Reply]:
        """A customer's message; ``active`` holds the contacts with ticket activity."""
        services = self.services
        if message.kind is MessageKind.NON_TEXT:
            return [self._text(contact, "input.non_text")]
        if message.kind is MessageKind.BUTTON:
            return customer_actions.answer_button(services, session, contact, message)
        if message.kind is MessageKind.COMMAND and message.command is not None:
            command = message.command
            if command.name in STAFF_COMMAND_NAMES and command.name not in CUSTOMER_COMMANDS:
                return [self._text(contact, "staff.only")]
            return customer_actions.answer_command(services, session, contact, command)
        if contact.id in active:
            relayed = handoff.customer_message(services, session, contact, message)
            if relayed is not None:
                return relayed
        return customer.handle_text(services, session, contact, message)

    def _adopt_hint(self, contact: Contact, message: IncomingMessage) -> None:
        """A new customer's language, as far as the platform tells it, until they write."""
        if contact.language is None and message.language_hint:
            hint = message.language_hint.split("-")[0].lower()
            if hint in self.services.support.languages:
                remember_language(contact, hint)

    def _understood_together(
        self,
        customers: Sequence[int],
        contacts: Sequence[Contact],
        messages: Sequence[IncomingMessage],
        active: set[int],
    ) -> contextlib.AbstractContextManager[None]:
        """The batch's customer texts classified in one go before they are handled one by
        one (:meth:`Classifier.prepared`): one encoder call for the batch, not one each.

        A failure here is no message's: the messages are then classified one by one, and the
        one that fails is found as ever."""
        requests = [
            customer.classify_request(contact, messages[index])
            for index, contact in zip(customers, contacts, strict=True)
            if messages[index].kind is MessageKind.TEXT
            and contact.id not in active
            and customer.needs_understanding(contact, messages[index])
        ]
        if len(requests) < 2:
            return contextlib.nullcontext()
        try:
            return self.services.classifier.prepared(requests)
        except Exception as error:
            log.warning("classifying a batch together failed: %s", type(error).__name__)
            return contextlib.nullcontext()

    def _text(self, contact: Contact, key: str, **values: object) -> Reply:
        language = contact.language or self.services.support.default_language
        return Reply(self.services.texts.get(key, language, **values), language=language)

    def _staff(self, session: Session, message: IncomingMessage) -> list[Reply] | None:
        """Staff commands, buttons and thread replies; None if the message is not for staff."""
        services = self.services
        lang = services.support.staff_language
        if message.kind is MessageKind.COMMAND and message.command:
            command = message.command
            handler = STAFF_COMMANDS.get(command.name)
            ticket_handler = TICKET_COMMANDS.get(command.name)
            if handler is None and ticket_handler is None:
                if message.in_staff_chat:
                    return [Reply(services.texts.get("command.unknown", lang), language=lang)]
                return None
            if not message.is_staff:
                if not message.in_staff_chat:
                    return None  # the customer side answers (or refuses) in their language
                return [Reply(services.texts.get("staff.only", lang), language=lang)]
            if ticket_handler is not None:
                return ticket_handler(services, session, message, command)
            assert handler is not None
            return [handler(services, session, command)]
        if message.kind is MessageKind.BUTTON and message.action:
            if not message.is_staff:
                return None  # the customer side refuses staff buttons in their language
            if handoff.is_staff_action(message.action):
                return handoff.staff_action(services, session, message)
            if staff_alerts.is_alert_action(message.action):
                return staff_alerts.alert_action(services, session, message)
            return None
        if message.kind is MessageKind.TEXT and message.in_staff_chat and message.is_staff:
            return handoff.staff_message(services, session, message)
        return None


class _TranslationsWanted(Exception):
    """The batch noted translations the cache lacks: roll back, fetch them, handle again."""


class _MessageFailed(Exception):
    """Handling the message at ``index`` of a batch raised ``error``."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index)
        self.index = index
        self.error = error


@contextmanager
def _blaming(index: int) -> Iterator[None]:
    """Attribute an exception raised inside to the batch's message at ``index``."""
    try:
        yield
    except Exception as error:
        raise _MessageFailed(index, error) from error


_OURS = Path(__file__).resolve().parents[1]


def _where(error: BaseException) -> str:
    """Where ``error`` was raised in CrossDesk's code, as ``path.py:line``: no data in it."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(_OURS)]
    candidates = ours or frames
    if not candidates:
        return "?"
    frame = candidates[-1]
    path = Path(frame.filename).resolve()
    shown = path.relative_to(_OURS) if path.is_relative_to(_OURS) else Path(path.name)
    return f"{shown.as_posix()}:{frame.lineno}"


def _author(message: IncomingMessage) -> Author:
    """The sender, reached at their private chat: a message written in a group never makes
    the group the place a ticket's replies or order details go."""
    reached_at = message.private_chat_id or message.chat_id
    return Author(message.channel, message.user_id, reached_at, message.display_name)


def _first_repeat(messages: Sequence[IncomingMessage]) -> int | None:
    """The index of the first message whose author wrote one before it, if any."""
    seen: set[tuple[str, str]] = set()
    for index, message in enumerate(messages):
        user = (message.channel, message.user_id)
        if user in seen:
            return index
        seen.add(user)
    return None
