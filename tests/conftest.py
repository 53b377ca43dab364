"""Shared fixtures: the worked examples of the reference (read from ../shared beside the repo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CARTWATCH_SHARED", ROOT.parent / "shared"))
EXAMPLES_FILE = SHARED / "reference" / "examples.json"
FIXTURE_EXAMPLES = ROOT / "tests" / "fixtures" / "examples.json"


def load_examples() -> list[dict[str, Any]]:
    """The reference's worked examples (the copy in tests/fixtures when shared/ is absent)."""
    source = EXAMPLES_FILE if EXAMPLES_FILE.exists() else FIXTURE_EXAMPLES
    data: list[dict[str, Any]] = json.loads(source.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def examples() -> list[dict[str, Any]]:
    return load_examples()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cartwatch", "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        detail = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"cartwatch serve did not start: {detail}")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
