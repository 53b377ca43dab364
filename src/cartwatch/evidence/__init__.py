"""Evidence synthesis: meta-analysis of single proportions that agrees with R's metafor.

``pool(events, totals, measure="PLO", method="REML", test="z")`` pools published rates (five
effect-size measures, the FE/CE model and eight τ² estimators, z or Hartung–Knapp inference,
Q-profile intervals, prediction intervals, back-transformation to a proportion) and the
binomial-normal GLMM; ``subgroups``, ``metareg``, ``leave_one_out`` and ``egger_test`` follow
metafor's definitions. ``load_trials``/``outcome_table`` give the shipped CAR-T trial table.
[VIECHTBAUER2010]
"""

from cartwatch.evidence._uni import Method, Test
from cartwatch.evidence.compare import CohortComparison, Position, compare_cohort
from cartwatch.evidence.effect_sizes import (
    AddTo,
    EffectSizes,
    Measure,
    StudyInterval,
    back_transform,
    clopper_pearson,
    escalc,
    wilson,
)
from cartwatch.evidence.meta import (
    EggerTest,
    HeterogeneityCI,
    LeaveOneOut,
    MetaRegression,
    MetaResult,
    PftBackTransformWarning,
    Proportion,
    SubgroupResult,
    metareg,
    pool,
    rma,
    subgroups,
)
from cartwatch.evidence.trials import OutcomeTable, Trial, load_trials, outcome_table, read_table

__all__ = [
    "AddTo",
    "CohortComparison",
    "EffectSizes",
    "EggerTest",
    "HeterogeneityCI",
    "LeaveOneOut",
    "Measure",
    "MetaRegression",
    "MetaResult",
    "Method",
    "OutcomeTable",
    "PftBackTransformWarning",
    "Position",
    "Proportion",
    "StudyInterval",
    "SubgroupResult",
    "Test",
    "Trial",
    "back_transform",
    "clopper_pearson",
    "compare_cohort",
    "escalc",
    "load_trials",
    "metareg",
    "outcome_table",
    "pool",
    "read_table",
    "rma",
    "subgroups",
    "wilson",
]
