"""``cartwatch user add`` and ``cartwatch token create`` (Typer's CliRunner on the main app)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cartwatch.cli import users as users_cli
from cartwatch.cli._app import app
from cartwatch.registry.db import make_engine
from cartwatch.registry.users import ApiToken, Users


@pytest.fixture()
def cli(tmp_path: Path) -> tuple[CliRunner, str]:
    if not any(group.name == "user" for group in app.registered_groups):
        users_cli.register(app)
    return CliRunner(), f"sqlite:///{tmp_path / 'cli.db'}"


def test_user_add_with_password_on_stdin(cli: tuple[CliRunner, str]) -> None:
    runner, db = cli
    r = runner.invoke(
        app,
        ["user", "add", "sister.ward", "--role", "nurse", "--password-stdin", "--database", db],
        input="a bedside password\n",
    )
    assert r.exit_code == 0, r.output
    users = Users(make_engine(db))
    assert users.get_user("sister.ward").role.value == "nurse"
    assert users.authenticate("sister.ward", "a bedside password") is not None
    assert users.authenticate("sister.ward", "a bedside password\n") is None
    assert (users.password_hash("sister.ward") or "").startswith("$argon2id$")


def test_token_create_prints_the_token_on_its_last_line(cli: tuple[CliRunner, str]) -> None:
    runner, db = cli
    assert (
        runner.invoke(
            app, ["user", "add", "lab.system", "--role", "viewer", "--database", db]
        ).exit_code
        == 0
    )
    r = runner.invoke(app, ["token", "create", "lab.system", "--database", db])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    users = Users(make_engine(db))
    found = users.user_for_token(token)
    assert found is not None and found.name == "lab.system"
    with users.engine.connect() as connection:
        stored = connection.execute(select(ApiToken.token_sha256)).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "add", "x1", "--role", "surgeon"], None, "role"),
        (["user", "add", "x2", "--role", "nurse", "--password-stdin"], "short\n", "password"),
        (["user", "add", "bad name", "--role", "nurse"], None, "user name"),
        (["token", "create", "nobody"], None, "nobody"),
    ],
)
def test_bad_requests_exit_2_with_one_line(
    cli: tuple[CliRunner, str], args: list[str], stdin: str | None, message: str
) -> None:
    runner, db = cli
    r = runner.invoke(app, [*args, "--database", db], input=stdin)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_duplicate_user_exits_2(cli: tuple[CliRunner, str]) -> None:
    runner, db = cli
    args = ["user", "add", "dup", "--role", "viewer", "--database", db]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already exists" in again.output


def test_user_set_and_list(cli: tuple[CliRunner, str]) -> None:
    runner, db = cli
    assert (
        runner.invoke(app, ["user", "add", "dr.a", "--role", "nurse", "--database", db]).exit_code
        == 0
    )
    r = runner.invoke(
        app, ["user", "set", "dr.a", "--role", "physician", "--disable", "--database", db]
    )
    assert r.exit_code == 0 and "physician, disabled" in r.output
    listed = runner.invoke(app, ["user", "list", "--json", "--database", db])
    assert '"role": "physician"' in listed.output and '"disabled": true' in listed.output


def test_serve_refuses_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "CARTWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "CARTWATCH_SESSION_IDLE_SECONDS": "twelve hours",
    }
    r = subprocess.run(
        [sys.executable, "-m", "cartwatch", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "CARTWATCH_SESSION_IDLE_SECONDS" in r.stderr and "Traceback" not in r.stderr
