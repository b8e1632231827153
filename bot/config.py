"""Configuration: one TOML file plus environment variables, validated at start.

Each package owns its section (``store``, ``support``, ``handoff``, ``translation``, ``alerts``,
and the channels' ``telegram`` and ``slack``); this module only composes them, reads the file,
and turns validation errors into one line per problem that names the key and the fix. Secrets
(tokens, signing secrets, API keys) are read from the environment only, never from the file, so
the file can be committed: ``CROSSDESK_TELEGRAM__TOKEN``, ``CROSSDESK_SLACK__BOT_TOKEN``, ...
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from alerts.settings import AlertSettings
from bot.channels.settings import SlackSettings, TelegramSettings
from handlers.settings import HandoffSettings, SupportSettings
from knowledge.encoder import EncoderSettings
from knowledge.translation import TranslationSettings
from store.settings import StoreSettings

ENV_PREFIX = "CROSSDESK_"
DEFAULT_PATH = Path("crossdesk.toml")
SECRETS = {
    ("telegram", "token"),
    ("telegram", "webhook_secret"),
    ("slack", "bot_token"),
    ("slack", "signing_secret"),
    ("slack", "app_token"),
    ("translation", "api_key"),
}


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class LoggingSettings(BaseModel):
    """How much CrossDesk logs while it runs (libraries: warnings; crossdesk -v for more)."""

    model_config = ConfigDict(extra="forbid")
    level: str = Field(
        "INFO",
        pattern=r"^(DEBUG|INFO|WARNING|ERROR)$",
        description="lowest level of CrossDesk's own log lines: DEBUG, INFO, WARNING or ERROR",
    )


class Settings(BaseSettings):
    """All of CrossDesk's configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    store: StoreSettings = Field(default_factory=StoreSettings)
    support: SupportSettings = Field(default_factory=SupportSettings)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    translation: TranslationSettings = Field(default_factory=TranslationSettings)
    understanding: EncoderSettings = Field(default_factory=EncoderSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # environment first, then the file's values (passed as init arguments)
        return env_settings, init_settings


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to read: ``--config``, else ``$CROSSDESK_CONFIG``, else ./crossdesk.toml."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("CROSSDESK_CONFIG") or DEFAULT_PATH)


def read_toml(path: Path) -> dict[str, Any]:
    """The file's tables, or {} when the default file does not exist."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc}); fix the syntax at that line"]) from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from exc


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read, merge and validate the configuration; raises ConfigError naming every problem."""
    file = config_path(path)
    if path is not None and not Path(path).exists():
        raise ConfigError([f"{file}: no such config file; run 'crossdesk init' to write one"])
    data = read_toml(file)
    problems = []
    for section, key in sorted(SECRETS):
        if isinstance(data.get(section), dict) and key in data[section]:
            env = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
            problems.append(
                f"{file}: {section}.{key} is a secret and is read from the environment only; "
                f"remove it from the file and set {env}"
            )
    if problems:
        raise ConfigError(problems)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError([_describe(file, error) for error in exc.errors()]) from None


def _describe(file: Path, error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        section = error["loc"][0] if len(error["loc"]) > 1 else None
        model = (
            Settings.model_fields[section].annotation
            if section in Settings.model_fields
            else Settings
        )
        valid = ", ".join(getattr(model, "model_fields", {}))
        return f"{file}: unknown key {key}; valid keys here are: {valid}"
    given = error.get("input")
    shown = f" (got {given!r})" if not isinstance(given, dict) and given is not None else ""
    message = error["msg"].removeprefix("Value error, ")
    return f"{file}: {key}: {message}{shown}"
