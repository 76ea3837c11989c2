"""Sending hostile requests through the Flask test client and keeping the figures.

A request is encoded by hand, byte for byte, as a browser or a script would put it on
the wire: a form as ``application/x-www-form-urlencoded`` (percent-encoded UTF-8, lone
surrogates as the invalid bytes they would be) or ``multipart/form-data`` (raw bytes).
An exception that escapes the app is what a real server turns into a 500: it is
recorded as one, with the place it was raised.
"""

from __future__ import annotations

import re
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

from flask.testing import EnvironBuilder, FlaskClient
from werkzeug.test import TestResponse

from tests.hostile.strategies import Value

APP_ROOT = str(Path(__file__).resolve().parents[2] / "app")
PROBLEM_JSON = "application/problem+json"
# A UTF-16 surrogate as UTF-8 bytes, percent-encoded, or as a JSON escape.
SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]|%ed%[ab]|\\ud[89a-f]")
QUOTED_OR_NUMBER = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")
BOUNDARY = "hostile-boundary-7MA4YWxkTrZu0gW"
Pairs = tuple[tuple[str, Value], ...]


def as_bytes(value: Value) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def percent(value: Value) -> str:
    return quote_from_bytes(as_bytes(value), safe="")


def urlencoded(pairs: Pairs) -> str:
    return "&".join(f"{percent(name)}={percent(value)}" for name, value in pairs)


def multipart(pairs: Pairs) -> bytes:
    parts = []
    for name, value in pairs:
        disposition = b'Content-Disposition: form-data; name="' + as_bytes(name) + b'"'
        if name == "upload":
            disposition += b'; filename="journey.yaml"\r\nContent-Type: application/x-yaml'
        parts.append(b"--" + BOUNDARY.encode() + b"\r\n" + disposition + b"\r\n\r\n")
        parts.append(as_bytes(value) + b"\r\n")
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


@dataclass(frozen=True)
class HostileRequest:
    """One request: ``path`` is sent as written (segments already percent-encoded)."""

    method: str
    path: str
    query: Pairs = ()
    form: Pairs | None = None
    multipart: bool = False
    body: bytes | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def builder(self, client: FlaskClient) -> EnvironBuilder:
        kwargs: dict[str, Any] = {"method": self.method, "headers": list(self.headers)}
        if self.form is not None:
            if self.multipart:
                kwargs["data"] = multipart(self.form)
                kwargs["content_type"] = f"multipart/form-data; boundary={BOUNDARY}"
            else:
                kwargs["data"] = urlencoded(self.form).encode("ascii")
                kwargs["content_type"] = "application/x-www-form-urlencoded"
        elif self.body is not None:
            kwargs["data"] = self.body
            if self.content_type is not None:
                kwargs["content_type"] = self.content_type
        query = urlencoded(self.query)
        return EnvironBuilder(client.application, self.path, query_string=query or None, **kwargs)

    def size(self) -> int:
        """Bytes of input: query, form or body."""
        sent = len(urlencoded(self.query))
        if self.form is not None:
            sent += len(multipart(self.form) if self.multipart else urlencoded(self.form))
        return sent + len(self.body or b"")

    def describe(self, limit: int = 300) -> str:
        """A short, copyable account of the request (long values cut, with their length)."""

        def short(value: Value) -> str:
            text = repr(value)
            if len(text) <= 60:
                return text
            return f"{text[:40]}…({len(value)} {'bytes' if isinstance(value, bytes) else 'chars'})"

        parts = [self.method, self.path]
        if self.query:
            parts.append("?" + "&".join(f"{short(n)}={short(v)}" for n, v in self.query))
        if self.form is not None:
            kind = "multipart" if self.multipart else "form"
            parts.append(f"{kind}{{" + ", ".join(f"{short(n)}: {short(v)}" for n, v in self.form))
            parts[-1] += "}"
        if self.body is not None:
            parts.append(f"body={short(self.body)} ({self.content_type})")
        if self.headers:
            parts.append("headers{" + ", ".join(f"{n}: {short(v)}" for n, v in self.headers) + "}")
        text = " ".join(parts)
        return text if len(text) <= limit else text[:limit] + "…"


def input_classes(request: HostileRequest) -> list[str]:
    """Which classes of hostile input a request carries, read from its bytes."""
    raw = b"".join(
        [
            as_bytes(request.path),
            *(as_bytes(n) + as_bytes(v) for n, v in request.query),
            *(as_bytes(n) + as_bytes(v) for n, v in request.form or ()),
            request.body or b"",
            *(v.encode("latin-1") for _, v in request.headers),
        ]
    )
    lowered = raw.lower()
    found = []
    if b"\x00" in raw or b"%00" in raw or b"\\u0000" in raw:
        found.append("NUL")
    # A line break in a form or a body is ordinary (a note, a YAML file); in the request
    # line or a header it is an attack.
    line = as_bytes(request.path) + b"".join(as_bytes(n) + as_bytes(v) for n, v in request.query)
    if b"\r" in raw or b"\n" in line or b"%0d" in lowered or b"%0a" in lowered:
        found.append("CRLF")
    if SURROGATE_BYTES.search(lowered):
        found.append("lone surrogate")
    if "\u202e".encode() in raw or "\u200b".encode() in raw:
        found.append("RTL/invisible")
    if len(raw) > 60_000:
        found.append("100 kB")
    if raw.count(b"[") > 500 or raw.count(b"{") > 500:
        found.append("deep/huge JSON")
    return found or ["other"]


@dataclass
class Finding:
    """A distinct failure: where it comes from, how often, the smallest input seen."""

    target: str
    kind: str
    where: str
    count: int = 0
    example: HostileRequest | None = None
    classes: set[str] = field(default_factory=set)
    trace: str = ""

    def line(self) -> str:
        shown = self.example.describe() if self.example else ""
        return (
            f"{self.target}: {self.kind} at {self.where} x{self.count} "
            f"[{', '.join(sorted(self.classes))}]\n    {self.trace}\n    e.g. {shown}"
        )


@dataclass
class Tally:
    """Everything tried in a run: inputs and 5xx per target, distinct failures."""

    inputs: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    contract_breaks: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    slowest: dict[str, tuple[float, str]] = field(default_factory=dict)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    # Failures other processes found, as text (see merge).
    reported: list[str] = field(default_factory=list)

    @property
    def total_inputs(self) -> int:
        return sum(self.inputs.values())

    @property
    def total_server_errors(self) -> int:
        return sum(self.server_errors.values())

    def failures(self, target: str | None = None) -> list[Finding]:
        return [f for f in self.findings.values() if target is None or f.target == target]

    def _note(
        self, target: str, kind: str, where: str, request: HostileRequest, trace: str = ""
    ) -> None:
        found = self.findings.setdefault(
            (target, kind, where), Finding(target, kind, where, trace=trace)
        )
        found.count += 1
        found.classes.update(input_classes(request))
        if found.example is None or request.size() < found.example.size():
            found.example = request

    def send(
        self, target: str, client: FlaskClient, request: HostileRequest, api: bool = False
    ) -> TestResponse | None:
        """Send ``request``; count it; note a 5xx (or, for the API, an error that is not
        problem+json). Returns the response, or None when the app raised."""
        builder = request.builder(client)
        self.inputs[target] += 1
        started = time.perf_counter()
        try:
            response = client.open(builder)
            response.get_data()  # a streamed body fails only when it is read
            response.close()
        except Exception as exc:
            self._record_time(target, started, request)
            self.server_errors[target] += 1
            self.statuses.setdefault(target, Counter())[500] += 1
            kind = f"{type(exc).__name__} ({_gist(exc)})"
            self._note(target, kind, _raised_at(exc), request, _head(exc))
            return None
        finally:
            builder.close()
        self._record_time(target, started, request)
        status = response.status_code
        self.statuses.setdefault(target, Counter())[status] += 1
        if status >= 500:
            self.server_errors[target] += 1
            self._note(target, f"HTTP {status}", "response", request)
        elif api and status >= 400 and response.mimetype != PROBLEM_JSON:
            self.contract_breaks[target] += 1
            self._note(target, f"HTTP {status} as {response.mimetype}", "not problem+json", request)
        return response

    def _record_time(self, target: str, started: float, request: HostileRequest) -> None:
        took = time.perf_counter() - started
        self.seconds[target] += took
        if took > self.slowest.get(target, (0.0, ""))[0]:
            self.slowest[target] = (took, request.describe(120))

    def report(self) -> str:
        """The figures, a line per target, then every distinct failure."""
        lines = [
            f"hostile inputs: {self.total_inputs} tried, {self.total_server_errors} x 5xx, "
            f"{sum(self.contract_breaks.values())} API errors not problem+json, "
            f"{len(self.findings) + len(self.reported)} distinct failure(s)"
        ]
        for target, count in sorted(self.inputs.items()):
            slowest = self.slowest.get(target, (0.0, ""))[0] * 1000
            lines.append(
                f"  {target:<62} {count:>7} inputs {self.server_errors[target]:>5} x 5xx "
                f"{self.seconds[target] / max(count, 1) * 1000:>6.1f} ms avg {slowest:>7.0f} ms max"
            )
        for finding in sorted(self.findings.values(), key=lambda f: (f.target, f.kind)):
            lines.append("  ! " + finding.line())
        lines.extend("  ! " + line for line in self.reported)
        return "\n".join(lines)


def _raised_at(exc: BaseException) -> str:
    """The innermost frame of Onramp's own code, or the innermost frame at all."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename.startswith(APP_ROOT)]
    frame = (ours or frames)[-1] if (ours or frames) else None
    if frame is None:
        return "?"
    name = Path(frame.filename)
    shown = name.relative_to(Path(APP_ROOT).parent) if frame.filename.startswith(APP_ROOT) else name
    return f"{shown}:{frame.lineno} ({frame.name})"


def _gist(exc: BaseException) -> str:
    """The exception's message without the input in it: one failure, whatever the input."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return QUOTED_OR_NUMBER.sub("…", first)[:90]


def _head(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()[:500]


def merge(tally: Tally, figures: dict[str, Any]) -> None:
    """Add figures sent back by another process (a pytest-xdist worker)."""
    tally.inputs.update(figures["inputs"])
    tally.server_errors.update(figures["server_errors"])
    tally.contract_breaks.update(figures["contract_breaks"])
    for target, seconds in figures["seconds"].items():
        tally.seconds[target] += seconds
    tally.reported.extend(figures["findings"])


def figures(tally: Tally) -> dict[str, Any]:
    """The tally as plain data, for pytest-xdist to carry back to the controller."""
    return {
        "inputs": dict(tally.inputs),
        "server_errors": dict(tally.server_errors),
        "contract_breaks": dict(tally.contract_breaks),
        "seconds": dict(tally.seconds),
        "findings": [f.line() for f in tally.findings.values()] + tally.reported,
    }
