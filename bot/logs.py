"""Logging for the command line: CrossDesk's own lines at the configured level, the libraries'
at WARNING unless ``-v`` asks for more, and no secret in any line.

The libraries CrossDesk runs on are chatty at INFO: httpx logs every request URL (and a Bot
API URL holds the token), python-telegram-bot and APScheduler announce every start, stop and
job, aiohttp logs each access. An operator wants CrossDesk's own lines and the libraries'
warnings; ``-v`` adds the libraries' INFO lines, ``-vv`` turns everything to DEBUG (which can
show message texts: for debugging only). Whatever the level, the handler's formatter replaces
every configured secret (tokens, signing secrets, API keys) by ``[secret]``, tracebacks
included.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

from bot import log_safety

LIBRARIES = (
    "aiohttp",
    "alembic",
    "apscheduler",
    "httpcore",
    "httpx",
    "slack_bolt",
    "slack_sdk",
    "telegram",
    "urllib3",
)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[secret]"


class RedactingFormatter(logging.Formatter):
    """A Formatter that replaces each secret in the formatted line (and traceback)."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        # longest first, so that a secret containing another is replaced whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def levels(own_level: str, verbosity: int) -> tuple[int, int]:
    """(CrossDesk's level, the libraries' level) for a configured level and ``-v`` count."""
    own = logging.getLevelName(own_level.upper())
    if not isinstance(own, int):
        own = logging.INFO
    if verbosity >= 2:
        return logging.DEBUG, logging.DEBUG
    if verbosity == 1:
        return min(own, logging.INFO), logging.INFO
    return own, logging.WARNING


def configure_logging(
    own_level: str,
    verbosity: int = 0,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """One stderr handler on the root logger; levels for CrossDesk and for the libraries."""
    own, libraries = levels(own_level, verbosity)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT, secrets))
    log_safety.install([handler])  # no customer content, no floods (bot/log_safety.py)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(own)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(libraries)
