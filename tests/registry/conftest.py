"""Real databases for registry tests: a fresh SQLite file, and PostgreSQL in a private schema.

PostgreSQL is used when ``CARTWATCH_TEST_POSTGRES_URL`` is set or the local server
(postgresql://postgres@127.0.0.1:5432/test) answers; otherwise those tests skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from cartwatch.registry.db import make_engine, normalise_url
from cartwatch.registry.repository import Registry

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """A reachable PostgreSQL URL, or None."""
    url = os.environ.get("CARTWATCH_TEST_POSTGRES_URL", LOCAL_POSTGRES)
    try:
        engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except (OperationalError, ImportError):
        return None
    return url


POSTGRES = postgres_url()
SKIP_PG = pytest.mark.skipif(
    POSTGRES is None,
    reason="PostgreSQL not reachable: set CARTWATCH_TEST_POSTGRES_URL or run a server on "
    "127.0.0.1:5432 (database `test`, trust auth)",
)


@pytest.fixture()
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema, dropped afterwards."""
    assert POSTGRES is not None
    schema = f"cw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(POSTGRES), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES else "?"
    yield f"{POSTGRES}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=SKIP_PG)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture()
def registry(database_url: str) -> Iterator[Registry]:
    engine = make_engine(database_url)
    yield Registry(engine, actor="nurse.a")
    engine.dispose()
