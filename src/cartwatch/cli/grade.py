"""``cartwatch scales`` and ``cartwatch grade``: grading from the command line.

``cartwatch grade SCALE --json FILE`` reads one assessment (``-`` for stdin) and prints the
result as JSON. ``cartwatch grade SCALE --temperature-c 39.1 --hypotension vasopressor_single``
takes the contract's fields as options (nested ones as ``--oxygen-device``, ``--ice-orientation``)
and prints the grade, why, and what is missing. ``--all`` grades under every applicable scale.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

import cartwatch
from cartwatch.assessment import FIELDS, ICE_ITEM_POINTS, field_names
from cartwatch.cli._app import fail, read_json_input
from cartwatch.errors import CartwatchError, closest_name
from cartwatch.grading.registry import all_scales, get_scale
from cartwatch.grading.result import GradeResult, Result
from cartwatch.references import cite

console = Console(highlight=False)

_NESTED = {
    "oxygen": ("device", "flow_l_min", "fio2"),
    "ice": tuple(ICE_ITEM_POINTS),
}
_GRADING_SYNDROMES = ("crs", "icans")


def _option_names() -> dict[str, str]:
    """CLI option (``--oxygen-flow-l-min``) → contract path (``oxygen.flow_l_min``)."""
    out = {name.replace("_", "-"): name for name in field_names()}
    for parent, keys in _NESTED.items():
        for key in keys:
            out[f"{parent}-{key}".replace("_", "-")] = f"{parent}.{key}"
    return out


def parse_field_options(tokens: list[str]) -> dict[str, Any]:
    """Turn ``--field value`` tokens into contract JSON (types are checked by the parser)."""
    names = _option_names()
    data: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--"):
            raise fail(f"unexpected argument {token!r}; fields are given as --name value")
        key, eq, inline = token[2:].partition("=")
        key = key.replace("_", "-")
        if key not in names:
            near = closest_name(key, tuple(names))
            hint = f" (did you mean --{near}?)" if near else ""
            raise fail(f"unknown field option --{key}{hint}; `cartwatch grade --help` lists them")
        path = names[key]
        spec = FIELDS.get(path)
        if eq:
            value: Any = inline
            i += 1
        elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            value = tokens[i + 1]
            i += 2
        elif spec is not None and spec.kind == "bool":
            value = True
            i += 1
        else:
            raise fail(f"--{key} needs a value")
        if spec is not None and spec.kind in ("int", "number"):
            value = _number_or_text(value)
        if spec is not None and spec.kind == "str_list":
            data.setdefault(path, []).append(value)
            continue
        if "." in path:
            parent, child = path.split(".")
            data.setdefault(parent, {})[child] = _number_or_text(value)
        else:
            data[path] = value
    return data


def _number_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _parse_options(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq:
            raise fail(f"--option takes name=value, not {pair!r}")
        out[name.strip()] = value.strip()
    return out


def _render_one(result: Result) -> None:
    data = result.to_dict()
    grade = data.get("grade")
    shown = "—" if grade is None else str(grade)
    if data.get("floor") is not None and grade is None:
        shown = f"{data['floor']}–{data['ceiling']} (not determined)"
    console.print(f"[bold]{data['scale']}[/bold]: grade {shown}  [dim]({data['status']})[/dim]")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for label, key in (
        ("why", "drivers"),
        ("missing", "missing"),
        ("assumed", "assumed"),
        ("ignored", "ignored"),
        ("reasons", "reasons"),
    ):
        values = data.get(key) or []
        if values:
            table.add_row(label, "\n".join(str(v) for v in values))
    table.add_row("source", str(data.get("reference", "")))
    console.print(table)


def _render_all(results: Mapping[str, Result]) -> None:
    table = Table(title="One assessment under every scale")
    for column in ("scale", "grade", "status", "why", "missing"):
        table.add_column(column)
    for scale_id, result in results.items():
        data = result.to_dict()
        grade = data.get("grade")
        shown = "—" if grade is None else str(grade)
        if grade is None and data.get("floor") is not None:
            shown = f"{data['floor']}–{data['ceiling']}"
        table.add_row(
            scale_id,
            shown,
            str(data["status"]),
            "\n".join(data.get("drivers") or []),
            ", ".join(data.get("missing") or []),
        )
    console.print(table)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    """Add ``scales`` and ``grade`` to the main app."""

    @app.command("scales")
    def scales_command(
        as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    ) -> None:
        """List every scale and score with its options."""
        infos = all_scales()
        if as_json:
            _print_json(
                [
                    {
                        "id": i.id,
                        "title": i.title,
                        "syndrome": i.syndrome,
                        "kind": i.kind,
                        "options": {o.name: list(o.choices) for o in i.options},
                        "reference": cite(*i.reference_keys),
                    }
                    for i in infos
                ]
            )
            return
        table = Table(title="cartwatch scales")
        for column in ("id", "title", "syndrome", "kind", "options"):
            table.add_column(column)
        for i in infos:
            opts = "; ".join(f"{o.name}: {'|'.join(o.choices)}" for o in i.options)
            table.add_row(i.id, i.title, i.syndrome, i.kind, opts)
        console.print(table)

    @app.command(
        "grade",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def grade_command(
        ctx: typer.Context,
        json_file: str = typer.Option(
            None, "--json", help="read the assessment from a JSON file (- for stdin)"
        ),
        all_scales_flag: bool = typer.Option(
            False, "--all", help="grade under every applicable CRS and ICANS scale"
        ),
        option: list[str] = typer.Option(
            [], "--option", help="scale option name=value (e.g. pediatric_age_rule=ncit_le12)"
        ),
        output: str = typer.Option(
            None, "--format", help="json or table (default: json with --json, else table)"
        ),
    ) -> None:
        """Grade one assessment: cartwatch grade SCALE [--json FILE] [--field value …].

        Fields are the contract's names as options, e.g. --temperature-c 39.1
        --hypotension vasopressor_single --oxygen-device low_flow_nasal_cannula
        --oxygen-flow-l-min 4 --ice-orientation 3 (see reference/assessment.md).
        """
        args = list(ctx.args)
        scale: str | None = None
        if args and not args[0].startswith("--"):
            scale = args.pop(0)
        data: dict[str, Any] = {}
        if json_file is not None:
            loaded = read_json_input(json_file)
            if not isinstance(loaded, dict):
                raise fail("the assessment JSON must be an object of contract fields")
            data.update(loaded)
        data.update(parse_field_options(args))
        fmt_ = output or ("json" if json_file is not None else "table")
        if fmt_ not in ("json", "table"):
            raise fail(f"--format must be json or table, not {fmt_!r}")
        try:
            if all_scales_flag:
                if scale is not None:
                    raise fail("give a scale or --all, not both")
                results = cartwatch.grade_all(data, syndromes=_GRADING_SYNDROMES)
                if fmt_ == "json":
                    _print_json({k: v.to_dict() for k, v in results.items()})
                else:
                    _render_all(results)
                return
            if scale is None:
                raise fail("name a scale (see `cartwatch scales`) or use --all")
            get_scale(scale)
            result = cartwatch.grade(scale, data, options=_parse_options(option))
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        if fmt_ == "json":
            _print_json(result.to_dict())
        else:
            _render_one(result)
        if isinstance(result, GradeResult) and result.status.value == "not_gradeable":
            raise typer.Exit(code=0)
