"""cartwatch package: cohort analytics (``cartwatch.analytics.regrade`` for whole frames)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``regrade`` and ``derive_cohort_episodes`` on first use (polars and numba load lazily)."""
    if name == "regrade":
        from cartwatch.analytics.columnar import regrade

        return regrade
    if name == "derive_cohort_episodes":
        from cartwatch.analytics.cohort_episodes import derive_cohort_episodes

        return derive_cohort_episodes
    raise AttributeError(f"module 'cartwatch.analytics' has no attribute {name!r}")
