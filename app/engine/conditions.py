"""Step conditions: the small expression language behind a journey step's ``when:``.

A condition is written by a product team and read from YAML, so it is untrusted text. It is
tokenised and parsed by hand (recursive descent) into a small tree, and evaluated by walking that
tree against the customer's earlier answers. Nothing is handed to ``eval``, ``compile`` or
Python's ``ast``: a condition can do only what this grammar says.

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand)?
    operand := literal | reference | list | "(" expr ")"
    list    := "[" (literal ("," literal)*)? "]"
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, assert_never

# Limits keep a hostile or mistaken definition from costing more than a moment to reject.
MAX_LENGTH = 1000
MAX_DEPTH = 50

# Every alternative is linear (no nested repetition that can backtrack), and ASCII-only so that
# Unicode digits or letters never sneak into numbers or references.
_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<symbol>[=!<>]=|[<>()\[\],])
    """,
    re.VERBOSE | re.ASCII | re.DOTALL,
)
_KEYWORDS = frozenset({"and", "or", "not", "in"})
_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None}
_ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_COMPARISONS = frozenset({"==", "!=", *_ORDERINGS})
# Characters people reach for out of habit from other languages.
_HINTS = {"=": "'=='", "!": "'!='", "&": "'and'", "|": "'or'"}


class ConditionError(ValueError):
    """A condition that cannot be parsed: ``message`` says what is wrong, ``position`` where.

    ``position`` is a 0-based character offset into the source, so whoever reports the error
    can point at the exact place in the journey file.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.message = message
        self.position = position


class _Token(NamedTuple):
    kind: str  # "literal", "name", "keyword", "symbol" or "end"
    text: str
    pos: int
    value: Any = None


def _tokenise(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            char = source[pos]
            if char in "\"'":
                raise ConditionError("unterminated string", pos)
            hint = f"; did you mean {_HINTS[char]}?" if char in _HINTS else ""
            raise ConditionError(f"unexpected character {char!r}{hint}", pos)
        text = match[0]
        if match.lastgroup == "string":
            tokens.append(_Token("literal", text, pos, _unescape(text, pos)))
        elif match.lastgroup == "number":
            tokens.append(_Token("literal", text, pos, float(text) if "." in text else int(text)))
        elif match.lastgroup == "name":
            tokens.append(_word(text, pos))
        elif match.lastgroup == "symbol":
            tokens.append(_Token("symbol", text, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _unescape(text: str, pos: int) -> str:
    # finditer pairs a backslash with the character after it, so "\\n" is "\" then "n".
    for escape in re.finditer(r"\\(.)", text, re.DOTALL):
        if escape[1] not in "\"'\\":
            raise ConditionError(f"unknown escape '{escape[0]}' in a string", pos + escape.start())
    return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)


def _word(text: str, pos: int) -> _Token:
    if text in _CONSTANTS:
        return _Token("literal", text, pos, _CONSTANTS[text])
    if text in _KEYWORDS:
        return _Token("keyword", text, pos)
    # `== True` would otherwise be a reference to a step called "True": silently None.
    if text.lower() in _KEYWORDS or text.lower() in _CONSTANTS:
        raise ConditionError(f"keywords are lower case: write '{text.lower()}'", pos)
    return _Token("name", text, pos)


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the condition"
    if token.kind == "name":
        return f"name '{token.text}'"
    if token.kind == "literal" and isinstance(token.value, str):
        return f"string {token.text}"
    if token.kind == "literal" and token.text not in _CONSTANTS:
        return f"number {token.text}"
    return f"'{token.text}'"


@dataclass(frozen=True)
class _Value:
    value: Any


@dataclass(frozen=True)
class _List:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class _Ref:
    path: tuple[str, ...]


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _Logic:
    op: str  # "and" or "or"; n-ary so that long chains never recurse deeply
    operands: tuple[_Node, ...]


@dataclass(frozen=True)
class _Compare:
    op: str
    left: _Node
    right: _Node


_Node = _Value | _List | _Ref | _Not | _Logic | _Compare


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenise(source)
        self.index = 0
        self.depth = 0
        self.references: set[str] = set()

    def parse(self) -> _Node:
        if self._peek().kind == "end":
            raise ConditionError("the condition is empty", 0)
        node = self._or()
        if (token := self._peek()).kind != "end":
            raise ConditionError(f"unexpected {_describe(token)}", token.pos)
        return node

    def _peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def _take(self) -> _Token:
        token = self._peek()
        self.index += 1
        return token

    def _at(self, text: str, ahead: int = 0) -> bool:
        # Names and literals never match: a name is never a keyword, a string keeps its quotes.
        token = self._peek(ahead)
        return token.kind in ("keyword", "symbol") and token.text == text

    def _nested(self, token: _Token, parse: Callable[[], _Node]) -> _Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"nesting deeper than {MAX_DEPTH} levels", token.pos)
        node = parse()
        self.depth -= 1
        return node

    def _chain(self, op: str, parse: Callable[[], _Node]) -> _Node:
        operands = [parse()]
        while self._at(op):
            self.index += 1
            operands.append(parse())
        return operands[0] if len(operands) == 1 else _Logic(op, tuple(operands))

    def _or(self) -> _Node:
        return self._chain("or", self._and)

    def _and(self) -> _Node:
        return self._chain("and", self._not)

    def _not(self) -> _Node:
        if not self._at("not"):
            return self._compare()
        return _Not(self._nested(self._take(), self._not))

    def _comparison(self) -> str | None:
        token = self._peek()
        if (token.kind == "symbol" and token.text in _COMPARISONS) or self._at("in"):
            return token.text
        return "not in" if self._at("not") and self._at("in", ahead=1) else None

    def _compare(self) -> _Node:
        left = self._operand()
        if (op := self._comparison()) is None:
            if self._at("not"):  # after a value, "not" can only begin "not in"
                raise ConditionError("expected 'in' after 'not'", self._peek(1).pos)
            return left
        self.index += 2 if op == "not in" else 1
        right = self._operand()
        if self._comparison() is not None:
            # Python reads `a < b < c` as a range; doing anything else silently would mislead.
            message = "comparisons cannot be chained; join them with 'and'"
            raise ConditionError(message, self._peek().pos)
        return _Compare(op, left, right)

    def _operand(self) -> _Node:
        token = self._peek()
        if token.kind == "literal":
            self.index += 1
            return _Value(token.value)
        if token.kind == "name":
            self.index += 1
            self.references.add(token.text)
            return _Ref(tuple(token.text.split(".")))
        if self._at("("):
            node = self._nested(self._take(), self._or)
            self._close(token, ")")
            return node
        if self._at("["):
            return self._list(self._take())
        raise self._no_value(token)

    def _list(self, opening: _Token) -> _List:
        items: list[Any] = []
        if not self._at("]"):
            items.append(self._item())
            while self._at(","):
                self.index += 1
                items.append(self._item())
        self._close(opening, "]")
        return _List(tuple(items))

    def _item(self) -> Any:
        token = self._peek()
        if token.kind == "literal":
            self.index += 1
            return token.value
        if token.kind == "end" or self._at("]") or self._at(","):
            raise self._no_value(token)
        message = "a list can only hold literals (strings, numbers, true, false, null), found"
        raise ConditionError(f"{message} {_describe(token)}", token.pos)

    def _close(self, opening: _Token, text: str) -> None:
        token = self._take()
        if token.kind == "end":
            raise ConditionError(f"'{opening.text}' is never closed", opening.pos)
        if not (token.kind == "symbol" and token.text == text):
            raise ConditionError(f"expected '{text}' but found {_describe(token)}", token.pos)

    def _no_value(self, token: _Token) -> ConditionError:
        if token.kind == "end":  # never the first token: parse() rejects an empty condition
            previous = self.tokens[self.index - 1]
            return ConditionError(f"expected a value after {_describe(previous)}", token.pos)
        return ConditionError(f"expected a value, found {_describe(token)}", token.pos)


def _resolve(answers: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    # Mapping look-ups only, never getattr: `a.__class__` is just a key nobody answered.
    value: Any = answers
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    # Python says True == 1; a ticked box matching `employees == 1` would surprise anyone.
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple | set | frozenset):
        return any(_equal(item, member) for member in container)
    return False  # None (a skipped step), numbers, mappings: nothing is "in" them


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("==", "!="):
        return _equal(left, right) == (op == "==")
    if op in ("in", "not in"):
        return _contains(right, left) == (op == "in")
    # Strict ordering: numbers with numbers, strings with strings (ISO dates sort as strings).
    if (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    ):
        return bool(_ORDERINGS[op](left, right))
    return False


def _evaluate(node: _Node, answers: Mapping[str, Any]) -> Any:
    match node:
        case _Value(value):
            return value
        case _List(items):
            return list(items)
        case _Ref(path):
            return _resolve(answers, path)
        case _Not(operand):
            return not _evaluate(operand, answers)
        case _Logic(op, operands):
            results = (_evaluate(operand, answers) for operand in operands)
            return all(results) if op == "and" else any(results)
        case _Compare(op, left, right):
            return _compare(op, _evaluate(left, answers), _evaluate(right, answers))
        case _:
            assert_never(node)


def _compared(node: _Node, found: list[tuple[str, Any]]) -> None:
    match node:
        case _Not(operand):
            _compared(operand, found)
        case _Logic(_, operands):
            for operand in operands:
                _compared(operand, found)
        case _Compare(op, _Ref(path), _Value(value)) if op in ("==", "!="):
            found.append((".".join(path), value))
        case _Compare(op, _Value(value), _Ref(path)) if op in ("==", "!="):
            found.append((".".join(path), value))
        case _Compare(op, _Ref(path), _List(items)) if op in ("in", "not in"):
            found += [(".".join(path), item) for item in items]
        case _:
            pass


@dataclass(frozen=True)
class Condition:
    """A parsed ``when:`` condition; build one with :func:`parse_condition`.

    ``references`` holds every dotted reference the condition reads (``"business.vat"``), so a
    journey can be checked for conditions naming steps or fields it does not have.
    """

    source: str
    references: frozenset[str]
    _tree: _Node = field(repr=False, compare=False)

    def compared_values(self) -> list[tuple[str, Any]]:
        """Each literal a reference is compared with (``==``, ``!=``, ``in``, ``not in``), in
        order: ``platform.platform == 'xero'`` gives ``("platform.platform", "xero")``, so a
        journey can be checked for values its fields never take."""
        found: list[tuple[str, Any]] = []
        _compared(self._tree, found)
        return found

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        """Whether the condition holds, given answers keyed by step id, then by field.

        A reference to a step or field with no answer is None, not an error (a skipped step has
        no answers); ordering None, or values of different types, is simply False.
        """
        return bool(_evaluate(self._tree, answers))


def parse_condition(source: str) -> Condition:
    """Parse a condition, raising :class:`ConditionError` that says what is wrong and where."""
    if len(source) > MAX_LENGTH:
        raise ConditionError(f"the condition is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    parser = _Parser(source)
    tree = parser.parse()
    return Condition(source, frozenset(parser.references), tree)
