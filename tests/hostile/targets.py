"""What the hostile-input suite attacks: every journey form, the customer's page, the
console's forms and filters, every API operation. Each target says which browser sends
its requests and how to make them; the suite (tests/hostile) and the longer run
(bench/hostile.py) drive the same targets, with different numbers of examples.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from tests.admin import PASSWORD
from tests.hostile import strategies as hs
from tests.hostile.probe import HostileRequest, as_bytes, percent
from tests.hostile.world import LOCAL, World, oauth_state

Requests = st.SearchStrategy[HostileRequest]
# Stands for the OAuth state of a flow started just before the request is sent.
REAL_STATE = "<state of a fresh flow>"


def _never(_: TestResponse) -> bool:
    return False


def _no_seeds(_: World) -> list[HostileRequest]:
    return []


@dataclass(frozen=True)
class Target:
    name: str
    area: str
    browser: str
    requests: Callable[[World], Requests]
    # Examples per CI run; the bench multiplies them.
    examples: int = 150
    api: bool = False
    # True when the response shows the browser's state moved on (it is then replaced).
    moved: Callable[[TestResponse], bool] = _never
    prepare: Callable[[World, HostileRequest], HostileRequest] | None = None
    # Inputs that gave a 500 once (issue 14, and what this suite found): always sent.
    seeds: Callable[[World], list[HostileRequest]] = _no_seeds

    def attempt(self, world: World, request: HostileRequest) -> None:
        if self.prepare is not None:
            request = self.prepare(world, request)
        response = world.tally.send(self.name, world.browser(self.browser), request, self.api)
        if response is None or self.moved(response):
            world.replace(self.browser)


def explore(world: World, target: Target, examples: int, seed: int | None = None) -> None:
    """Send the target's seeds, then ``examples`` requests made by Hypothesis.

    Every failure is recorded in the world's tally and the run goes on, so that one
    run shows every distinct failure, not only the first. Without ``seed`` the
    examples are the same on every run (CI is reproducible).
    """

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(target.requests(world))
    def attempt(request: HostileRequest) -> None:
        target.attempt(world, request)

    for known in target.seeds(world):
        attempt = example(known)(attempt)
    if seed is not None:
        attempt = fixed_seed(seed)(attempt)
    attempt()


def attack(world: World, target: Target) -> None:
    """Send the target its hostile inputs; none may get a 5xx (nor, on the API, an error
    that is not problem+json)."""
    explore(world, target, target.examples)
    tally = world.tally
    assert tally.inputs[target.name] >= target.examples, "Hypothesis gave up early"
    failures = tally.failures(target.name)
    assert not failures, f"{target.name}: {len(failures)} distinct failure(s)\n" + "\n".join(
        f.line() for f in failures
    )


# Building requests ----------------------------------------------------------------------


def _path(template: str, *segments: st.SearchStrategy[hs.Value]) -> st.SearchStrategy[str]:
    return st.builds(lambda *values: template.format(*(percent(v) for v in values)), *segments)


def form_post(
    path: str | st.SearchStrategy[str],
    known: dict[str, hs.Field],
    headers: st.SearchStrategy[tuple[tuple[str, str], ...]] | None = None,
    methods: tuple[str, ...] = ("POST",),
    query: dict[str, hs.Field] | None = None,
) -> Requests:
    """A form sent urlencoded or as multipart, with some of its fields, hostile."""
    return st.builds(
        HostileRequest,
        method=st.sampled_from(methods),
        path=st.just(path) if isinstance(path, str) else path,
        query=hs.fields(query).map(hs.in_request_line) if query else st.just(()),
        form=hs.fields(known),
        multipart=st.booleans(),
        headers=headers if headers is not None else st.just(()),
    )


def query_get(
    path: str | st.SearchStrategy[str],
    known: dict[str, hs.Field],
    headers: st.SearchStrategy[tuple[tuple[str, str], ...]] | None = None,
) -> Requests:
    return st.builds(
        HostileRequest,
        method=st.just("GET"),
        path=st.just(path) if isinstance(path, str) else path,
        query=hs.fields(known).map(hs.in_request_line),
        headers=headers if headers is not None else st.just(()),
    )


def post(path: str, **form: str) -> HostileRequest:
    """A seed: a form posted as a browser would."""
    return HostileRequest("POST", path, form=tuple(form.items()))


def get(path: str, **query: str) -> HostileRequest:
    return HostileRequest("GET", path, query=tuple(query.items()))


def api(world: World, method: str, path: str, body: bytes | None = None) -> HostileRequest:
    return HostileRequest(
        method,
        path,
        body=body,
        content_type="application/json" if body is not None else None,
        headers=(("Authorization", f"Bearer {world.api_key}"),),
    )


DEEP_8000 = hs.LongBytes(b"[" * 8000 + b"]" * 8000)
DEEP_YAML = hs.Long("[" * 2000 + "]" * 2000)


# A browser's own headers: the language, the page it came from, htmx's.
BROWSER_HEADERS = hs.headers(
    "User-Agent",
    "Accept-Language",
    "Referer",
    "HX-Request",
    "HX-Target",
    "HX-Trigger",
    "X-Forwarded-For",
    plausible={
        "Accept-Language": ["fr-FR,fr;q=0.9", "de", "*", "en;q=2", "xx-YY"],
        "Referer": [f"{LOCAL}/journey/consent", f"{LOCAL}/journey//evil.example", "/journey"],
        "HX-Request": ["true"],
        "HX-Target": ["div#journey", "div#customer-results"],
        "X-Forwarded-For": ["203.0.113.9", "1.1.1.1, 10.0.0.1"],
    },
)


def _redirected_to(*paths: str) -> Callable[[TestResponse], bool]:
    def moved(response: TestResponse) -> bool:
        if response.status_code == 403:
            return True  # the browser lost its run
        location = response.headers.get("Location", "")
        return response.status_code in (301, 302, 303, 307) and location.split("?")[0].endswith(
            paths
        )

    return moved


def _any_redirect(response: TestResponse) -> bool:
    return response.status_code in (301, 302, 303, 307) or response.status_code == 403


# The customer journey --------------------------------------------------------------------

UPLOAD_BOUNDARY = b"hostile-upload-boundary-Yq3x"
UPLOAD_CONTENTS = st.one_of(
    st.sampled_from([b"%PDF-1.4\n%%EOF\n", b"a,b\n1,2\n", b"", b"PK\x03\x04junk", b"\x00" * 9]),
    st.binary(max_size=200),
)
UPLOAD_NAMES = hs.field(
    "accounts.pdf",
    "ledger.csv",
    "Book 1.xlsx",
    bad=st.sampled_from(["../accounts.pdf", "a\\\\b.pdf", "x\x00.pdf", "", ".pdf", "a.PDF.exe"]),
).any


def _upload_body(
    files: list[tuple[hs.Value, bytes]], extras: tuple[tuple[str, hs.Value], ...]
) -> bytes:
    """A multipart body with ``files`` (hostile names, any bytes) under "files"."""
    parts = []
    for name, content in files:
        parts.append(
            b"--" + UPLOAD_BOUNDARY + b"\r\n"
            b'Content-Disposition: form-data; name="files"; filename="'
            + as_bytes(name).replace(b'"', b"%22")
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + content
            + b"\r\n"
        )
    for name, value in (("upload", "Upload and continue"), *extras):
        parts.append(
            b"--" + UPLOAD_BOUNDARY + b"\r\n"
            b'Content-Disposition: form-data; name="'
            + as_bytes(name)
            + b'"\r\n\r\n'
            + as_bytes(value)
            + b"\r\n"
        )
    return b"".join(parts) + b"--" + UPLOAD_BOUNDARY + b"--\r\n"


def upload_post() -> Requests:
    """The upload step's form: up to 15 files (more than the step takes) of any bytes
    under hostile names, beside hostile extra fields."""
    return st.builds(
        lambda files, extras, headers: HostileRequest(
            "POST",
            "/journey/upload",
            body=_upload_body(files, extras),
            content_type=f"multipart/form-data; boundary={UPLOAD_BOUNDARY.decode()}",
            headers=headers,
        ),
        st.lists(st.tuples(UPLOAD_NAMES, UPLOAD_CONTENTS), max_size=15),
        st.lists(st.tuples(hs.HOSTILE_NAMES, hs.near()), max_size=2).map(tuple),
        BROWSER_HEADERS,
    )


LEFT_THE_JOURNEY = _redirected_to("/journey/declined", "/journey/done")
CONSENT_FIELDS = (
    "consent_financial_statements",
    "consent_invoices_bills",
    "consent_ongoing_monitoring",
)


def _journey_step(step: str, known: dict[str, hs.Field], examples: int = 150) -> Target:
    return Target(
        f"POST /journey/{step}",
        "journey",
        step,
        lambda world: form_post(f"/journey/{step}", known, BROWSER_HEADERS),
        moved=LEFT_THE_JOURNEY,
        examples=examples,
    )


def _link_requests(world: World) -> Requests:
    return query_get(
        _path("/j/{}", hs.path_segment(world.ids.link_token)),
        {"embed": hs.field(optional=True), "lang": hs.field("fr", "de", "en-GB", optional=True)},
        BROWSER_HEADERS,
    )


def _step_pages(world: World) -> Requests:
    steps = hs.path_segment(*DEFAULT_PAGES)
    return query_get(
        st.one_of(
            _path("/journey/{}", steps),
            st.sampled_from(["/journey", "/journey/embed/status", "/journey/organisation"]),
        ),
        {"closed": hs.field("provider"), "finishing": hs.field("1")},
        BROWSER_HEADERS,
    )


DEFAULT_PAGES = ("welcome", "consent", "software", "connect", "done", "declined")


def _with_fresh_state(world: World, request: HostileRequest) -> HostileRequest:
    """Put the state of a flow just started into the callback, where the request has it."""
    if not any(value == REAL_STATE for _, value in request.query):
        return request
    browser = world.browser("connect")
    state = oauth_state(world.start_connection(browser))
    query = tuple((n, state if v == REAL_STATE else v) for n, v in request.query)
    return HostileRequest(request.method, request.path, query, headers=request.headers)


def _callback_requests(world: World) -> Requests:
    return query_get(
        _path("/connect/{}/callback", hs.path_segment("sandbox", "xero")),
        {
            "code": hs.field("a-code"),
            "state": hs.field(REAL_STATE),
            "iss": hs.field(world.sandbox.url),
            "error": hs.field("access_denied", "server_error", "temporarily_unavailable"),
            "error_description": hs.field("The user said no"),
            "scope": hs.field("accounting.read"),
        },
        BROWSER_HEADERS,
    )


def _language_requests(_: World) -> Requests:
    return form_post(
        "/journey/language",
        {
            "locale": hs.field("fr", "de", "en", "cy"),
            "next": hs.field("/journey/consent", "//evil.example", "/journey/../admin"),
        },
        BROWSER_HEADERS,
    )


JOURNEY: list[Target] = [
    Target("GET /j/<token>", "journey", "anonymous", _link_requests),
    Target("GET /journey/<step>", "journey", "connect", _step_pages),
    _journey_step("welcome", {"submit": hs.field("Continue")}),
    _journey_step(
        "consent",
        {
            **{name: hs.field("y", "on", "1") for name in CONSENT_FIELDS},
            "agree": hs.field("Agree and continue"),
            "decline": hs.field("Decline and stop"),
        },
        # Agreed by its button or by ticks: the step a customer's consent hangs on.
        examples=300,
    ),
    _journey_step("software", {"platform": hs.field("sandbox", "xero", "freeagent", "quickbooks")}),
    _journey_step("connect", {"submit": hs.field("Connect"), "finish": hs.field("Continue")}),
    Target(
        "GET /connect/<platform>/callback",
        "journey",
        "connect",
        _callback_requests,
        examples=80,
        moved=LEFT_THE_JOURNEY,
        prepare=_with_fresh_state,
        seeds=lambda world: [get("/connect/%00/callback", code="a", state="b")],
    ),
    Target(
        "GET /connect/handoff/<token>",
        "journey",
        "connect",
        lambda world: query_get(_path("/connect/handoff/{}", hs.path_segment()), {}),
        examples=60,
    ),
    Target(
        "POST /journey/organisation",
        "journey",
        "organisation",
        lambda world: form_post(
            "/journey/organisation",
            {"organisation": hs.field(*world.ids.organisations), "submit": hs.field()},
            BROWSER_HEADERS,
            methods=("POST", "GET"),
        ),
        moved=_any_redirect,
    ),
    Target(
        "POST /journey/declined",
        "journey",
        "declined",
        lambda world: form_post(
            "/journey/declined", {"submit": hs.field("Review")}, BROWSER_HEADERS, ("POST", "GET")
        ),
        examples=60,
        moved=_any_redirect,
    ),
    Target(
        "POST /journey/language",
        "journey",
        "software",
        _language_requests,
        seeds=lambda world: [post("/journey/language", next="/journey/consent\r\nSet-Cookie: a=b")],
    ),
    Target(
        "POST /journey/later",
        "journey",
        "software",
        lambda world: form_post(
            "/journey/later",
            {"submit": hs.field("Save and finish later")},
            BROWSER_HEADERS,
            ("POST", "GET"),
        ),
        examples=60,
        moved=_any_redirect,
    ),
    Target(
        "POST /journey/software (not_listed: the customer names their software)",
        "journey",
        "software",
        lambda world: form_post(
            "/journey/software",
            {
                "software": hs.field("Ledgerly", "Sage 50", "Café Compta"),
                "tell": hs.field("Tell Northwind Lending"),
            },
            BROWSER_HEADERS,
            ("POST", "GET"),
        ),
        examples=60,
        moved=_any_redirect,
    ),
    Target(
        "POST /journey/upload (files instead of connecting: names, kinds, counts)",
        "journey",
        "uploading",
        lambda world: upload_post(),
        examples=60,
        moved=_any_redirect,
    ),
    Target(
        "POST /journey/delegate (ask my accountant to do this)",
        "journey",
        "connect",
        lambda world: form_post(
            "/journey/delegate",
            {
                "name": hs.field("Jane Smith", "Zoë Ångström"),
                "email": hs.field("jane@accounts.example", "a@b"),
                "role": hs.field("accountant", "bookkeeper", "other"),
                "submit": hs.field("Create their link"),
            },
            BROWSER_HEADERS,
            ("POST", "GET"),
        ),
        examples=80,
        moved=_any_redirect,
    ),
    Target(
        "GET /journey/delegated/<token> and its pages (the person asked)",
        "journey",
        "anonymous",
        lambda world: query_get(
            st.one_of(
                _path("/journey/delegated/{}", hs.path_segment("x" * 43, "done")),
                st.sampled_from(["/journey/delegated", "/journey/delegated/organisation"]),
            ),
            {},
            BROWSER_HEADERS,
        ),
        examples=60,
        moved=_any_redirect,
    ),
    Target(
        "POST /journey/feedback (a rating and a line on the done or declined page)",
        "journey",
        "declined",
        lambda world: form_post(
            "/journey/feedback",
            {
                "rating": hs.field("1", "3", "5"),
                "comment": hs.field("Quick and clear", "Trop long", optional=True),
                "send": hs.field("Send feedback"),
            },
            BROWSER_HEADERS,
            ("POST", "GET"),
        ),
        examples=60,
        moved=_any_redirect,
    ),
    Target(
        "POST /journey/details (business form step)",
        "journey",
        "details",
        lambda world: form_post(
            "/journey/details",
            {
                "company_name": hs.field("Harbour Works Ltd"),
                "company_type": hs.field("limited", "sole_trader", "partnership"),
                "contact_email": hs.field("owner@harbour.example", "a@b"),
                "phone": hs.field("020 7946 0000", "+44 20 7946 0000"),
                "employees": hs.field("12", "0", "100000", bad=hs.NUMBER_TEXT),
                "trading_since": hs.field("2019-04-01", bad=hs.DATE_TEXT),
                "turnover": hs.field("under_100k", "100k_1m", "over_1m"),
                "vat_registered": hs.field("y"),
            },
            BROWSER_HEADERS,
        ),
        examples=300,
        moved=LEFT_THE_JOURNEY,
    ),
    Target(
        "POST /journey/company (business form step)",
        "journey",
        "company",
        lambda world: form_post(
            "/journey/company",
            {"registration_number": hs.field("01234567", "SC123456")},
            BROWSER_HEADERS,
        ),
        moved=LEFT_THE_JOURNEY,
    ),
    Target(
        "GET /journey-theme, /journey-logo",
        "journey",
        "anonymous",
        lambda world: query_get(
            st.one_of(
                _path("/journey-theme/{}/{}.css", *_pair_parts(world)),
                _path("/journey-logo/{}/{}", *_pair_parts(world)),
            ),
            {},
        ),
        examples=60,
        seeds=lambda world: [get("/journey-logo/default/%00"), get("/journey-theme/%00/x.css")],
    ),
]


# The customer's own page ------------------------------------------------------------------


def _record(world: World) -> st.SearchStrategy[hs.Value]:
    return hs.path_segment(*world.ids.records)


CUSTOMER_PAGE: list[Target] = [
    Target(
        "GET /my/<token>",
        "customer page",
        "anonymous",
        lambda world: query_get(
            _path("/my/{}", hs.path_segment(world.ids.manage_token)),
            {"reconfirm": hs.field(*world.ids.records), "lang": hs.field("fr", "de")},
            BROWSER_HEADERS,
        ),
        examples=150,
    ),
    Target(
        "GET /my",
        "customer page",
        "customer",
        lambda world: query_get(
            "/my",
            {"reconfirm": hs.field(*world.ids.records), "lang": hs.field("fr", "de", "en")},
            BROWSER_HEADERS,
        ),
        seeds=lambda world: [get("/my", reconfirm="\x00")],
        examples=150,
    ),
    Target(
        "GET+POST /my/consents/<id>/withdraw",
        "customer page",
        "customer",
        lambda world: form_post(
            _path("/my/consents/{}/withdraw", _record(world)),
            {"submit": hs.field("Withdraw consent")},
            BROWSER_HEADERS,
            ("GET", "POST"),
        ),
        seeds=lambda world: [post("/my/consents/%00/withdraw")],
        examples=150,
    ),
    Target(
        "POST /my/consents/<id>/reconfirm",
        "customer page",
        "customer",
        lambda world: form_post(
            _path("/my/consents/{}/reconfirm", _record(world)),
            {"submit": hs.field("Keep sharing")},
            BROWSER_HEADERS,
        ),
        seeds=lambda world: [post("/my/consents/%00/reconfirm")],
        examples=150,
    ),
    Target(
        "POST /my/delegations/<id>/revoke",
        "customer page",
        "customer",
        lambda world: form_post(
            _path("/my/delegations/{}/revoke", hs.path_segment(str(uuid.uuid4()))),
            {"submit": hs.field("Cancel the request")},
            BROWSER_HEADERS,
        ),
        seeds=lambda world: [post("/my/delegations/%00/revoke")],
        examples=60,
    ),
    Target(
        "GET+POST /my/connections/<id>/disconnect",
        "customer page",
        "customer",
        lambda world: form_post(
            _path("/my/connections/{}/disconnect", hs.path_segment(world.ids.connection)),
            {"submit": hs.field("Disconnect")},
            BROWSER_HEADERS,
            ("GET", "POST"),
        ),
        seeds=lambda world: [post("/my/connections/%00/disconnect")],
        examples=150,
    ),
    Target(
        "GET+POST /my/link",
        "customer page",
        "anonymous",
        lambda world: form_post(
            "/my/link",
            {"email": hs.field("owner@acme.example", "nobody@example.com")},
            BROWSER_HEADERS,
            ("GET", "POST"),
            query={"lang": hs.field("fr")},
        ),
        examples=150,
    ),
    Target(
        "GET /my/receipts/<id>[.json|.jwt]",
        "customer page",
        "customer",
        lambda world: query_get(
            st.builds(
                lambda receipt, suffix: f"/my/receipts/{percent(receipt)}{suffix}",
                hs.path_segment(world.ids.receipt),
                st.sampled_from(["", ".json", ".jwt"]),
            ),
            {"lang": hs.field("fr")},
        ),
        seeds=lambda world: [get("/my/receipts/%00")],
        examples=150,
    ),
]


# The admin console -----------------------------------------------------------------------

ADMIN_HEADERS = hs.headers(
    "HX-Request",
    "HX-Target",
    "Accept-Language",
    plausible={"HX-Request": ["true"], "HX-Target": ["div#customer-results", "#draft-problems"]},
)
FROM = hs.field("2024-02-29", bad=hs.DATE_TEXT, optional=True)
TO = hs.field("2099-12-31", "2025-01-31", bad=hs.DATE_TEXT, optional=True)
ROW_IDS = hs.field("1", "18", bad=hs.NUMBER_TEXT, optional=True)
ROLES = hs.field("admin", "editor", "support", "advisor", "viewer")


def _signed_in(response: TestResponse) -> bool:
    return response.status_code in (302, 303)


def _customer(world: World) -> st.SearchStrategy[hs.Value]:
    return hs.path_segment(world.ids.customer)


def _draft_yaml() -> hs.Field:
    return hs.field(
        DRAFT_YAML_PLAIN,
        bad=hs.pick(
            (3, st.builds(_yaml_with, hs.hostile_text, st.sampled_from(YAML_SLOTS))),
            (2, st.sampled_from(NASTY_YAML)),
            (1, hs.DEEP_JSON),
        ),
    )


DRAFT_YAML_PLAIN = "id: x\nname: X\nbusiness: {name: B, purpose: p}\nsteps: []\n"
YAML_SLOTS = ["id", "name", "business.name", "title", "locale", "field", "option", "key"]


def _yaml_with(value: str, slot: str) -> str:
    import json

    quoted = json.dumps(value)  # a JSON string is a YAML double-quoted scalar
    values = {s: '"x"' for s in YAML_SLOTS}
    values[slot] = quoted
    return (
        f"id: {values['id']}\nname: {values['name']}\nlocales: [en, {values['locale']}]\n"
        f"business: {{name: {values['business.name']}, purpose: p}}\n"
        f"steps:\n  - {{id: welcome, type: welcome, title: {values['title']}}}\n"
        f"  - id: c\n    type: consent\n    title: t\n    items:\n"
        f"      - {{key: {values['key']}, category: c, purpose: p, retention: r, recipients: r}}\n"
        f"  - id: f\n    type: form\n    title: t\n    fields:\n"
        f"      - {{name: {values['field']}, label: l, type: select, options: "
        f"[{{value: {values['option']}, label: o}}]}}\n"
        f"  - {{id: done, type: done, title: d}}\n"
    )


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


NASTY_YAML = [
    "",
    "~",
    "[]",
    "- a\n- b\n",
    "id: !!python/object/apply:os.system ['true']\n",
    "id: !!binary AAAA\n",
    "id: !!timestamp 2024-13-45\n",
    "id: !!float .nan\nname: .inf\n",
    "? [a, b]\n: c\n",
    "? {a: b}\n: c\n",
    "id: x\nid: y\n",
    "id: 1e999999\n",
    hs.Long("id: " + "9" * 5000 + "\n"),
    "<<: *missing\n",
    "a: &a [*a]\n",
    "id: x\n\tname: tab\n",
    "%YAML 9.9\n---\nid: x\n",
    "--- a\n--- b\n",
    "id: '\x00'\n",
    'id: "\\0"\n',
    'id: "\\ud800"\n',
    hs.Long("id: x\n" + "  " * 2000 + "deep: 1\n"),
    hs.Long("a:\n" + "".join("  " * i + "- \n" for i in range(1, 300))),
    hs.Long("[" * 5000 + "]" * 5000),
    hs.Long("{a: " * 3000 + "1" + "}" * 3000),
    hs.Long(_laughs(4)),
    hs.Long(_laughs(6)),
]


def _draft_requests(world: World) -> Requests:
    return form_post(
        st.sampled_from(["/admin/journey-drafts", "/admin/journey-drafts/check"]).flatmap(
            lambda path: (
                st.just(path)
                if path.endswith("check")
                else st.one_of(st.just(path), _path("/admin/journey-drafts/{}", _draft(world)))
            )
        ),
        {"yaml_text": _draft_yaml(), "upload": _draft_yaml(), "submit": hs.field("Save draft")},
        ADMIN_HEADERS,
    )


def _draft(world: World) -> st.SearchStrategy[hs.Value]:
    return hs.path_segment(world.ids.draft)


def _previews(world: World) -> st.SearchStrategy[tuple[hs.Value, hs.Value]]:
    """A journey id and a source to preview: a real pair, or hostile parts."""
    real = [(journey, version) for journey, version in world.ids.versions.items()]
    real.append(("hostile-draft", f"draft-{world.ids.draft}"))
    hostile = st.tuples(
        hs.path_segment("default", "business"), hs.path_segment(*world.ids.versions.values())
    )
    return hs.pick((2, st.sampled_from(real)), (1, hostile))


PREVIEW_PAGES = ["", "/theme.css", "/logo", "/declined", "/step/welcome", "/step/consent"]


def _journey_pages(world: World) -> Requests:
    journey = hs.path_segment("default", "business", "hostile-draft")
    preview = st.builds(
        lambda pair, page: f"/admin/journeys/{percent(pair[0])}/preview/{percent(pair[1])}{page}",
        _previews(world),
        hs.pick((3, st.sampled_from(PREVIEW_PAGES)), (1, _path("/step/{}", hs.path_segment()))),
    )
    return query_get(
        hs.pick(
            (3, preview),
            (1, _path("/admin/journeys/{}", journey)),
            (1, _path("/admin/journeys/{}/versions/{}", *_pair_parts(world))),
            (1, _path("/admin/journeys/{}/diff", journey)),
            (1, _path("/admin/journeys/{}/privacy", journey)),
            (
                1,
                st.sampled_from(
                    ["/admin/journeys/default/privacy.md", "/admin/journeys/business/privacy.json"]
                ),
            ),
            (1, _path("/admin/journey-drafts/{}", _draft(world))),
            (1, st.sampled_from(["/admin/journey-drafts/new", "/admin/journeys"])),
        ),
        {
            "from": hs.field("default", *world.ids.versions.values(), optional=True),
            "to": hs.field(*world.ids.versions.values(), optional=True),
            "brand": hs.field("business", "default", optional=True),
        },
        ADMIN_HEADERS,
    )


def _pair_parts(world: World) -> tuple[st.SearchStrategy[hs.Value], st.SearchStrategy[hs.Value]]:
    return hs.path_segment(*world.ids.versions), hs.path_segment(*world.ids.versions.values())


def _preview_posts(world: World) -> Requests:
    preview = st.builds(
        lambda pair, page: f"/admin/journeys/{percent(pair[0])}/preview/{percent(pair[1])}{page}",
        _previews(world),
        hs.pick(
            (1, st.just("")),
            (1, st.just("/language")),
            (1, st.just("/declined")),
            (3, _path("/step/{}", hs.path_segment("welcome", "consent", "software", "details"))),
        ),
    )
    return form_post(
        preview,
        {
            "locale": hs.field("en", "fr"),
            "brand": hs.field("business", "", optional=True),
            "company_name": hs.field("Acme", optional=True),
            "employees": hs.field("12", bad=hs.NUMBER_TEXT, optional=True),
            "since": hs.field("2020-01-01", bad=hs.DATE_TEXT, optional=True),
            "platform": hs.field("sandbox", optional=True),
            "consent_financial_statements": hs.field("y", optional=True),
            "consent_invoices_bills": hs.field("y", optional=True),
            "agree": hs.field("Agree and continue", optional=True),
            "decline": hs.field(optional=True),
        },
        ADMIN_HEADERS,
    )


def _user_id(world: World) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([str(world.ids.colleague_id), str(world.ids.admin_id), "0", "999999"]),
        st.integers(min_value=0).map(str),
        st.sampled_from(["9" * 19, "9" * 40, hs.Long("1" + "0" * 400)]),
    )


def _endpoint_actions(world: World) -> Requests:
    endpoint = hs.path_segment(world.ids.endpoint)
    return form_post(
        st.one_of(
            _path("/admin/webhooks/endpoints/{}/enable", endpoint),
            _path("/admin/webhooks/endpoints/{}/disable", endpoint),
            # Only unknown ids for "test": a real one would send a request out.
            _path("/admin/webhooks/endpoints/{}/test", hs.path_segment()),
            _path("/admin/webhooks/deliveries/{}/replay", hs.path_segment()),
        ),
        {"submit": hs.field()},
        ADMIN_HEADERS,
    )


ADMIN: list[Target] = [
    Target(
        "POST /admin/login",
        "admin",
        "anonymous",
        lambda world: form_post(
            "/admin/login",
            {
                "email": hs.field(world.ids.admin_email, "nobody@example.com"),
                "password": hs.field(PASSWORD, "wrong"),
                "submit": hs.field("Sign in"),
            },
            ADMIN_HEADERS,
            ("POST", "GET"),
            query={"next": hs.field("/admin/customers", "//evil.example", "/admin/\\evil")},
        ),
        # Each sign-in checks an Argon2 hash (also for an unknown email): slow on purpose.
        examples=40,
        moved=_signed_in,
        seeds=lambda world: [
            post("/admin/login", email="\x00", password="x"),
            HostileRequest(
                "POST",
                "/admin/login",
                query=(("next", "/admin/\r\nSet-Cookie: a=b"),),
                form=(("email", world.ids.admin_email), ("password", PASSWORD)),
            ),
        ],
    ),
    Target(
        "GET /admin/customers (search)",
        "admin",
        "admin",
        lambda world: query_get(
            "/admin/customers",
            {
                "q": hs.field("Acme", "acme-1", "owner@"),
                "assigned": hs.field("", "me", "nobody"),
                "before": ROW_IDS,
                "after": ROW_IDS,
            },
            ADMIN_HEADERS,
        ),
        examples=300,
        seeds=lambda world: [
            get("/admin/customers", q="\x00"),
            get("/admin/customers", before=" "),
            get("/admin/customers", after="9" * 18),
            get("/admin/customers", assigned="\x00"),
        ],
    ),
    Target(
        "POST /admin/customers/new and <id>/assignee",
        "admin",
        "admin",
        lambda world: st.one_of(
            form_post(
                "/admin/customers/new",
                {
                    "name": hs.field("Newco Ltd"),
                    "email": hs.field("owner@newco.example", "a@b"),
                    "external_id": hs.field("", "LOAN-1"),
                    "journey": hs.field("default", "business"),
                },
                ADMIN_HEADERS,
            ),
            form_post(
                _path("/admin/customers/{}/assignee", _customer(world)),
                {"assignee": hs.field("", "1", "99999999999999999999")},
                ADMIN_HEADERS,
            ),
        ),
        examples=200,
        seeds=lambda world: [
            post("/admin/customers/new", name="\x00", email="a@b.example", journey="default"),
            post(f"/admin/customers/{world.ids.customer}/assignee", assignee="\x00"),
        ],
    ),
    Target(
        "GET /admin/customers/<id>",
        "admin",
        "admin",
        lambda world: query_get(_path("/admin/customers/{}", _customer(world)), {}),
        examples=120,
        seeds=lambda world: [get("/admin/customers/%00")],
    ),
    Target(
        "GET /admin/help/<screen> and its screenshot",
        "admin",
        "admin",
        lambda world: query_get(
            st.one_of(
                _path("/admin/help/{}", hs.path_segment("overview", "customer", "go-live")),
                _path(
                    "/admin/help/screenshots/{}.png",
                    hs.path_segment("overview", "webhooks", "README"),
                ),
            ),
            {},
        ),
        examples=120,
        seeds=lambda world: [
            get("/admin/help/..%2FREADME"),
            get("/admin/help/screenshots/..%2F..%2Fadmin.png"),
            get("/admin/help/%00"),
        ],
    ),
    Target(
        "POST /admin/customers/<id>/notes",
        "admin",
        "admin",
        lambda world: form_post(
            _path("/admin/customers/{}/notes", _customer(world)),
            {"body": hs.field("Called the customer", "x"), "submit": hs.field("Add note")},
            ADMIN_HEADERS,
        ),
        examples=200,
        seeds=lambda world: [post(f"/admin/customers/{world.ids.customer}/notes", body="\x00")],
    ),
    Target(
        "POST /admin/customers/<id>/links, reconnect-link, disconnect",
        "admin",
        "admin",
        lambda world: form_post(
            st.one_of(
                _path("/admin/customers/{}/links", _customer(world)),
                _path(
                    "/admin/customers/{}/connections/{}/reconnect-link",
                    _customer(world),
                    hs.path_segment(world.ids.connection),
                ),
                _path(
                    "/admin/customers/{}/connections/{}/disconnect",
                    _customer(world),
                    hs.path_segment(),
                ),
                _path(
                    "/admin/customers/{}/links/{}/revoke",
                    _customer(world),
                    hs.path_segment(),
                ),
            ),
            {
                "journey": hs.field("default", "business", "reconnect"),
                "single_use": hs.field("y", optional=True),
                "send_email": hs.field("y", optional=True),
            },
            ADMIN_HEADERS,
            ("POST", "GET"),
        ),
        seeds=lambda world: [post("/admin/customers/%00/links", journey="default")],
    ),
    Target(
        "GET /admin/audit (filter)",
        "admin",
        "admin",
        lambda world: query_get(
            "/admin/audit",
            {
                "actor": hs.field(world.ids.admin_email),
                "action": hs.field("user.login", "note.add"),
                "subject_type": hs.field("customer", "user"),
                "subject_id": hs.field(world.ids.customer),
                "date_from": FROM,
                "date_to": TO,
                "before": ROW_IDS,
                "after": ROW_IDS,
            },
        ),
        examples=300,
        seeds=lambda world: [get("/admin/audit", actor="\x00"), get("/admin/audit", after="\n")],
    ),
    Target(
        "GET /admin/consents and exports (filter)",
        "admin",
        "admin",
        lambda world: query_get(
            st.sampled_from(
                ["/admin/consents", "/admin/consents/export.csv", "/admin/consents/export.jsonl"]
            ),
            {
                "journey": hs.field("default", "business"),
                "item": hs.field("financial_statements", "invoices_bills"),
                "decision": hs.field("granted", "declined", "withdrawn"),
                "date_from": FROM,
                "date_to": TO,
                "before": ROW_IDS,
                "after": ROW_IDS,
            },
        ),
        examples=250,
        seeds=lambda world: [get("/admin/consents", item="\x00")],
    ),
    Target(
        "GET /admin/funnel (filter)",
        "admin",
        "admin",
        lambda world: query_get(
            "/admin/funnel",
            {
                "journey": hs.field("default", "business"),
                "version": hs.field(""),
                "first": hs.field("2024-02-29", bad=hs.DATE_TEXT),
                "last": hs.field("2025-01-31", bad=hs.DATE_TEXT),
            },
        ),
    ),
    Target(
        "GET /admin/webhooks (filter)",
        "admin",
        "admin",
        lambda world: query_get(
            "/admin/webhooks",
            {
                "status": hs.field("pending", "failed", "succeeded"),
                "to": hs.field(world.ids.endpoint),
                "before": ROW_IDS,
            },
        ),
        seeds=lambda world: [
            get("/admin/webhooks", to="\x00"),
            get("/admin/webhooks", before="9" * 20),
        ],
    ),
    Target(
        "POST /admin/webhooks/endpoints|deliveries/<id>/<action>",
        "admin",
        "admin",
        _endpoint_actions,
        examples=120,
        seeds=lambda world: [
            post("/admin/webhooks/endpoints/%00/enable"),
            post("/admin/webhooks/deliveries/%00/replay"),
        ],
    ),
    Target(
        "POST /admin/users (new colleague)",
        "admin",
        "admin",
        lambda world: form_post(
            "/admin/users",
            {"email": hs.field("new.colleague@example.com", "a@b"), "role": ROLES},
            ADMIN_HEADERS,
        ),
    ),
    Target(
        "POST /admin/users/<id>/role|deactivate",
        "admin",
        "admin",
        lambda world: form_post(
            st.builds(
                lambda user, action: f"/admin/users/{percent(user)}/{action}",
                st.one_of(_user_id(world), hs.path_segment()),
                st.sampled_from(["role", "deactivate", "customers"]),
            ),
            {"role": ROLES, "own_customers_only": hs.field("y", "", "no")},
            ADMIN_HEADERS,
        ),
        seeds=lambda world: [post("/admin/users/99999999999999999999/role", role="admin")],
        examples=200,
    ),
    Target(
        "POST /admin/api-keys (+ revoke)",
        "admin",
        "admin",
        lambda world: form_post(
            st.one_of(
                st.just("/admin/api-keys"),
                _path("/admin/api-keys/{}/revoke", hs.path_segment(world.ids.key_prefix)),
            ),
            {
                "name": hs.field("loan backend"),
                "scopes": hs.field("read", "write", "credentials"),
            },
            ADMIN_HEADERS,
        ),
        seeds=lambda world: [
            post("/admin/api-keys", name="\x00", scopes="read"),
            post("/admin/api-keys/%00/revoke"),
        ],
    ),
    Target(
        "POST /admin/journey-drafts (editor)",
        "admin",
        "admin",
        _draft_requests,
        examples=150,
        seeds=lambda world: [
            post("/admin/journey-drafts/check", yaml_text=DEEP_YAML),
            post("/admin/journey-drafts", yaml_text="id: 0000-01-01\n"),
            post("/admin/journey-drafts/check", yaml_text="id: !!timestamp 2024-13-45\n"),
            post("/admin/journey-drafts/check", yaml_text=hs.Long("id: " + "9" * 5000)),
            post("/admin/journey-drafts/%00", yaml_text="id: x\n"),
        ],
    ),
    Target(
        "POST /admin/journey-drafts/<id>/publish|discard",
        "admin",
        "admin",
        lambda world: form_post(
            st.builds(
                lambda draft, action: f"/admin/journey-drafts/{percent(draft)}/{action}",
                hs.path_segment(),
                st.sampled_from(["publish", "discard"]),
            ),
            {"submit": hs.field()},
        ),
        examples=80,
        seeds=lambda world: [post("/admin/journey-drafts/%00/publish")],
    ),
    Target(
        "GET /admin/journeys/... (pages)",
        "admin",
        "admin",
        _journey_pages,
        seeds=lambda world: [
            get("/admin/journeys/default/versions/%00"),
            get("/admin/journeys/%00/privacy.json"),
            get("/admin/journey-drafts/new", **{"from": "\x00"}),
        ],
    ),
    Target(
        "POST /admin/journeys/<id>/preview/...",
        "admin",
        "admin",
        _preview_posts,
        seeds=lambda world: [post("/admin/journeys/default/preview/%00", locale="en")],
    ),
]


# The API ------------------------------------------------------------------------------

EVENT_TYPES = ["consent.granted", "connection.linked", "journey.completed"]


def _api_headers(world: World) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    key = f"Bearer {world.api_key}"
    authorization = hs.pick(
        (10, st.just(key)),
        (1, st.sampled_from(["", "Bearer", "Bearer ", "Basic YTpi", key + "x", key.lower()])),
        (1, hs.HEADER_VALUE.map(lambda value: "Bearer " + value)),
    )
    others = hs.headers(
        "Idempotency-Key",
        "Accept",
        "Accept-Language",
        plausible={
            "Idempotency-Key": ["key-1", "a" * 300, ""],
            "Accept": ["application/json", "text/html", "*/*"],
        },
    )
    return st.builds(lambda auth, rest: (("Authorization", auth), *rest), authorization, others)


def _external_id() -> st.SearchStrategy[hs.Value]:
    return hs.path_segment("acme-1", "acme-2", "a" * 200, "a" * 201, "x:y@z.example", good=9)


def _id(*real: str) -> st.SearchStrategy[hs.Value]:
    return hs.path_segment(*real, "00000000-0000-4000-8000-000000000000", good=9)


def _method(own: str) -> st.SearchStrategy[str]:
    others = ["OPTIONS", "TRACE", "HEAD", "PATCH", "DELETE", "PUT", "POST", "GET"]
    return hs.pick((12, st.just(own)), (1, st.sampled_from([m for m in others if m != own])))


def _api_body(
    world: World,
    method: str,
    path: st.SearchStrategy[str],
    known: dict[str, hs.Field] | None,
) -> Requests:
    return st.builds(
        HostileRequest,
        method=_method(method),
        path=path,
        body=hs.json_body(known) if known is not None else NO_BODY,
        content_type=hs.JSON_CONTENT_TYPES,
        headers=_api_headers(world),
    )


def _api_query(world: World, path: st.SearchStrategy[str], known: dict[str, hs.Field]) -> Requests:
    return st.builds(
        HostileRequest,
        method=_method("GET"),
        path=path,
        query=hs.fields(known).map(hs.in_request_line),
        headers=_api_headers(world),
    )


NO_BODY = hs.pick((3, st.none()), (1, hs.MALFORMED_JSON), (1, hs.DEEP_JSON))
CUSTOMER_BODY: dict[str, hs.Field] = {
    "name": hs.field("Acme Ltd"),
    "email": hs.field("owner@acme.example"),
}


def _link_body(world: World) -> dict[str, hs.Field]:
    return {
        "journey_id": hs.field("default", "business", "reconnect", optional=True),
        "locale": hs.field("fr", "de", "en-GB", optional=True),
        "platform": hs.field("sandbox", "xero", optional=True),
        "return_url": hs.field("https://lender.example/onramp/done", optional=True),
        "expires_in": EXPIRES_IN,
        "reconnect": hs.field(world.ids.connection, optional=True),
        "send_email": hs.field(True, False, optional=True, bad=st.sampled_from(["yes", 1, 0])),
        "single_use": hs.field(True, False, optional=True, bad=st.sampled_from(["true", 1])),
    }


EXPIRES_IN = hs.field(
    60,
    3600,
    optional=True,
    bad=hs.pick(
        (1, st.integers()),
        (1, st.floats()),
        (1, st.sampled_from([59, 2**63, -(2**63) - 1, 10**400, 1e308, 60.5])),
    ),
)
UNSAFE_URLS = [
    "https://127.0.0.1/",
    "https://[::1]/",
    "https://169.254.169.254/latest",
    "https://0x7f.1/",
    "https://2130706433/",
    "https://[::ffff:127.0.0.1]/",
    "https://user:pw@hooks.example/",
    "https://hooks.example:99999/",
    "https://hooks.example:-1/",
    "https://[fe80::1%25eth0]/",
    "https://\x00/",
    "https://exa\u202emple.com/",
    "https://" + "a" * 64 + ".example/",
    "https://./",
    "https:///x",
    "https://hooks.example/#frag",
    "http://hooks.example/",
    "ftp://hooks.example/",
]
ENDPOINT_BODY: dict[str, hs.Field] = {
    "url": hs.field(
        "https://hooks.example/onramp",
        bad=hs.pick(
            (1, st.builds(lambda v: "https://hooks.example/" + v, hs.hostile_text)),
            (1, st.sampled_from(UNSAFE_URLS)),
        ),
    ),
    "event_types": hs.Field(
        st.lists(st.sampled_from(EVENT_TYPES), max_size=3),
        hs.pick(
            (2, st.lists(hs.pick((1, st.sampled_from(EVENT_TYPES)), (1, hs.hostile_text)))),
            (1, hs.JSON_VALUES),
        ),
    ),
    "description": hs.field("Our backend", optional=True),
}
TIMES = hs.pick((1, hs.DATE_TEXT), (1, hs.NUMBER_TEXT))
LIMIT = hs.field("1", "100", bad=hs.NUMBER_TEXT, optional=True)


def _consent_query(world: World) -> dict[str, hs.Field]:
    return {
        "customer": hs.field("acme-1", optional=True),
        "journey_id": hs.field("default", optional=True),
        "item": hs.field("financial_statements", optional=True),
        "decision": hs.field("granted", "withdrawn", optional=True),
        "since": hs.field("2024-01-01T00:00:00Z", bad=TIMES, optional=True),
        "until": hs.field("2099-01-01T00:00:00+01:00", bad=TIMES, optional=True),
        "limit": LIMIT,
        "cursor": hs.field(world.ids.consent_cursor, optional=True),
    }


CONNECTION_QUERY: dict[str, hs.Field] = {
    "customer": hs.field("acme-1", optional=True),
    "platform": hs.field("sandbox", optional=True),
    "status": hs.field("linked", "failed", optional=True),
    "limit": LIMIT,
    "cursor": hs.field(optional=True),
}


def _any_api_path(_: World) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["/api/", "/api/v1", "/api/v1/", "/api/v2/customers", "/api/openapi.json"]),
        _path("/api/{}", hs.path_segment("v1")),
        _path("/api/v1/{}", hs.path_segment("customers", "consents", "connections")),
    )


API: list[Target] = [
    Target(
        "PUT /api/v1/customers/<external_id>",
        "api",
        "api",
        lambda world: _api_body(
            world, "PUT", _path("/api/v1/customers/{}", _external_id()), CUSTOMER_BODY
        ),
        examples=800,
        api=True,
        seeds=lambda world: [
            api(
                world,
                "PUT",
                "/api/v1/customers/acme-1",
                b'{"name": "\\u0000", "email": "a@b.example"}',
            ),
            api(world, "PUT", "/api/v1/customers/acme-1", DEEP_8000),
            api(world, "TRACE", "/api/v1/customers/acme-1"),
        ],
    ),
    Target(
        "GET /api/v1/customers/<external_id>",
        "api",
        "api",
        lambda world: _api_query(world, _path("/api/v1/customers/{}", _external_id()), {}),
        examples=200,
        api=True,
    ),
    Target(
        "POST /api/v1/customers/<external_id>/links",
        "api",
        "api",
        lambda world: _api_body(
            world, "POST", _path("/api/v1/customers/{}/links", _external_id()), _link_body(world)
        ),
        examples=500,
        api=True,
    ),
    Target(
        "GET /api/v1/consents",
        "api",
        "api",
        lambda world: _api_query(world, st.just("/api/v1/consents"), _consent_query(world)),
        examples=600,
        api=True,
        seeds=lambda world: [api(world, "GET", "/api/v1/consents?item=%00")],
    ),
    Target(
        "POST /api/v1/consents/<id>/withdraw",
        "api",
        "api",
        lambda world: _api_body(
            world, "POST", _path("/api/v1/consents/{}/withdraw", _id(*world.ids.records)), None
        ),
        examples=150,
        api=True,
    ),
    Target(
        "GET /api/v1/connections",
        "api",
        "api",
        lambda world: _api_query(world, st.just("/api/v1/connections"), CONNECTION_QUERY),
        examples=350,
        api=True,
        seeds=lambda world: [api(world, "GET", "/api/v1/connections?platform=%00")],
    ),
    Target(
        "GET /api/v1/connections/<id>[/credentials]",
        "api",
        "api",
        lambda world: _api_query(
            world,
            st.builds(
                lambda connection, suffix: f"/api/v1/connections/{percent(connection)}{suffix}",
                _id(world.ids.connection),
                st.sampled_from(["", "/credentials"]),
            ),
            {},
        ),
        examples=150,
        api=True,
    ),
    Target(
        "GET /api/v1/customers/<external_id>/uploads, /api/v1/uploads/<id>[/content]",
        "api",
        "api",
        lambda world: _api_query(
            world,
            st.one_of(
                st.builds(
                    lambda customer: f"/api/v1/customers/{percent(customer)}/uploads",
                    hs.path_segment(world.ids.external_id, good=9),
                ),
                st.builds(
                    lambda upload, suffix: f"/api/v1/uploads/{percent(upload)}{suffix}",
                    _id(),
                    st.sampled_from(["", "/content"]),
                ),
            ),
            {},
        ),
        examples=100,
        api=True,
    ),
    Target(
        "GET /api/v1/links/<id>, POST .../revoke, .../reissue",
        "api",
        "api",
        lambda world: st.one_of(
            _api_query(world, _path("/api/v1/links/{}", _id()), {}),
            _api_body(
                world,
                "POST",
                st.builds(
                    lambda link, action: f"/api/v1/links/{percent(link)}/{action}",
                    _id(),
                    st.sampled_from(["revoke", "reissue"]),
                ),
                None,
            ),
        ),
        examples=100,
        api=True,
    ),
    Target(
        "POST /api/v1/connections/<id>/disconnect",
        "api",
        "api",
        lambda world: _api_body(
            world, "POST", _path("/api/v1/connections/{}/disconnect", _id()), None
        ),
        examples=100,
        api=True,
    ),
    Target(
        "GET /api/v1/journeys, /webhook-endpoints",
        "api",
        "api",
        lambda world: _api_query(
            world,
            st.sampled_from(["/api/v1/journeys", "/api/v1/webhook-endpoints"]),
            {},
        ),
        examples=100,
        api=True,
    ),
    Target(
        "POST /api/v1/webhook-endpoints",
        "api",
        "api",
        lambda world: _api_body(world, "POST", st.just("/api/v1/webhook-endpoints"), ENDPOINT_BODY),
        examples=500,
        api=True,
        seeds=lambda world: [
            api(
                world,
                "POST",
                "/api/v1/webhook-endpoints",
                b'{"url": "https://hooks.example/x", "description": "\\u0000"}',
            )
        ],
    ),
    Target(
        "DELETE /api/v1/webhook-endpoints/<id>",
        "api",
        "api",
        lambda world: _api_body(
            world, "DELETE", _path("/api/v1/webhook-endpoints/{}", _id()), None
        ),
        examples=100,
        api=True,
    ),
    Target(
        "ANY /api/<anything>",
        "api",
        "api",
        lambda world: st.builds(
            HostileRequest,
            method=st.sampled_from(
                ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "HEAD", "PROPFIND"]
            ),
            path=_any_api_path(world),
            query=hs.fields({"limit": hs.field("1", bad=hs.NUMBER_TEXT)}).map(hs.in_request_line),
            body=st.one_of(st.none(), hs.MALFORMED_JSON),
            content_type=hs.JSON_CONTENT_TYPES,
            headers=_api_headers(world),
        ),
        examples=400,
        api=True,
        seeds=lambda world: [api(world, "GET", "/api/v1/a%0Ab")],
    ),
    Target(
        "POST /webhooks/platforms/<platform>",
        "api",
        "anonymous",
        lambda world: st.builds(
            HostileRequest,
            method=st.just("POST"),
            path=_path("/webhooks/platforms/{}", hs.path_segment("sandbox", "xero", "quickbooks")),
            body=hs.json_body(
                {
                    "events": hs.Field(st.just([]), hs.JSON_VALUES),
                    "type": hs.field("connection.revoked"),
                }
            ),
            content_type=hs.JSON_CONTENT_TYPES,
            headers=hs.headers(
                "X-Xero-Signature", "Intuit-Signature", "X-Sandbox-Signature", "Authorization"
            ),
        ),
        examples=250,
    ),
]

TARGETS: list[Target] = [*JOURNEY, *CUSTOMER_PAGE, *ADMIN, *API]
