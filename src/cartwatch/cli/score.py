"""``cartwatch score``: risk scores and prediction models from the command line.

``cartwatch score NAME --json FILE`` reads one assessment (``-`` for stdin) and prints the result
as JSON (the same as the API). Without ``--json``, fields are given as options
(``--platelets-per-ul 60000 --crp-mg-l 12``) and the result is a readable table with each
component's value, points or contribution and rule. ``--format json|table`` overrides the default
(JSON when the input is a JSON file, otherwise the table). ``--option name=value`` selects a
documented alternative (e.g. ``boundary_rule=cutoff_to_higher_points``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

import cartwatch
from cartwatch.cli._app import fail, read_json_input
from cartwatch.cli.grade import parse_field_options
from cartwatch.errors import CartwatchError
from cartwatch.grading.registry import all_scales, get_scale
from cartwatch.risk.result import ScoreResult

console = Console(highlight=False)


def score_ids() -> tuple[str, ...]:
    """The registered scores and prediction models."""
    return tuple(info.id for info in all_scales() if info.kind == "score")


def _read_json(source: str) -> dict[str, Any]:
    data = read_json_input(source)
    if not isinstance(data, dict):
        raise fail("the assessment JSON must be an object of contract fields")
    return data


def _parse_options(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq:
            raise fail(f"--option takes name=value, not {pair!r}")
        out[name.strip()] = value.strip()
    return out


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.6g}"


def headline(result: ScoreResult) -> str:
    """One line: the value (or its range) and the risk band, with whether it is decided."""
    if result.status.value == "not_applicable":
        return f"{result.scale}: not applicable"
    if result.value is not None:
        value = f"{_number(result.value)} {result.unit}"
    elif result.value_range is not None:
        low, high = result.value_range
        upper = "unbounded" if high is None else _number(high)
        value = f"{_number(low)}–{upper} {result.unit} (not determined)"
    else:
        value = result.unit
    if result.risk is not None:
        band = f"risk {result.risk}"
    elif "no_published_band" in result.reasons:
        band = "no published risk band"
    else:
        band = "risk not determined"
    return f"{result.scale}: {value}; {band}"


def render(result: ScoreResult) -> None:
    """Print a score as a readable table of its components."""
    console.print(f"[bold]{headline(result)}[/bold]  [dim]({result.status.value})[/dim]")
    if result.components:
        table = Table(show_lines=False)
        for column in ("component", "value", "points / contribution", "rule"):
            table.add_column(column)
        for c in result.components:
            if c.points is not None:
                contribution = _number(c.points)
            else:
                low, high = c.points_range
                contribution = f"{_number(low)}–{_number(high)}"
            table.add_row(c.name, _number(c.value), contribution, c.rule)
        console.print(table)
    info = Table(show_header=False, box=None, pad_edge=False)
    info.add_column(style="bold")
    info.add_column()
    if result.drivers:
        info.add_row("why", "\n".join(result.drivers))
    if result.missing:
        info.add_row("missing", ", ".join(result.missing))
    for key, value in result.extra.items():
        if value is not None:
            info.add_row(key, _number(value) if isinstance(value, float) else str(value))
    info.add_row("source", result.reference)
    console.print(info)


def register(app: typer.Typer) -> None:
    """Add ``score`` to the main app."""

    @app.command(
        "score",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def score_command(
        ctx: typer.Context,
        json_file: str = typer.Option(
            None, "--json", help="read the assessment from a JSON file (- for stdin)"
        ),
        option: list[str] = typer.Option(
            [], "--option", help="score option name=value (e.g. boundary_rule=impl_ht_boundary)"
        ),
        output: str = typer.Option(
            None, "--format", help="json or table (default: json with --json, else table)"
        ),
    ) -> None:
        """Compute a risk score: cartwatch score NAME [--json FILE] [--field value …].

        NAME is one of car_hematotox, easix, m_easix, easix_pre_korell, hay2017_tree,
        gust2017_tree. Fields are the contract's names as options, e.g. --platelets-per-ul
        60000 --anc-per-ul 2000 --crp-mg-l 10 (see reference/assessment.md).
        """
        args = list(ctx.args)
        ids = score_ids()
        if not args or args[0].startswith("--"):
            raise fail(f"name a score: {', '.join(ids)}")
        name = args.pop(0)
        fmt = output or ("json" if json_file is not None else "table")
        if fmt not in ("json", "table"):
            raise fail(f"--format must be json or table, not {fmt!r}")
        data: dict[str, Any] = _read_json(json_file) if json_file is not None else {}
        data.update(parse_field_options(args))
        try:
            info = get_scale(name)
            if info.kind != "score":
                raise fail(
                    f"`{name}` is a grading scale; use `cartwatch grade {name}` "
                    f"(scores: {', '.join(ids)})"
                )
            result = cartwatch.grade(info.id, data, options=_parse_options(option))
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        assert isinstance(result, ScoreResult)
        if fmt == "json":
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        else:
            render(result)
