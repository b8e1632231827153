"""The ``[telegram]`` and ``[slack]`` sections: how CrossDesk reaches each chat platform."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TelegramSettings(BaseModel):
    """Telegram bot. The token is a secret: only from CROSSDESK_TELEGRAM__TOKEN."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(None, description="the bot's token, from @BotFather")
    base_url: str = Field(
        "https://api.telegram.org/bot", description="Bot API server (self-hosted or a test fake)"
    )
    base_file_url: str = Field(
        "https://api.telegram.org/file/bot", description="Bot API server's file downloads"
    )
    mode: Literal["polling", "webhook"] = Field(
        "polling", description="how updates arrive: long polling, or a webhook Telegram posts to"
    )
    replace_webhook: bool = Field(
        False,
        description="polling only: delete a webhook Telegram has for this bot (left off, "
        "polling refuses to start while a webhook is set: other replicas may rely on it)",
    )
    webhook_url: str | None = Field(
        None,
        description="public HTTPS URL Telegram posts to (webhook mode)",
        examples=["https://bot.example.com/telegram"],
    )
    webhook_listen: str = Field("0.0.0.0", description="address the webhook server listens on")
    webhook_port: int = Field(8443, ge=1, le=65535, description="port of the webhook server")
    webhook_secret: str | None = Field(
        None,
        description="the secret Telegram sends with every webhook update (letters, digits, _, -)",
    )
    staff_chat_id: int | None = Field(
        None,
        description="staff group chat id (negative number): tickets and alerts go there",
        examples=[-1001234567890],
    )
    staff_user_ids: list[int] = Field(
        default_factory=list,
        description="Telegram user ids of staff, who may use staff commands in private chats",
    )
    rate_limit: bool = Field(
        True,
        description="keep within Telegram's limits (off for a "
        "self-hosted Bot API server or a benchmark)",
    )
    rate_limit_redis: str | None = Field(
        None,
        description="Redis URL where replicas share Telegram's rate limits (pip install "
        "'crossdesk[redis]'); unset, each process keeps within them on its own",
        examples=["redis://127.0.0.1:6379/0"],
    )
    customers: bool = Field(True, description="serve customers in private chats")
    transport: Literal["aiohttp", "httpx"] = Field(
        "aiohttp",
        description="HTTP client for Bot API calls: aiohttp (a third of httpx's CPU per call) "
        "or httpx (python-telegram-bot's default; SOCKS proxies with httpx[socks])",
    )
    proxy: str | None = Field(
        None,
        description="proxy to reach the Bot API through; unset: HTTPS_PROXY or ALL_PROXY, if set",
        examples=["http://127.0.0.1:7890"],
    )


class SlackSettings(BaseModel):
    """Slack app. Tokens and the signing secret are secrets: only from the environment."""

    model_config = ConfigDict(extra="forbid")

    bot_token: str | None = Field(None, description="the app's bot token (xoxb-...)")
    signing_secret: str | None = Field(
        None, description="the app's signing secret, which checks requests in HTTP mode"
    )
    app_token: str | None = Field(
        None, description="an app-level token (xapp-...): Slack's Socket Mode instead of HTTP"
    )
    base_url: str = Field("https://slack.com/api/", description="Web API base URL")
    staff_channel: str | None = Field(
        None,
        description="channel id of the staff channel: tickets and alerts go there",
        examples=["C0123456789"],
    )
    staff_user_ids: list[str] = Field(
        default_factory=list, description="Slack user ids of staff outside the staff channel"
    )
    customer_channels: list[str] = Field(
        default_factory=list, description="channel ids where the bot answers customers"
    )
    direct_messages: bool = Field(False, description="serve customers who DM the bot")
    port: int = Field(3000, ge=1, le=65535, description="port of the HTTP-mode server")
    host: str = Field("0.0.0.0", description="address the HTTP-mode server listens on")

    @model_validator(mode="after")
    def _verifiable(self) -> SlackSettings:
        # in HTTP mode every request is checked against the signing secret: without one,
        # anybody could post commands to the bot
        if self.bot_token and not self.app_token and not self.signing_secret:
            raise ValueError(
                "signing_secret is required when Slack runs in HTTP mode: set "
                "CROSSDESK_SLACK__SIGNING_SECRET (or CROSSDESK_SLACK__APP_TOKEN for Socket Mode)"
            )
        return self
