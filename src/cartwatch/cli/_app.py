"""The Typer application and the one place that turns cartwatch errors into exit code 2."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from cartwatch.errors import CartwatchError

app = typer.Typer(
    name="cartwatch",
    help="CAR-T toxicity grading, management, registry and evidence synthesis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

# Modules that add commands to ``app`` when imported (each defines ``register(app)``).
_COMMAND_MODULES: tuple[str, ...] = (
    "cartwatch.cli.grade",
    "cartwatch.cli.care",
    "cartwatch.cli.score",
    "cartwatch.cli.meta",
    "cartwatch.cli.registry",
    "cartwatch.cli.interop",
    "cartwatch.cli.demo",
    "cartwatch.cli.users",
    "cartwatch.cli.serve",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(app)


def fail(message: str) -> typer.Exit:
    """Print one line to stderr and return the exit (code 2) for the caller to raise."""
    err_console.print(f"error: {message}", markup=False)
    return typer.Exit(code=2)


def read_json_input(source: str) -> Any:
    """The JSON document in file ``source`` (``-`` for standard input), or a one-line error
    (exit 2) when it cannot be read, is not UTF-8, is not JSON or is nested too deeply."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise fail(f"cannot read {source}: it is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{source} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise fail(f"{source} is JSON nested too deeply to be read") from None


def user_error(exc: BaseException) -> str | None:
    """The one-line message for an error the user can act on, or None for a bug.

    Besides cartwatch's own errors, a database that cannot be opened or reached (a missing
    folder, an unknown dialect, a refused connection) is the user's to fix, not a traceback;
    a password in a URL is masked.
    """
    if isinstance(exc, CartwatchError):
        return f"error: {exc}"
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    if isinstance(exc, ArgumentError | NoSuchModuleError | OperationalError):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        reason = re.sub(r"(://[^:/@\s]+):[^@\s]*@", r"\1:***@", reason)
        return f"error: the database cannot be used: {reason}"
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cartwatch`` script."""
    _register_all()
    try:
        app(args=argv, standalone_mode=True)
    except Exception as exc:
        message = user_error(exc)
        if message is None:
            raise
        err_console.print(message, markup=False)
        sys.exit(2)
