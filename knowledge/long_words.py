"""Cutting what is no word: a run of letters longer than any word a language has.

A customer may paste a 40,000-character line (a base64 blob, a key held down). Every reader
of the text pays for it per character, and some pay more: the sentence encoder's tokenizer
took 90 ms for a 500-letter run against 9 ms for 500 characters of prose, and every customer
in the same batch waits for it. What a run that long says is said by its first letters, so
the readers that understand a message (language detection, the lexical index, the encoder)
see each such run cut to :data:`LONGEST_WORD` characters. Scripts written without spaces
(Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar) are left whole: there a long run is a
sentence, not a word.
"""

from __future__ import annotations

import re

from knowledge.kb import CJK_CHARS

__all__ = ["LONGEST_WORD", "cut_long_words"]

LONGEST_WORD = 40  # German compounds stay within it; URLs and blobs do not
_SPACELESS = CJK_CHARS + "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_LONG_RUN = re.compile(rf"[^\s{_SPACELESS}]{{{LONGEST_WORD + 1},}}")


def cut_long_words(text: str) -> str:
    """``text`` with every run of more than :data:`LONGEST_WORD` characters (outside the
    scripts written without spaces) cut to its first :data:`LONGEST_WORD`."""
    return _LONG_RUN.sub(lambda run: run.group()[:LONGEST_WORD], text)
