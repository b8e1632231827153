"""Names of languages in a given language ("schwedisch", "瑞典语"), from Babel's CLDR data.

The locale files name the ten languages the bot writes; a customer may write any of the
hundred-odd languages the detector knows, and the line that says "I can't write Swedish yet"
must name it in the language of the answer.
"""

from __future__ import annotations

import functools

from babel import Locale, UnknownLocaleError


@functools.cache
def language_names(display_language: str) -> dict[str, str]:
    """ISO 639-1 code -> the language's name in ``display_language`` (empty if unknown)."""
    try:
        locale = Locale.parse(display_language)
    except (UnknownLocaleError, ValueError):
        return {}
    return {code: name for code, name in locale.languages.items() if len(code) == 2}
