"""The bot's own texts, by key and language, from the knowledge base's locale files."""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger(__name__)


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Texts:
    """Look up a text by key in a language, falling back to the default language, then English.

    Code holds keys; sentences live in ``locales/<lang>.yaml``. A missing key is logged once and
    shown as the key itself rather than crashing a conversation.
    """

    def __init__(
        self,
        texts: Mapping[str, Mapping[str, str]],
        *,
        default_language: str = "en",
        variables: Mapping[str, str] | None = None,
    ) -> None:
        self._texts = texts
        self._default = default_language
        self._variables = dict(variables or {})
        self._missing: set[tuple[str, str]] = set()

    @property
    def languages(self) -> list[str]:
        return sorted(self._texts)

    def has(self, language: str, key: str) -> bool:
        return key in self._texts.get(language, {})

    def get(self, key: str, language: str | None = None, /, **values: object) -> str:
        """The text ``key`` in ``language`` with ``{placeholders}`` filled from ``values``."""
        for candidate in (language, self._default, "en"):
            if candidate and key in self._texts.get(candidate, {}):
                template = self._texts[candidate][key]
                break
        else:
            if (str(language), key) not in self._missing:
                self._missing.add((str(language), key))
                log.warning("text key %s is missing in every locale", key)
            return key
        return template.format_map(_Blank({**self._variables, **values}))

    def fill(self, template: str, /, **values: object) -> str:
        """Fill shop-wide variables ({shop_name}, {support_email}) into a KB answer."""
        return template.format_map(_Blank({**self._variables, **values}))
