"""The ``[support]`` section: languages, staff language, support hours, the shop's details."""

from __future__ import annotations

from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SUPPORTED_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "ru", "ja", "zh", "ar")


class SupportSettings(BaseModel):
    """How the shop serves its customers."""

    model_config = ConfigDict(extra="forbid")

    shop_name: str = Field("Northwind Goods", description="the shop's name in bot texts")
    support_email: str = Field("support@northwind.example", description="shown in answers")
    languages: list[str] = Field(
        default_factory=lambda: list(SUPPORTED_LANGUAGES),
        description=f"languages the bot answers in, from: {', '.join(SUPPORTED_LANGUAGES)}",
    )
    default_language: str = Field("en", description="answer language when nothing else is known")
    staff_language: str = Field("zh", description="language staff read and write")
    language_detector: Literal["lingua", "langdetect"] = Field(
        "lingua", description="which language detector reads customers' messages"
    )
    knowledge_base: str | None = Field(
        None,
        description="folder with faq/, lexicon/, locales/; unset: the demo shop's",
        examples=["path/to/kb"],
    )
    timezone: str = Field("Europe/Berlin", description="time zone of the support hours")
    hours_start: time = Field(time(9, 0), description="support opens (local time)")
    hours_end: time = Field(time(18, 0), description="support closes (local time)")
    workdays: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], description="support days, 0 = Monday"
    )
    sla_minutes: dict[str, int] = Field(
        default_factory=lambda: {"urgent": 15, "high": 30, "normal": 120},
        description="minutes a ticket may wait unclaimed, per priority",
    )

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        value = [code.lower() for code in value]
        unknown = [code for code in value if code not in SUPPORTED_LANGUAGES]
        if unknown:
            raise ValueError(
                f"unknown language(s) {', '.join(unknown)}; choose from "
                f"{', '.join(SUPPORTED_LANGUAGES)}"
            )
        if not value:
            raise ValueError('name at least one language, e.g. languages = ["en"]')
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"{value!r} is not a time zone; use a name like Europe/Berlin"
            ) from exc
        return value

    @model_validator(mode="after")
    def _languages_agree(self) -> SupportSettings:
        if self.default_language not in self.languages:
            raise ValueError(
                f"default_language {self.default_language!r} is not in languages "
                f"{self.languages}; add it there or choose one of them"
            )
        if self.staff_language not in SUPPORTED_LANGUAGES:
            raise ValueError(
                f"staff_language {self.staff_language!r} is unknown; choose from "
                f"{', '.join(SUPPORTED_LANGUAGES)}"
            )
        return self


class HandoffSettings(BaseModel):
    """How tickets end when nobody ends them."""

    model_config = ConfigDict(extra="forbid")

    auto_close_hours: float = Field(
        48.0,
        gt=0,
        le=24 * 90,
        description=(
            "hours without a message from anyone after which an open or claimed ticket closes "
            "itself: the customer is told, handed back to the bot and asked for a rating"
        ),
    )
