"""Import into the registry and export out of it: CSV, FHIR R4, registry-form records."""

from cartwatch.interop.csv_io import import_csv
from cartwatch.interop.export import (
    assessments_csv,
    episodes_text,
    patients_csv,
    registry_form,
    registry_form_text,
)
from cartwatch.interop.fhir import episodes_bundle, export_bundle, import_bundle
from cartwatch.interop.records import KINDS
from cartwatch.interop.report import ImportReport, RowError

__all__ = [
    "KINDS",
    "ImportReport",
    "RowError",
    "assessments_csv",
    "episodes_bundle",
    "episodes_text",
    "export_bundle",
    "import_bundle",
    "import_csv",
    "patients_csv",
    "registry_form",
    "registry_form_text",
]
