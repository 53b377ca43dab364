"""The grade endpoint's throughput against a bare FastAPI endpoint (issue 6, part 5).

Two uvicorn processes (one worker each) run in the same benchmark: the cartwatch app
(``create_app``, as ``cartwatch serve`` runs it) and a bare FastAPI app whose endpoint validates a
similar body with a Pydantic model and answers a JSON of the same size. Both are driven by the same
client load — ``wrk`` with ``CONNECTIONS`` keep-alive connections for ``SECONDS`` seconds, or
an httpx/asyncio client when ``wrk`` is absent — alternating twice. The figure is
``ratio_grade_endpoint_over_bare`` (target ≥ 0.70).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from bench._net import free_port

SECONDS = float(os.environ.get("CARTWATCH_BENCH_API_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("CARTWATCH_BENCH_API_CONNECTIONS", "200"))
ROUNDS = 2
SCALE = "astct_crs"
TARGET = 0.70

BODY: dict[str, Any] = {
    "age_years": 54.0,
    "temperature_c": 39.1,
    "hypotension": "fluid_responsive",
    "oxygen": {"device": "low_flow_nasal_cannula", "flow_l_min": 3.0},
    "ice": {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 0},
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "icp_edema": "none",
}

BARE_APP = """
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

PADDING = {padding!r}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class Oxygen(_In):
    device: str | None = None
    flow_l_min: float | None = Field(None, ge=0, le=80)
    fio2: float | None = Field(None, ge=0.21, le=1)


class Ice(_In):
    orientation: int | None = Field(None, ge=0, le=4)
    naming: int | None = Field(None, ge=0, le=3)
    commands: int | None = Field(None, ge=0, le=1)
    writing: int | None = Field(None, ge=0, le=1)
    attention: int | None = Field(None, ge=0, le=1)


class Assessment(_In):
    age_years: float | None = Field(None, ge=0, le=120)
    temperature_c: float | None = Field(None, ge=25, le=45)
    hypotension: Literal[
        "none", "fluid_responsive", "vasopressor_single", "vasopressor_multiple",
        "vasopressin_only"
    ] | None = None
    oxygen: Oxygen | None = None
    ice: Ice | None = None
    consciousness: str | None = None
    seizure: str | None = None
    motor: str | None = None
    icp_edema: str | None = None


app = FastAPI()


@app.post("/api/v1/grade/{{scale}}")
async def grade(scale: str, body: Assessment) -> dict[str, Any]:
    return {{"scale": scale, "grade": 2, "echo": body.model_dump(exclude_none=True),
            "padding": PADDING}}
"""


def _bodies(n: int = 256, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` assessments like BODY with varied findings, so no layer can answer from a cache of
    one request: temperature 36.0–41.0 °C, every hypotension tier, four oxygen devices, and
    ICE items."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = json.loads(json.dumps(BODY))
        body["temperature_c"] = round(rng.uniform(36.0, 41.0), 1)
        body["hypotension"] = rng.choice(
            ["none", "fluid_responsive", "vasopressor_single", "vasopressor_multiple"]
        )
        device = rng.choice(["none", "low_flow_nasal_cannula", "high_flow_nasal_cannula", "cpap"])
        body["oxygen"] = {"device": device}
        if device.endswith("nasal_cannula"):
            body["oxygen"]["flow_l_min"] = float(rng.choice([1, 2, 4, 6, 8, 15, 40]))
        body["ice"]["orientation"] = rng.randint(0, 4)
        body["ice"]["attention"] = rng.randint(0, 1)
        out.append(body)
    return out


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
bodies = {{ {bodies} }}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end
"""


def _start(args: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *args,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            r = httpx.post(f"{url}/api/v1/grade/{SCALE}", json=BODY, timeout=2)
            if r.status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"uvicorn {' '.join(args)} did not start")


def _wrk(url: str, script: Path) -> float:
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS:g}s",
            "-s",
            str(script),
            f"{url}/api/v1/grade/{SCALE}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Requests/sec:\s*([\d.]+)", done.stdout)
    if match is None or "Non-2xx" in done.stdout:
        raise RuntimeError(f"wrk did not measure cleanly:\n{done.stdout}")
    return float(match.group(1))


async def _httpx_load(url: str) -> float:
    payload = json.dumps(BODY).encode()
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    count = 0
    stop = time.monotonic() + SECONDS
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:

        async def worker() -> None:
            nonlocal count
            while time.monotonic() < stop:
                r = await client.post(
                    f"/api/v1/grade/{SCALE}",
                    content=payload,
                    headers={"Content-Type": "application/json"},
                )
                r.raise_for_status()
                count += 1

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.monotonic() - start
    return count / elapsed


def _measure(url: str, script: Path | None) -> float:
    if script is not None:
        return _wrk(url, script)
    return asyncio.run(_httpx_load(url))


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = {
            **os.environ,
            "CARTWATCH_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp), os.environ.get("PYTHONPATH")])),
        }
        real, real_url = _start(["--factory", "cartwatch.api.app:create_app"], env, tmp)
        try:
            answer = httpx.post(f"{real_url}/api/v1/grade/{SCALE}", json=BODY).content
            padding = "x" * max(0, len(answer) - 330)
            (tmp / "bare_app.py").write_text(
                textwrap.dedent(BARE_APP.format(padding=padding)), encoding="utf-8"
            )
            bare, bare_url = _start(["bare_app:app"], env, tmp)
            try:
                bare_answer = httpx.post(f"{bare_url}/api/v1/grade/{SCALE}", json=BODY).content
                script: Path | None = None
                if shutil.which("wrk"):
                    script = tmp / "post.lua"
                    script.write_text(
                        WRK_SCRIPT.format(
                            bodies=", ".join(json.dumps(json.dumps(b)) for b in _bodies())
                        ),
                        encoding="utf-8",
                    )
                grade_rps: list[float] = []
                bare_rps: list[float] = []
                for _ in range(ROUNDS):
                    grade_rps.append(_measure(real_url, script))
                    bare_rps.append(_measure(bare_url, script))
            finally:
                bare.terminate()
                bare.wait(timeout=10)
        finally:
            real.terminate()
            real.wait(timeout=10)
    grade_mean = sum(grade_rps) / len(grade_rps)
    bare_mean = sum(bare_rps) / len(bare_rps)
    ratio = grade_mean / bare_mean
    return {
        "client": "wrk" if script is not None else "httpx/asyncio",
        "connections": CONNECTIONS,
        "seconds_per_run": SECONDS,
        "scale": SCALE,
        "response_bytes_grade": len(answer),
        "response_bytes_bare": len(bare_answer),
        "grade_requests_per_s": [round(x, 1) for x in grade_rps],
        "bare_requests_per_s": [round(x, 1) for x in bare_rps],
        "ratio_grade_endpoint_over_bare": round(ratio, 3),
        "target": TARGET,
        "meets_target": ratio >= TARGET,
    }
