"""``crossdesk slack-manifest``: the Slack app a seller creates has exactly the slash commands
the bot answers, described in the staff language, with the scopes, events and request URL (or
Socket Mode) the channel needs."""

from __future__ import annotations

import json

import pytest

from bot.channels.slack_manifest import BOT_EVENTS, COMMANDS, MAX_DESCRIPTION
from bot.cli import main
from handlers.router import CUSTOMER_COMMANDS, STAFF_COMMAND_NAMES

URL = "https://shop.example/slack/events"


def _manifest(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["slack-manifest", *args]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_every_command_the_router_answers_is_in_the_manifest_and_no_other() -> None:
    served = (STAFF_COMMAND_NAMES | CUSTOMER_COMMANDS) - {"start"}  # /start is Telegram's
    assert set(COMMANDS) == served


def test_http_mode_points_commands_events_and_buttons_at_the_bot(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSDESK_SLACK__APP_TOKEN", raising=False)
    manifest = _manifest(capsys, "--url", URL, "--name", "Lotus Home desk")
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [f"/{name}" for name in COMMANDS]
    assert all(c["url"] == URL for c in commands)
    for command in commands:  # a real description in the staff language (Chinese by default)
        assert 0 < len(command["description"]) <= MAX_DESCRIPTION
        assert "command.menu" not in command["description"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in commands[0]["description"])
    settings = manifest["settings"]
    assert settings["event_subscriptions"] == {"bot_events": list(BOT_EVENTS), "request_url": URL}
    assert settings["interactivity"] == {"is_enabled": True, "request_url": URL}
    assert settings["socket_mode_enabled"] is False
    assert manifest["display_information"]["name"] == "Lotus Home desk"
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:history"} <= scopes


def test_socket_mode_needs_no_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSDESK_SLACK__APP_TOKEN", "xapp-1-test")
    manifest = _manifest(capsys)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in manifest["settings"]["event_subscriptions"]
    assert all("url" not in c for c in manifest["features"]["slash_commands"])


def test_without_a_url_or_socket_mode_the_user_is_told_what_to_give(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSDESK_SLACK__APP_TOKEN", raising=False)
    assert main(["slack-manifest"]) != 0
    assert "--url" in capsys.readouterr().err
