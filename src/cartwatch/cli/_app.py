"""The Typer application and the one place that turns cartwatch errors into exit code 2."""

from __future__ import annotations

import importlib
import sys

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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cartwatch`` script."""
    _register_all()
    try:
        app(args=argv, standalone_mode=True)
    except CartwatchError as exc:
        err_console.print(f"error: {exc}", markup=False)
        sys.exit(2)
