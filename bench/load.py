"""Load on loopback (issue 10): requests/s and p99 latency of the ward list, the patient page and
the assessment POST, against ``/healthz`` measured by the same tool in the same run.

``cartwatch serve`` runs in a subprocess on SQLite holding the demo cohort
(``CARTWATCH_BENCH_LOAD_PATIENTS``, default 60); ``wrk`` (``/usr/bin/wrk``) drives each endpoint for
``CARTWATCH_BENCH_LOAD_SECONDS`` (default 10) with a bearer token. The ward list and patient
page are the HTML pages ``/ward`` and ``/patients/{ref}`` when the app serves them, else the API
routes that carry the same data. Every read is audited (one audit row per patient shown), so the
"reads" write too. Each POST carries a fresh ``assessed_at`` and goes to one of the patients in
turn.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._net import free_port

PATIENTS = int(os.environ.get("CARTWATCH_BENCH_LOAD_PATIENTS", "60"))
SECONDS = int(os.environ.get("CARTWATCH_BENCH_LOAD_SECONDS", "10"))
CONNECTIONS = 8
THREADS = 2

REPORT = """
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d,"
    .. "\\"errors\\":%d,\\"status_errors\\":%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    summary.errors.status))
end
"""

POST = """
local counter = 0
local threads = {}
local refs = {%(refs)s}
setup = function(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
request = function()
  counter = counter + 1
  local ref = refs[(counter %% #refs) + 1]
  local at = os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", 1798761600 + (tid * 1000000 + counter) * 60)
  local body = string.format(
    '{"assessed_at":"%%s","data":{"temperature_c":38.4,"hypotension":"none"}}', at)
  return wrk.format("POST", "/api/v1/patients/" .. ref .. "/assessments",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}, body)
end
"""


def _prepare(folder: Path) -> tuple[str, str, list[str]]:
    from cartwatch.registry.db import make_engine
    from cartwatch.registry.demo import generate_cohort, write_cohort
    from cartwatch.registry.repository import Registry
    from cartwatch.registry.users import Users

    url = f"sqlite:///{folder / 'load.db'}"
    engine = make_engine(url)
    registry = Registry(engine, actor="bench")
    write_cohort(registry, generate_cohort(patients=PATIENTS, seed=1), workers=1)
    refs = [p.patient_ref for p in registry.list_patients()]
    users = Users(engine)
    users.add_user("bench", role="physician", password="bench-password-123")
    token = users.create_token("bench")
    engine.dispose()
    return url, token, refs


def _wrk(url: str, token: str, script: str, folder: Path, name: str) -> dict[str, Any]:
    path = folder / f"{name}.lua"
    path.write_text(script + REPORT, encoding="utf-8")
    done = subprocess.run(
        [
            shutil.which("wrk") or "/usr/bin/wrk",
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--timeout",
            "30s",
            "-H",
            f"Authorization: Bearer {token}",
            "-s",
            str(path),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON ") :])
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "socket_errors": raw["errors"],
        "non_2xx_3xx": raw["status_errors"],
    }


def run() -> dict[str, Any]:
    if shutil.which("wrk") is None and not Path("/usr/bin/wrk").exists():
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url, token, refs = _prepare(folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = (folder / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "cartwatch", "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CARTWATCH_DATABASE_URL": url},
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            auth = {"Authorization": f"Bearer {token}"}
            ward = f"{base}/ward"
            if httpx.get(ward, headers=auth, timeout=30).status_code != 200:
                ward = f"{base}/api/v1/patients"
            page = f"{base}/patients/{refs[0]}"
            if httpx.get(page, headers=auth, timeout=30).status_code != 200:
                page = f"{base}/api/v1/patients/{refs[0]}/assessments"
            post_script = POST % {
                "refs": ", ".join(f'"{r}"' for r in refs),
                "token": token,
            }
            figures: dict[str, Any] = {
                "patients": len(refs),
                "seconds_each": SECONDS,
                "connections": CONNECTIONS,
                "healthz": _wrk(f"{base}/healthz", token, "", folder, "healthz"),
                "ward_list": {"url": ward[len(base) :]} | _wrk(ward, token, "", folder, "ward"),
                "patient_page": {"url": page[len(base) :].replace(refs[0], "{ref}")}
                | _wrk(page, token, "", folder, "page"),
                "assessment_post": {"url": "/api/v1/patients/{ref}/assessments"}
                | _wrk(base, token, post_script, folder, "post"),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    baseline = figures["healthz"]["requests_per_s"]
    for key in ("ward_list", "patient_page", "assessment_post"):
        figures[key]["ratio_to_healthz"] = round(figures[key]["requests_per_s"] / baseline, 4)
    return figures
