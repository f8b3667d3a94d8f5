"""Class names: expression aliases, and the rules any other (open-vocabulary) name obeys."""
from __future__ import annotations

import pytest

from data_tools import classes as C


def test_expression_aliases():
    assert [C.normalize(n) for n in ("Anger", "happiness", "SU", "Sur-prised")] == [
        "angry", "happy", "surprise", "surprise"]
    assert C.is_expression("Neutral") and not C.is_expression("Glück")
    with pytest.raises(C.UnknownClassError, match="'Glück' is not an expression class"):
        C.normalize("Glück")


def test_clean_name_trims_and_composes():
    decomposed = "Glu\u0308ck"
    assert decomposed != "Glück" and C.clean_name(f"  {decomposed}\t") == "Glück"
    assert C.clean_name(" счастье ") == "счастье"


@pytest.mark.parametrize("name, problem", [
    ("Glück", None), ("счастье", None), ("class042", None), ("aquarium fish", None), ("😀", None),
    ("", "'' is empty"),
    ("a\tb", "'a\tb' contains a control character (U+0009)"),
    ("a\rb", "'a\rb' contains a control character (U+000D)"),
    ("a\u2028b", "'a\u2028b' contains a control character (U+2028)"),
    ("a\u202eb", "'a\u202eb' contains a control character (U+202E)"),
    ("a\udcffb", "'a\udcffb' is not valid UTF-8"),
    ("x" * 101, f"'{'x' * 20}...' is longer than 100 characters"),
])
def test_name_problem(name, problem):
    assert C.name_problem(name) == problem
    assert C.name_problem("x" * 100) is None


def test_order_open_is_natural_and_case_insensitive():
    assert C.order_open(["class10", "class2", "Cat", "apple", "apple", "Zebra", "²", "٣"]) == [
        "٣", "apple", "Cat", "class2", "class10", "Zebra", "²"]
