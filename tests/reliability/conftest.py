"""Servers for the fault and concurrency tests: ``cartwatch serve`` subprocesses that can be
killed and restarted on the same database, and an in-process uvicorn server whose engine the
test can reach (to limit SQLite's size and simulate a full disk)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from cartwatch.registry.db import normalise_url
from tests.api.conftest import POSTGRES, SKIP_PG, Ward, free_port

__all__ = ["POSTGRES", "SKIP_PG", "InProcessServer", "relaunch", "wait_healthy"]


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"no server answered at {url}")


def relaunch(ward: Ward, tmp: Path) -> Ward:
    """A new ``cartwatch serve`` on the same database (after the old one was killed)."""
    port = free_port()
    log_path = tmp / f"server-{port}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "cartwatch", "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CARTWATCH_DATABASE_URL": ward.database_url},
    )
    log_file.close()
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process)
    return Ward(
        url=url,
        database_url=ward.database_url,
        log_path=log_path,
        process=process,
        tokens=ward.tokens,
    )


class InProcessServer:
    """uvicorn serving ``app`` from a thread of the test process, on a free port."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        wait_healthy(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL on a new private schema (dropped afterwards), tagged with an
    application_name so that the test can find and terminate the app's connections."""
    if POSTGRES is None:
        pytest.skip("PostgreSQL not reachable")
    tag = uuid.uuid4().hex[:10]
    schema = f"cw_rel_{tag}"
    admin = create_engine(normalise_url(POSTGRES), isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES else "?"
    yield f"{POSTGRES}{sep}options=-csearch_path%3D{schema}&application_name=cw_app_{tag}"
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name"
            ),
            {"name": f"cw_app_{tag}"},
        )
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=SKIP_PG)])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ward.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url
