"""The ``[telegram]`` and ``[slack]`` sections: how CrossDesk reaches each chat platform."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TelegramSettings(BaseModel):
    """Telegram bot. The token is a secret: only from CROSSDESK_TELEGRAM__TOKEN."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(None, description="secret: CROSSDESK_TELEGRAM__TOKEN")
    base_url: str = Field("https://api.telegram.org/bot", description="Bot API server")
    base_file_url: str = Field("https://api.telegram.org/file/bot")
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = Field(None, description="public HTTPS URL Telegram posts to")
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_secret: str | None = Field(
        None, description="secret: CROSSDESK_TELEGRAM__WEBHOOK_SECRET"
    )
    staff_chat_id: int | None = Field(None, description="staff group chat id (negative number)")
    staff_user_ids: list[int] = Field(default_factory=list)
    rate_limit: bool = Field(
        True,
        description="keep within Telegram's limits (off for a "
        "self-hosted Bot API server or a benchmark)",
    )
    customers: bool = Field(True, description="serve customers in private chats")
    transport: Literal["aiohttp", "httpx"] = Field(
        "aiohttp",
        description="HTTP client for Bot API calls: aiohttp (a third of httpx's CPU per call) "
        "or httpx (python-telegram-bot's default; SOCKS proxies with httpx[socks])",
    )
    proxy: str | None = Field(
        None, description="proxy to reach the Bot API through, e.g. http://127.0.0.1:7890"
    )


class SlackSettings(BaseModel):
    """Slack app. Tokens and the signing secret are secrets: only from the environment."""

    model_config = ConfigDict(extra="forbid")

    bot_token: str | None = Field(None, description="secret: CROSSDESK_SLACK__BOT_TOKEN")
    signing_secret: str | None = Field(None, description="secret: CROSSDESK_SLACK__SIGNING_SECRET")
    app_token: str | None = Field(
        None, description="secret: CROSSDESK_SLACK__APP_TOKEN (Socket Mode)"
    )
    base_url: str = Field("https://slack.com/api/", description="Web API base URL")
    staff_channel: str | None = Field(None, description="channel id of the staff channel")
    staff_user_ids: list[str] = Field(default_factory=list)
    customer_channels: list[str] = Field(default_factory=list)
    direct_messages: bool = Field(False, description="serve customers who DM the bot")
    port: int = Field(3000, ge=1, le=65535)
    host: str = "0.0.0.0"

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
