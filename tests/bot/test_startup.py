"""The start lines of chat and run: staff translation on or off, staff chats missing."""

from __future__ import annotations

from bot.config import Settings
from bot.startup import staff_warnings, translation_line


def test_translation_off_says_how_to_turn_it_on() -> None:
    line = translation_line(Settings())
    assert line.startswith('staff translation is off (translation.provider = "none")')
    assert "[translation]" in line and "libre" in line and "Chinese (zh)" in line


def test_translation_on_names_the_provider_and_a_missing_key() -> None:
    assert translation_line(Settings(translation={"provider": "libre"})).startswith(
        'staff translation is on (translation.provider = "libre")'
    )
    deepl = translation_line(Settings(translation={"provider": "deepl"}))
    assert "CROSSDESK_TRANSLATION__API_KEY" in deepl
    keyed = Settings(translation={"provider": "deepl", "api_key": "k"})
    assert "API_KEY" not in translation_line(keyed)


def test_a_platform_without_a_staff_chat_is_warned_about() -> None:
    assert staff_warnings(Settings()) == []
    telegram = staff_warnings(Settings(telegram={"token": "1:x"}))
    assert len(telegram) == 1 and "telegram.staff_chat_id" in telegram[0]
    assert staff_warnings(Settings(telegram={"token": "1:x", "staff_chat_id": -100})) == []
    slack = staff_warnings(Settings(slack={"bot_token": "xoxb", "app_token": "xapp"}))
    assert len(slack) == 1 and "slack.staff_channel" in slack[0]
