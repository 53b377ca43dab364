"""A registry's product name (short, generic or brand) resolves to its label only when the
label is unambiguous: Kymriah and Tecartus need the indication, and nothing is guessed."""

from __future__ import annotations

import pytest

from cartwatch.management.products import Product, labelled_product, product_facts


@pytest.mark.parametrize(
    ("name", "diseases", "expected"),
    [
        ("axi-cel", (), Product.AXI_CEL),
        ("Axicabtagene ciloleucel", (), Product.AXI_CEL),
        (" YESCARTA ", (), Product.AXI_CEL),
        ("liso-cel", (), Product.LISO_CEL),
        ("Abecma", (), Product.IDE_CEL),
        ("ciltacabtagene autoleucel", (), Product.CILTA_CEL),
        ("tisa-cel", ("B-ALL",), Product.TISA_CEL_ALL),
        ("Kymriah", ("LBCL",), Product.TISA_CEL_DLBCL),
        ("tisagenlecleucel", ("follicular lymphoma",), Product.TISA_CEL_FL),
        ("brexu-cel", ("MCL",), Product.BREXU_CEL_MCL),
        ("Tecartus", ("B-ALL",), Product.BREXU_CEL_ALL),
        ("tisa-cel-all", (), Product.TISA_CEL_ALL),
    ],
)
def test_names_resolve_to_their_label(
    name: str, diseases: tuple[str, ...], expected: Product
) -> None:
    assert labelled_product(name, diseases) is expected
    assert product_facts(expected).product is expected


@pytest.mark.parametrize(
    ("name", "diseases"),
    [
        ("tisa-cel", ()),  # which Kymriah label: not recorded
        ("tisa-cel", ("MM",)),  # no Kymriah label for myeloma
        ("tisa-cel", ("B-ALL", "FL")),  # two labels fit: never pick one
        ("brexu-cel", ("LBCL",)),
        ("academic CD19 CAR-T (4-1BB)", ("LBCL",)),
        ("", ()),
        (None, ()),
    ],
)
def test_unknown_or_ambiguous_names_resolve_to_nothing(
    name: str | None, diseases: tuple[str, ...]
) -> None:
    assert labelled_product(name, diseases) is None
