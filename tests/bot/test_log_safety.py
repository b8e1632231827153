"""Logs hold no customer content and do not flood: the filters, their wiring in the CLI, and a
reading of every log call in the code."""

from __future__ import annotations

import ast
import io
import logging
from pathlib import Path

import pytest

from bot import log_safety
from bot.log_safety import RepeatFilter, WithholdExceptionText, withheld_traceback
from bot.logs import configure_logging

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "knowledge", "store", "alerts")
SECRET = "dana@example.com, +49 151 2345678, my order proof"


def _logger(name: str, *filters: logging.Filter) -> tuple[logging.Logger, io.StringIO]:
    """A logger of its own writing to a string, through ``filters`` on its handler."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    for log_filter in filters:
        handler.addFilter(log_filter)
    logger = logging.getLogger(f"tests.log_safety.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out


def _fail_with_secret() -> None:
    try:
        int(SECRET)
    except ValueError as error:
        raise RuntimeError(f"could not read {SECRET!r}") from error


def test_tracebacks_keep_their_frames_and_lose_the_messages() -> None:
    logger, out = _logger("withhold", WithholdExceptionText())
    try:
        _fail_with_secret()
    except RuntimeError:
        logger.exception("handling failed")
    written = out.getvalue()
    assert SECRET not in written and "dana@" not in written
    assert "_fail_with_secret" in written  # where it happened is still there
    assert "ValueError: <message withheld" in written
    assert "RuntimeError: <message withheld" in written


def test_debug_records_keep_the_whole_traceback() -> None:
    logger, out = _logger("debug", WithholdExceptionText())
    try:
        _fail_with_secret()
    except RuntimeError:
        logger.debug("details", exc_info=True)
    assert SECRET in out.getvalue()


def test_withheld_traceback_survives_odd_exceptions() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise TypeError("no")

    assert withheld_traceback(Unprintable()).endswith("Unprintable: <message withheld>")
    assert withheld_traceback(KeyError()).endswith("KeyError")


def test_identical_warnings_are_let_through_once_a_window_with_a_count() -> None:
    now = [1000.0]
    logger, out = _logger("repeat", RepeatFilter(60, clock=lambda: now[0]))
    for _ in range(100):
        logger.warning("slack: refused a request (%s)", "wrong signature")
    logger.warning("slack: refused a request (%s)", "stale timestamp")  # another message
    for _ in range(5):
        logger.info("slack: listening")  # below WARNING: not limited
    now[0] += 61
    logger.warning("slack: refused a request (%s)", "wrong signature")
    lines = out.getvalue().splitlines()
    assert lines == [
        "WARNING slack: refused a request (wrong signature)",
        "WARNING slack: refused a request (stale timestamp)",
        *["INFO slack: listening"] * 5,
        "WARNING slack: refused a request (wrong signature) (99 more like this in the last 60 s)",
    ]


def test_the_repeat_memory_is_bounded() -> None:
    repeat = RepeatFilter(60, clock=lambda: 0.0, memory=10)
    logger, out = _logger("memory", repeat)
    for n in range(50):
        logger.error("outbox %d: giving up", n)
    assert len(out.getvalue().splitlines()) == 50 and len(repeat._seen) == 10


def test_the_cli_puts_both_filters_on_its_own_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    configure_logging("WARNING")
    [made] = root.handlers
    kinds = {type(f) for f in made.filters}
    assert {WithholdExceptionText, RepeatFilter} <= kinds
    log_safety.install([made])  # again: nothing doubles
    assert len(made.filters) == len(kinds)
    configure_logging("WARNING")
    assert len(root.handlers) == 1  # a second start replaces, never adds


# --- every log call in the code ----------------------------------------------------------

LEVELS = {"info", "warning", "error", "exception", "critical"}
# names and attributes that hold (or may hold) what customers wrote, their contact details,
# order proofs, secrets, or an exception whose message may quote any of them
DENY_NAMES = {"text", "email", "phone", "proof", "token", "body", "payload", "raw", "exc",
              "error", "err", "update", "data"}  # fmt: skip
DENY_ATTRS = {"text", "email", "phone", "proof", "token", "body", "payload", "caption",
              "signing_secret", "bot_token", "app_token", "api_key", "raw_text"}  # fmt: skip
SAFE_CALLS = {"type", "len", "_reason", "_where", "int", "float", "round"}


def _leaks(node: ast.AST) -> list[str]:
    """The names in ``node`` that would put content into a log line."""
    if isinstance(node, ast.Name):
        return [node.id] if node.id in DENY_NAMES else []
    if isinstance(node, ast.Attribute):
        if node.attr in DENY_ATTRS:
            return [node.attr]
        return _leaks(node.value) if isinstance(node.value, ast.Call) else []
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in SAFE_CALLS:
            return []
        return [leak for arg in node.args for leak in _leaks(arg)]
    if isinstance(node, ast.JoinedStr):
        return [leak for value in node.values for leak in _leaks(value)]
    if isinstance(node, ast.FormattedValue):
        return _leaks(node.value)
    if isinstance(node, ast.BinOp | ast.BoolOp | ast.IfExp | ast.Subscript):
        return [leak for child in ast.iter_child_nodes(node) for leak in _leaks(child)]
    return []


def _log_calls() -> list[tuple[str, int, ast.Call]]:
    calls = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                func = getattr(node, "func", None)
                if (
                    isinstance(node, ast.Call)
                    and isinstance(func, ast.Attribute)
                    and func.attr in LEVELS
                    and isinstance(func.value, ast.Name)
                    and "log" in func.value.id.lower()
                ):
                    calls.append((str(path.relative_to(ROOT)), node.lineno, node))
    return calls


def test_no_log_call_at_info_or_above_passes_content() -> None:
    calls = _log_calls()
    assert len(calls) > 30  # the reading found the calls
    leaking = [
        f"{where}:{line}: {leak}"
        for where, line, call in calls
        for leak in [leak for arg in call.args for leak in _leaks(arg)]
    ]
    assert leaking == []


def test_the_reading_would_catch_a_leak() -> None:
    bad = ast.parse('log.warning("reply failed: %s for %s", exc, message.text)').body[0]
    assert isinstance(bad, ast.Expr) and isinstance(bad.value, ast.Call)
    assert [leak for arg in bad.value.args for leak in _leaks(arg)] == ["exc", "text"]
    good = ast.parse('log.warning("failed: %s", type(exc).__name__)').body[0]
    assert isinstance(good, ast.Expr) and isinstance(good.value, ast.Call)
    assert [leak for arg in good.value.args for leak in _leaks(arg)] == []
