"""Benchmark: cartwatch.evidence against metafor (timed by Rscript on the same data, same run).

    .venv/bin/python -m bench.evidence          (or: from bench.evidence import run; run())

For k = 10, 100, 1,000 and 10,000 simulated studies it times ``pool(..., method=REML|DL)`` and
metafor's ``rma(measure="PLO", xi, ni, method=...)``, checks that both give the same estimate and
reports metafor's time divided by ours. R timing is skipped when Rscript or metafor is absent,
and a metafor fit that runs past ``R_TIMEOUT_S`` is reported as timed out (metafor forms k × k
matrices, so REML at k = 10,000 costs O(k³) per iteration).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from cartwatch.evidence import pool

SIZES = (10, 100, 1_000, 10_000)
METHODS = ("REML", "DL")
SEED = 20261122
R_TIMEOUT_S = 300.0

_R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(metafor))
d <- read.csv(args[1])
method <- args[2]
reps <- as.integer(args[3])
res <- rma(measure = "PLO", xi = d$xi, ni = d$ni, method = method)
times <- numeric(reps)
for (i in seq_len(reps)) {
  times[i] <- system.time(rma(measure = "PLO", xi = d$xi, ni = d$ni, method = method))[["elapsed"]]
}
cat(sprintf('{"median_s": %.9g, "estimate": %.15g, "tau2": %.15g, "metafor": "%s"}\n',
            median(times), res$beta[1], res$tau2, as.character(packageVersion("metafor"))))
"""


def _data(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = rng.integers(20, 300, size=k)
    p = 1.0 / (1.0 + np.exp(-rng.normal(-2.0, 0.8, size=k)))
    return rng.binomial(n, p), n


def _reps(k: int) -> int:
    return 50 if k <= 100 else (10 if k <= 1_000 else 3)


def _time_ours(x: np.ndarray, n: np.ndarray, method: str, reps: int) -> tuple[float, Any]:
    result = pool(x, n, method=method)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        pool(x, n, method=method)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _time_metafor(script: Path, csv_path: Path, method: str, reps: int) -> dict[str, Any] | str:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "skipped: Rscript not found"
    try:
        proc = subprocess.run(
            [rscript, str(script), str(csv_path), method, str(reps)],
            capture_output=True,
            text=True,
            timeout=R_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {R_TIMEOUT_S:.0f} s"
    if proc.returncode != 0:
        return "skipped: " + (proc.stderr.strip().splitlines() or ["R failed"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run() -> dict[str, Any]:
    """Timings, agreement and the metafor/cartwatch time ratio for each k and method."""
    rng = np.random.default_rng(SEED)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(_R_SCRIPT, encoding="utf-8")
        for k in SIZES:
            x, n = _data(k, rng)
            csv_path = Path(tmp) / f"k{k}.csv"
            csv_path.write_text(
                "xi,ni\n" + "".join(f"{a},{b}\n" for a, b in zip(x, n, strict=True)),
                encoding="utf-8",
            )
            for method in METHODS:
                reps = _reps(k)
                ours_s, res = _time_ours(x, n, method, reps)
                row: dict[str, Any] = {
                    "k": k,
                    "method": method,
                    "cartwatch_median_s": ours_s,
                    "estimate": res.estimate,
                    "tau2": res.tau2,
                }
                r_reps = reps if k < 10_000 else 1
                ref = _time_metafor(script, csv_path, method, r_reps)
                if isinstance(ref, dict):
                    row["metafor_median_s"] = ref["median_s"]
                    row["metafor_version"] = ref["metafor"]
                    row["ratio_metafor_over_cartwatch"] = ref["median_s"] / ours_s
                    row["estimate_rel_diff"] = abs(res.estimate - ref["estimate"]) / abs(
                        ref["estimate"]
                    )
                    row["tau2_abs_diff"] = abs(res.tau2 - ref["tau2"])
                else:
                    row["metafor"] = ref
                rows.append(row)
    return {"benchmark": "evidence: REML and DL pooling, PLO", "seed": SEED, "rows": rows}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
