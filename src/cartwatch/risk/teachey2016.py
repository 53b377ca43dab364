"""Teachey 2016 cytokine models for severe CRS: documentation only, no calculator.

In 51 CTL019-treated patients with ALL, peak levels of 24 cytokines in the first month (among
them IFN-γ, IL-6, sgp130 and sIL-6R) were associated with severe CRS (Penn grade 4–5); a
three-cytokine signature predicted it and was validated in an independent paediatric cohort of 12.
CRP and ferritin were associated with CRS but did not predict severe CRS ([V], abstract).

The reported models (whole cohort: sgp130, IFN-γ, IL-1RA within 72 h; paediatric: IFN-γ, IL-13,
MIP-1α; a tree on IFN-γ and IL-13) could not be retrieved with their coefficients or thresholds
(spec §10 item 10, clinical-spec §5.3). cartwatch therefore offers no Teachey calculator and
registers no scale: inventing coefficients would give a number without a source.

Reference: [TEACHEY2016] Teachey DT, Lacey SF, Shaw PA, et al. Cancer Discov 2016;6(6):664-679.
"""

from __future__ import annotations

from cartwatch.references import cite

REFERENCE = cite("TEACHEY2016")
# [TEACHEY2016] abstract: variables named by the models (coefficients UNVERIFIED, spec §10 item 10).
WHOLE_COHORT_VARIABLES = ("sgp130", "ifng", "il1ra")
PEDIATRIC_VARIABLES = ("ifng", "il13", "mip1a")
CALCULATOR_AVAILABLE = False
