"""The Slack channel: slack-bolt in HTTP mode (behind uvicorn) or Socket Mode.

Staff live in Slack: ticket cards and alerts arrive in ``slack.staff_channel``, replies in a
card's thread reach the customer, buttons claim and resolve, and the slash commands
``/order``, ``/stock``, ``/tickets``, ``/alerts``, ``/claim``, ``/resolve`` and ``/note`` work
tickets and look things up (``crossdesk slack-manifest`` prints the app manifest with all of
them, the scopes, the events and the request URL ``https://<host>/slack/events``).
Customers may write in ``slack.customer_channels`` (Slack Connect) and, with
``slack.direct_messages``, to the bot directly. A customer channel is shared: what belongs to
one customer (order details, a ticket's replies) is shown to that customer alone there
(ephemeral), never posted for the channel, at the top or in a thread.

The Slack app needs the bot scopes ``chat:write``, ``commands``, ``users:read``,
``channels:read``, ``groups:read`` and ``channels:history`` / ``groups:history`` / ``im:history``,
the ``message.channels``, ``message.groups`` and ``message.im`` events, and interactivity on.

Like every channel this one only translates: a Slack payload becomes an
:class:`IncomingMessage`, ``Router.handle`` runs in a worker thread after Slack has been
acknowledged (Slack wants an answer within 3 seconds), and the replies go back as Block Kit.
Every HTTP request passes ``slack_guard.RequestGuard`` before Bolt sees it: anything unsigned,
wrongly signed (``slack.signing_secret``), stale (5 minutes), too large or malformed is answered
401 before its body is parsed, and a signed request replayed within its 5 minutes is answered
200 and not run again; events Slack delivers again (``X-Slack-Retry-Num``) are acknowledged
and not processed twice. Both memories are per process; across replicas behind a load
balancer the shared inbox stops a retry or replay that lands on another replica: a message,
command or button press is stored under its Slack key (ts, trigger id, action ts) once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.app import App
from bot.channels.settings import SlackSettings
from bot.channels.slack_directory import SeenEvents, SlackDirectory
from bot.channels.slack_http import EVENTS_PATH, BoltHttpServer, SlackSetupError
from bot.channels.slack_render import ACTION_ID, action_of, plain_text, reply_rows
from bot.channels.slack_sender import LIBRARY_LOG, SlackSender, build_client, private_in
from bot.delivery import Deliverer
from bot.inbox_worker import Arrival, InboxWorker, arrival
from handlers.messages import IncomingMessage, MessageKind, Reply

__all__ = ["SlackChannel", "SlackSetupError"]

log = logging.getLogger(__name__)
CHANNEL = "slack"
MAX_TEXT = 40_000  # Slack's own limit on a message's text
# Slack shows the person an error when a command or button is not acknowledged within 3 s,
# and never sends it again: past this, acknowledge while the inbox finishes storing it
ACK_WITHIN_SECONDS = 2.5
CUSTOMER_SUBTYPES = {None, "file_share", "thread_broadcast"}  # others are edits, joins, bots...


class SlackChannel:
    """Receives Slack events, commands and button presses; sends through :class:`SlackSender`."""

    name = CHANNEL

    def __init__(self, settings: SlackSettings, app: App, deliverer: Deliverer) -> None:
        if not settings.bot_token:
            raise SlackSetupError("slack.bot_token is not set: set CROSSDESK_SLACK__BOT_TOKEN")
        self.mode = "socket" if settings.app_token else "http"
        if self.mode == "http" and not settings.signing_secret:
            raise SlackSetupError(
                "slack.signing_secret is required in HTTP mode: set "
                "CROSSDESK_SLACK__SIGNING_SECRET (or CROSSDESK_SLACK__APP_TOKEN for Socket Mode)"
            )
        self.settings = settings
        self.router = app.router
        self.deliverer = deliverer
        self.client = build_client(settings)
        self.sender = SlackSender(self.client, settings.staff_channel)
        # what arrives is stored before Slack is acknowledged; the worker answers it
        self.inbox = InboxWorker(app, CHANNEL, self, self.sender, deliverer)
        self.directory = SlackDirectory(self.client, settings, app.services.clock)
        self.seen = SeenEvents()
        self._late: set[asyncio.Future[None]] = set()  # stores outliving their acknowledgement
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=settings.signing_secret or "",
            name="crossdesk",
            logger=LIBRARY_LOG,
        )
        self.bolt.middleware(self._drop_redeliveries)
        self.bolt.middleware(self._accept_messages)
        # every slash command the app is given goes to the router, which answers one it does
        # not know with the list of those it does (instead of Bolt's unhandled 404)
        self.bolt.command(re.compile("^/"))(self._on_command)
        # message events are taken by _accept_messages; the others are acknowledged, so
        # Slack does not retry them
        self.bolt.event(re.compile(".*"))(self._on_other_event)
        self.bolt.action(ACTION_ID)(self._on_action)
        # a button of a message sent by an older version: acknowledged, nothing to do
        self.bolt.action(re.compile(".*"))(self._on_unknown_action)
        self.port: int | None = None  # the HTTP port actually listened on, once started
        self._http: BoltHttpServer | None = None
        self._socket_mode: Any = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen for Slack (HTTP server or Socket Mode connection); returns once listening."""
        self.inbox.start()
        if self.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket_mode = AsyncSocketModeHandler(self.bolt, self.settings.app_token)
            await self._socket_mode.connect_async()
            log.info("slack: connected in Socket Mode")
            return
        self._http = BoltHttpServer(
            self.bolt, self.settings.host, self.settings.port, self.settings.signing_secret or ""
        )
        self.port = await self._http.start()
        log.info("slack: listening on %s:%d%s", self.settings.host, self.port, EVENTS_PATH)

    async def open_sender(self) -> None:
        """Nothing to prepare: the Web API client opens a connection per call. (For
        ``alerts run-once``, which sends without listening; :meth:`stop` still closes.)"""

    async def stop(self) -> None:
        """Stop listening, let answers in progress finish (briefly), release connections."""
        if self._socket_mode is not None:
            await self._socket_mode.close_async()
            self._socket_mode = None
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._late:  # acknowledged already: let them reach the inbox
            await asyncio.wait(set(self._late), timeout=10)
        await self.inbox.stop()

    # --- Bolt listeners: acknowledge at once, work afterwards ------------------------------

    async def _drop_redeliveries(
        self, body: dict[str, Any], next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Acknowledge an event seen before (a Slack retry) without running it again."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.seen.first_time(str(event_id)):
            log.info("slack: event delivered again; acknowledged, not processed twice")
            return BoltResponse(status=200, body="")
        await next_()
        return None

    async def _accept_messages(
        self, body: dict[str, Any], next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """A message event is stored in the inbox before Slack hears it arrived (a failure to
        store answers 500, and Slack delivers it again); other requests go on to Bolt."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        if not isinstance(event, dict) or event.get("type") != "message":
            await next_()
            return None
        message = await self._message_of(event)
        if message is not None:
            key = f"message:{message.chat_id}:{message.message_id or body.get('event_id')}"
            route = {"thread": event.get("thread_ts")}
            await self.inbox.accept([arrival(message, key, route)])
        return BoltResponse(status=200, body="")

    async def _on_command(
        self, ack: Callable[..., Awaitable[None]], command: dict[str, Any], body: dict[str, Any]
    ) -> None:
        async def store() -> None:
            message = await self._command_message(command)
            route = {
                "origin": "command",
                "response_url": str(command.get("response_url") or ""),
            }
            key = f"command:{body.get('trigger_id') or command.get('trigger_id') or id(command)}"
            await self.inbox.accept([arrival(message, key, route)])

        await self._stored_in_time(store(), "command")
        await ack()

    async def _stored_in_time(self, storing: Awaitable[None], what: str) -> None:
        """Wait for ``storing`` (look-ups, then the inbox) up to :data:`ACK_WITHIN_SECONDS`.

        A failure within that time is raised (nothing is acknowledged, the person sees Slack's
        error); past it, the caller acknowledges while the store finishes: a slow store must
        not turn a command that will be answered into an error on the person's screen.
        """
        task = asyncio.ensure_future(storing)
        try:
            await asyncio.wait_for(asyncio.shield(task), ACK_WITHIN_SECONDS)
        except TimeoutError:
            log.info("slack: storing a %s is slow; acknowledged while it finishes", what)
            self._late.add(task)
            task.add_done_callback(self._stored_late)

    def _stored_late(self, task: asyncio.Future[None]) -> None:
        self._late.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.warning("slack: a request acknowledged late was not stored: %s",
                        type(error).__name__)  # fmt: skip

    async def _on_other_event(self) -> None:
        return None

    async def _on_unknown_action(self, ack: Callable[..., Awaitable[None]]) -> None:
        await ack()

    async def _on_action(
        self,
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        action: dict[str, Any],
    ) -> None:
        async def store() -> None:
            accepted = await self._action_arrival(body, action)
            if accepted is not None:
                await self.inbox.accept([accepted])

        await self._stored_in_time(store(), "button press")
        await ack()

    # --- Slack payloads -> IncomingMessage ---------------------------------------------------

    def _serves_customers(self, channel: str, channel_type: str | None) -> bool:
        if channel in self.settings.customer_channels:
            return True
        is_dm = channel_type == "im" or channel.startswith("D")
        return self.settings.direct_messages and is_dm

    def _private_chat(self, channel: str, channel_type: str | None, user: str) -> str | None:
        """Where ``user``, writing in ``channel``, is reached privately: in a shared customer
        channel, shown to them alone there (:func:`private_in`); a DM is private already, and
        the staff channel is not where customers are reached (None: the chat itself)."""
        is_dm = channel_type == "im" or channel.startswith("D")
        if is_dm or channel == self.settings.staff_channel:
            return None
        return private_in(channel, user)

    async def _command_message(self, command: dict[str, Any]) -> IncomingMessage:
        user, channel = str(command.get("user_id", "")), str(command.get("channel_id", ""))
        text = f"{command.get('command', '')} {plain_text(str(command.get('text') or ''))}"
        is_staff = await self.directory.is_staff(user)
        profile = await self.directory.profile(user)
        return IncomingMessage.from_text(
            CHANNEL,
            user,
            channel,
            text.strip()[:MAX_TEXT],
            display_name=profile.display_name or command.get("user_name"),
            language_hint=profile.locale,
            is_staff=is_staff,
            # the slash commands are staff tools; only where customers are served do they
            # mean what a customer's /order means
            in_staff_chat=not self._serves_customers(channel, None),
            private_chat_id=self._private_chat(channel, None, user),
        )

    async def _message_of(self, event: dict[str, Any]) -> IncomingMessage | None:
        """The message a person wrote, or None for what nobody asked the bot (edits, joins,
        bots, staff talking among themselves)."""
        subtype = event.get("subtype")
        if subtype not in CUSTOMER_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return None
        channel, user = str(event.get("channel", "")), str(event["user"])
        ts, thread_ts = event.get("ts"), event.get("thread_ts")
        text = plain_text(str(event.get("text") or "")[:MAX_TEXT])
        staff_chat = channel == self.settings.staff_channel
        if staff_chat and (not thread_ts or thread_ts == ts):
            return None  # staff talking among themselves, not in a ticket's thread
        if not staff_chat and not self._serves_customers(channel, event.get("channel_type")):
            return None
        is_staff = await self.directory.is_staff(user)
        if not staff_chat and is_staff and event.get("channel_type") != "im":
            return None  # staff in a customer channel answer the customer themselves
        profile = await self.directory.profile(user)
        extra: dict[str, Any] = {
            "display_name": profile.display_name,
            "language_hint": None if staff_chat else profile.locale,
            "is_staff": is_staff,
            "in_staff_chat": staff_chat,
            "thread_id": thread_ts,
            "message_id": ts,
            "private_chat_id": self._private_chat(channel, event.get("channel_type"), user),
        }
        if not text.strip() and event.get("files"):
            return IncomingMessage(CHANNEL, user, channel, kind=MessageKind.NON_TEXT, **extra)
        return IncomingMessage.from_text(CHANNEL, user, channel, text, **extra)

    async def _action_arrival(self, body: dict[str, Any], action: dict[str, Any]) -> Arrival | None:
        value = action_of(action.get("value"), action.get("action_id"))
        people = body.get("user") or {}
        user = str(people.get("id", ""))
        container = body.get("container") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
        pressed = body.get("message") or {}
        message_ts = pressed.get("ts") or container.get("message_ts")
        thread_ts = pressed.get("thread_ts")
        if not value or not user or not channel:
            return None
        staff_chat = channel == self.settings.staff_channel
        is_staff = await self.directory.is_staff(user)
        profile = await self.directory.profile(user)
        message = IncomingMessage(
            CHANNEL,
            user,
            channel,
            kind=MessageKind.BUTTON,
            action=value,
            display_name=profile.display_name or people.get("name"),
            language_hint=None if staff_chat else profile.locale,
            is_staff=is_staff,
            in_staff_chat=staff_chat,
            thread_id=thread_ts,
            message_id=message_ts,
            private_chat_id=self._private_chat(channel, None, user),
        )
        route: dict[str, Any] = {
            "origin": "action",
            "thread": (thread_ts or message_ts) if staff_chat else thread_ts,
        }
        if container.get("is_ephemeral") and body.get("response_url"):
            route["response_url"] = str(body["response_url"])  # nothing to thread on
        # Slack gives every press its own trigger id; the action's time and value make the
        # key unique even where a client sends none
        key = f"action:{body.get('trigger_id')}:{action.get('action_ts')}:{user}:{value}"
        return arrival(message, key, route)

    # --- answering -------------------------------------------------------------------------

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout``) until what has arrived is answered."""
        if self._late:
            await asyncio.wait(set(self._late), timeout=timeout)
        await self.inbox.settle(timeout)

    def outgoing(
        self, message: IncomingMessage, route: dict[str, Any], reply: Reply
    ) -> dict[str, Any]:
        """The outbox payload answering ``message``: a slash command through its
        ``response_url`` (seen by the channel only for staff in the staff channel), a button
        on an ephemeral message the same way, anything else in its conversation and thread;
        a reply with personal data is shown to its asker only (ephemeral)."""
        payload: dict[str, Any] = {
            "to": message.chat_id,
            "text": reply.text,
            "buttons": reply_rows(reply),
        }
        if route.get("origin") == "command":
            visible = not reply.private and message.chat_id == self.settings.staff_channel
            payload.update(response_url=route.get("response_url") or None, visible=visible)
            if not visible:
                payload["private_to"] = message.user_id
            return payload
        if route.get("response_url"):
            payload.update(response_url=route["response_url"], private_to=message.user_id)
            return payload
        if reply.private and not message.chat_id.startswith("D"):  # a DM is private already
            payload["private_to"] = message.user_id
        if route.get("thread"):
            payload["reply_to"] = {"chat_id": message.chat_id, "message_id": route["thread"]}
        return payload
