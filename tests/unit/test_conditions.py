"""Step conditions: a tiny, safe expression language, parsed by hand and evaluated by walking."""

from __future__ import annotations

import ast
import builtins
import itertools
from types import MappingProxyType
from typing import Any

import pytest

from app.engine.conditions import MAX_DEPTH, MAX_LENGTH, ConditionError, parse_condition

ANSWERS: dict[str, Any] = {
    "business": {
        "company_type": "limited",
        "employees": 12,
        "turnover": 85000.5,
        "vat_registered": False,
        "name": "",
        "started": "2020-04-01",
        "sectors": ["retail", "food"],
    },
    "software": {"platform": "xero"},
    "business-details": {"vat": True},
    "nested": {"a": {"b": {"c": 1}}},
}


def _holds(source: str, answers: Any = None) -> bool:
    return parse_condition(source).evaluate(ANSWERS if answers is None else answers)


def _error(source: str) -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        parse_condition(source)
    return caught.value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('business.company_type == "limited"', True),
        ('"limited" == business.company_type', True),
        ('business.company_type == "sole_trader"', False),
        ("business.employees == 12", True),
        ("business.employees == 12.0", True),
        ('business.employees == "12"', False),
        ("business.vat_registered == false", True),
        ("business.vat_registered == 0", False),  # booleans are not numbers
        ("business.employees == true", False),
        ("business.missing == null", True),
        ("missing.field == null", True),
        ('business.name == ""', True),
        ('business.sectors == ["retail", "food"]', True),
        ("-1.5 == -1.50", True),
        ('software.platform != "sandbox"', True),
        ('software.platform != "xero"', False),
        ("business.employees != 12", False),
        ("business.vat_registered != 0", True),
        ("business.missing != null", False),
        ('missing.field != "x"', True),
    ],
)
def test_equality(source: str, expected: bool) -> None:
    assert _holds(source) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("business.employees >= 10", True),
        ("business.employees >= 12", True),
        ("business.employees > 12", False),
        ("business.employees < 12.5", True),
        ("business.employees <= 11", False),
        ("business.turnover > 85000", True),
        ("-3 < 0", True),
        ('business.started < "2021-01-01"', True),
        ('business.started >= "2020-04-01"', True),
        ('"b" > "a"', True),
        # Mismatched types and None are never ordered: False, not an error.
        ('business.employees < "20"', False),
        ('business.employees > "2"', False),
        ('"20" > business.employees', False),
        ("business.missing < 10", False),
        ("business.missing >= 10", False),
        ("missing.step > 0", False),
        ("null <= null", False),
        ("business.vat_registered < 1", False),
        ("true > false", False),
        ("[1] < [2]", False),
    ],
)
def test_ordering(source: str, expected: bool) -> None:
    assert _holds(source) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('software.platform in ["xero", "sage"]', True),
        ('software.platform in ["quickbooks", "sage"]', False),
        ("software.platform in []", False),
        ('software.platform not in ["xero", "sage"]', False),
        ('software.platform not in ["quickbooks"]', True),
        ('"retail" in business.sectors', True),
        ('"farming" not in business.sectors', True),
        ('"lim" in business.company_type', True),  # a string on the right: substring
        ('"ltd" in business.company_type', False),
        ('1 in "123"', False),
        ("12 in [10, 12.0]", True),
        ("1 in [true]", False),
        ("true in [1]", False),
        ("null in [null]", True),
        ('business.missing in ["x"]', False),
        # Nothing is in None (a skipped step): `in` is False and `not in` is True.
        ('"x" in missing.field', False),
        ('"x" not in missing.field', True),
        ('"company_type" in business', False),  # a step's answers are not a list
        ("1 in business.employees", False),
    ],
)
def test_membership(source: str, expected: bool) -> None:
    assert _holds(source) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("true and true", True),
        ("true and false", False),
        ("false and true", False),
        ("false or true", True),
        ("true or false", True),
        ("false or false", False),
        ("true and true and false", False),
        ("false or false or true", True),
        ("not true", False),
        ("not false", True),
        ("not not true", True),
        ("not null", True),
        ('not ""', True),
        ("not 0", True),
        ("not 0.0", True),
        ("not []", True),
        ('not "x"', False),
        ("not [0]", False),
        ('"x" and 1', True),
        ('"" or 0 or null or []', False),
    ],
)
def test_logic_uses_truthiness(source: str, expected: bool) -> None:
    assert _holds(source) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("business.vat_registered", False),
        ("business.employees", True),
        ("business.name", False),
        ("business.sectors", True),
        ("business.missing", False),
        ("business", True),
        ("business-details.vat", True),  # dashes: step ids may contain them
        ("business.employees >= 10 or business.vat_registered", True),
    ],
)
def test_a_bare_reference_is_its_truthiness(source: str, expected: bool) -> None:
    assert _holds(source) is expected


@pytest.mark.parametrize(("a", "b"), list(itertools.product([True, False], repeat=2)))
def test_not_binds_tighter_than_and(a: bool, b: bool) -> None:
    answers = {"x": {"a": a, "b": b}}
    assert _holds("not x.a and x.b", answers) is ((not a) and b)


@pytest.mark.parametrize(("a", "b", "c"), list(itertools.product([True, False], repeat=3)))
def test_and_binds_tighter_than_or(a: bool, b: bool, c: bool) -> None:
    answers = {"x": {"a": a, "b": b, "c": c}}
    assert _holds("x.a or x.b and x.c", answers) is (a or (b and c))
    assert _holds("x.a and x.b or x.c", answers) is ((a and b) or c)
    assert _holds("(x.a or x.b) and x.c", answers) is ((a or b) and c)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("not 1 == 2", True),  # not (1 == 2), not (not 1) == 2
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("not (true and false)", True),
        ("((((true))))", True),
        ("(1 == 1) == true", True),
        (
            'business.company_type == "limited" and not (software.platform in ["xero", "sage"])',
            False,
        ),
    ],
)
def test_precedence_and_parentheses(source: str, expected: bool) -> None:
    assert _holds(source) is expected


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"it\'s"', "it's"),
        ('"it\'s"', "it's"),
        ("'\"'", '"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"\\n"', "\\n"),
        ('""', ""),
        ('"a and b == (c) or [d]"', "a and b == (c) or [d]"),
        ('"café"', "café"),
    ],
)
def test_strings_and_escapes(literal: str, value: str) -> None:
    assert _holds(f"x.v == {literal}", {"x": {"v": value}}) is True
    assert _holds(f"x.v == {literal}", {"x": {"v": value + "!"}}) is False


def test_missing_references_are_none_and_never_raise() -> None:
    assert _holds("nested.a.b.c == 1") is True
    assert _holds("nested.a.b.c.d == null") is True
    assert _holds("business.company_type.deeper == null") is True  # a string has no fields
    assert _holds("software.platform == null", {"software": None}) is True
    assert _holds("software.platform == null", {"software": ["xero"]}) is True
    examples = [
        'business.company_type == "limited" and not (software.platform in ["xero", "sage"])',
        "business.employees >= 10 or business.vat_registered",
        "business.employees < 10",
        'software.platform != "sandbox"',
    ]
    for source in examples:
        assert parse_condition(source).evaluate({}) in (True, False)
    assert parse_condition('software.platform != "sandbox"').evaluate({}) is True


def test_answers_may_be_any_mapping() -> None:
    answers = MappingProxyType({"software": MappingProxyType({"platform": "xero"})})
    assert _holds('software.platform == "xero"', answers) is True


def test_evaluate_always_returns_a_bool() -> None:
    for source in ["business.employees", "business.name", "business", "null", '"x" or 1']:
        assert type(parse_condition(source).evaluate(ANSWERS)) is bool


@pytest.mark.parametrize(
    ("source", "references"),
    [
        (
            'business.company_type == "limited" and not (software.platform in ["xero", "sage"])',
            {"business.company_type", "software.platform"},
        ),
        ("((a.b or (c and not (d.e-f == 1))))", {"a.b", "c", "d.e-f"}),
        ("x.y == x.y or x.y", {"x.y"}),
        ('"a.b" == 1 and [true, null] != []', set()),
        ("business-details.vat", {"business-details.vat"}),
    ],
)
def test_references_are_collected(source: str, references: set[str]) -> None:
    condition = parse_condition(source)
    assert condition.references == frozenset(references)
    assert condition.source == source


def test_conditions_are_frozen_and_compare_by_source() -> None:
    condition = parse_condition("a.b")
    assert condition == parse_condition("a.b")
    assert condition != parse_condition("a.c")
    assert hash(condition) == hash(parse_condition("a.b"))
    with pytest.raises(AttributeError):
        condition.source = "true"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ("", "the condition is empty", 0),
        ("   ", "the condition is empty", 0),
        ('a == "limited', "unterminated string", 5),
        ("a == 'x\\'", "unterminated string", 5),
        ('a == "\\n"', "unknown escape '\\n' in a string", 6),
        ("a @ b", "unexpected character '@'", 2),
        ("a = 1", "unexpected character '='; did you mean '=='?", 2),
        ("a ! b", "unexpected character '!'; did you mean '!='?", 2),
        ("a && b", "unexpected character '&'; did you mean 'and'?", 2),
        ("a. b", "unexpected character '.'", 1),
        ("a..b", "unexpected character '.'", 1),
        ("1.", "unexpected character '.'", 1),
        ("a ==", "expected a value after '=='", 4),
        ("a == )", "expected a value, found ')'", 5),
        ("and a", "expected a value, found 'and'", 0),
        ("a or", "expected a value after 'or'", 4),
        ("not", "expected a value after 'not'", 3),
        ("a b", "unexpected name 'b'", 2),
        ("a == 1 2", "unexpected number 2", 7),
        ('a "x"', 'unexpected string "x"', 2),
        ("a == 1)", "unexpected ')'", 6),
        ("(a == 1", "'(' is never closed", 0),
        ("((a)", "'(' is never closed", 0),
        ("(a b)", "expected ')' but found name 'b'", 3),
        ("()", "expected a value, found ')'", 1),
        (
            "a in [b]",
            "a list can only hold literals (strings, numbers, true, false, null), found name 'b'",
            6,
        ),
        (
            "a in [1, [2]]",
            "a list can only hold literals (strings, numbers, true, false, null), found '['",
            9,
        ),
        ("a in [1, 2", "'[' is never closed", 5),
        ("a in [1 2]", "expected ']' but found number 2", 8),
        ("a in [1,]", "expected a value, found ']'", 8),
        ("a in [,]", "expected a value, found ','", 6),
        ("a < b < c", "comparisons cannot be chained; join them with 'and'", 6),
        ("a == b == c", "comparisons cannot be chained; join them with 'and'", 7),
        ("a in b not in c", "comparisons cannot be chained; join them with 'and'", 7),
        ("a not b", "expected 'in' after 'not'", 6),
        ("a == True", "keywords are lower case: write 'true'", 5),
        ("a AND b", "keywords are lower case: write 'and'", 2),
    ],
)
def test_syntax_errors_say_what_and_where(source: str, message: str, position: int) -> None:
    error = _error(source)
    assert (error.message, error.position) == (message, position)
    assert str(error) == f"{message} at position {position}"
    assert isinstance(error, ValueError)


def test_length_and_nesting_are_limited() -> None:
    assert parse_condition("a" * MAX_LENGTH).references == {"a" * MAX_LENGTH}
    too_long = _error("a" * (MAX_LENGTH + 1))
    assert (too_long.message, too_long.position) == (
        "the condition is longer than 1000 characters",
        1000,
    )

    assert _holds("(" * MAX_DEPTH + "true" + ")" * MAX_DEPTH) is True
    assert _holds("not " * MAX_DEPTH + "false") is (MAX_DEPTH % 2 == 1)
    parens = _error("(" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1))
    assert (parens.message, parens.position) == ("nesting deeper than 50 levels", MAX_DEPTH)
    nots = _error("not " * (MAX_DEPTH + 1) + "true")
    assert (nots.message, nots.position) == ("nesting deeper than 50 levels", 4 * MAX_DEPTH)
    mixed = _error("not (" * 26 + "true" + ")" * 26)
    assert mixed.message == "nesting deeper than 50 levels"


def test_long_flat_chains_are_fine() -> None:
    # and/or chains do not nest, so only the length limit bounds them.
    assert _holds(" or ".join(["false"] * 100) + " or true") is True


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ('__import__("os").system("x")', "unexpected character '.'", 16),
        ('__import__("os")', "unexpected '('", 10),
        ("open('/etc/passwd')", "unexpected '('", 4),
        ("lambda: 1", "unexpected character ':'", 6),
        ("1 if a else 2", "unexpected name 'if'", 2),
        ("a + 1", "unexpected character '+'", 2),
        (
            "[x for x in y]",
            "a list can only hold literals (strings, numbers, true, false, null), found name 'x'",
            1,
        ),
    ],
)
def test_python_is_not_a_condition(source: str, message: str, position: int) -> None:
    error = _error(source)
    assert (error.message, error.position) == (message, position)


def test_no_python_evaluation_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("conditions must never reach Python's own evaluation")

    # Undone before the test returns: pytest itself needs these while it reports.
    with monkeypatch.context() as patched:
        for name in ("parse", "literal_eval"):
            patched.setattr(ast, name, refuse)
        for name in ("eval", "exec", "compile"):
            patched.setattr(builtins, name, refuse)
        condition = parse_condition('a.__class__ == null and not a.__dict__ and a.x in [1, "y"]')
        holds = condition.evaluate({"a": {"x": 1}})
        # An attribute-looking reference is only ever a key looked up in the answers.
        dunders = [
            _holds("a.__class__", {"a": {"x": 1}}),
            _holds('a.__class__.__name__ == "dict"', {"a": {"x": 1}}),
            _holds("a.__class__", {"a": {"__class__": "mine"}}),
        ]
    assert holds is True
    assert dunders == [False, False, True]
