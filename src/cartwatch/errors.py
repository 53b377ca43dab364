"""The exceptions cartwatch raises, each one speaking to the user.

Every error carries the offending ``field``, the ``value`` given and what was ``expected``, and its
message says all three. Each concrete error also subclasses the builtin it resembles, so callers
that do not know cartwatch can still catch ``ValueError`` or ``KeyError``::

    CartwatchError
    ├── InvalidInput (ValueError)          bad input at the edge
    │   ├── UnknownField                   a field name that is not in the contract
    │   ├── ImplausibleValue               a value outside the plausible range
    │   ├── InvalidValue                   a value of the wrong type or not an allowed value
    │   └── ConflictingValues              the same quantity given twice, disagreeing
    ├── UnknownScale (KeyError)            a scale id that is not registered
    ├── NotFound (LookupError)             a stored record that does not exist
    ├── Conflict                           a concurrent edit or a duplicate (HTTP 409)
    ├── ConfigError (ValueError)           a centre file or option that cannot be used
    ├── NotApplicable (ValueError)         asked outside the population it is defined for
    └── ConvergenceError (ArithmeticError) an iterative estimator that did not converge
"""

from __future__ import annotations

from typing import Any


class CartwatchError(Exception):
    """Base of every cartwatch error; carries ``field``, ``value`` and ``expected``."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.expected = expected

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready mapping (used by the API and the CLI's ``--json``)."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "field": self.field,
            "value": _jsonable(self.value),
            "expected": self.expected,
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


class InvalidInput(ValueError, CartwatchError):
    """Input that cannot be accepted as given."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        CartwatchError.__init__(self, message, field=field, value=value, expected=expected)


class UnknownField(InvalidInput):
    """A field name that the contract does not define (``suggestion`` is the closest valid name)."""

    def __init__(self, field: str, *, suggestion: str | None, allowed: str) -> None:
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        super().__init__(
            f"unknown field `{field}`{hint}; expected one of: {allowed}",
            field=field,
            value=None,
            expected=allowed,
        )
        self.suggestion = suggestion


class ImplausibleValue(InvalidInput):
    """A value outside the plausible (not the normal) range of its field."""


class InvalidValue(InvalidInput):
    """A value of the wrong type, or not one of the allowed values."""


class ConflictingValues(InvalidInput):
    """The same quantity given under two names (e.g. °C and °F) with different values."""


class UnknownScale(KeyError, CartwatchError):
    """A scale id that is not registered."""

    def __init__(self, scale: str, *, suggestion: str | None, allowed: str) -> None:
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        CartwatchError.__init__(
            self,
            f"unknown scale `{scale}`{hint}; expected one of: {allowed}",
            field="scale",
            value=scale,
            expected=allowed,
        )
        self.suggestion = suggestion

    def __str__(self) -> str:
        return self.message


class NotFound(LookupError, CartwatchError):
    """A stored record that does not exist."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        CartwatchError.__init__(self, message, field=field, value=value, expected=None)


class Conflict(CartwatchError):
    """A concurrent edit of the same record, or a duplicate that must not be stored twice."""


class ConfigError(ValueError, CartwatchError):
    """A centre file, protocol or option that cannot be used as given."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        CartwatchError.__init__(self, message, field=field, value=value, expected=expected)


class NotApplicable(ValueError, CartwatchError):
    """A calculation requested outside the population or time window it is defined for."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        CartwatchError.__init__(self, message, field=field, value=value, expected=expected)


class ConvergenceError(ArithmeticError, CartwatchError):
    """An iterative estimator that did not converge; the message says which and why."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        CartwatchError.__init__(self, message, field=field, value=value, expected=None)


def closest_name(name: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """The candidate most like ``name`` (for "did you mean …?"), or None when nothing is close."""
    import difflib

    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = name.lower().replace("-", "_")
    for cand in candidates:
        if cand.lower() == lowered:
            return cand
    return None
