"""Engine and sessions: SQLite by default (WAL, a file in the user's data directory), PostgreSQL
when ``CARTWATCH_DATABASE_URL`` names one. The schema is created or upgraded on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from cartwatch.errors import ConfigError

ENV_URL = "CARTWATCH_DATABASE_URL"


def default_url() -> str:
    """``CARTWATCH_DATABASE_URL``, else a SQLite file under the user's data directory."""
    url = os.environ.get(ENV_URL)
    if url:
        return normalise_url(url)
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("cartwatch", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'cartwatch.db'}"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg://")):
        raise ConfigError(
            f"database URL `{url.split('@')[-1]}` is not supported",
            field=ENV_URL,
            value=url.split("@")[-1],
            expected="sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
        )
    return url


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """An engine for ``url`` (default :func:`default_url`), schema upgraded to head."""
    target = normalise_url(url) if url else default_url()
    if target.startswith("sqlite"):
        engine = create_engine(target, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(target, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if upgrade:
        from cartwatch.registry.migrate import upgrade_to_head

        upgrade_to_head(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
