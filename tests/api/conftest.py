"""A real ward server over HTTP: ``cartwatch serve`` in a subprocess on a free port, its own
database (a temporary SQLite file, or a private PostgreSQL schema), one user and one bearer token
per role, and the server's log captured to a file for the privacy scan.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from cartwatch.registry.db import make_engine, normalise_url
from cartwatch.registry.users import Users

ROLES = ("viewer", "nurse", "physician", "admin")
PASSWORD = "ward-test-password"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_url() -> str | None:
    url = os.environ.get("CARTWATCH_TEST_POSTGRES_URL", LOCAL_POSTGRES)
    try:
        engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except (OperationalError, ImportError):
        return None
    return url


POSTGRES = _postgres_url()
SKIP_PG = pytest.mark.skipif(
    POSTGRES is None,
    reason="PostgreSQL not reachable: set CARTWATCH_TEST_POSTGRES_URL or run a server on "
    "127.0.0.1:5432 (database `test`, trust auth)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Ward:
    """A running server, its database and a bearer token per role."""

    url: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def users(self) -> Users:
        return Users(make_engine(self.database_url))


def start_ward(tmp: Path, database_url: str, *, env: Mapping[str, str] | None = None) -> Ward:
    """Create one user and token per role, then start ``cartwatch serve`` on a free port."""
    users = Users(make_engine(database_url))
    tokens = {}
    for role in ROLES:
        users.add_user(role, role=role, password=PASSWORD)
        tokens[role] = users.create_token(role)
    users.engine.dispose()
    port = free_port()
    log_path = tmp / f"server-{port}.log"
    environment = {
        **os.environ,
        "CARTWATCH_DATABASE_URL": database_url,
        **(env or {}),
    }
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "cartwatch", "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=environment,
    )
    log_file.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Ward(
                    url=url,
                    database_url=database_url,
                    log_path=log_path,
                    process=process,
                    tokens=tokens,
                )
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"cartwatch serve did not start: {log_path.read_text()}")


def stop_ward(ward: Ward) -> None:
    ward.process.terminate()
    try:
        ward.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        ward.process.kill()


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new private schema (dropped afterwards)."""
    if POSTGRES is None:
        pytest.skip("PostgreSQL not reachable")
    schema = f"cw_api_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(POSTGRES), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES else "?"
    yield f"{POSTGRES}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=SKIP_PG)])
def ward(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ward]:
    """The shared ward server on SQLite and (when reachable) on PostgreSQL."""
    tmp = tmp_path_factory.mktemp(f"ward-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp / 'ward.db'}"
    else:
        database_url = request.getfixturevalue("pg_schema")
    server = start_ward(tmp, database_url)
    yield server
    stop_ward(server)


def new_ref(prefix: str = "P") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def seed_patient(ward: Ward, ref: str | None = None) -> str:
    """A patient with a product, an infusion, an assessment, a lab and a tocilizumab dose."""
    patient_ref = ref or new_ref()
    h = ward.headers("physician")
    base = ward.url + "/api/v1"
    steps = [
        ("/patients", {"patient_ref": patient_ref, "weight_kg": 72.5, "sex": "female"}),
        ("/products", {"name": "axicabtagene ciloleucel", "targets": ["CD19"]}),
        (
            f"/patients/{patient_ref}/infusions",
            {
                "infusion_ref": "inf-1",
                "infused_at": "2026-11-01T09:00:00Z",
                "product": "axicabtagene ciloleucel",
            },
        ),
        (
            f"/patients/{patient_ref}/assessments",
            {
                "assessed_at": "2026-11-02T08:00:00Z",
                "data": {
                    "temperature_c": 39.4,
                    "hypotension": "fluid_responsive",
                    "oxygen": {"device": "low_flow_nasal_cannula", "flow_l_min": 2},
                    "ice": {
                        "orientation": 4,
                        "naming": 3,
                        "commands": 1,
                        "writing": 1,
                        "attention": 1,
                    },
                },
            },
        ),
        (
            f"/patients/{patient_ref}/labs",
            {"taken_at": "2026-11-02T07:00:00Z", "name": "ferritin_ng_ml", "value": 15000},
        ),
        (
            f"/patients/{patient_ref}/administrations",
            {"given_at": "2026-11-02T09:00:00Z", "drug": "tocilizumab", "dose_mg": 580},
        ),
    ]
    for path, body in steps:
        r = httpx.post(base + path, json=body, headers=h)
        assert r.status_code == 201, (path, r.status_code, r.text)
    return patient_ref


def login(ward: Ward, role: str, **client_options: object) -> tuple[httpx.Client, str]:
    """An HTTP client holding a session cookie for ``role``, and the session's CSRF token."""
    client = httpx.Client(base_url=ward.url, **client_options)  # type: ignore[arg-type]
    r = client.post("/api/v1/login", json={"username": role, "password": PASSWORD})
    assert r.status_code == 200, r.text
    csrf: str = r.json()["csrf_token"]
    return client, csrf
