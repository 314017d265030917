"""The differential method: the same requests to a real OpenBao dev server and to awsbroker,
and the answers compared, aspect by aspect, as a list of differences in words.

A `Case` is declarative: its request (method, path, body, headers, token), the steps that set
it up and clean after it (run on both servers alike; a step can `save` a value of its answer,
such as a token, as a variable each server keeps for itself), and the aspects to compare:

- `status`: the HTTP status;
- `envelope`: the top-level keys of a JSON answer and the type of each value (`request_id`,
  `lease_id`, `renewable`, `lease_duration`, `data`, `wrap_info`, `warnings`, `auth`,
  `mount_type`, and the top-level copies sys/ answers carry);
- `data`, `auth`, `wrap_info`: the shape of each (keys and value types, recursively; a list by its
  first item), or only the parts `fields` names when the keys themselves vary (mount paths);
- `errors`: the texts of `errors`, exactly;
- `warnings`: the texts of `warnings`, exactly;
- and the values at the dotted paths a case names in `values` (`auth.policies`), exactly.

Each difference is one line (`status: openbao 400, awsbroker 403`). An area's file lists, for
each case, the differences we keep on purpose with the reason; `check` fails on a difference not
listed and on a listed one that no longer appears.

Variables: `$root` is the root token, `$engine` a secrets engine type (`ENGINE`); strings in a
path, body, header or token are `string.Template`s filled from the server's variables (so `$t`,
a token a step saved, is each server's own)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any

import pytest
import requests

OPENBAO, AWSBROKER = "openbao", "awsbroker"
NO_BODY = object()
# `$engine`: a secrets engine type each server serves. OpenBao has no `aws` engine and awsbroker
# has only `aws`: mounts are compared by what the mount table says of them, whatever the type.
ENGINE = {OPENBAO: {"engine": "kv"}, AWSBROKER: {"engine": "aws"}}
ASPECTS = ("status", "envelope", "data", "auth", "wrap_info", "errors")


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    body: object = NO_BODY  # a JSON value, or bytes sent as they are
    headers: Mapping[str, str] = field(default_factory=dict)
    token: str | None = "$root"
    save: Mapping[str, str] = field(default_factory=dict)  # variable -> dotted path


@dataclass(frozen=True)
class Case:
    id: str
    request: Step
    setup: tuple[Step, ...] = ()
    cleanup: tuple[Step, ...] = ()
    compare: tuple[str, ...] = ASPECTS
    # `data` paths (tuples of keys) to compare instead of the whole of `data`
    fields: tuple[tuple[str, ...], ...] | None = None
    # dotted paths (`auth.policies`) whose values, not only shapes, must be equal
    values: tuple[str, ...] = ()
    item: str = ""  # the issue-17 item(s) the case checks, for the reader


def GET(path: str, **kw: Any) -> Step:
    return Step("GET", path, **kw)


def LIST(path: str, **kw: Any) -> Step:
    return Step("LIST", path, **kw)


def POST(path: str, body: object = NO_BODY, **kw: Any) -> Step:
    return Step("POST", path, body, **kw)


def PUT(path: str, body: object = NO_BODY, **kw: Any) -> Step:
    return Step("PUT", path, body, **kw)


def DELETE(path: str, **kw: Any) -> Step:
    return Step("DELETE", path, **kw)


@dataclass
class Target:
    """One server under comparison: its address and its own variables."""

    name: str
    url: str
    session: requests.Session
    variables: dict[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the decoded JSON, None when empty, the text when not JSON


def _fill(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return Template(value).substitute(variables)
    if isinstance(value, list):
        return [_fill(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, variables) for key, item in value.items()}
    return value


def dig(value: Any, dotted: str) -> Any:
    """`data.keys.0`: keys of objects, indices of lists."""
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def send(target: Target, step: Step) -> Answer:
    headers = {key: _fill(value, target.variables) for key, value in step.headers.items()}
    if step.token is not None:
        headers["X-Vault-Token"] = _fill(step.token, target.variables)
    data: bytes | None = None
    if isinstance(step.body, bytes):
        data = step.body
    elif step.body is not NO_BODY:
        data = json.dumps(_fill(step.body, target.variables)).encode()
    path = _fill(step.path, target.variables)
    response = target.session.request(
        step.method, f"{target.url}/v1/{path}", data=data, headers=headers, timeout=30
    )
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            body = response.text
    for name, dotted in step.save.items():
        target.variables[name] = dig(body, dotted)
    return Answer(response.status_code, body)


def shape(value: object) -> object:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def _kind(value: object) -> str:
    return "object" if isinstance(value, dict) else "list" if isinstance(value, list) else value


def diff_shapes(theirs: object, ours: object, where: str) -> list[str]:
    """Differences between two shapes (`shape()`), one line each."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        found = [f"{where}: key {key!r} only in openbao" for key in theirs if key not in ours]
        found += [f"{where}: key {key!r} only in awsbroker" for key in ours if key not in theirs]
        for key in theirs:
            if key in ours:
                found += diff_shapes(theirs[key], ours[key], f"{where}.{key}")
        return found
    if isinstance(theirs, list) and isinstance(ours, list):
        if theirs and ours:
            return diff_shapes(theirs[0], ours[0], f"{where}[0]")
        if bool(theirs) != bool(ours):
            empty = AWSBROKER if theirs else OPENBAO
            return [f"{where}: an empty list in {empty} only"]
        return []
    if theirs != ours:
        return [f"{where}: openbao {_kind(theirs)}, awsbroker {_kind(ours)}"]
    return []


def _envelope(body: Any) -> dict[str, str]:
    return {key: type(value).__name__ for key, value in body.items()}


def _pick(data: Any, fields: tuple[tuple[str, ...], ...]) -> dict[str, object]:
    picked: dict[str, object] = {}
    for path in fields:
        value = data
        for key in path:
            value = value.get(key, "<absent>") if isinstance(value, dict) else "<absent>"
        picked["/".join(path)] = value
    return picked


def compare(case: Case, theirs: Answer, ours: Answer) -> list[str]:
    """The differences between OpenBao's answer and ours, by the case's aspects."""
    found: list[str] = []
    if "status" in case.compare and theirs.status != ours.status:
        found.append(f"status: openbao {theirs.status}, awsbroker {ours.status}")
    a, b = theirs.body, ours.body
    if not (isinstance(a, dict) and isinstance(b, dict)):
        if type(a) is not type(b):
            found.append(f"body: openbao {type(a).__name__}, awsbroker {type(b).__name__}")
        return found
    if "envelope" in case.compare:
        found += diff_shapes(_envelope(a), _envelope(b), "envelope")
    for aspect in ("data", "auth", "wrap_info"):
        if aspect in case.compare and isinstance(a.get(aspect), dict):
            mine, yours = a.get(aspect), b.get(aspect)
            if not isinstance(yours, dict):
                continue  # the envelope says so
            if aspect == "data" and case.fields is not None:
                mine, yours = _pick(mine, case.fields), _pick(yours, case.fields)
            found += diff_shapes(shape(mine), shape(yours), aspect)
    for aspect in ("errors", "warnings"):
        if aspect in case.compare and a.get(aspect) != b.get(aspect):
            found.append(f"{aspect}: openbao {a.get(aspect)!r}, awsbroker {b.get(aspect)!r}")
    for dotted in case.values:
        mine, yours = _value(a, dotted), _value(b, dotted)
        if mine != yours:
            found.append(f"value {dotted}: openbao {mine!r}, awsbroker {yours!r}")
    return found


def _value(body: Any, dotted: str) -> Any:
    try:
        return dig(body, dotted)
    except (KeyError, IndexError, TypeError, ValueError):
        return "<absent>"


def run_case(case: Case, targets: tuple[Target, Target]) -> list[str]:
    answers = []
    for target in targets:
        try:
            for step in case.setup:
                done = send(target, step)
                assert done.status < 400, (target.name, "setup", step, done)
            answers.append(send(target, case.request))
        finally:
            for step in case.cleanup:
                send(target, step)
    return compare(case, answers[0], answers[1])


@dataclass(frozen=True)
class Everywhere:
    """A difference kept on purpose wherever it shows (a regular expression matching whole
    difference lines), the reason, and one case where it must still show
    (test_everywhere.py), so that the rule goes when the difference does."""

    pattern: str
    reason: str
    example: Case

    def explains(self, line: str) -> bool:
        return re.fullmatch(self.pattern, line, re.DOTALL) is not None


def check(
    case: Case,
    targets: tuple[Target, Target],
    expected: Mapping[str, Mapping[str, str]],
    record: Callable[[str, object], None],
    everywhere: Sequence[Everywhere] = (),
) -> None:
    """Run `case` on both; fail on a difference not in `expected[case.id]` (difference ->
    reason) nor explained by an `everywhere` rule, and on a listed one that did not appear."""
    found = run_case(case, targets)
    kept = expected.get(case.id, {})
    listed = sum(line in kept for line in found)
    record("differential", {"case": case.id, "differences": len(found), "listed": listed})
    unexplained = [
        line
        for line in found
        if line not in kept and not any(rule.explains(line) for rule in everywhere)
    ]
    gone = [line for line in kept if line not in found]
    if unexplained or gone:
        pytest.fail(
            f"{case.id}: differences not listed with a reason: {unexplained}; "
            f"listed but gone (remove them from the table): {gone}",
            pytrace=False,
        )


def params(cases: list[Case], *marks: Any) -> list[Any]:
    """`cases` as pytest parameters named by their ids."""
    return [pytest.param(case, id=case.id, marks=marks) for case in cases]
