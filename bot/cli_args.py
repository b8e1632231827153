"""Argument checking for the ``crossdesk`` command line: one clear line and exit code 2.

argparse already exits with 2 on a bad argument, but prints its usage block first, and its
message for a bad value names a Python type (``invalid int value: 'abc'``). Here every value
is checked by a type function that says what was expected, and :class:`OneLineParser` prints
just ``crossdesk <command>: error: <what is wrong> (see 'crossdesk <command> --help')``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn

DISTRIBUTION = "crossdesk"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` and a pointer to --help; exit with 2."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def package_version() -> str:
    """The installed distribution's version, from its metadata (the one pyproject.toml sets)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed; pip install -e . records the version)"


def whole_number(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number, optionally within ``minimum``..``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


def fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1 (a share, like 0.95)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number from 0 to 1, e.g. 0.95, got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, e.g. 0.95, got {text!r}")
    return value


def iso_date(text: str) -> date:
    """An argparse type: a calendar date written YYYY-MM-DD."""
    if not _ISO_DATE.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(
            f"expected a date as YYYY-MM-DD, e.g. 2026-03-10, got {text!r}"
        )
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a real date ({exc})") from None


def existing_file(text: str) -> Path:
    """An argparse type: a path to a file that exists."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; name a file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def existing_folder(text: str) -> Path:
    """An argparse type: a path to a folder that exists."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return path


def not_empty(text: str) -> str:
    """An argparse type: any text but the empty one."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def add_common_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """``--config PATH`` and ``-v``, accepted before and after the command's name.

    argparse copies a subcommand's defaults over what the main parser parsed, so only the top
    level has real defaults; subcommands use SUPPRESS and set the value only when given.
    """
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=not_empty,
        default=None if top_level else argparse.SUPPRESS,
        help="config file (default ./crossdesk.toml or $CROSSDESK_CONFIG)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top_level else argparse.SUPPRESS,
        help="more log lines: -v shows the libraries' INFO lines, -vv everything (DEBUG)",
    )
