"""What ``crossdesk chat`` and ``crossdesk run`` tell the operator as they start.

Two things are easy to miss on a first run: whether staff translation is on (with the default
``translation.provider = "none"`` staff read every customer in the customer's language, and
customers get staff answers in the staff language), and that a chat platform with a token but
no staff chat has nowhere to post tickets and alerts. One line each, at start, with the key
that changes it.
"""

from __future__ import annotations

from bot.config import Settings
from knowledge.translation import NEEDS_API_KEY, PROVIDERS

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
    "ja": "Japanese",
    "zh": "Chinese",
    "ar": "Arabic",
}


def translation_line(settings: Settings) -> str:
    """Whether staff translation is on, and how to turn it on (or what it still needs)."""
    provider = settings.translation.provider
    staff = settings.support.staff_language
    staff_name = f"{LANGUAGE_NAMES.get(staff, staff)} ({staff})"
    if provider == "none":
        choices = ", ".join(p for p in PROVIDERS if p != "none")
        return (
            f'staff translation is off (translation.provider = "none"): staff read customers in '
            f"the customers' languages and customers get staff answers in {staff_name}; to "
            f"turn it on, set provider in the [translation] section of the config ({choices})"
        )
    line = (
        f'staff translation is on (translation.provider = "{provider}"): customers\' messages '
        f"are translated into {staff_name} for staff, staff answers into the customer's language"
    )
    if provider in NEEDS_API_KEY and not settings.translation.api_key:
        line += f"; {provider} needs a key: set CROSSDESK_TRANSLATION__API_KEY"
    return line


def staff_warnings(settings: Settings) -> list[str]:
    """A platform with a token but no staff chat: tickets and alerts cannot reach staff there."""
    warnings = []
    if settings.telegram.token and settings.telegram.staff_chat_id is None:
        warnings.append(
            "warning: a Telegram token is set but telegram.staff_chat_id is not: new tickets "
            "and alerts have no Telegram group to go to; set staff_chat_id in the [telegram] "
            "section to the staff group's id (a negative number)"
        )
    if settings.slack.bot_token and not settings.slack.staff_channel:
        warnings.append(
            "warning: a Slack token is set but slack.staff_channel is not: new tickets and "
            "alerts have no Slack channel to go to; set staff_channel in the [slack] section "
            'to the channel\'s id, e.g. "C0123456789"'
        )
    return warnings
