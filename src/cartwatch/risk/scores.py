"""Registers every published risk score and prediction model (imported by the scale registry).

Scores: ``car_hematotox`` ([REJESKI2021]), ``easix``, ``m_easix`` ([PENNISI2021]),
``easix_pre_korell`` ([KORELL2022]); 36-hour trees ``hay2017_tree`` ([HAY2017]) and
``gust2017_tree`` ([GUST2017]). Teachey 2016 ([TEACHEY2016]) is documented in
:mod:`cartwatch.risk.teachey2016` only: its coefficients could not be retrieved, so no calculator
is offered (clinical-spec §5.3).
"""

from __future__ import annotations

from cartwatch.risk import car_hematotox, easix, prediction_trees, teachey2016

__all__ = ["car_hematotox", "easix", "prediction_trees", "teachey2016"]
