"""``cartwatch user add|list|set`` and ``cartwatch token create|revoke``: who may use the ward app.

Passwords are read from stdin (``--password-stdin``), never from the command line, and stored as
argon2 hashes. A token is printed once, on the last line; only its SHA-256 digest is kept.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cartwatch.cli._app import fail
from cartwatch.errors import CartwatchError

if TYPE_CHECKING:
    from cartwatch.registry.users import Users

console = Console(highlight=False)
user_app = typer.Typer(help="Users of the ward app and the API.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the REST API.", no_args_is_help=True)

ROLES = "viewer|nurse|physician|admin"


def _users(database: str | None) -> Users:
    from cartwatch.registry.db import make_engine
    from cartwatch.registry.users import Users

    return Users(make_engine(database))


def _read_password() -> str:
    data = sys.stdin.read()
    return data[:-1] if data.endswith("\n") else data


@user_app.command("add")
def add(
    name: str = typer.Argument(..., help="user name (letters, digits, ._@-)"),
    role: str = typer.Option(..., "--role", help=ROLES),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from stdin (one line)"
    ),
    database: str = typer.Option(None, "--database", help="database URL"),
    as_json: bool = typer.Option(False, "--json", help="print the user as JSON"),
) -> None:
    """Create a user; without --password-stdin the user can only use API tokens."""
    password = _read_password() if password_stdin else None
    try:
        user = _users(database).add_user(name, role=role, password=password, actor="cli")
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(user.to_dict()))
    else:
        typer.echo(f"user {user.name} added as {user.role.value}")


@user_app.command("set")
def set_user(
    name: str = typer.Argument(...),
    role: str = typer.Option(None, "--role", help=ROLES),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="new password on stdin"),
    disable: bool = typer.Option(None, "--disable/--enable", help="disable or enable the user"),
    database: str = typer.Option(None, "--database", help="database URL"),
) -> None:
    """Change a user's role or password, or disable them (their sessions end)."""
    password = _read_password() if password_stdin else None
    try:
        user = _users(database).update_user(
            name, role=role, password=password, disabled=disable, actor="cli"
        )
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    state = "disabled" if user.disabled else "enabled"
    typer.echo(f"user {user.name}: {user.role.value}, {state}")


@user_app.command("list")
def list_users(
    database: str = typer.Option(None, "--database", help="database URL"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Every user with role and state."""
    try:
        users = _users(database).list_users()
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([u.to_dict() for u in users]))
        return
    table = Table("name", "role", "state", "created")
    for u in users:
        table.add_row(
            u.name, u.role.value, "disabled" if u.disabled else "enabled", u.created_at.isoformat()
        )
    console.print(table)


@token_app.command("create")
def create_token(
    name: str = typer.Argument(..., help="the user the token acts for"),
    label: str = typer.Option("", "--label", help="what the token is for"),
    database: str = typer.Option(None, "--database", help="database URL"),
) -> None:
    """Create a bearer token; it is printed once, on the last line."""
    try:
        token = _users(database).create_token(name, label=label or "cli")
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"token for {name} (shown once; only its digest is stored):")
    typer.echo(token)


@token_app.command("revoke")
def revoke_token(
    token: str = typer.Argument(..., help="the token to revoke"),
    database: str = typer.Option(None, "--database", help="database URL"),
) -> None:
    """Revoke a bearer token."""
    try:
        known = _users(database).revoke_token(token)
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    if not known:
        raise fail("no such token")
    typer.echo("token revoked")


def register(app: typer.Typer) -> None:
    """Add ``user`` and ``token`` to the main app."""
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
