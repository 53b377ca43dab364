"""Every ``cartwatch`` command with random and adversarial arguments and stdin: exit code 0 or 2,
an error as one line on stderr, never a Python traceback (issue 10 item 1).

Commands are enumerated from the Typer app, so a new command is fuzzed without editing this file.
Most runs are in-process (typer's CliRunner: fast); a handful go through a real subprocess.
Paths given to commands (files, ``--out``, SQLite URLs) are always relative names inside the
test's own folder, and stray tokens hold no "/": the fuzzer must not write anywhere else.
Hypothesis runs derandomized.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cartwatch.cli._app import _register_all, app, user_error
from cartwatch.registry.repository import Registry

_register_all()
ROOT = typer.main.get_command(app)


def _leaves(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in sorted(getattr(group, "commands", {}).items()):
        if hasattr(command, "commands"):
            yield from _leaves(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = dict(_leaves(ROOT))
# ``serve`` runs until stopped; it is tried with bad arguments in a subprocess below.
FUZZED = sorted(" ".join(path) for path in COMMANDS if path != ("serve",))

PATH_PARAMS = {"json_file", "protocol_file", "ics", "out", "plot", "input_file", "file"}
FILES = {
    "in.json": json.dumps({"temperature_c": 39.1, "hypotension": "none"}),
    "list.json": "[1, 2, 3]",
    "junk.json": "{not json",
    "empty.json": "",
    "patients.csv": "patient_ref,sex\nP9,female\n",
    "bad.csv": "patient_ref,sex\nP9,dragon\n=cmd|' /C calc'!A0,male\n",
}
PATHS = [*FILES, "latin1.json", "missing.json", "-", ".", "nodir/out.txt", "out.txt", "a b.txt"]
SMALL = {"patients": ["0", "2", "-1", "abc", "100001"], "workers": ["0", "-1", "17", "x"]}
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e309",
            "nan",
            "inf",
            "-0",
            "3.5",
            "70",
            "170",
            "38.5",
            "abc",
            "female",
            "male",
            "astct_crs",
            "crs",
            "axi-cel",
            "tocilizumab",
            "2026-03-01",
            "2026-02-30",
            "Europe/Amsterdam",
            "../../etc/passwd",
            "=cmd|' /C calc'!A0",
            "scale=astct_crs",
            "niv_grade=9",
            "\u202eevil",
            "x" * 300,
            "-",
            "--json",
        ]
    ),
    TEXT,
)
# A stray token may land on a positional FILE (``db backup FILE``): never a path elsewhere.
STRAY = VALUES.filter(lambda v: "/" not in v and "\\" not in v and not v.startswith("-"))
DATABASES = [
    "sqlite:///other.db",
    "sqlite:///patients.csv/x.db",
    "sqlitex://",
    "mysql://u@localhost/db",
    "nonsense",
    "",
]
STDIN = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            FILES["in.json"],
            "{",
            "null",
            "[]",
            '{"temperature_c": "hot"}',
            "ward-password-123\n",
            "\n",
        ]
    ),
    TEXT,
)
FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@st.composite
def argv(draw: st.DrawFn, path: tuple[str, ...]) -> list[str]:
    """Arguments for one command: a random subset of its own parameters with adversarial
    values, in random order, sometimes with a stray token."""
    command = COMMANDS[path]
    pieces: list[list[str]] = []
    for param in command.params:
        required = bool(param.required) or param.name == "patients"
        if not required and not draw(st.booleans()):
            continue
        if param.name in PATH_PARAMS:
            value = draw(st.sampled_from(PATHS))
        elif param.name == "database":
            value = draw(st.sampled_from(DATABASES))
        elif param.name in SMALL:
            value = draw(st.sampled_from(SMALL[param.name]))
        else:
            value = draw(VALUES)
        if param.param_type_name == "argument":
            pieces.append([value])
        elif param.is_flag:
            pieces.append([draw(st.sampled_from([*param.opts, *param.secondary_opts]))])
        else:
            pieces.append([param.opts[0], value])
    order = draw(st.permutations(range(len(pieces)))) if pieces else []
    tokens = [token for i in order for token in pieces[i]]
    if draw(st.integers(0, 5)) == 0:
        bounds = [sum(len(pieces[i]) for i in order[:k]) for k in range(len(order) + 1)]
        tokens.insert(draw(st.sampled_from(bounds)), draw(STRAY))
    return [*path, *tokens]


def prepare(folder: Path) -> Path:
    """The files commands may read, and a registry with one patient."""
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "latin1.json").write_bytes('{"note": "café"}'.encode("latin-1"))
    registry = Registry.open(f"sqlite:///{folder / 'cli.db'}")
    registry.add_patient(patient_ref="P1", sex="female", weight_kg=70.0)
    registry.engine.dispose()
    return folder


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the fuzzed runs (which may overwrite its files: that is part of the fuzz)."""
    return prepare(tmp_path_factory.mktemp("cli-fuzz"))


@pytest.fixture()
def fresh(tmp_path: Path) -> Path:
    return prepare(tmp_path)


def invoke(args: list[str], stdin: str | None, folder: Path) -> tuple[int, str, str]:
    """``cartwatch ARGS`` in-process from ``folder``; an error escaping a command is reported as
    ``main`` reports it (exit 2, one line, by the same ``user_error``) — or fails the test."""
    env = {"CARTWATCH_DATABASE_URL": f"sqlite:///{folder / 'cli.db'}", "COLUMNS": "120"}
    here = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, args, input=stdin, env=env)
    finally:
        os.chdir(here)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        message = user_error(result.exception)
        assert message is not None, f"{args!r} raised {result.exception!r}"[:600]
        return 2, result.stdout, message + "\n"
    return result.exit_code, result.stdout, result.stderr


def check(code: int, out: str, err: str, args: list[str]) -> None:
    """Exit 0 or 2; on 2 an error on stderr (or the usage, for a bare group or the rejected-rows
    report of an import), our own errors on one line; no traceback."""
    where = f"{args!r}\nstdout: {out[-800:]}\nstderr: {err[-800:]}"
    assert "Traceback (most recent call last)" not in out + err, where
    assert code in (0, 2), where
    if code == 2:
        assert err.strip() or "rejected rows" in out or "Usage:" in out, where
        ours = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(ours) <= 1, where


@pytest.mark.parametrize("command", FUZZED)
@FUZZ
@given(data=st.data(), stdin=STDIN)
def test_every_command_exits_0_or_2_without_a_traceback(
    workdir: Path, command: str, data: st.DataObject, stdin: str | None
) -> None:
    args = data.draw(argv(tuple(command.split())))
    check(*invoke(args, stdin, workdir), args)


@pytest.mark.slow
@pytest.mark.parametrize("command", FUZZED)
@settings(FUZZ, max_examples=250)
@given(data=st.data(), stdin=STDIN)
def test_every_command_exits_0_or_2_under_a_longer_fuzz(
    workdir: Path, command: str, data: st.DataObject, stdin: str | None
) -> None:
    args = data.draw(argv(tuple(command.split())))
    check(*invoke(args, stdin, workdir), args)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--no-such-option"],
        ["no-such-command"],
        ["grade"],
        ["grade", "astct_crs", "--temperature-c", "hot"],
        ["grade", "astct_crs", "--temperature-c", "1e309"],
        ["grade", "astct_crs", "--option", "niv_grade=9"],
        ["grade", "no_such_scale", "--json", "in.json"],
        ["dose", "tocilizumab", "--weight-kg", "-3"],
        [
            "dose",
            "crcl",
            "--age-years",
            "nan",
            "--weight-kg",
            "70",
            "--sex",
            "female",
            "--creatinine-mg-dl",
            "1",
        ],
        ["cohorts", "--database", "sqlite:///patients.csv/x.db"],
        [
            "export",
            "registry-form",
            "--form",
            "ebmt-day100",
            "--period-start",
            "2026-01-01",
            "--period-end",
            "2026-12-31",
            "--tz",
            "../../etc/passwd",
        ],
        # regressions: each of these ended in a traceback
        ["eligibility", "--json", "latin1.json"],
        ["score", "--json", "latin1.json"],
        ["recommend", "--json", "latin1.json"],
        ["dose", "tocilizumab", "--weight-kg", "70", "--protocol", "latin1.json"],
        ["meta", "pool", "--input", "latin1.json"],
        ["export", "patients", "--out", "."],
        ["export", "fhir", "--out", "nodir/out.json"],
    ],
    ids=lambda a: " ".join(a) or "no-args",
)
def test_chosen_bad_arguments_exit_2_in_process(fresh: Path, args: list[str]) -> None:
    code, out, err = invoke(args, None, fresh)
    check(code, out, err, args)
    assert code == 2, (args, out, err)


def run(args: list[str], folder: Path, stdin: str | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "cartwatch", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "CARTWATCH_DATABASE_URL": f"sqlite:///{folder / 'cli.db'}"},
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["grade", "astct_crs", "--json", "-"], "{not json"),
        (["grade", "astct_crs", "--json", "latin1.json"], None),
        (["import", "patients", "bad.csv"], None),
        (["import", "fhir", "latin1.json"], None),
        (["cohorts", "--database", "sqlitex://"], None),
        (["user", "add", "x\ny", "--role", "wizard", "--password-stdin"], "pw\n"),
        (["serve", "--port", "70000"], None),
        (["serve", "--port", "-1"], None),
        (["serve", "--host", "no-such-host.invalid", "--port", "0"], None),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_a_real_process_exits_2_with_one_line_and_no_traceback(
    fresh: Path, args: list[str], stdin: str | None
) -> None:
    code, out, err = run(args, fresh, stdin)
    check(code, out, err, args)
    assert code == 2


def test_an_unopenable_database_is_one_error_line_not_a_traceback(fresh: Path) -> None:
    """Regression: a database URL that could not be opened (missing folder, unknown dialect,
    refused connection) printed an SQLAlchemy traceback."""
    for url in (
        "sqlite:///patients.csv/x.db",
        "sqlitex://",
        "postgresql://u:pw@127.0.0.1:1/x",
    ):
        code, _out, err = run(["cohorts", "--database", url], fresh)
        assert code == 2 and err.startswith("error: the database cannot be used"), err
        assert len(err.strip().splitlines()) == 1 and "pw@" not in err, err


def test_serve_refuses_a_port_out_of_range_or_an_unknown_host(fresh: Path) -> None:
    """Regression: ``serve --port 70000`` and an unresolvable ``--host`` ended in a traceback
    (OverflowError from bind) or uvicorn's exit 3."""
    for args in (["serve", "--port", "70000"], ["serve", "--host", "no-such-host.invalid"]):
        code, _out, err = invoke(args, None, fresh)
        assert code == 2 and "Traceback" not in err, (args, err)
