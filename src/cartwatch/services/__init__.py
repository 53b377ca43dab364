"""Use-cases that join the pure core and the registry (design.md §1): record an assessment with
its grades, derive a patient's episodes, regrade a cohort."""
