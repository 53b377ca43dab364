"""The request body's fast path never lets through what the full walk refuses: whenever the raw
bytes are judged clean, the parsed JSON holds no NUL, no lone surrogate, no infinite number and
no nesting beyond the limit."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cartwatch.api.body import _clean, _may_hold_bad_values, _reject_constant

TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(value=JSON, ascii=st.booleans(), encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_a_body_judged_clean_holds_nothing_the_walk_refuses(
    value: Any, ascii: bool, encoding: str
) -> None:
    text = json.dumps(value, ensure_ascii=ascii)
    raw = text.encode(encoding, "surrogatepass")
    try:
        parsed = json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        assume(False)  # NaN and Infinity are refused while parsing, as read_json does
    if not _may_hold_bad_values(raw):
        assert _clean(parsed)


def test_deep_nesting_and_huge_numbers_are_walked() -> None:
    assert _may_hold_bad_values(b"[" * 40 + b"]" * 40)
    assert _may_hold_bad_values(b'{"t": 1e999}')
    assert _may_hold_bad_values(b'{"t": 1' + b"0" * 320 + b"}")
    assert _may_hold_bad_values(b'{"a": "\\u0000"}')
    assert _may_hold_bad_values(b'{"a": "\xed\xa0\x80"}')
    assert not _may_hold_bad_values(b'{"temperature_c": 39.1, "oxygen": {"device": "none"}}')
