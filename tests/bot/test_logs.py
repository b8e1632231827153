"""Log levels (CrossDesk's own, the libraries' at WARNING unless -v) and redacted secrets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import LIBRARIES, configure_logging, levels


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, {n: logging.getLogger(n).level for n in LIBRARIES})
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    ("configured", "verbosity", "expected"),
    [
        ("INFO", 0, (logging.INFO, logging.WARNING)),
        ("WARNING", 0, (logging.WARNING, logging.WARNING)),
        ("WARNING", 1, (logging.INFO, logging.INFO)),
        ("ERROR", 1, (logging.INFO, logging.INFO)),
        ("DEBUG", 1, (logging.DEBUG, logging.INFO)),
        ("INFO", 2, (logging.DEBUG, logging.DEBUG)),
    ],
)
def test_levels(configured: str, verbosity: int, expected: tuple[int, int]) -> None:
    assert levels(configured, verbosity) == expected


def test_libraries_say_only_warnings_by_default() -> None:
    out = io.StringIO()
    configure_logging("INFO", 0, stream=out)
    logging.getLogger("apscheduler.scheduler").info("Added job")
    logging.getLogger("aiohttp.access").info("GET /")
    logging.getLogger("telegram.ext.Application").warning("something odd")
    logging.getLogger("bot.runtime").info("telegram channel started")
    text = out.getvalue()
    assert "Added job" not in text and "GET /" not in text
    assert "something odd" in text and "telegram channel started" in text


def test_secrets_are_redacted_in_lines_and_tracebacks() -> None:
    out = io.StringIO()
    token = "123456:AAE-very-secret"
    configure_logging("INFO", 2, secrets=[token, ""], stream=out)
    logging.getLogger("httpx").info("HTTP Request: POST https://api/bot%s/getMe", token)
    try:
        raise RuntimeError(f"failed at /bot{token}/sendMessage")
    except RuntimeError:
        # at DEBUG (-vv) the exception's text is shown, redacted; at ERROR it is withheld
        logging.getLogger("bot.delivery").debug("send failed", exc_info=True)
        logging.getLogger("bot.delivery").exception("send failed")
    text = out.getvalue()
    assert token not in text
    assert text.count("[secret]") == 2
    assert "message withheld" in text
