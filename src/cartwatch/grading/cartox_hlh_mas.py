"""CARTOX criteria for CAR-T-related HLH/MAS (scale id ``cartox_hlh_mas``).

Met when the peak ferritin exceeds 10,000 ng/mL during the CRS phase (typically the first 5 days
after infusion) together with any two of: grade ≥3 increase of bilirubin, AST or ALT; grade ≥3
oliguria or creatinine increase; grade ≥3 pulmonary oedema; hemophagocytosis in bone marrow or
organs. A binary criterion: ``criteria_met`` (grade 1) or ``criteria_not_met`` (grade 0), and
``not_applicable`` outside the CRS phase (after CRS has resolved, or before infusion).

``ferritin_ng_ml`` is read as the peak ferritin of the CRS phase so far. Organ toxicities are
read from ``organ_toxicity_ctcae`` (CTCAE grades; a recorded map lists what
was charted, so a term it does not name is taken as not present) and, for the liver, from
``alt_x_uln`` / ``ast_x_uln`` (>5× ULN is CTCAE v5 grade ≥3 when the baseline was normal).

Reference: [NEELAPU2018] Neelapu SS, Tummala S, Kebriaei P, et al. Nat Rev Clin Oncol
2018;15(1):47-62 (CARTOX); [SEED001_TABLE2] "consider HLH/MAS when ferritin >1×10⁴ ng/mL".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from cartwatch.assessment import Assessment
from cartwatch.grading.engine import (
    Domain,
    Finding,
    Input,
    Options,
    Possible,
    TableScale,
    flag_input,
    number_candidates,
    recorded,
)
from cartwatch.grading.registry import ScaleInfo, register
from cartwatch.grading.result import GradeResult, Status
from cartwatch.references import cite

SCALE_ID = "cartox_hlh_mas"
REFERENCE = cite("NEELAPU2018", "SEED001_TABLE2")

# [NEELAPU2018] HLH/MAS: "peak serum ferritin >10,000 ng/mL"; strictly greater
# (clinical-spec §4.1).
FERRITIN_ABOVE_NG_ML = 10_000.0
FERRITIN_RANGE_NG_ML = (0.0, 1_000_000.0)
# [NEELAPU2018] "plus any two of" the organ criteria below.
ORGAN_CRITERIA_NEEDED = 2
# [NEELAPU2018] organ criteria are CTCAE grade ≥3.
ORGAN_GRADE_MIN = 3
# Interpretation: CTCAE term names (snake_case) read for each CARTOX organ criterion.
LIVER_TERMS = frozenset(
    {"blood_bilirubin_increased", "bilirubin_increased", "ast_increased", "alt_increased"}
)
KIDNEY_TERMS = frozenset({"creatinine_increased", "oliguria", "acute_kidney_injury"})
LUNG_TERMS = frozenset({"pulmonary_edema"})
# [CTCAE5] ALT/AST increased grade 3: >5.0–20.0× ULN if baseline was normal.
# Interpretation: a recorded ALT or AST >5× ULN meets the liver criterion (baseline taken
# as normal).
TRANSAMINASE_GRADE3_X_ULN = 5.0


def _charted(a: Assessment, terms: frozenset[str]) -> list[str]:
    if not a.organ_toxicity_ctcae:
        return []
    return [
        f"{t} grade {g}"
        for t, g in sorted(a.organ_toxicity_ctcae.items())
        if t in terms and g >= ORGAN_GRADE_MIN
    ]


def organ_reader(
    terms: frozenset[str], extra: Callable[[Assessment], list[str]] | None = None
) -> Callable[[Assessment, Options], Possible]:
    """One organ criterion: met (with its evidence), not met, or open when nothing is charted."""

    def read(a: Assessment, options: Options) -> Possible:
        evidence = _charted(a, terms) + (extra(a) if extra else [])
        if evidence:
            return Possible(values=("; ".join(evidence),))
        if a.organ_toxicity_ctcae is not None:
            return Possible(values=("",))
        return Possible(values=("", "open"), missing=("organ_toxicity_ctcae",))

    return read


def _liver_labs(a: Assessment) -> list[str]:
    out = []
    if a.alt_x_uln is not None and a.alt_x_uln > TRANSAMINASE_GRADE3_X_ULN:
        out.append(f"ALT {a.alt_x_uln:g}× ULN (>{TRANSAMINASE_GRADE3_X_ULN:g}× ULN, grade ≥3)")
    if a.ast_x_uln is not None and a.ast_x_uln > TRANSAMINASE_GRADE3_X_ULN:
        out.append(f"AST {a.ast_x_uln:g}× ULN (>{TRANSAMINASE_GRADE3_X_ULN:g}× ULN, grade ≥3)")
    return out


def ferritin_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[NEELAPU2018] peak ferritin >10,000 ng/mL."""
    f: float = values["ferritin"]
    shown = f"{int(f):,}" if float(f).is_integer() else repr(f)
    if f > FERRITIN_ABOVE_NG_ML:
        return Finding(1, f"ferritin {shown} ng/mL >10,000 ng/mL")
    return Finding(0, f"ferritin {shown} ng/mL not >10,000 ng/mL → criteria not met")


ORGAN_LABELS = {
    "liver": "grade ≥3 bilirubin/AST/ALT increase",
    "kidney": "grade ≥3 oliguria or creatinine increase",
    "lung": "grade ≥3 pulmonary oedema",
}


def organ_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[NEELAPU2018] count of organ criteria met ("any two of")."""
    met: list[str] = []
    for name in ("liver", "kidney", "lung"):
        evidence = values[name]
        if evidence:
            met.append(f"{ORGAN_LABELS[name]} ({evidence})")
    if values["hemophagocytosis"]:
        met.append("hemophagocytosis in bone marrow or organs")
    count = len(met)
    if count >= ORGAN_CRITERIA_NEEDED:
        return Finding(count, f"{count} organ criteria: {'; '.join(met)}")
    if met:
        return Finding(count, f"only 1 organ criterion ({met[0]}); 2 needed")
    return Finding(0, "no organ criterion met; 2 needed")


def combine(levels: Mapping[str, int], options: Options) -> int:
    """Met (1) when ferritin >10,000 ng/mL and at least two organ criteria; else 0."""
    return int(levels["ferritin"] == 1 and levels["organs"] >= ORGAN_CRITERIA_NEEDED)


def _open_as_met(
    reader: Callable[[Assessment, Options], Possible],
) -> Callable[[Assessment, Options], Possible]:
    def read(a: Assessment, options: Options) -> Possible:
        p = reader(a, options)
        values = tuple("not charted (could be met)" if v == "open" else v for v in p.values)
        return Possible(values=values, missing=p.missing)

    return read


def explain(grade: int, known: Mapping[str, Finding], options: Options) -> tuple[str, ...]:
    if grade == 1:
        return tuple(f.says for f in known.values() if f.says)
    return tuple(
        f.says for name, f in known.items() if f.says and (name == "ferritin" and f.level == 0)
    ) or tuple(f.says for f in known.values() if f.says)


def organ_evidence(a: Assessment) -> list[str]:
    """The organ criteria known to be met, in words."""
    out: list[str] = []
    for name, terms, extra in (
        ("liver", LIVER_TERMS, _liver_labs),
        ("kidney", KIDNEY_TERMS, None),
        ("lung", LUNG_TERMS, None),
    ):
        evidence = _charted(a, terms) + (extra(a) if extra else [])
        if evidence:
            out.append(f"organ criterion met: {ORGAN_LABELS[name]} ({'; '.join(evidence)})")
    if a.hemophagocytosis:
        out.append("organ criterion met: hemophagocytosis in bone marrow or organs")
    return out


def applicable(a: Assessment, options: Options) -> str | None:
    """Interpretation: the CRS phase is from infusion (day 0) to the day CRS resolved."""
    day = a.day_post_infusion
    if day is None:
        return None
    if day < 0:
        return f"CARTOX HLH/MAS criteria apply during the CRS phase; day {day:g} is before infusion"
    if a.crs_resolved_day is not None and day > a.crs_resolved_day:
        return (
            f"CARTOX HLH/MAS criteria apply to ferritin peaks during the CRS phase (typically the "
            f"first 5 days); this is day {day:g}, after CRS resolved on day {a.crs_resolved_day:g} "
            "(consider IEC-HS instead)"
        )
    return None


SCALE = TableScale(
    id=SCALE_ID,
    reference=REFERENCE,
    domains=(
        Domain(
            name="ferritin",
            inputs=(
                Input(
                    name="ferritin",
                    read=recorded(
                        "ferritin_ng_ml",
                        lambda a: a.ferritin_ng_ml,
                        number_candidates((FERRITIN_ABOVE_NG_ML,), *FERRITIN_RANGE_NG_ML),
                    ),
                ),
            ),
            rule=ferritin_rule,
        ),
        Domain(
            name="organs",
            inputs=(
                Input(name="liver", read=_open_as_met(organ_reader(LIVER_TERMS, _liver_labs))),
                Input(name="kidney", read=_open_as_met(organ_reader(KIDNEY_TERMS))),
                Input(name="lung", read=_open_as_met(organ_reader(LUNG_TERMS))),
                Input(
                    name="hemophagocytosis",
                    read=flag_input("hemophagocytosis", lambda a: a.hemophagocytosis),
                ),
            ),
            rule=organ_rule,
        ),
    ),
    combine=combine,
    explain=explain,
    applicable=applicable,
    fields_read=(
        "ferritin_ng_ml",
        "organ_toxicity_ctcae",
        "alt_x_uln",
        "ast_x_uln",
        "hemophagocytosis",
        "day_post_infusion",
        "crs_resolved_day",
    ),
)


def cartox_hlh_mas(assessment: Assessment, options: Options | None = None) -> GradeResult:
    """Whether the CARTOX HLH/MAS criteria are met during the CRS phase ([NEELAPU2018])."""
    result = SCALE.evaluate(assessment, options or {})
    if result.grade == 1:
        result = replace(result, status=Status.CRITERIA_MET)
    if result.status in (Status.CRITERIA_MET, Status.NOT_GRADEABLE):
        evidence = [e for e in organ_evidence(assessment) if e not in result.drivers]
        if not any("organ criteri" in d for d in result.drivers):
            result = replace(result, drivers=(*result.drivers, *evidence))
    if result.status is not Status.NOT_APPLICABLE and assessment.day_post_infusion is None:
        note = "day_post_infusion not recorded: the CRS-phase window was not checked"
        result = replace(
            result, drivers=(*result.drivers, note), reasons=(*result.reasons, "window_not_checked")
        )
    return result


INFO = register(
    ScaleInfo(
        id=SCALE_ID,
        title="CARTOX CAR-T-related HLH/MAS criteria",
        syndrome="iec_hs",
        kind="grade",
        reference_keys=("NEELAPU2018", "SEED001_TABLE2"),
        evaluate=cartox_hlh_mas,
        inputs=SCALE.fields_read,
    )
)
