"""Hypothesis strategies for input an attacker, a broken client or a careless paste sends.

Values are ``str`` (sent UTF-8 encoded, lone surrogates as the invalid bytes they would
be, e.g. ``%ED%A0%80``) or ``bytes`` (sent as they are: invalid UTF-8 on purpose).
Each class of hostile input is its own strategy, so the figures can name them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

Value = str | bytes


class Long(str):
    """A long constant whose repr stays short: Hypothesis shows strategies by their repr."""

    def __repr__(self) -> str:
        return f"Long({str.__repr__(self[:12])}…, {len(self)} chars)"


class LongBytes(bytes):
    def __repr__(self) -> str:
        return f"LongBytes({bytes.__repr__(self[:12])}…, {len(self)} bytes)"


NUL = st.sampled_from(["\x00", "a\x00", "\x00a", "%00", "a\x00b" * 3])
CRLF = st.sampled_from(
    [
        "\r\n",
        "\r",
        "\n",
        "a\r\nb",
        "/journey\r\nLocation: https://evil.example",
        "/admin/\r\nSet-Cookie: a=b",
        "\r\n\r\n<html>",
        "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
    ]
)
# Lone halves of a surrogate pair: not encodable as UTF-8, so they arrive as invalid bytes
# in a form or a query, and as \\ud800 escapes (valid JSON, invalid Unicode) in a JSON body.
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
LONE_SURROGATE = st.one_of(SURROGATE, st.builds(lambda s: f"a{s}b", SURROGATE))
# Bidirectional overrides and invisible characters that make text read other than it is.
INVISIBLE = st.sampled_from(
    [
        "\u202e",
        "\u202d",
        "\u202a\u202b\u202c",
        "\u2066\u2067\u2068\u2069",
        "\u200b",
        "\u200c\u200d",
        "\u2060",
        "\ufeff",
        "\u00ad",
        "\u180e",
        "\u034f",
        "\U000e0041\U000e007f",
        "admin\u202egpj.exe",
        "\u202eliame@elpmaxe.com",
    ]
)
EMOJI_AND_SCRIPTS = st.sampled_from(
    [
        "😀",
        "👩‍👩‍👧‍👦",
        "🏳️‍🌈",
        "🇬🇧",
        "\U0001d54f\U0001d502\U0001d503",
        "مرحبا بالعالم",
        "שלום",
        "こんにちは世界",
        "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
        "İıßﬃÅᾈ",
        "\uffff\ufffe\ufffd",
        "\U0010ffff",
    ]
)
MARKUP_AND_INJECTION = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "' OR '1'='1",
        "'; DROP TABLE customers; --",
        "{{7*7}}",
        "{% for x in range(9) %}",
        "${7*7}",
        "%s%s%s%n",
        "%(name)s",
        "{0.__class__}",
        "../../../../etc/passwd",
        "..\\..\\windows",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "\\",
        "%",
        "%zz",
        "%2F",
        "%252F",
        "&",
        "=",
        "#",
        "?",
        ";",
        "*",
        "`",
        '"',
        "'",
        "\t",
        " ",
        "",
        "null",
        "None",
        "undefined",
        "true",
        "[]",
        "{}",
    ]
)
NUMBER_TEXT = st.one_of(
    st.sampled_from(
        [
            "0",
            "-0",
            "-1",
            "1e309",
            "-1e309",
            "1e-400",
            "NaN",
            "Infinity",
            "-inf",
            "0x10",
            "1_000",
            "١٢٣",
            "\uff11\uff12\uff13",
            "2147483648",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            " 1 ",
            ".5",
            "0.5",
            "5.",
            "+1",
            "1" + "0" * 30,
            Long("9" * 5000),
            Long("0." + "0" * 1000 + "1"),
        ]
    ),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
DATE_TEXT = st.sampled_from(
    [
        "2024-02-30",
        "2024-13-01",
        "0000-01-01",
        "0001-01-01",
        "9999-12-31",
        "10000-01-01",
        "-2024-01-01",
        "2024-1-1",
        "2024-01-01T00:00:00",
        "2024-01-01T25:00:00Z",
        "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00.9999999999Z",
        "1970-01-01T00:00:00Z",
        "0.5",
        "1e10",
        "99999999999999999999",
        "now",
        "\uff11\uff19\uff19\uff10-01-01",
    ]
)
# Any Unicode text, lone surrogates included (Hypothesis leaves those out by default).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
# Raw bytes that are not UTF-8: a lone continuation byte, an overlong NUL, a surrogate.
INVALID_UTF8 = st.sampled_from(
    [
        b"\xff",
        b"\xfe\xff",
        b"\xc0\x80",
        b"\xed\xa0\x80",
        b"a\x80b",
        b"\xe2\x82",
        b"\xf4\x90\x80\x80",
    ]
)

# Sizes around the limits: a field's maximum, a WTForms/pydantic limit, the request limits
# (64 KiB for pages, 16 KiB for the API), and 100 kB.
LONG_SIZES = st.sampled_from([201, 321, 1001, 2001, 4097, 5001, 10_000, 20_000, 65_537, 100_000])
LONG_PIECES = st.sampled_from(["a", "9", " ", "\x00", "\u202e", "😀", "é", "\r\n", "<", "%"])


def _repeat(piece: str, size: int) -> str:
    return Long((piece * (size // len(piece) + 1))[:size])


# Built, not drawn character by character: a 100 kB string is one choice for Hypothesis.
LONG = st.builds(_repeat, LONG_PIECES, LONG_SIZES)

HOSTILE_CLASSES: dict[str, st.SearchStrategy[str]] = {
    "NUL": NUL,
    "CRLF": CRLF,
    "lone surrogate": LONE_SURROGATE,
    "RTL/invisible": INVISIBLE,
    "emoji/scripts": EMOJI_AND_SCRIPTS,
    "markup/injection": MARKUP_AND_INJECTION,
    "number-like": NUMBER_TEXT,
    "date-like": DATE_TEXT,
    "any text": ANY_TEXT,
    "long": LONG,
}


def _itself(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy


def pick(*weighted: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, chosen with these weights.

    (``st.one_of`` flattens nested ``one_of``s into one list of equal branches, so a
    plausible value would be drawn once in twenty times, whatever it is nested in.)
    """
    pool = [strategy for weight, strategy in weighted for _ in range(weight)]
    return st.sampled_from(pool).flatmap(_itself)


# The classes the issue names come up twice as often as the others.
NAMED_CLASSES = {"NUL", "CRLF", "lone surrogate", "RTL/invisible", "long"}
ONE_HOSTILE = pick(
    *((2 if name in NAMED_CLASSES else 1, strategy) for name, strategy in HOSTILE_CLASSES.items())
)


def _joined(parts: list[str]) -> str:
    return "".join(parts)


# Several hostile pieces in one value ("a\x00\u202e😀").
MIXED = st.lists(ONE_HOSTILE, min_size=2, max_size=4).map(_joined)

hostile_text: st.SearchStrategy[str] = pick((4, ONE_HOSTILE), (1, MIXED))


def _around(plausible: object, hostile: str, where: int) -> str:
    text = str(plausible)
    if where == 0:
        return hostile + text
    if where == 1:
        return text + hostile
    middle = len(text) // 2
    return text[:middle] + hostile + text[middle:]


WHERE = st.integers(0, 2)


@dataclass(frozen=True)
class Field:
    """What a field may be sent: ``good`` values (so that validation lets the rest of the
    request through) and ``bad`` ones."""

    good: st.SearchStrategy[Any]
    bad: st.SearchStrategy[Any]

    @property
    def any(self) -> st.SearchStrategy[Any]:
        """Good two times in five, bad otherwise."""
        return pick((2, self.good), (3, self.bad))


def field(
    *plausible: Any, bad: st.SearchStrategy[Any] | None = None, optional: bool = False
) -> Field:
    """A field whose good values are ``plausible`` (or leaving it out, when ``optional``);
    bad ones are hostile text, hostile text around a plausible value, invalid UTF-8, and
    ``bad`` if given."""
    good: st.SearchStrategy[Any] = st.sampled_from(plausible) if plausible else st.just("")
    if optional:
        # Mostly left out: an optional field is seldom sent.
        good = pick((3, st.none()), (1, good)) if plausible else st.none()
    shown = st.sampled_from(plausible) if plausible else st.just("")
    choices: list[tuple[int, st.SearchStrategy[Any]]] = [
        (3, hostile_text),
        (2, st.builds(_around, shown, hostile_text, WHERE)),
        (1, INVALID_UTF8),
    ]
    if bad is not None:
        choices.append((2, bad))
    return Field(good, pick(*choices))


def near(*plausible: Any) -> st.SearchStrategy[Value]:
    """A single value, good or bad (see ``field``)."""
    return field(*plausible).any


HOSTILE_NAMES = pick(
    (1, st.sampled_from(["csrf_token", "submit", "_method", "__proto__", "constructor"])),
    (3, hostile_text),
)
EXTRA_PAIRS = st.lists(st.tuples(HOSTILE_NAMES, near()), min_size=1, max_size=2)
GOOD_TIMES = st.sampled_from([1, 1, 1, 1, 1, 0, 2])
BAD_TIMES = st.sampled_from([1, 1, 1, 2])
NO_EXTRAS = st.sampled_from([True, True, False])


def _victims(names: list[str]) -> st.SearchStrategy[frozenset[str]]:
    """Which fields are bad: one or two, or (one time in five) none."""
    if not names:
        return st.just(frozenset())
    some = st.frozensets(st.sampled_from(names), min_size=1, max_size=min(2, len(names)))
    return pick((4, some), (1, st.just(frozenset())))


def fields(known: dict[str, Field]) -> st.SearchStrategy[tuple[tuple[str, Value], ...]]:
    """A form or query: one or two of ``known`` bad (sometimes none), the others good (or
    left out, or given twice), sometimes with unknown or hostile names added."""
    names = sorted(known)
    victims = _victims(names)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[tuple[str, Value], ...]:
        bad = draw(victims)
        pairs: list[tuple[str, Value]] = []
        for name in names:
            if name in bad:
                pairs.extend((name, draw(known[name].bad)) for _ in range(draw(BAD_TIMES)))
            else:
                good = [draw(known[name].good) for _ in range(draw(GOOD_TIMES))]
                pairs.extend((name, value) for value in good if value is not None)
        if not draw(NO_EXTRAS):
            pairs.extend(draw(EXTRA_PAIRS))
        return tuple(pairs)

    return build()


# No web server hands on a longer request line (gunicorn refuses one over 4 KiB, nginx
# over 8 KiB), so values in a query string or a path stop here, not at 100 kB.
REQUEST_LINE_LIMIT = 10_000


def _cut(value: Value) -> Value:
    if len(value) <= REQUEST_LINE_LIMIT:
        return value
    return value[:REQUEST_LINE_LIMIT]


def in_request_line(pairs: tuple[tuple[str, Value], ...]) -> tuple[tuple[str, Value], ...]:
    """A query's names and values, cut to what can reach the app in a request line."""
    return tuple((str(_cut(name)), _cut(value)) for name, value in pairs)


PATH_TRICKS = st.sampled_from([".", "..", "%2e%2e", "a/b", "a%2Fb", "9" * 40, "-1", "0", "1.5"])


def path_segment(*plausible: str, good: int = 3) -> st.SearchStrategy[Value]:
    """A value for a path parameter: a real id (``good`` times in ``good`` + 3), or
    anything hostile (cut to what fits in a request line)."""
    if not plausible:
        return pick((3, field().bad.map(_cut)), (1, PATH_TRICKS))
    return pick(
        (good, st.sampled_from(plausible)),
        (2, field(*plausible).bad.map(_cut)),
        (1, PATH_TRICKS),
    )


# JSON -------------------------------------------------------------------------------

JSON_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=8,
)


def _latin1(value: bytes) -> str:
    # Invalid UTF-8 cannot go inside a JSON string (MALFORMED_JSON has such bodies).
    return value.decode("latin-1")


def _dumps(data: Any, ascii_escapes: bool) -> bytes:
    # ensure_ascii sends a lone surrogate as a "\\ud800" escape; without it the surrogate
    # becomes the three invalid UTF-8 bytes it would be.
    text = json.dumps(data, ensure_ascii=ascii_escapes, default=_latin1)
    return text.encode("utf-8", "surrogatepass")


WRONG_TYPE = pick((1, JSON_SCALARS), (1, JSON_VALUES))
FEW_UNKNOWN = st.dictionaries(hostile_text, JSON_VALUES, min_size=1, max_size=2)


def json_object(known: dict[str, Field]) -> st.SearchStrategy[bytes]:
    """A JSON object of ``known`` members, one or two of them bad or of the wrong type,
    sometimes with unknown members, serialised as bytes."""
    names = sorted(known)
    victims = _victims(names)
    wrong = {name: pick((3, known[name].bad), (1, WRONG_TYPE)) for name in names}

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        bad = draw(victims)
        data: dict[str, Any] = {}
        for name in names:
            if name in bad:
                data[name] = draw(wrong[name])
            elif draw(GOOD_TIMES) and (value := draw(known[name].good)) is not None:
                data[name] = value
        if not draw(NO_EXTRAS):
            data.update(draw(FEW_UNKNOWN))
        return _dumps(data, draw(st.booleans()))

    return build()


def _nested(opening: bytes, closing: bytes, depth: int, closed: bool) -> bytes:
    return LongBytes(opening * depth + (closing * depth if closed else b""))


# Thousands deep, as bytes: no JSON library of ours builds it (they would recurse too).
DEEP_JSON = st.builds(
    _nested,
    st.sampled_from([b"[", b'{"a":', b'{"name":[', b"[{}, "]),
    st.sampled_from([b"]", b"}", b"]}", b"]"]),
    st.sampled_from([100, 1000, 2000, 3000, 8000, 16_000, 50_000]),
    st.booleans(),
)
HUGE_ARRAY = st.builds(
    lambda member, size: LongBytes(b'{"event_types": [' + b",".join([member] * size) + b"]}"),
    st.sampled_from([b"0", b'"consent.granted"', b"null", b"[]", b"{}"]),
    st.sampled_from([100, 1000, 3000, 10_000, 100_000]),
)
MALFORMED_JSON = st.sampled_from(
    [
        b"",
        b" ",
        b"null",
        b"[]",
        b'"text"',
        b"0",
        b"1e999999",
        b"-",
        b"NaN",
        b'{"name": NaN}',
        b'{"name": Infinity}',
        b'{"a": 1e999999}',
        LongBytes(b'{"expires_in": 1' + b"0" * 5000 + b"}"),
        b'{"expires_in": 1.0e308}',
        b'{"name": "a", "name": "b"}',
        b'{"name": "\\ud800"}',
        b'{"name": "\\udfff\\ud800"}',
        b'{"name": "\\u0000"}',
        b'{"url": "https://hooks.example/\\u0000"}',
        b'{"description": "\\u0000"}',
        b'{"name": "\xed\xa0\x80"}',
        b'{"name": "\xff"}',
        b"\xef\xbb\xbf{}",
        b"\xff\xfe{\x00}\x00",
        b"{",
        b"}",
        b'{"a":}',
        b"{'a': 1}",
        b'{"a": 1} trailing',
        b"[1,]",
        b'{"a" 1}',
        b"\x00",
    ]
)


def json_body(known: dict[str, Field]) -> st.SearchStrategy[bytes]:
    """A request body for a JSON endpoint: mostly objects of its own shape, also deep
    nesting, huge arrays and malformed documents."""
    return pick(
        (6, json_object(known)),
        (1, DEEP_JSON),
        (1, HUGE_ARRAY),
        (1, MALFORMED_JSON),
        (1, JSON_VALUES.map(lambda value: _dumps(value, True))),
    )


OTHER_CONTENT_TYPES = st.sampled_from(
    [
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "application/merge-patch+json",
        "application/problem+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; boundary",
        "application/json;;;",
        "*/*",
        "",
    ]
)
JSON_CONTENT_TYPES = pick((8, st.just("application/json")), (1, OTHER_CONTENT_TYPES))


# Headers ----------------------------------------------------------------------------


NOT_IN_HEADERS = str.maketrans("", "", "\x00\r\n")


def _as_header(text: str) -> str:
    # What a server hands on: bytes read as Latin-1, without NUL, CR or LF (gunicorn and
    # any proxy refuse a request with those in a header), at most 8 KiB.
    raw = text[:8190].encode("utf-8", "surrogatepass").decode("latin-1")
    return raw.translate(NOT_IN_HEADERS)[:8190]


HEADER_VALUE = hostile_text.map(_as_header)


def headers(
    *names: str, plausible: dict[str, list[str]] | None = None
) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    """Some of the request headers ``names``, each plausible or hostile."""
    choices = plausible or {}
    pairs = [
        st.tuples(
            st.just(name), pick((1, st.sampled_from(choices.get(name, [""]))), (1, HEADER_VALUE))
        )
        for name in names
    ]
    return st.lists(st.sampled_from(pairs).flatmap(_itself), max_size=3).map(tuple)
