"""The published CAR-T trial table shipped with cartwatch, and readers for a user's own table.

``data/published_trials.csv`` is ``shared/reference/published-trials.csv`` with four columns added
from each row's notes: ``computed_fields`` (counts computed as a published percentage × N, so
rounded), ``unverified_fields`` (counts whose definition or value is not confirmed; left out of
pooling unless asked), ``excluded_fields`` (``all`` = never pooled: placeholder or unverified rows)
and ``caveat``. Every row keeps its ``source`` and ``notes``. See ``data/README.md``.
Sources: each row's ``source`` column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from cartwatch.errors import ConfigError, ImplausibleValue, InvalidValue


class Outcome(StrEnum):
    """Outcomes the table holds, each with the denominator it is counted over."""

    CRS_ANY = "crs_any"
    CRS_GRADE3PLUS = "crs_grade3plus"
    ICANS_ANY = "icans_any"
    ICANS_GRADE3PLUS = "icans_grade3plus"
    ORR = "orr"
    CR = "cr"


# Toxicity is counted over patients infused; response over the efficacy set (see each row's notes).
DENOMINATOR: dict[Outcome, str] = {
    Outcome.CRS_ANY: "n_infused",
    Outcome.CRS_GRADE3PLUS: "n_infused",
    Outcome.ICANS_ANY: "n_infused",
    Outcome.ICANS_GRADE3PLUS: "n_infused",
    Outcome.ORR: "n_efficacy",
    Outcome.CR: "n_efficacy",
}

DATA_FILE = "published_trials.csv"


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    """One row of the trial table (counts are None where the source gave none)."""

    trial_id: str
    product: str
    target: str
    disease: str
    disease_group: str
    population: str
    region: str
    counts: dict[str, int | None]
    computed_fields: frozenset[str]
    unverified_fields: frozenset[str]
    excluded: bool
    caveat: str
    source: str
    notes: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "trial_id": self.trial_id,
            "product": self.product,
            "target": self.target,
            "disease": self.disease,
            "disease_group": self.disease_group,
            "population": self.population,
            "region": self.region,
            "counts": dict(self.counts),
            "computed_fields": sorted(self.computed_fields),
            "unverified_fields": sorted(self.unverified_fields),
            "excluded": self.excluded,
            "caveat": self.caveat,
            "source": self.source,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeTable:
    """Event counts for one outcome, ready to pool, and the rows left out with the reason."""

    outcome: str
    labels: tuple[str, ...]
    events: tuple[int, ...]
    totals: tuple[int, ...]
    groups: tuple[str, ...]
    computed: tuple[bool, ...]
    left_out: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "outcome": self.outcome,
            "studies": [
                {"label": lab, "events": e, "total": n, "group": g, "computed": c}
                for lab, e, n, g, c in zip(
                    self.labels, self.events, self.totals, self.groups, self.computed, strict=True
                )
            ],
            "left_out": [{"label": lab, "reason": why} for lab, why in self.left_out],
        }


_COUNT_FIELDS = (
    "n_infused",
    "n_efficacy",
    "orr_n",
    "cr_n",
    "crs_any_n",
    "crs_grade3plus_n",
    "icans_any_n",
    "icans_grade3plus_n",
)


def _int_or_none(text: str, *, field: str, row: str) -> int | None:
    t = text.strip()
    if not t:
        return None
    try:
        value = float(t)
    except ValueError:
        raise InvalidValue(
            f"`{field}={t!r}` in row {row!r} is not a count; expected a whole number or blank",
            field=field,
            value=t,
            expected="whole number or blank",
        ) from None
    if value != int(value) or value < 0:
        raise ImplausibleValue(
            f"`{field}={t}` in row {row!r} is not a count; expected a whole number ≥ 0",
            field=field,
            value=t,
            expected="whole number ≥ 0",
        )
    return int(value)


def _split(text: str) -> frozenset[str]:
    return frozenset(s.strip() for s in text.split(";") if s.strip())


def _trials_from_rows(rows: Iterable[dict[str, str]]) -> tuple[Trial, ...]:
    out: list[Trial] = []
    for r in rows:
        tid = r.get("trial_id", "").strip()
        counts = {f: _int_or_none(r.get(f, "") or "", field=f, row=tid) for f in _COUNT_FIELDS}
        excluded = _split(r.get("excluded_fields", "") or "")
        out.append(
            Trial(
                trial_id=tid,
                product=r.get("product", ""),
                target=r.get("target", ""),
                disease=r.get("disease", ""),
                disease_group=r.get("disease_group", ""),
                population=r.get("population", ""),
                region=r.get("region", ""),
                counts=counts,
                computed_fields=_split(r.get("computed_fields", "") or ""),
                unverified_fields=_split(r.get("unverified_fields", "") or ""),
                excluded="all" in excluded,
                caveat=r.get("caveat", "") or "",
                source=r.get("source", "") or "",
                notes=r.get("notes", "") or "",
            )
        )
    return tuple(out)


def load_trials() -> tuple[Trial, ...]:
    """The shipped published-trial table."""
    text = resources.files("cartwatch.evidence").joinpath("data", DATA_FILE).read_text("utf-8")
    return _trials_from_rows(csv.DictReader(io.StringIO(text)))


def parse_outcome(outcome: str) -> Outcome:
    """The outcome named by ``outcome``."""
    try:
        return Outcome(outcome.lower().removesuffix("_n"))
    except ValueError:
        allowed = ", ".join(o.value for o in Outcome)
        raise InvalidValue(
            f"`outcome={outcome!r}` is not in the trial table; expected one of {allowed}",
            field="outcome",
            value=outcome,
            expected=allowed,
        ) from None


def outcome_table(
    *,
    outcome: str,
    trials: tuple[Trial, ...] | None = None,
    include_unverified: bool = False,
    population: str | None = None,
) -> OutcomeTable:
    """Events and totals of ``outcome`` for pooling, with every row left out and why.

    Rows marked excluded are always left out; counts marked unverified are left out unless
    ``include_unverified``; ``population`` (e.g. "adult") keeps only that population.
    """
    out = parse_outcome(outcome)
    field = f"{out.value}_n"
    denom = DENOMINATOR[out]
    rows = load_trials() if trials is None else trials
    labels: list[str] = []
    events: list[int] = []
    totals: list[int] = []
    groups: list[str] = []
    computed: list[bool] = []
    left: list[tuple[str, str]] = []
    for t in rows:
        e = t.counts.get(field)
        n = t.counts.get(denom)
        if t.excluded:
            left.append((t.trial_id, f"row excluded: {t.caveat or 'see notes'}"))
        elif e is None or n is None:
            left.append((t.trial_id, f"no {field} or {denom} reported"))
        elif field in t.unverified_fields and not include_unverified:
            left.append((t.trial_id, f"{field} unverified: {t.caveat or 'see notes'}"))
        elif population is not None and t.population != population:
            left.append((t.trial_id, f"population {t.population!r} ≠ {population!r}"))
        elif e > n:
            left.append((t.trial_id, f"{field}={e} exceeds {denom}={n}"))
        else:
            labels.append(t.trial_id)
            events.append(e)
            totals.append(n)
            groups.append(t.disease_group)
            computed.append(field in t.computed_fields)
    return OutcomeTable(
        outcome=out.value,
        labels=tuple(labels),
        events=tuple(events),
        totals=tuple(totals),
        groups=tuple(groups),
        computed=tuple(computed),
        left_out=tuple(left),
    )


def read_table(
    path: str | Path, *, outcome: str | None = None, include_unverified: bool = False
) -> OutcomeTable:
    """A user's CSV: either ``study,events,total[,group]`` or the trial-table format + outcome."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"cannot read `{p}`: {exc.strerror}; expected a readable CSV file",
            field="input",
            value=str(p),
            expected="a readable CSV file",
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read `{p}`: byte {exc.start} is not UTF-8; expected a UTF-8 CSV file",
            field="input",
            value=str(p),
            expected="a UTF-8 CSV file",
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    cols = set(reader.fieldnames or [])
    rows = list(reader)
    if {"events", "total"} <= cols:
        label_col = next((c for c in ("study", "label", "trial_id") if c in cols), None)
        labels: list[str] = []
        events: list[int] = []
        totals: list[int] = []
        groups: list[str] = []
        for i, r in enumerate(rows):
            lab = r[label_col].strip() if label_col else f"Study {i + 1}"
            e = _int_or_none(r["events"], field="events", row=lab)
            n = _int_or_none(r["total"], field="total", row=lab)
            if e is None or n is None:
                raise InvalidValue(
                    f"row {lab!r} has a blank events or total; expected both counts",
                    field="events" if e is None else "total",
                    value=None,
                    expected="a count",
                )
            labels.append(lab)
            events.append(e)
            totals.append(n)
            groups.append((r.get("group") or r.get("disease_group") or "").strip())
        return OutcomeTable(
            outcome=outcome or "events",
            labels=tuple(labels),
            events=tuple(events),
            totals=tuple(totals),
            groups=tuple(groups),
            computed=(False,) * len(labels),
            left_out=(),
        )
    if "trial_id" in cols and outcome is not None:
        return outcome_table(
            outcome=outcome,
            trials=_trials_from_rows(rows),
            include_unverified=include_unverified,
        )
    raise ConfigError(
        f"`{p}` has columns {sorted(cols)}; expected `study,events,total[,group]` or the "
        "trial-table columns (trial_id, n_infused, <outcome>_n …)",
        field="input",
        value=sorted(cols),
        expected="study,events,total[,group]",
    )
