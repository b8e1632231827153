"""The Slack app manifest CrossDesk needs, made from what the bot really serves.

A seller creates the Slack app from it (api.slack.com/apps, "Create New App", "From an app
manifest") instead of clicking scopes, events and slash commands together by hand: every
slash command the router knows (with its description in the staff language, from the locale
files, as the Telegram menus have), the bot scopes and message events
``bot/channels/slack.py`` uses, interactivity for the ticket buttons, and either the HTTP
request URL or Socket Mode. ``crossdesk slack-manifest`` prints it as JSON (Slack takes JSON or
YAML).
"""

from __future__ import annotations

from typing import Any

from knowledge.texts import Texts

BOT_SCOPES = ("chat:write", "commands", "users:read", "channels:read", "groups:read",
              "channels:history", "groups:history", "im:history")  # fmt: skip
BOT_EVENTS = ("message.channels", "message.groups", "message.im")
# the order Slack shows them in; customers' own commands after the staff tools
COMMANDS = ("order", "stock", "tickets", "claim", "resolve", "note", "alerts", "help",
            "language", "human")  # fmt: skip
USAGE_HINTS = {"order": "10234", "stock": "SKU", "tickets": "open | mine | all", "claim": "7",
               "resolve": "7", "note": "7 text", "language": "de"}  # fmt: skip
MAX_DESCRIPTION = 100  # Slack refuses longer slash command descriptions


def slack_manifest(
    texts: Texts, staff_language: str, *, name: str, request_url: str | None
) -> dict[str, Any]:
    """The manifest of an app called ``name``: HTTP mode with ``request_url`` (the bot's
    ``/slack/events``), or Socket Mode when ``request_url`` is None."""
    commands = []
    for command in COMMANDS:
        description = _description(texts, command, staff_language)
        entry: dict[str, Any] = {
            "command": f"/{command}",
            "description": description[:MAX_DESCRIPTION],
            "should_escape": False,
        }
        if command in USAGE_HINTS:
            entry["usage_hint"] = USAGE_HINTS[command]
        if request_url is not None:
            entry["url"] = request_url
        commands.append(entry)
    settings: dict[str, Any] = {
        "event_subscriptions": {"bot_events": list(BOT_EVENTS)},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": request_url is None,
        "token_rotation_enabled": False,
    }
    if request_url is not None:
        settings["event_subscriptions"]["request_url"] = request_url
        settings["interactivity"]["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": name},
        "features": {
            "app_home": {
                "home_tab_enabled": False,
                "messages_tab_enabled": True,  # customers write to the bot directly
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": settings,
    }


def _description(texts: Texts, command: str, language: str) -> str:
    """The staff menu's line for ``command``, else the customers' one (as Telegram shows)."""
    for key in (f"command.menu.staff.{command}", f"command.menu.{command}"):
        if any(texts.has(candidate, key) for candidate in (language, "en")):
            return texts.get(key, language)
    return f"/{command}"
