"""The direction of imports that docs/architecture.md describes: each package imports only the
packages below it (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "bot": {"handlers", "knowledge", "alerts", "store"},
    "handlers": {"knowledge", "store"},
    "alerts": {"store"},
    "knowledge": set(),
    "store": set(),
}


def imported_packages(path: Path) -> set[str]:
    """Our top-level packages that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package] - {package})
        for path in (ROOT / package).rglob("*.py")
    }
    assert {file: packages for file, packages in wrong.items() if packages} == {}


def test_the_architecture_page_states_the_same_directions() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for package, allowed in ALLOWED.items():
        line = next(line for line in page.splitlines() if line.startswith(f"{package}/ "))
        stated = line.split("imports", 1)[1]
        assert all(name in stated for name in allowed), package
        assert ("nothing of ours" in stated) == (not allowed), package
