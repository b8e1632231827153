"""Configuration: defaults, TOML, environment, secrets, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crossdesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CROSSDESK_CONFIG", raising=False)
    settings = load_settings()
    assert settings.store.url == "sqlite:///crossdesk.db"
    assert settings.support.staff_language == "zh"
    assert settings.telegram.mode == "polling"
    assert settings.translation.provider == "none"


def test_file_values_and_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[support]\nstaff_language = "de"\n[telegram]\nstaff_chat_id = -100\n')
    monkeypatch.setenv("CROSSDESK_TELEGRAM__TOKEN", "123:abc")
    monkeypatch.setenv("CROSSDESK_SUPPORT__DEFAULT_LANGUAGE", "fr")
    settings = load_settings(path)
    assert settings.support.staff_language == "de"
    assert settings.support.default_language == "fr"
    assert settings.telegram.staff_chat_id == -100
    assert settings.telegram.token == "123:abc"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[store]\nurl = "sqlite:///elsewhere.db"\n')
    monkeypatch.setenv("CROSSDESK_CONFIG", str(path))
    assert load_settings().store.url == "sqlite:///elsewhere.db"


def test_secret_in_file_is_refused_with_the_variable_to_use(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "123:abc"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "telegram.token" in caught.value.problems[0]
    assert "CROSSDESK_TELEGRAM__TOKEN" in caught.value.problems[0]


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ('[telegram]\nmode = "poll"\n', "telegram.mode", "polling"),
        ('[telegram]\ntokn = "x"\n', "telegram.tokn", "valid keys"),
        ('[support]\nlanguages = ["en", "xx"]\n', "support.languages", "choose from"),
        ('[support]\ndefault_language = "ja"\nlanguages = ["en"]\n', "support", "default_language"),
        ("[store]\nurl = 5\n", "store.url", "string"),
        ('[support]\ntimezone = "Mars/Base"\n', "support.timezone", "Europe/Berlin"),
        ("[store]\nreply_lease_seconds = 1\n", "store.reply_lease_seconds", "10"),
        ("[store]\ninbox_retention_hours = 0\n", "store.inbox_retention_hours", "1"),
    ],
)
def test_errors_name_the_key_and_the_fix(tmp_path: Path, text: str, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    message = " ".join(caught.value.problems)
    assert key in message
    assert hint in message


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[store\nurl = \n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in caught.value.problems[0]
    assert "TOML" in caught.value.problems[0]


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.toml")
    assert "crossdesk init" in caught.value.problems[0]


def test_starter_config_is_valid(tmp_path: Path) -> None:
    from bot.starter import starter_config

    settings = load_settings(write(tmp_path, starter_config()))
    assert settings.support.languages[0] == "en"
