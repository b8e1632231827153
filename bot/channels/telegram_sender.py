"""Sending to Telegram: outbox messages (the delivery worker's :class:`Sender`) and replies.

Both render plain text with ``telegram_render`` and send it in pieces. The difference is who
retries: the outbox sender raises :class:`RetryLater` on flood control and lets the delivery
worker wait and try again; :func:`with_retries` retries a reply in place a few times (waiting
out ``retry_after``, backing off after network errors) before the channel hands it over to the
outbox.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import ReplyParameters
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot.channels.settings import TelegramSettings
from bot.channels.telegram_render import PARSE_MODE, Rendered, keyboard, render, split_text
from bot.config import ConfigError
from bot.delivery import Outgoing, PlatformRef, RetryLater, SendInterrupted, Undeliverable

T = TypeVar("T")
REPLY_ATTEMPTS = 4  # sending a reply inline before handing it to the outbox
RETRY_BASE_SECONDS = 0.25  # backoff after a network error: 0.25, 0.5, 1 s...
MAX_INLINE_WAIT = 10.0  # a longer retry_after is waited out by the outbox, not the handler


def retry_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds, whatever PTB's representation of it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_transient(error: BaseException) -> bool:
    """Worth trying again later: flood control, timeouts, network and server errors."""
    return isinstance(error, RetryAfter | NetworkError) and not isinstance(error, BadRequest)


class TelegramSender:
    """Sends outbox messages (staff notifications, relayed answers) through the Bot API."""

    def __init__(self, application: Application, settings: TelegramSettings) -> None:
        self.application = application
        self.settings = settings

    def _target(self, to: str) -> int:
        if to == "staff":
            if self.settings.staff_chat_id is None:
                raise ConfigError(["telegram.staff_chat_id: not set; staff messages need it"])
            return self.settings.staff_chat_id
        return int(to)

    async def send(self, message: Outgoing) -> PlatformRef | None:
        """Send (or edit) ``message``: RetryLater when Telegram asks to wait, Undeliverable
        when it refuses, SendInterrupted when a long text failed after some of its pieces."""
        chat_id = self._target(message.to)
        try:
            if message.edit is not None:
                edited = await self._edit(message)
                if edited is not None:
                    return edited
            reply_to = None
            if message.thread is not None and message.thread.chat_id == str(chat_id):
                reply_to = int(message.thread.message_id)
        except TelegramError as error:
            failure = _outcome(error)
            if failure is error:
                raise
            raise failure from error
        # a long text goes in pieces; an earlier attempt may have sent the first ones
        pieces = render(message.text, message.buttons)
        done = min(message.pieces_sent, len(pieces))
        first: PlatformRef | None = None
        for index in range(done, len(pieces)):
            try:
                sent = await send_rendered(
                    self.application, chat_id, [pieces[index]], reply_to if index == 0 else None
                )
            except TelegramError as error:
                failure = _outcome(error)
                if index > done:  # pieces went out in this attempt: say how many
                    raise SendInterrupted(index, failure) from error
                if failure is error:
                    raise
                raise failure from error
            first = first or (sent[0] if sent else None)
        return first

    async def _edit(self, message: Outgoing) -> PlatformRef | None:
        """Replace the text of ``message.edit``; None if that message is gone (send anew)."""
        assert message.edit is not None
        pieces = split_text(message.text)
        if not pieces:
            return message.edit
        try:
            await self.application.bot.edit_message_text(
                render(pieces[0])[0].html,
                chat_id=int(message.edit.chat_id),
                message_id=int(message.edit.message_id),
                parse_mode=PARSE_MODE,
                reply_markup=keyboard(message.buttons),
            )
        except BadRequest as error:
            reason = str(error).lower()
            if "not modified" in reason:
                return message.edit
            if "not found" in reason:
                return None
            raise
        return message.edit


def _outcome(error: TelegramError) -> Exception:
    """What a failed Bot API call means to the delivery worker: wait (flood control), try
    again (network, server), or give up (a refusal)."""
    if isinstance(error, RetryAfter):
        return RetryLater(retry_seconds(error), "Telegram flood control")
    if is_transient(error):
        return error
    return Undeliverable(type(error).__name__)


async def send_rendered(
    application: Application, chat_id: int, pieces: list[Rendered], reply_to: int | None = None
) -> list[PlatformRef]:
    """Send the pieces of one text in order; the first one answers ``reply_to``."""
    refs = []
    for index, piece in enumerate(pieces):
        parameters = None
        if reply_to is not None and index == 0:
            parameters = ReplyParameters(reply_to, allow_sending_without_reply=True)
        sent = await application.bot.send_message(
            chat_id,
            piece.html,
            parse_mode=PARSE_MODE,
            reply_markup=piece.markup,
            reply_parameters=parameters,
        )
        refs.append(PlatformRef(str(sent.chat_id), str(sent.message_id)))
    return refs


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, again after flood control or network trouble, a few times."""
    for attempt in range(REPLY_ATTEMPTS):
        try:
            return await call()
        except RetryAfter as error:
            wait = retry_seconds(error)
            if wait > MAX_INLINE_WAIT or attempt == REPLY_ATTEMPTS - 1:
                raise
            await asyncio.sleep(wait)
        except NetworkError as error:
            if isinstance(error, BadRequest) or attempt == REPLY_ATTEMPTS - 1:
                raise
            await asyncio.sleep(RETRY_BASE_SECONDS * 2**attempt)
    raise AssertionError("unreachable")
