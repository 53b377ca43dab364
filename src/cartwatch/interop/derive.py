"""After an import: grade the new assessments and re-derive the episodes of the patients whose
record changed (derived data, recomputable by ``cartwatch regrade``; the import itself is already
committed atomically).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cartwatch.registry.repository import Registry


def rederive(
    registry: Registry,
    patient_refs: Iterable[str],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Regrade and re-derive episodes for ``patient_refs``; returns how many patients."""
    from cartwatch.services.episodes import derive_patient_episodes

    refs = sorted(set(patient_refs))
    for index, ref in enumerate(refs, start=1):
        derive_patient_episodes(registry, ref, regrade=True, store=True)
        if progress is not None:
            progress(index, len(refs))
    return len(refs)
