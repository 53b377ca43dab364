"""episodes.py is core: it reaches only the modules the core may import (design.md §2)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import cartwatch.episodes

ALLOWED_CARTWATCH = (
    "cartwatch.errors",
    "cartwatch.references",
    "cartwatch.assessment",
    "cartwatch.grading",
)
STDLIB = {
    "__future__",
    "bisect",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "math",
    "operator",
    "typing",
}


def test_episodes_imports_only_the_standard_library_and_the_core() -> None:
    source = Path(cartwatch.episodes.__file__).read_text(encoding="utf-8")
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    for name in names:
        if name.startswith("cartwatch"):
            assert name.startswith(ALLOWED_CARTWATCH), name
        else:
            assert name.split(".")[0] in STDLIB, name


def test_episodes_reads_no_clock() -> None:
    source = Path(cartwatch.episodes.__file__).read_text(encoding="utf-8")
    for forbidden in (r"\.now\(", r"utcnow", r"\btime\.time\(", r"\.today\(", r"\bopen\("):
        assert re.search(forbidden, source) is None, forbidden
