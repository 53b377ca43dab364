"""``cartwatch meta pool``: pool published CAR-T rates (or a user's table) as metafor would.

Reads the shipped trial table (or ``--input FILE.csv``), pools one outcome with the chosen measure,
estimator and test, prints the result (Rich table, or ``--json``) and writes a forest plot when
``--plot`` names a .png or .svg file. [VIECHTBAUER2010]
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cartwatch.cli._app import fail
from cartwatch.errors import CartwatchError
from cartwatch.evidence import MetaResult, outcome_table, pool, read_table, subgroups
from cartwatch.evidence.trials import OutcomeTable

meta_app = typer.Typer(
    name="meta",
    help="Meta-analysis of single proportions (metafor-compatible).",
    no_args_is_help=True,
)


def _pct(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "–"
    return f"{100 * v:.1f}%"


def _studies_table(table: OutcomeTable, result: MetaResult) -> Table:
    t = Table(title=f"{table.outcome}: {result.k} studies")
    t.add_column("Study")
    t.add_column("Group")
    t.add_column("Events/N", justify="right")
    t.add_column("Rate", justify="right")
    t.add_column("Weight", justify="right")
    for i, lab in enumerate(table.labels):
        mark = " (computed)" if table.computed[i] else ""
        t.add_row(
            lab + mark,
            table.groups[i],
            f"{table.events[i]}/{table.totals[i]}",
            _pct(table.events[i] / table.totals[i]),
            f"{result.weights[i]:.1f}%",
        )
    return t


def _pooled_lines(result: MetaResult) -> list[str]:
    prop = result.proportion
    stat = "t" if result.ddf is not None else "z"
    lines = [
        f"Model: {result.method.value}, measure {result.measure.value if result.measure else '-'}"
        f", test {result.test.value}, k = {result.k}",
    ]
    if prop is not None:
        lines.append(
            f"Pooled proportion: {_pct(prop.estimate)} "
            f"(95% CI {_pct(prop.ci_lb)}–{_pct(prop.ci_ub)}; "
            f"prediction interval {_pct(prop.pi_lb)}–{_pct(prop.pi_ub)})"
        )
    lines.append(
        f"Estimate {result.estimate:.4f} (SE {result.se:.4f}), {stat} = {result.zval:.3f}, "
        f"p = {result.pval:.3g}"
    )
    lines.append(
        f"τ² = {result.tau2:.4f}, I² = {result.i2:.1f}%, H² = {result.h2:.2f}, "
        f"Q({result.qe_df}) = {result.qe:.2f}, p = {result.qe_pval:.3g}"
    )
    return lines


@meta_app.command("pool")
def pool_command(
    outcome: Annotated[
        str,
        typer.Option(help="crs_any, crs_grade3plus, icans_any, icans_grade3plus, orr or cr."),
    ] = "crs_grade3plus",
    by: Annotated[
        str | None, typer.Option(help="Subgroup column (disease_group, or 'group').")
    ] = None,
    method: Annotated[str, typer.Option(help="FE, DL, HE, HS, SJ, ML, REML, EB, PM or GLMM.")] = (
        "REML"
    ),
    test: Annotated[str, typer.Option(help="z, knha (Hartung–Knapp) or t.")] = "z",
    measure: Annotated[str, typer.Option(help="PLO, PR, PLN, PAS or PFT.")] = "PLO",
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="CSV: study,events,total[,group] or the trial-table format."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the forest plot to this .png or .svg file.")
    ] = None,
    include_unverified: Annotated[
        bool, typer.Option(help="Also pool counts the table marks unverified.")
    ] = False,
    population: Annotated[
        str | None, typer.Option(help="Keep one population, e.g. 'adult'.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Pool one outcome across trials and print the result."""
    console = Console(highlight=False)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if input_file is not None:
                table = read_table(
                    input_file, outcome=outcome, include_unverified=include_unverified
                )
            else:
                table = outcome_table(
                    outcome=outcome,
                    include_unverified=include_unverified,
                    population=population,
                )
            if not table.labels:
                raise fail(f"no study reports `{table.outcome}`; nothing to pool")
            result = pool(
                table.events,
                table.totals,
                measure=measure,
                method=method,
                test=test,
                labels=table.labels,
            )
            sub = None
            if by is not None:
                if by not in ("disease_group", "group"):
                    raise fail(f"`--by {by}` is not a grouping column; expected disease_group")
                if not all(table.groups):
                    raise fail("some studies have no group; fill the `group` column first")
                sub = subgroups(
                    table.events,
                    table.totals,
                    by=table.groups,
                    measure=measure,
                    method=method,
                    test=test,
                    labels=table.labels,
                )
            written = None
            if plot is not None:
                written = result.forest_plot(plot, title=f"{table.outcome} ({result.method.value})")
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    notes = sorted({str(w.message) for w in caught})
    if as_json:
        payload: dict[str, Any] = {
            "outcome": table.outcome,
            "result": result.to_dict(),
            "left_out": [{"label": a, "reason": b} for a, b in table.left_out],
            "warnings": notes,
        }
        if sub is not None:
            payload["subgroups"] = sub.to_dict()
        if written is not None:
            payload["plot"] = str(written)
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    console.print(_studies_table(table, result))
    for line in _pooled_lines(result):
        console.print(line)
    if sub is not None:
        st = Table(title=f"Subgroups by {by}")
        st.add_column("Group")
        st.add_column("k", justify="right")
        st.add_column("Pooled", justify="right")
        st.add_column("95% CI", justify="right")
        st.add_column("I²", justify="right")
        for g, r in zip(sub.groups, sub.results, strict=True):
            p = r.proportion
            st.add_row(
                g,
                str(r.k),
                _pct(p.estimate if p else r.estimate),
                f"{_pct(p.ci_lb)}–{_pct(p.ci_ub)}" if p else "",
                f"{r.i2:.1f}%",
            )
        console.print(st)
        console.print(
            f"Subgroup difference, separate τ²: Q({sub.q_between_df}) = {sub.q_between:.2f}, "
            f"p = {sub.q_between_pval:.3g}"
        )
        if sub.qm is not None and sub.qm_df is not None and sub.qm_pval is not None:
            console.print(
                f"Subgroup difference, common τ² (moderator test): QM = {sub.qm:.2f}, "
                f"p = {sub.qm_pval:.3g}"
            )
    if table.left_out:
        console.print(f"Left out ({len(table.left_out)}):")
        for lab, why in table.left_out:
            console.print(f"  {lab}: {why}", markup=False)
    for note in notes:
        console.print(f"note: {note}", markup=False)
    if written is not None:
        console.print(f"Forest plot written to {written}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``meta`` sub-app to the main application."""
    app.add_typer(meta_app, name="meta")
