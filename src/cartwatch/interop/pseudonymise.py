"""Pseudonymised exports: a keyed pseudonym for each patient, identifying fields dropped, dates
shifted per patient.

The choice (stated in every pseudonymised export and in docs/reliability.md):

* ``patient_ref`` → ``PSN-`` + the first 20 hex digits of HMAC-SHA256(key, patient_ref). The
  same key gives the same pseudonym (exports can be linked); without the key the reference
  cannot be recomputed. The key is read from ``--key-file`` or ``CARTWATCH_PSEUDONYM_KEY`` and is
  never written to the export.
* Dropped: date of birth, centre, source keys and the free-text fields of an assessment
  (``note``, ``other_findings``, ``timepoint``, ``window``). Age at registration is kept.
* Dates and times move by a whole number of days (−365 … +365, not 0) derived from the key and the
  patient, the same for every record of that patient: intervals (day after infusion, episode
  duration, time of day) are unchanged, calendar dates are not real.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cartwatch.errors import ConfigError

KEY_ENV = "CARTWATCH_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
MAX_SHIFT_DAYS = 365
PREFIX = "PSN-"
DROPPED_PATIENT_FIELDS = ("date_of_birth", "centre")
FREE_TEXT_FIELDS = ("note", "other_findings", "timepoint", "window")
METHOD = (
    "pseudonymised: patient_ref replaced by HMAC-SHA256(key, patient_ref) (key not included); "
    "date of birth, centre, source keys and free text dropped; dates shifted by a per-patient "
    f"keyed offset of 1-{MAX_SHIFT_DAYS} days (intervals kept)"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def load_key(key_file: Path | None = None) -> bytes:
    """The pseudonymisation key: the contents of ``key_file``, else ``CARTWATCH_PSEUDONYM_KEY``."""
    if key_file is not None:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the key file `{key_file}`: {exc.strerror}",
                field="--key-file",
                value=str(key_file),
                expected="a readable file holding a secret of at least 16 bytes",
            ) from None
        source = f"key file `{key_file}`"
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode()
        source = KEY_ENV
        if not key:
            raise ConfigError(
                f"a pseudonymised export needs a key: give --key-file FILE or set {KEY_ENV}",
                field="--key-file",
                value=None,
                expected=f"--key-file FILE or {KEY_ENV}",
            )
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the {source} holds {len(key)} bytes; a key needs at least {MIN_KEY_BYTES} bytes",
            field="--key-file",
            value=len(key),
            expected=f"at least {MIN_KEY_BYTES} bytes",
        )
    return key


@dataclass(frozen=True)
class Pseudonymiser:
    """Keyed pseudonyms and date shifts (see the module docstring for what is kept)."""

    key: bytes

    def _mac(self, purpose: str, patient_ref: str) -> bytes:
        message = f"{purpose}\x00{patient_ref}".encode()
        return hmac.new(self.key, message, hashlib.sha256).digest()

    def ref(self, patient_ref: str) -> str:
        """The patient's pseudonym (stable for one key)."""
        return PREFIX + self._mac("ref", patient_ref).hex()[:20]

    def shift(self, patient_ref: str) -> dt.timedelta:
        """The patient's date shift: ±1…365 whole days."""
        n = int.from_bytes(self._mac("shift", patient_ref)[:8], "big")
        days = n % MAX_SHIFT_DAYS + 1
        return dt.timedelta(days=days if n >> 63 else -days)

    def moved(self, value: Any, patient_ref: str) -> Any:
        """``value`` with every date or timestamp in it shifted (other values unchanged)."""
        delta = self.shift(patient_ref)
        if isinstance(value, dt.datetime | dt.date):
            return value + delta
        if isinstance(value, str):
            if _DATE.match(value):
                return (dt.date.fromisoformat(value) + delta).isoformat()
            if _DATETIME.match(value):
                text = value.replace("Z", "+00:00")
                shifted = (dt.datetime.fromisoformat(text) + delta).isoformat()
                return shifted.replace("+00:00", "Z") if value.endswith("Z") else shifted
            return value
        if isinstance(value, Mapping):
            return {k: self.moved(v, patient_ref) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.moved(v, patient_ref) for v in value]
        return value

    def patient_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A patient export row: pseudonym, identifying fields dropped."""
        ref = str(row["patient_ref"])
        kept = {k: v for k, v in row.items() if k not in DROPPED_PATIENT_FIELDS}
        return {**kept, "patient_ref": self.ref(ref)}

    def assessment_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """An assessment export row (flat, dotted columns): pseudonym, dates shifted, free text
        and source key dropped."""
        ref = str(row["patient_ref"])
        out: dict[str, Any] = {}
        for column, value in row.items():
            if column.split(".")[0] in (*FREE_TEXT_FIELDS, *DROPPED_PATIENT_FIELDS):
                continue
            if column == "source_key":
                out[column] = ""
            elif column == "patient_ref":
                out[column] = self.ref(ref)
            else:
                out[column] = self.moved(value, ref)
        return out

    def episode(self, episode: Mapping[str, Any]) -> dict[str, Any]:
        """A toxicity episode: pseudonym and shifted times (onset day and duration unchanged)."""
        ref = str(episode["patient_id"])
        out = {k: self.moved(v, ref) for k, v in episode.items() if k != "detail"}
        out["patient_id"] = self.ref(ref)
        return out

    def episodes(self, episodes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self.episode(e) for e in episodes]
