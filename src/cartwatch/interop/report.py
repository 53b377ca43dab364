"""What an import did: rows read, inserted, unchanged, rejected, and every rejected row's reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cartwatch.errors import CartwatchError


@dataclass(frozen=True, slots=True, kw_only=True)
class RowError:
    """One rejected row: its line in the file, the field at fault and why."""

    line: int
    field: str | None
    value: Any
    reason: str
    expected: str | None = None

    @classmethod
    def from_error(cls, line: int, exc: CartwatchError, *, prefix: str = "") -> RowError:
        name = exc.field
        if prefix and name and not name.startswith(prefix):
            name = prefix + name
        return cls(
            line=line,
            field=name,
            value=exc.value,
            reason=str(exc),
            expected=exc.expected,
        )

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not isinstance(value, str | int | float | bool):
            value = str(value)
        return {
            "line": self.line,
            "field": self.field,
            "value": value,
            "reason": self.reason,
            "expected": self.expected,
        }


@dataclass(slots=True, kw_only=True)
class ImportReport:
    """The outcome of importing one file (``written`` is False when nothing was committed;
    ``patients`` are those whose record gained rows, for re-deriving their grades and episodes).
    """

    kind: str
    source: str
    rows_read: int = 0
    inserted: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False
    patients: set[str] = field(default_factory=set)

    @property
    def rejected(self) -> int:
        """Rows rejected (a row with several faults counts once)."""
        return len({e.line for e in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "rows_read": self.rows_read,
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "written": self.written,
            "errors": [e.to_dict() for e in sorted(self.errors, key=lambda e: e.line)],
        }
