"""Sending to Slack: the Web API client with its retry handlers, and the outbox Sender.

Short rate limits (``429`` with a small ``Retry-After``) and dropped connections are retried
inside slack-sdk; a rate limit that outlasts those retries, or asks for a longer wait than is
worth holding the delivery loop for, becomes :class:`RetryLater`, so the outbox reschedules the
message exactly when Slack allows. Errors are reported by Slack's error code only: message text
and tokens never reach a log or an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.channels.settings import SlackSettings
from bot.channels.slack_render import Rows, render
from bot.delivery import Outgoing, PlatformRef, RetryLater

log = logging.getLogger(__name__)
# slack-sdk and Bolt log request bodies (message text) at DEBUG: their logger stops at INFO
LIBRARY_LOG = logging.getLogger("bot.channels.slack.library")
LIBRARY_LOG.setLevel(logging.INFO)
GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}


class SlackSendError(Exception):
    """Slack refused a call; the message names Slack's error code, nothing else."""


def retry_after(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """Seconds from a ``Retry-After`` header (values may come as a list), else ``default``."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return default
    return default


class ShortRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Waits out 429s in place only when Slack asks for at most ``max_wait`` seconds."""

    def __init__(self, max_retry_count: int = 2, max_wait: float = 5.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        return retry_after(response.headers) <= self.max_wait


def build_client(settings: SlackSettings) -> AsyncWebClient:
    """The Web API client: bot token, configured base URL, rate-limit and connection retries."""
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ShortRateLimitRetryHandler(),
    ]
    return AsyncWebClient(
        token=settings.bot_token,
        base_url=settings.base_url,
        timeout=30,
        retry_handlers=handlers,
        logger=LIBRARY_LOG,
    )


def api_error(exc: SlackApiError) -> Exception:
    """RetryLater for rate limits, else a SlackSendError naming Slack's error code."""
    response = exc.response
    code = str(response.get("error", "unknown_error")) if response is not None else "no_response"
    status = getattr(response, "status_code", None)
    if status == 429 or code == "ratelimited":
        return RetryLater(retry_after(getattr(response, "headers", None)), "slack ratelimited")
    return SlackSendError(f"slack error {code} (HTTP {status})")


# "<user>@<channel>": Slack's ids hold letters and digits only, so "@" cannot be part of one
_PRIVATE = "@"


def private_in(channel: str, user: str) -> str:
    """The address that reaches ``user`` privately in the shared ``channel``.

    Everyone in a shared channel reads what is posted there, at the top or in a thread, so the
    channel is no place for what belongs to one customer (a ticket's replies, order details).
    The listener gives a customer who writes in a shared channel this address as their private
    chat; what is sent to it is shown to ``user`` only, in that channel (``chat.postEphemeral``).
    A DM needs none: it is private already.
    """
    return f"{user}{_PRIVATE}{channel}"


def parse_private(address: str) -> tuple[str, str | None]:
    """``(channel, user)`` of an address made by :func:`private_in`; ``(address, None)`` for
    a plain channel, DM or user id."""
    user, sep, channel = address.partition(_PRIVATE)
    return (channel, user) if sep and user and channel else (address, None)


class SlackSender:
    """Renders Outgoing messages as Block Kit and posts, threads or updates them."""

    def __init__(self, client: AsyncWebClient, staff_channel: str | None) -> None:
        self.client = client
        self.staff_channel = staff_channel

    def _destination(self, message: Outgoing) -> str:
        if message.thread is not None:
            return message.thread.chat_id
        if message.to == "staff":
            if not self.staff_channel:
                raise SlackSendError(
                    "no staff channel: set slack.staff_channel to the staff channel's id"
                )
            return self.staff_channel
        return message.to

    async def send(self, message: Outgoing) -> PlatformRef | None:
        """Post (or, with ``edit``, update) one message; where it landed, None if empty or
        ephemeral. A reply with a ``response_url`` goes through it (posted instead if Slack
        refuses the URL: it expires after 30 minutes and five uses); one ``private_to`` a
        person is shown to that person only, as is one sent to a :func:`private_in` address."""
        channel, user = parse_private(message.to)
        if user is not None:
            message = replace(message, to=channel, private_to=user)
        if message.response_url:
            try:
                await self.respond(
                    message.response_url, message.text, message.buttons, visible=message.visible
                )
                return None
            except Exception as exc:
                log.warning("slack: response_url failed (%s); posting instead", type(exc).__name__)
        if message.private_to:
            await self.reply(
                self._destination(message),
                message.text,
                message.buttons,
                user=message.private_to,
                thread_ts=message.thread.message_id if message.thread else None,
            )
            return None
        text, blocks = render(message.text, message.buttons, mention=message.mention)
        if not blocks:
            log.info("slack: nothing to show for a %s message; skipped", message.kind or "reply")
            return None
        try:
            if message.edit is not None:
                try:
                    response = await self.client.chat_update(
                        channel=message.edit.chat_id,
                        ts=message.edit.message_id,
                        text=text,
                        blocks=blocks,
                    )
                    return PlatformRef(str(response["channel"]), str(response["ts"]))
                except SlackApiError as exc:
                    if exc.response is None or exc.response.get("error") not in GONE:
                        raise
                    log.warning("slack: message to update is gone; posting it anew")
            return await self.post(
                self._destination(message),
                text,
                blocks,
                thread_ts=message.thread.message_id if message.thread else None,
            )
        except SlackApiError as exc:
            raise api_error(exc) from None

    async def post(
        self, channel: str, text: str, blocks: list[dict], *, thread_ts: str | None = None
    ) -> PlatformRef:
        """chat.postMessage without link previews; raises SlackApiError."""
        extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        response = await self.client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )
        return PlatformRef(str(response["channel"]), str(response["ts"]))

    async def reply(
        self,
        channel: str,
        text: str,
        rows: Rows = (),
        *,
        user: str | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """Answer in a conversation; with ``user``, ephemerally (only that person sees it)."""
        fallback, blocks = render(text, rows)
        if not blocks:
            return
        try:
            if user is None:
                await self.post(channel, fallback, blocks, thread_ts=thread_ts)
                return
            extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
            await self.client.chat_postEphemeral(
                channel=channel, user=user, text=fallback, blocks=blocks, **extra
            )
        except SlackApiError as exc:
            raise api_error(exc) from None

    async def respond(
        self, response_url: str, text: str, rows: Rows = (), *, visible: bool = False
    ) -> None:
        """Answer a slash command or a button through its ``response_url``; raises
        SlackSendError when Slack refuses (the URL expired or was used five times)."""
        fallback, blocks = render(text, rows)
        if not blocks:
            return
        webhook = AsyncWebhookClient(response_url, timeout=30, logger=LIBRARY_LOG)
        response = await webhook.send(
            text=fallback,
            blocks=blocks,
            response_type="in_channel" if visible else "ephemeral",
            replace_original=False,
        )
        if response.status_code != 200:
            raise SlackSendError(f"response_url refused (HTTP {response.status_code})")
