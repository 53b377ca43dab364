"""The form is generated from the contract: every choice and range the page offers is the one
the parser accepts (cartwatch.assessment), on the calculator and the assessment page alike."""

from __future__ import annotations

from html.parser import HTMLParser

from cartwatch.assessment import FIELDS, FIO2_RANGE, ICE_ITEM_POINTS, OxygenDevice
from cartwatch.web.assess import PEDIATRIC_AGE_YEARS, form_groups
from cartwatch.web.pages import index_page


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, dict[str, str | None]] = {}
        self.options: dict[str, list[str]] = {}
        self._select: str | None = None
        self._in_option = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select") and a.get("name"):
            name = str(a["name"])
            self.controls[name] = a
            if tag == "select":
                self._select = name
                self.options[name] = []
        elif tag == "option":
            self._in_option = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "option":
            self._in_option = False

    def handle_data(self, data: str) -> None:
        if self._in_option and self._select is not None:
            self.options[self._select].append(data)


def _parse(html: str) -> _Controls:
    parser = _Controls()
    parser.feed(html)
    return parser


def test_calculator_choices_and_ranges_come_from_the_contract() -> None:
    page = _parse(index_page())
    for name, options in page.options.items():
        assert options[0] == "not recorded", name
        del options[0]
    for name in ("hypotension", "consciousness", "seizure", "motor", "icp_edema"):
        enum = FIELDS[name].enum
        assert enum is not None
        assert page.options[name] == [m.value for m in enum], name
    assert page.options["oxygen.device"] == [m.value for m in OxygenDevice]
    for item, points in ICE_ITEM_POINTS.items():
        assert page.options[f"ice.{item}"] == [str(p) for p in range(points + 1)]
    for name in ("temperature_c", "capd_score", "ice_total", "age_years"):
        spec = FIELDS[name]
        assert float(page.controls[name]["min"] or "nan") == spec.low, name
        assert float(page.controls[name]["max"] or "nan") == spec.high, name
    assert float(page.controls["oxygen.fio2"]["min"] or "nan") == FIO2_RANGE[0]


def test_the_patient_form_asks_items_not_a_typed_total() -> None:
    names = {w.name for g in form_groups(ice_total=False, ask_age=False) for w in g.widgets}
    assert {f"ice.{i}" for i in ICE_ITEM_POINTS} <= names
    assert "ice_total" not in names and "age_years" not in names
    assert "capd_score" in names
    assert PEDIATRIC_AGE_YEARS == 12.0
