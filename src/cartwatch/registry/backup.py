"""Backup and restore of the registry database.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database in one step
under a read snapshot, so a backup taken while the ward app writes is consistent; the copy is
written beside the target and renamed into place, so a failed backup never leaves half a file.
PostgreSQL: ``pg_dump`` in custom format (``-Fc``) and ``pg_restore --clean --if-exists``,
limited to the schema the URL selects (``options=-csearch_path=…``).

A restore first checks that the file is a cartwatch database at a known migration revision, and
refuses to overwrite a database that already holds rows unless ``force`` is given.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from cartwatch.errors import ConfigError, InvalidValue
from cartwatch.registry.db import make_engine, normalise_url
from cartwatch.registry.migrate import alembic_config, head_revision

Progress = Callable[[int, int], None]

CARTWATCH_TABLES = ("alembic_version", "patients", "assessments", "grades", "audit_log")
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s,]+)")


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup or restore did."""

    database: str
    file: Path
    revision: str
    bytes: int


def known_revisions() -> tuple[str, ...]:
    """Every migration revision shipped with this version of cartwatch."""
    script = ScriptDirectory.from_config(alembic_config())
    return tuple(s.revision for s in script.walk_revisions())


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ConfigError(
            "an in-memory SQLite database cannot be backed up or restored",
            field="database",
            value=_shown(url),
            expected="sqlite:///PATH",
        )
    return Path(url.database)


def _check_revision(revision: str | None, file: Path) -> str:
    known = known_revisions()
    if revision is None:
        raise InvalidValue(
            f"`{file}` is not a cartwatch database: it has no migration revision",
            field="file",
            value=str(file),
            expected="a file written by `cartwatch db backup`",
        )
    if revision not in known:
        raise InvalidValue(
            f"`{file}` is at migration revision `{revision}`, which this cartwatch does not know",
            field="file",
            value=revision,
            expected=f"one of {', '.join(sorted(known))}",
        )
    return revision


# --- SQLite --------------------------------------------------------------------------------------


def _sqlite_revision(path: Path) -> str | None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidValue(
            f"`{path}` cannot be opened as a SQLite database: {exc}",
            field="file",
            value=str(path),
            expected="a SQLite file written by `cartwatch db backup`",
        ) from None
    try:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not set(CARTWATCH_TABLES) <= tables:
            return None
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None
    except sqlite3.DatabaseError:
        raise InvalidValue(
            f"`{path}` is not a SQLite database",
            field="file",
            value=str(path),
            expected="a SQLite file written by `cartwatch db backup`",
        ) from None
    finally:
        connection.close()


def _sqlite_backup(url: URL, file: Path, progress: Progress | None) -> BackupReport:
    source_path = _sqlite_path(url)
    revision = _check_revision(_sqlite_revision(source_path), source_path)
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.backup(target, pages=-1, progress=_sqlite_progress(progress))
        target.execute("PRAGMA journal_mode=DELETE")
        check = target.execute("PRAGMA integrity_check").fetchone()
        if check is None or check[0] != "ok":
            raise InvalidValue(
                f"the backup of `{source_path}` failed its integrity check: {check}",
                field="database",
                value=str(source_path),
                expected="a database that passes PRAGMA integrity_check",
            )
    finally:
        target.close()
        source.close()
    os.replace(partial, file)
    return BackupReport(_shown(url), file, revision, file.stat().st_size)


def _sqlite_progress(progress: Progress | None) -> Callable[[int, int, int], None] | None:
    if progress is None:
        return None

    def report(status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total)

    return report


def _sqlite_rows(path: Path) -> int:
    if not path.exists() or path.stat().st_size == 0:
        return 0
    connection = sqlite3.connect(path, timeout=30)
    try:
        names = [
            str(row[0])
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return sum(
            int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            for name in names
            if name != "alembic_version"
        )
    finally:
        connection.close()


def _sqlite_restore(url: URL, file: Path, force: bool, progress: Progress | None) -> BackupReport:
    revision = _check_revision(_sqlite_revision(file), file)
    target_path = _sqlite_path(url)
    _refuse_non_empty(_sqlite_rows(target_path), url, force)
    _make_folder(target_path.parent, "database")
    source = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        source.backup(target, pages=-1, progress=_sqlite_progress(progress))
    finally:
        target.close()
        source.close()
    return BackupReport(_shown(url), file, revision, file.stat().st_size)


def _refuse_non_empty(rows: int, url: URL, force: bool) -> None:
    if rows and not force:
        raise InvalidValue(
            f"the database {_shown(url)} already holds {rows} rows; restoring would replace "
            "them (give --force to overwrite)",
            field="database",
            value=_shown(url),
            expected="an empty database, or --force",
        )


# --- PostgreSQL ----------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"`{name}` was not found on PATH; install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client)",
            field=name,
            value=None,
            expected=f"{name} on PATH",
        )
    return found


def _pg_schema(url: URL) -> str | None:
    options = url.query.get("options")
    text_options = options if isinstance(options, str) else " ".join(options or ())
    found = _SEARCH_PATH.search(unquote(text_options))
    return found.group(1).strip('"') if found else None


def _pg_env(url: URL) -> dict[str, str]:
    env = {**os.environ}
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[key] = str(value)
    env.pop("PGOPTIONS", None)
    return env


def _run(command: list[str], url: URL, what: str) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(command, env=_pg_env(url), capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise ConfigError(
            f"{what} failed: {message}",
            field=Path(command[0]).name,
            value=done.returncode,
            expected="exit status 0",
        )
    return done


def _pg_revision(url: URL, file: Path) -> str:
    listing = subprocess.run(
        [_tool("pg_restore"), "--list", str(file)],
        capture_output=True,
        check=False,
    )
    if listing.returncode != 0:
        raise InvalidValue(
            f"`{file}` is not a pg_dump custom-format archive",
            field="file",
            value=str(file),
            expected="a file written by `cartwatch db backup` from PostgreSQL",
        )
    toc = listing.stdout.decode("utf-8", "replace")
    if not all(re.search(rf"TABLE \S+ {name} ", toc) for name in CARTWATCH_TABLES):
        _check_revision(None, file)
    found = re.search(r"TABLE (\S+) patients ", toc)
    archived = found.group(1) if found else None
    wanted = _pg_schema(url) or "public"
    if archived != wanted:
        raise InvalidValue(
            f"`{file}` holds schema `{archived}`, but {_shown(url)} selects schema `{wanted}`",
            field="database",
            value=wanted,
            expected=f"a database URL with options=-csearch_path={archived}",
        )
    data = _run(
        [_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(file)],
        url,
        "reading the archive's migration revision",
    ).stdout.decode("utf-8", "replace")
    lines = data.splitlines()
    revision = None
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            revision = lines[i + 1].strip() if lines[i + 1].strip() != "\\." else None
    return _check_revision(revision, file)


def _pg_rows(url: URL) -> int:
    engine = make_engine(url.render_as_string(hide_password=False), upgrade=False)
    try:
        with engine.connect() as connection:
            names = [n for n in inspect(connection).get_table_names() if n != "alembic_version"]
            return sum(
                int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                for name in names
            )
    finally:
        engine.dispose()


def _pg_backup(url: URL, file: Path) -> BackupReport:
    schema = _pg_schema(url)
    partial = file.with_name(file.name + ".partial")
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}"]
    if schema:
        command.append(f"--schema={schema}")
    _run(command, url, f"pg_dump of {_shown(url)}")
    revision = _pg_revision(url, partial)
    os.replace(partial, file)
    return BackupReport(_shown(url), file, revision, file.stat().st_size)


def _pg_restore(url: URL, file: Path, force: bool) -> BackupReport:
    revision = _pg_revision(url, file)
    _refuse_non_empty(_pg_rows(url), url, force)
    schema = _pg_schema(url)
    command = [
        _tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={url.database}",
    ]
    if schema:
        engine = make_engine(url.render_as_string(hide_password=False), upgrade=False)
        try:
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        finally:
            engine.dispose()
        command.append(f"--schema={schema}")
    command.append(str(file))
    _run(command, url, f"pg_restore into {_shown(url)}")
    return BackupReport(_shown(url), file, revision, file.stat().st_size)


def _make_folder(folder: Path, field: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidValue(
            f"cannot create the folder `{folder}` ({exc.strerror or exc})",
            field=field,
            value=str(folder),
            expected="a folder that exists or can be created",
        ) from None


# --- entry points --------------------------------------------------------------------------------


def backup(database_url: str, file: Path, *, progress: Progress | None = None) -> BackupReport:
    """Copy the database at ``database_url`` to ``file`` (consistent while the app writes)."""
    url = make_url(normalise_url(database_url))
    file = Path(file)
    if not file.name or file.is_dir():
        raise InvalidValue(
            f"`{file}` is a folder; expected the name of the backup file to write",
            field="file",
            value=str(file),
            expected="a file path such as registry.bak",
        )
    _make_folder(file.parent, "file")
    if url.get_backend_name() == "sqlite":
        return _sqlite_backup(url, file, progress)
    return _pg_backup(url, file)


def restore(
    database_url: str, file: Path, *, force: bool = False, progress: Progress | None = None
) -> BackupReport:
    """Replace the database at ``database_url`` with the backup in ``file``, then upgrade it to
    the newest migration. Refuses a file that is not a cartwatch database, and a database that
    already holds rows unless ``force``."""
    url = make_url(normalise_url(database_url))
    file = Path(file)
    if not file.is_file():
        raise InvalidValue(
            f"backup file `{file}` does not exist",
            field="file",
            value=str(file),
            expected="a file written by `cartwatch db backup`",
        )
    if url.get_backend_name() == "sqlite":
        report = _sqlite_restore(url, file, force, progress)
    else:
        report = _pg_restore(url, file, force)
    if report.revision != head_revision():
        make_engine(url.render_as_string(hide_password=False)).dispose()
    return report
