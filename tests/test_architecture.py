"""The dependency direction of design.md §2: the pure core reaches no further than it may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cartwatch"
CORE = ("grading", "risk", "management", "pathway")
CORE_MAY_IMPORT = {
    "cartwatch.errors",
    "cartwatch.references",
    "cartwatch.units",
    "cartwatch.assessment",
    *(f"cartwatch.{c}" for c in CORE),
    "cartwatch.episodes",
}
NEVER_IN_CORE = ("sqlalchemy", "fastapi", "typer", "rich", "jinja2", "polars", "numpy", "uvicorn")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cartwatch":
                out.update(f"cartwatch.{alias.name}" for alias in node.names)
            else:
                out.add(node.module)
    return out


CORE_FILES = sorted(
    [p for c in CORE for p in (PACKAGE / c).rglob("*.py")] + [PACKAGE / "episodes.py"]
)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_modules_import_only_the_core(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in NEVER_IN_CORE, f"{path.name} imports {name}"
        if name.startswith("cartwatch"):
            assert any(
                name == allowed or name.startswith(allowed + ".") for allowed in CORE_MAY_IMPORT
            ), f"{path.relative_to(PACKAGE)} reaches outward to {name}"


def test_the_check_sees_the_grading_modules() -> None:
    assert any(p.name == "astct_2019.py" for p in CORE_FILES)
