"""The Telegram channel: customers in private chats, staff in their group, on python-telegram-bot.

It runs a python-telegram-bot ``Application`` inside CrossDesk's event loop (``initialize``,
``start``, then long polling or a webhook; the reverse on stop), so the delivery worker and the
alert scheduler share the loop. Each update becomes an :class:`IncomingMessage`
(``telegram_updates``) and is stored in the inbox, keyed by its ``update_id``, before Telegram
hears it arrived: the webhook answers 200 only after the store (:class:`AcceptingQueue`), and
long polling confirms an offset only with the next ``getUpdates``, which waits until the last
answer's updates are stored. The inbox worker (``bot/inbox_worker.py``) then hands them to the
router in batches and sends the replies, rendered by the sender (``telegram_render``); Bot API
calls go over aiohttp (``telegram_transport``).

Robustness: a redelivered update is answered once; an update the store cannot take is not
acknowledged (503, or the same offset again after a pause), so Telegram keeps it; a reply is
recorded before it is sent, and one that cannot be sent after a few tries (429 ``retry_after``,
network errors, 5xx) is left to the delivery worker. One failing update is logged (never with
its text) and the bot carries on; one the library cannot even parse is logged once (its id and
size), skipped and acknowledged (``telegram_polling``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    ContextTypes,
    TypeHandler,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.app import App
from bot.channels.network import Proxy, Unreachable, describe_failure, host_of, proxy_for
from bot.channels.settings import TelegramSettings
from bot.channels.telegram_polling import (
    BOT_LOGGERS,
    DropUpdateDump,
    RememberingRequest,
    ScreeningBot,
)
from bot.channels.telegram_sender import TelegramSender, with_retries
from bot.channels.telegram_transport import AiohttpRequest
from bot.channels.telegram_updates import (
    ALLOWED_UPDATES,
    CHANNEL,
    Audience,
    ChatOrderedUpdates,
    to_incoming,
)
from bot.config import ConfigError
from bot.delivery import Deliverer
from bot.inbox_worker import InboxWorker, arrival
from handlers.messages import IncomingMessage, Reply
from handlers.router import CUSTOMER_COMMANDS, STAFF_COMMAND_NAMES

log = logging.getLogger(__name__)

# Updates python-telegram-bot dispatches at once (each chat's still one at a time); they only
# answer button presses now, the inbox worker does the rest. The connections to the Bot API are
# a separate, smaller pool.
CONCURRENT_UPDATES = 128
CONNECTIONS = 32  # to the Bot API server, for replies and outbox messages
POOL_TIMEOUT_SECONDS = 5.0  # waiting for a free connection in a burst is not an error
POLL_TIMEOUT = timedelta(seconds=10)  # long polling
RATE_LIMIT_RETRIES = 3  # 429s the rate limiter itself waits out before giving up
CUSTOMER_MENU = ("start", "order", "language", "human", "help")
STAFF_MENU = ("order", "stock", "tickets", "alerts")


def quiet_library_logs() -> None:
    """Keep the token and message texts out of the logs of libraries nobody configured.

    httpx logs every request URL at INFO, and Bot API URLs contain the token; at DEBUG,
    python-telegram-bot and httpcore log whole updates and API answers, texts included. The
    command line sets these loggers' levels itself (``bot/logs.py``: WARNING unless ``-v``,
    with secrets redacted), so only loggers whose level is still unset get a floor here.
    """
    for name, floor in (("httpx", logging.WARNING), ("httpcore", logging.WARNING)):
        library_log = logging.getLogger(name)
        if library_log.level == logging.NOTSET:
            library_log.setLevel(max(floor, library_log.getEffectiveLevel()))
    telegram_log = logging.getLogger("telegram")
    if telegram_log.level == logging.NOTSET:
        telegram_log.setLevel(max(logging.INFO, telegram_log.getEffectiveLevel()))
    webhook_log = logging.getLogger("telegram.ext._utils.webhookhandler")
    if not any(isinstance(f, _WithholdUpdateData) for f in webhook_log.filters):
        webhook_log.addFilter(_WithholdUpdateData())
    for name in BOT_LOGGERS:
        bot_log = logging.getLogger(name)
        if not any(isinstance(f, DropUpdateDump) for f in bot_log.filters):
            bot_log.addFilter(DropUpdateDump())


class _WithholdUpdateData(logging.Filter):
    """python-telegram-bot logs an update it cannot parse in full; keep only the event."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Received data was" in str(record.msg):
            record.msg, record.args = "an update could not be parsed and was not processed", ()
        return True


def check_settings(settings: TelegramSettings) -> None:
    """Refuse settings the channel cannot run with; the error names the key and the fix."""
    problems = []
    if not settings.token:
        problems.append("telegram.token: not set; set CROSSDESK_TELEGRAM__TOKEN")
    if settings.mode == "webhook":
        if not settings.webhook_secret:
            problems.append(
                "telegram.webhook_secret: webhook mode needs a secret so that only Telegram can "
                "post updates; set CROSSDESK_TELEGRAM__WEBHOOK_SECRET (letters, digits, _ and -)"
            )
        if not settings.webhook_url:
            problems.append(
                "telegram.webhook_url: webhook mode needs the public HTTPS URL Telegram posts "
                'to, e.g. webhook_url = "https://bot.example.com/telegram"'
            )
    if problems:
        raise ConfigError(problems)


def bot_api_proxy(settings: TelegramSettings) -> Proxy | None:
    """The proxy for Bot API calls: telegram.proxy, else HTTPS_PROXY / ALL_PROXY (see
    ``network.proxy_for``); a SOCKS proxy needs the httpx transport."""
    proxy = proxy_for(settings.base_url, settings.proxy)
    if proxy is not None and proxy.url.startswith("socks") and settings.transport == "aiohttp":
        raise ConfigError(
            [
                f"{proxy.source}: {proxy.shown} is a SOCKS proxy, which the aiohttp transport "
                'cannot use; set telegram.transport = "httpx" and pip install "httpx[socks]"'
            ]
        )
    return proxy


def _polling_failed(error: TelegramError) -> None:
    """One line per failed ``getUpdates`` (python-telegram-bot retries, backing off)."""
    log.warning("telegram: polling failed (%s); retrying", type(error).__name__)


class AcceptingQueue(asyncio.Queue[object]):
    """The Application's update queue, which stores each update before taking it.

    python-telegram-bot's webhook server puts an update here and only then answers Telegram
    200; with :attr:`accept` set (webhook mode), the update is in the inbox by then, and an
    update that cannot be stored fails the request, so Telegram delivers it again.
    """

    def __init__(self) -> None:
        super().__init__()
        self.accept: Any = None  # async (updates) -> None, set once the channel has started

    async def put(self, item: object) -> None:
        """Store ``item`` (an Update) in the inbox, then queue it."""
        if self.accept is not None and isinstance(item, Update):
            try:
                await self.accept([item])
            except Exception as error:
                from tornado.web import HTTPError  # the webhook server's; answers 503, no dump

                log.warning("telegram: an update could not be stored (%s)", type(error).__name__)
                raise HTTPError(503, reason="Service Unavailable") from error
        await super().put(item)


def build_application(
    settings: TelegramSettings, concurrent_updates: int, proxy: Proxy | None = None
) -> tuple[Application, list[BaseRequest]]:
    """A python-telegram-bot Application for ``settings`` (not started), and the transports
    CrossDesk made for it (closed by the channel if starting fails)."""
    url = proxy.url if proxy else None
    request: BaseRequest
    if settings.transport == "aiohttp":
        request = AiohttpRequest(CONNECTIONS, pool_timeout=POOL_TIMEOUT_SECONDS, proxy=url)
        polling: BaseRequest = AiohttpRequest(1, proxy=url)
    else:
        request = HTTPXRequest(CONNECTIONS, pool_timeout=POOL_TIMEOUT_SECONDS, proxy=url)
        polling = HTTPXRequest(1, proxy=url)
    limiter: BaseRateLimiter[Any] | None = None
    if settings.rate_limit and settings.rate_limit_redis:
        from bot.channels.telegram_shared_limits import SharedRateLimiter

        limiter = SharedRateLimiter(settings.rate_limit_redis, max_retries=RATE_LIMIT_RETRIES)
    elif settings.rate_limit:
        limiter = AIORateLimiter(max_retries=RATE_LIMIT_RETRIES)
    # a ScreeningBot: one update the library cannot parse is skipped instead of stalling the
    # polling loop (telegram_polling)
    bot = ScreeningBot(
        token=settings.token or "",
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        request=request,
        get_updates_request=RememberingRequest(polling),
        rate_limiter=limiter,
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(ChatOrderedUpdates(concurrent_updates))
        .update_queue(AcceptingQueue())
        .job_queue(None)  # CrossDesk schedules with its own scheduler
        .build()
    )
    return application, [request, polling]


def unreachable(settings: TelegramSettings, proxy: Proxy | None, error: Exception) -> Unreachable:
    """The one line for a Bot API that cannot be reached at start: host, cause, the fix."""
    where = f"the Telegram Bot API at {host_of(settings.base_url)}"
    cause = describe_failure(error)
    if proxy is None:
        return Unreachable(
            f"cannot reach {where}: {cause}; if this machine reaches the internet only through "
            'a proxy, set telegram.proxy = "http://host:port" (or HTTPS_PROXY)'
        )
    return Unreachable(
        f"cannot reach {where} through the proxy {proxy.shown} (from {proxy.source}): {cause}; "
        "check telegram.proxy or HTTPS_PROXY / ALL_PROXY"
    )


class TelegramChannel:
    """Receives Telegram updates, hands them to the router and sends the replies."""

    name = CHANNEL

    def __init__(
        self,
        settings: TelegramSettings,
        app: App,
        deliverer: Deliverer,
        *,
        concurrent_updates: int = CONCURRENT_UPDATES,
    ) -> None:
        check_settings(settings)
        self.settings = settings
        self.app = app
        self.deliverer = deliverer
        self.proxy = bot_api_proxy(settings)
        self.application, self._requests = build_application(
            settings, concurrent_updates, self.proxy
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self.sender = TelegramSender(self.application, settings)
        self.audience: Audience | None = None
        self.inbox = InboxWorker(app, CHANNEL, self, self.sender, deliverer)

    # --- lifecycle -------------------------------------------------------------------------

    async def open_sender(self) -> None:
        """Initialise the Bot API client (its HTTP connections and ``getMe``) so that
        :attr:`sender` can send, without receiving updates: ``alerts run-once`` delivers
        this way. :meth:`stop` closes it again."""
        quiet_library_logs()
        try:
            await with_retries(self.application.initialize)
        except InvalidToken:
            await self._close_transports()
            raise ConfigError(
                ["telegram.token: the Bot API refused it; check CROSSDESK_TELEGRAM__TOKEN"]
            ) from None
        except NetworkError as error:  # TimedOut too; after with_retries' few attempts
            await self._close_transports()
            raise unreachable(self.settings, self.proxy, error) from None

    async def start(self) -> None:
        """Connect, register the command menus, and start polling or the webhook server."""
        await self.open_sender()
        bot = self.application.bot
        self.audience = Audience(
            bot_id=bot.id,
            bot_username=bot.username,
            staff_chat_id=self.settings.staff_chat_id,
            staff_user_ids=frozenset(self.settings.staff_user_ids),
            customers=self.settings.customers,
        )
        await self._register_commands()
        if self.settings.mode == "polling":
            await self._refuse_a_live_webhook()
        self.inbox.start()
        await self.application.start()
        updater = self.application.updater
        assert updater is not None
        # every update is in the inbox before Telegram hears it was received: the webhook
        # answers after the queue stored it, polling confirms an offset only with the next
        # getUpdates, which waits until the last answer's updates are stored
        if self.settings.mode == "webhook":
            queue = self.application.update_queue
            assert isinstance(queue, AcceptingQueue)
            queue.accept = self._accept_updates
        else:
            assert isinstance(bot, ScreeningBot)
            bot.store_fetched_with(self._accept_updates)
        if self.settings.mode == "webhook":
            url = self.settings.webhook_url or ""
            await updater.start_webhook(
                listen=self.settings.webhook_listen,
                port=self.settings.webhook_port,
                url_path=urlparse(url).path or "/",
                webhook_url=url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
                bootstrap_retries=3,
            )
        else:
            await updater.start_polling(
                timeout=POLL_TIMEOUT,
                allowed_updates=list(ALLOWED_UPDATES),
                bootstrap_retries=3,
                error_callback=_polling_failed,
            )

    async def stop(self) -> None:
        """Stop fetching, finish every update already fetched, then close connections."""
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.inbox.stop()
        await self.application.shutdown()

    async def _refuse_a_live_webhook(self) -> None:
        """Polling deletes the bot's webhook; refuse while one is set, unless told to.

        Replicas behind a load balancer receive updates through the webhook: one replica
        started in polling mode by mistake would delete it and leave them all deaf.
        """
        try:
            info = await with_retries(self.application.bot.get_webhook_info)
        except TelegramError as error:
            log.warning("telegram: could not check for a webhook: %s", type(error).__name__)
            return
        if not info.url:
            return
        if self.settings.replace_webhook:
            log.warning("telegram: deleting the webhook at %s to poll", host_of(info.url))
            return
        await self.application.shutdown()
        raise ConfigError(
            [
                f"telegram.mode: polling, but Telegram delivers this bot's updates to the "
                f"webhook at {host_of(info.url)} (replicas in webhook mode?); polling would "
                'delete it. Use mode = "webhook" like them, or set telegram.replace_webhook = '
                "true to take the updates over"
            ]
        )

    async def _close_transports(self) -> None:
        """Close the connections a failed start opened (the Application was never initialised,
        so its own shutdown would leave them open)."""
        for request in self._requests:
            await request.shutdown()

    async def _register_commands(self) -> None:
        """The command menus: customers in each language, staff in the staff language."""
        texts, support = self.app.services.texts, self.app.services.support

        def menu(names: tuple[str, ...], prefix: str, language: str) -> list[BotCommand]:
            return [
                BotCommand(name, texts.get(f"{prefix}{name}", language))
                for name in names
                if texts.get(f"{prefix}{name}", language) != f"{prefix}{name}"
            ]

        customer = tuple(n for n in CUSTOMER_MENU if n in CUSTOMER_COMMANDS)
        staff = tuple(n for n in STAFF_MENU if n in STAFF_COMMAND_NAMES)
        staff += tuple(sorted(STAFF_COMMAND_NAMES - set(staff)))
        staff_language = support.staff_language
        staff_menu = menu(staff, "command.menu.staff.", staff_language)
        customer_scope = BotCommandScopeAllPrivateChats()
        menus: list[tuple[list[BotCommand], Any, str | None]] = [
            (menu(customer, "command.menu.", support.default_language), customer_scope, None)
        ]
        menus += [
            (menu(customer, "command.menu.", lang), customer_scope, lang)
            for lang in support.languages
        ]
        if self.settings.staff_chat_id is not None:
            menus.append((staff_menu, BotCommandScopeChat(self.settings.staff_chat_id), None))
        own = [c for c in menu(customer, "command.menu.", staff_language) if c.command not in staff]
        for user_id in self.settings.staff_user_ids:
            menus.append((staff_menu + own, BotCommandScopeChat(user_id), None))
        for commands, scope, language in menus:
            try:
                await self.application.bot.set_my_commands(
                    commands, scope=scope, language_code=language
                )
            except TelegramError as error:  # a missing menu must not keep the bot from serving
                log.warning("setting the Telegram command menu failed: %s", type(error).__name__)

    # --- updates ---------------------------------------------------------------------------

    async def _accept_updates(self, updates: Sequence[Update]) -> None:
        """Store the messages among ``updates`` in the inbox (the worker answers them)."""
        assert self.audience is not None
        arrivals = []
        for update in updates:
            try:
                message = to_incoming(update, self.audience)
            except Exception as error:  # one strange update must not hold back the others
                log.warning(
                    "telegram: update %s could not be understood (%s); skipped",
                    update.update_id,
                    type(error).__name__,
                )
                continue
            if message is not None:
                arrivals.append(arrival(message, str(update.update_id)))
        await self.inbox.accept(arrivals)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An update the inbox has stored: stop a pressed button's spinner."""
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError as error:
                log.info("answering a button press failed: %s", type(error).__name__)

    def outgoing(
        self, message: IncomingMessage, route: dict[str, Any], reply: Reply
    ) -> dict[str, Any]:
        """The outbox payload answering ``message``: in its chat (in a group, as an answer to
        it), or privately when the reply holds personal data and the chat is a group."""
        chat_id, reply_to = message.chat_id, None
        if message.chat_id != message.user_id:  # a group: answer that message
            reply_to = message.message_id
            if reply.private and not message.in_staff_chat:
                chat_id, reply_to = message.user_id, None  # personal data: privately
        payload: dict[str, Any] = {
            "to": chat_id,
            "text": reply.text,
            "buttons": [[[b.label, b.action] for b in row] for row in reply.buttons],
        }
        if reply_to:
            payload["reply_to"] = {"chat_id": chat_id, "message_id": reply_to}
        return payload

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log a failed update without its content; the bot carries on."""
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        log.error(
            "Telegram update %s failed: %s",
            update_id,
            type(error).__name__,
            exc_info=(type(error), error, error.__traceback__) if error else None,
        )
