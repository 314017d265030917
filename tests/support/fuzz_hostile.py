"""Hostile requests for the fuzzing run (`tests/support/fuzz.py`): what schemathesis does not
generate, sent to every fuzzed operation with its path parameters filled in.

- bodies nested past the 100-level limit (with escaped surrogates at the bottom, as the
  issue's 600-950 levels that were a 500): a POST must answer 400 with the limit's message;
- bodies under `Content-Type`s that are not JSON, and forms that are not valid;
- a foreign `Origin` (a web page's request, `text/plain` so that it needs no preflight): 403;
- a foreign `Host` (DNS rebinding: the page's own name, with a matching Origin): 421;
- the server's own origin: never refused for its origin.

Every answer is judged as the generated cases are (no 5xx, an `{"errors": [...]}` body), and
each kind must also get its own status.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

DEPTH_MESSAGE = (
    "failed to parse JSON input: the body nests arrays and objects more than 100 levels deep; "
    "send a flatter body"
)
PATH_PARAMETER = re.compile(r"\{[^}]+\}")
NAME = "fuzz-hostile"
FOREIGN = "evil.example"


def _nested(depth: int, bottom: str, arrays: bool = False) -> bytes:
    opener, closer = ("[", "]") if arrays else ('{"a":', "}")
    return ('{"top":' + opener * (depth - 1) + bottom + closer * (depth - 1) + "}").encode()


DEEP_BODIES: dict[str, bytes] = {
    "101 levels": _nested(101, "1"),
    "700 levels around a surrogate": _nested(700, '"\\ud800"'),
    "950 levels around a surrogate": _nested(950, '"\\udfff x"', arrays=True),
    "100,000 arrays": b"[" * 100_000,
}
BODY = b'{"fuzz_hostile": "x"}'
CONTENT_TYPES: dict[str, tuple[str, bytes]] = {
    "text/plain JSON": ("text/plain", BODY),
    "form type, JSON body": ("application/x-www-form-urlencoded", BODY),
    "invalid form": ("application/x-www-form-urlencoded", b"a=%ff&b=%zz&&=&c"),
    "multipart": ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n"),
    "utf-16 JSON": ("application/json; charset=utf-16", BODY.decode().encode("utf-16")),
    "xml": ("application/xml", b"<a>1</a>"),
    "no type": ("", BODY),
}


@dataclass(frozen=True)
class Hostile:
    """One request: a description, its headers and body, and the status it must get (None:
    any but a 5xx)."""

    kind: str
    headers: dict[str, str]
    body: bytes | None
    expect: int | None
    refused_for_origin: bool | None = None  # False: must not be refused for its origin


def hostile_requests(method: str, own_origin: str, port: int) -> Iterator[Hostile]:
    post = method in ("POST", "PUT")
    if post:
        for kind, body in DEEP_BODIES.items():
            yield Hostile(f"deep body: {kind}", {"Content-Type": "application/json"}, body, 400)
        for kind, (content_type, body) in CONTENT_TYPES.items():
            yield Hostile(f"content type: {kind}", {"Content-Type": content_type}, body, None)
    browser = {"Content-Type": "text/plain"}
    body = BODY if post else None
    yield Hostile("foreign origin", {**browser, "Origin": f"http://{FOREIGN}"}, body, 403)
    yield Hostile("null origin", {**browser, "Origin": "null"}, body, 403)
    rebound = f"{FOREIGN}:{port}"
    yield Hostile("foreign host", {"Host": rebound}, None, 421)
    rebinding = {**browser, "Host": rebound, "Origin": f"http://{rebound}"}
    yield Hostile("DNS rebinding", rebinding, body, 421)
    yield Hostile("own origin", {**browser, "Origin": own_origin}, body, None, False)


def concrete_path(template: str) -> str:
    return PATH_PARAMETER.sub(NAME, template)


# (the operation's path template, status, body) -> what is wrong with the answer, or None
Judge = Callable[[str, int, str], str | None]
Record = Callable[[str, str, int, str, str | None], None]


@dataclass(frozen=True)
class Target:
    """The server under test: its `/v1` URL and port, the root token, a session to it."""

    session: requests.Session
    base_url: str
    port: int
    token: str

    @property
    def own_origin(self) -> str:
        return self.base_url.removesuffix("/v1")


def send_hostile(target: Target, operation: Any, judge: Judge, record: Record) -> None:
    """Send every hostile request for `operation`; `record(label, kind, status, text, problem)`
    is told of each answer, with what is wrong with it (None: nothing)."""
    method = operation.method.upper()
    label = f"{method} {operation.path}"
    url = target.base_url + concrete_path(operation.path)
    for hostile in hostile_requests(method, target.own_origin, target.port):
        headers = {"X-Vault-Token": target.token, **hostile.headers}
        try:
            answer = target.session.request(
                method, url, headers=headers, data=hostile.body, timeout=30, allow_redirects=False
            )
        except requests.RequestException as exc:
            record(label, hostile.kind, 0, f"{type(exc).__name__}: {exc}", "no answer")
            continue
        text = answer.text[:500]
        problem = _problem(hostile, answer, judge(operation.path, answer.status_code, text))
        record(label, hostile.kind, answer.status_code, text, problem)


def _problem(hostile: Hostile, answer: requests.Response, problem: str | None) -> str | None:
    status = answer.status_code
    text = answer.text[:500]
    if problem is not None:
        return problem
    if hostile.expect is not None and status != hostile.expect:
        return f"expected {hostile.expect}"
    if hostile.expect == 400 and DEPTH_MESSAGE not in text:
        return "a deep body not refused for its depth"
    if hostile.refused_for_origin is False and "origin not allowed" in text:
        return "the server's own origin refused"
    if status >= 400 and answer.request.method != "HEAD" and not _errors_body(answer):
        return "malformed error body"
    return None


def _errors_body(answer: requests.Response) -> bool:
    try:
        body = answer.json()
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    return isinstance(errors, list) and all(isinstance(e, str) for e in errors)
