"""The CI gate on mypy's error count: more errors fail, fewer pass and ask for a lower number."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "mypy_baseline.py"


@pytest.fixture(scope="module")
def gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mypy_baseline", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OUTPUT = """\
bot/cli.py:31: error: Unused "type: ignore" comment  [unused-ignore]
bot/cli.py:40:5: error: Missing return statement  [return]
bot/cli.py:40: note: See https://mypy.rtfd.io/en/stable/_refs.html#code-return
Found 2 errors in 1 file (checked 73 source files)
"""


def test_counts_error_lines_not_notes(gate: ModuleType) -> None:
    assert gate.count_errors(OUTPUT) == 2
    assert gate.count_errors("Success: no issues found in 73 source files\n") == 0


def test_more_errors_than_the_baseline_fail(gate: ModuleType) -> None:
    code, message = gate.judge(80, 79)
    assert code == 1 and "more than the baseline of 79" in message


def test_fewer_errors_pass_and_ask_to_lower_the_number(gate: ModuleType) -> None:
    code, message = gate.judge(70, 79)
    assert code == 0 and "lower the number" in message and "to 70" in message
    assert gate.judge(79, 79) == (0, "mypy: 79 errors, as in the baseline")


def test_the_stored_baseline_is_a_number(gate: ModuleType, tmp_path: Path) -> None:
    assert gate.read_baseline() >= 0
    stored = tmp_path / "baseline.txt"
    stored.write_text("# comment\n\n12\n", encoding="utf-8")
    assert gate.read_baseline(stored) == 12
