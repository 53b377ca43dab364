"""Management: the protocol kept as data, dose calculators and recommendations by grade."""

from cartwatch.management.doses import (
    DoseResult,
    DoseStatus,
    LevetiracetamUse,
    OrderSet,
    RedoseDecision,
    anakinra_order_set,
    dexamethasone_dose,
    levetiracetam_dose,
    methylprednisolone_dose,
    siltuximab_dose,
    tocilizumab_dose,
    tocilizumab_redose,
)
from cartwatch.management.formulas import (
    BsaFormula,
    FormulaResult,
    Sex,
    bsa_dubois,
    bsa_mosteller,
    creatinine_clearance_cockcroft_gault,
)
from cartwatch.management.lymphodepletion import (
    LymphodepletionPlan,
    RenalPolicy,
    fludarabine_renal_adjustment,
    lymphodepletion_regimen,
)
from cartwatch.management.products import Product, product_facts
from cartwatch.management.protocol import (
    ActionKind,
    Level,
    Protocol,
    Syndrome,
    default_protocol,
    load_protocol,
)
from cartwatch.management.recommend import Patient, Recommendation, recommend

__all__ = [
    "ActionKind",
    "BsaFormula",
    "DoseResult",
    "DoseStatus",
    "FormulaResult",
    "Level",
    "LevetiracetamUse",
    "LymphodepletionPlan",
    "OrderSet",
    "Patient",
    "Product",
    "Protocol",
    "Recommendation",
    "RedoseDecision",
    "RenalPolicy",
    "Sex",
    "Syndrome",
    "anakinra_order_set",
    "bsa_dubois",
    "bsa_mosteller",
    "creatinine_clearance_cockcroft_gault",
    "default_protocol",
    "dexamethasone_dose",
    "fludarabine_renal_adjustment",
    "levetiracetam_dose",
    "load_protocol",
    "lymphodepletion_regimen",
    "methylprednisolone_dose",
    "product_facts",
    "recommend",
    "siltuximab_dose",
    "tocilizumab_dose",
    "tocilizumab_redose",
]
