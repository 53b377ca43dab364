"""The unit conversions cartwatch allows, each exact and tested both ways.

Conversions happen once, at the edge (``assessment.py``, importers, the API); the core only sees
the canonical unit named in each field (clinical-spec C-2). Factors are exact definitions, not
rounded lab constants, except creatinine, whose molar mass factor 88.4 µmol/L per mg/dL is the
one clinical laboratories use (C-2).
"""

from __future__ import annotations

CREATININE_UMOL_L_PER_MG_DL = 88.4  # [C-2] µmol/L ÷ 88.4 = mg/dL
CRP_MG_L_PER_MG_DL = 10.0  # 1 mg/dL = 10 mg/L
CELLS_PER_UL_PER_10E9_L = 1000.0  # 1 × 10⁹/L = 1000 /µL
HEMOGLOBIN_G_L_PER_G_DL = 10.0  # 1 g/dL = 10 g/L
FIBRINOGEN_MG_DL_PER_G_L = 100.0  # 1 g/L = 100 mg/dL


def fahrenheit_to_celsius(temperature_f: float) -> float:
    """°F → °C."""
    return (temperature_f - 32.0) * 5.0 / 9.0


def celsius_to_fahrenheit(temperature_c: float) -> float:
    """°C → °F."""
    return temperature_c * 9.0 / 5.0 + 32.0


def crp_mg_l_to_mg_dl(crp_mg_l: float) -> float:
    """CRP mg/L → mg/dL (÷ 10)."""
    return crp_mg_l / CRP_MG_L_PER_MG_DL


def crp_mg_dl_to_mg_l(crp_mg_dl: float) -> float:
    """CRP mg/dL → mg/L (× 10)."""
    return crp_mg_dl * CRP_MG_L_PER_MG_DL


def creatinine_umol_l_to_mg_dl(creatinine_umol_l: float) -> float:
    """Creatinine µmol/L → mg/dL (÷ 88.4)."""
    return creatinine_umol_l / CREATININE_UMOL_L_PER_MG_DL


def creatinine_mg_dl_to_umol_l(creatinine_mg_dl: float) -> float:
    """Creatinine mg/dL → µmol/L (× 88.4)."""
    return creatinine_mg_dl * CREATININE_UMOL_L_PER_MG_DL


def count_10e9_l_to_per_ul(count_10e9_l: float) -> float:
    """A blood count in 10⁹/L → cells/µL (× 1000)."""
    return count_10e9_l * CELLS_PER_UL_PER_10E9_L


def count_per_ul_to_10e9_l(count_per_ul: float) -> float:
    """A blood count in cells/µL → 10⁹/L (÷ 1000)."""
    return count_per_ul / CELLS_PER_UL_PER_10E9_L


def hemoglobin_g_l_to_g_dl(hemoglobin_g_l: float) -> float:
    """Haemoglobin g/L → g/dL (÷ 10)."""
    return hemoglobin_g_l / HEMOGLOBIN_G_L_PER_G_DL


def hemoglobin_g_dl_to_g_l(hemoglobin_g_dl: float) -> float:
    """Haemoglobin g/dL → g/L (× 10)."""
    return hemoglobin_g_dl * HEMOGLOBIN_G_L_PER_G_DL


def fibrinogen_g_l_to_mg_dl(fibrinogen_g_l: float) -> float:
    """Fibrinogen g/L → mg/dL (× 100)."""
    return fibrinogen_g_l * FIBRINOGEN_MG_DL_PER_G_L


def fibrinogen_mg_dl_to_g_l(fibrinogen_mg_dl: float) -> float:
    """Fibrinogen mg/dL → g/L (÷ 100)."""
    return fibrinogen_mg_dl / FIBRINOGEN_MG_DL_PER_G_L
