"""Twenty writers, each with its own bearer token, edit the same three patients over real HTTP on
a PostgreSQL-backed ``cartwatch serve`` for ``CARTWATCH_CONCURRENCY_SECONDS`` (default 10):
no update is lost, every successful edit got its own consecutive version, stale edits are
answered 409, and the audit trail holds exactly one row per successful write."""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from cartwatch.registry.db import make_engine
from cartwatch.registry.users import Users
from tests.api.conftest import start_ward, stop_ward
from tests.reliability.conftest import SKIP_PG

WRITERS = 20
PATIENTS = ("CC-1", "CC-2", "CC-3")
SECONDS = float(os.environ.get("CARTWATCH_CONCURRENCY_SECONDS", "10"))
T0 = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)


def audit_writes(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            text(
                "SELECT count(*) FROM audit_log l JOIN patients p ON p.id = l.patient_id "
                "WHERE l.action IN ('insert', 'update') AND p.patient_ref LIKE 'CC-%'"
            )
        ).scalar_one()
    engine.dispose()
    return int(count)


@SKIP_PG
def test_twenty_writers_lose_no_update(pg_url: str, tmp_path: Path) -> None:
    ward = start_ward(tmp_path, pg_url)
    try:
        users = Users(make_engine(pg_url))
        tokens = []
        for n in range(WRITERS):
            users.add_user(f"writer-{n:02d}", role="physician", password="writer-password-1")
            tokens.append(users.create_token(f"writer-{n:02d}"))
        users.engine.dispose()
        setup = httpx.Client(base_url=ward.url, headers=ward.headers("physician"), timeout=30)
        for ref in PATIENTS:
            r = setup.post("/api/v1/patients", json={"patient_ref": ref, "weight_kg": 70.0})
            assert r.status_code == 201, r.text
        audit_before = audit_writes(pg_url)

        lock = threading.Lock()
        updates: dict[str, list[tuple[int, float]]] = defaultdict(list)
        assessments: list[int] = []
        statuses: Counter[str] = Counter()
        unexpected: list[str] = []
        deadline = time.monotonic() + SECONDS

        def writer(n: int) -> None:
            rng = random.Random(n)
            headers = {"Authorization": f"Bearer {tokens[n]}"}
            with httpx.Client(base_url=ward.url, headers=headers, timeout=60) as http:
                k = 0
                while time.monotonic() < deadline:
                    k += 1
                    ref = rng.choice(PATIENTS)
                    if k % 3 == 0:
                        at = T0 + dt.timedelta(minutes=k * WRITERS + n)
                        r = http.post(
                            f"/api/v1/patients/{ref}/assessments",
                            json={"assessed_at": at.isoformat(), "data": {"temperature_c": 38.1}},
                        )
                        key = f"POST {r.status_code}"
                        if r.status_code == 201:
                            with lock:
                                assessments.append(r.json()["id"])
                    else:
                        current = http.get(f"/api/v1/patients/{ref}")
                        if current.status_code != 200:
                            unexpected.append(f"GET {current.status_code} {current.text}")
                            continue
                        weight = round(40 + n + (k % 1000) / 1000, 3)
                        r = http.patch(
                            f"/api/v1/patients/{ref}",
                            json={"version": current.json()["version"], "weight_kg": weight},
                        )
                        key = f"PATCH {r.status_code}"
                        if r.status_code == 200:
                            with lock:
                                updates[ref].append((r.json()["version"], weight))
                    with lock:
                        statuses[key] += 1
                    if r.status_code not in (200, 201, 409):
                        unexpected.append(f"{key} {r.text}")

        started = time.monotonic()
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=SECONDS + 300)
        elapsed = time.monotonic() - started

        assert unexpected == []
        assert statuses["PATCH 409"] > 0, "no conflicting edit happened; the test proved nothing"
        for ref in PATIENTS:
            versions = sorted(v for v, _ in updates[ref])
            assert versions == list(range(2, 2 + len(versions))), ref
            final = setup.get(f"/api/v1/patients/{ref}").json()
            last_version, last_weight = max(updates[ref])
            assert (final["version"], final["weight_kg"]) == (last_version, last_weight)
        writes = sum(len(v) for v in updates.values()) + len(assessments)
        assert len(set(assessments)) == len(assessments)
        assert audit_writes(pg_url) - audit_before == writes
        figures: dict[str, Any] = {
            "writers": WRITERS,
            "seconds": round(elapsed, 1),
            "successful_writes": writes,
            "patches_200": statuses["PATCH 200"],
            "patches_409": statuses["PATCH 409"],
            "assessments_201": statuses["POST 201"],
        }
        print(f"\nconcurrency: {figures}")
        setup.close()
    finally:
        stop_ward(ward)
