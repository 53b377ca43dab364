"""Run every benchmark module, print its figures and write ``bench/results.json``.

Each module measures its subject against a baseline in the same process and reports the ratio
(these machines are noisy; absolute times are for context only).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    only = set(argv)
    target = HERE / "results.json"
    previous = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    results: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "benchmarks": dict(previous.get("benchmarks", {})),
    }
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if info.name.startswith("_") or (only and info.name not in only):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        run = getattr(module, "run", None)
        if run is None:
            continue
        print(f"== {info.name}", flush=True)
        figures = run()
        results["benchmarks"][info.name] = figures
        print(json.dumps(figures, indent=2), flush=True)
    target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
