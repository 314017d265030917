"""Parsing ACL policy text (HCL, or JSON) into path rules, after Vault's `vault/policy.go`.

python-hcl2 8.x keeps the quotes of strings and keys unless told to strip them, and marks block
bodies with `"__is_block__": True`. Asked to strip quotes and drop comments, it gives repeated
`path "<pattern>" { ... }` blocks as `{"path": [{"<pattern>": {..., "__is_block__": True}}, ...]}`,
one single-key dict per block; the marker is what tells an unlabelled `path { ... }` apart. JSON
policies give `{"path": {"<pattern>": {...}, ...}}`. Both are accepted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn

import hcl2

from awsbroker.sdk.duration import parse_duration
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONValue

CAPABILITIES = frozenset({"create", "read", "update", "patch", "delete", "list", "sudo", "deny"})

_WRITE = ("create", "read", "update", "delete", "list")
_LEGACY_POLICIES: dict[str, tuple[str, ...]] = {
    "deny": ("deny",),
    "read": ("read", "list"),
    "write": _WRITE,
    "sudo": (*_WRITE, "sudo"),
}
_TOP_LEVEL_KEYS = frozenset({"name", "path"})
_PATH_KEYS = frozenset(
    {
        "capabilities",
        "policy",
        "comment",
        "allowed_parameters",
        "denied_parameters",
        "required_parameters",
        "min_wrapping_ttl",
        "max_wrapping_ttl",
    }
)
_HCL_OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=True, strip_string_quotes=True
)
_BLOCK_MARKER = "__is_block__"

ParameterMap = Mapping[str, tuple[JSONValue, ...]]


@dataclass(frozen=True)
class PathRule:
    """One `path` block. `pattern` is as written, less one leading `/`; its `*` is kept."""

    pattern: str
    capabilities: frozenset[str]
    allowed_parameters: ParameterMap | None = field(default=None, hash=False)
    denied_parameters: ParameterMap | None = field(default=None, hash=False)
    required_parameters: tuple[str, ...] = ()
    min_wrapping_ttl: int = 0
    max_wrapping_ttl: int = 0

    @property
    def is_prefix(self) -> bool:
        """True if the pattern ends in the `*` glob."""
        return self.pattern.endswith("*")

    @property
    def has_segment_wildcards(self) -> bool:
        """True if some segment of the pattern is exactly `+`."""
        return "+" in self.pattern.removesuffix("*").split("/")


@dataclass(frozen=True)
class Policy:
    """A parsed ACL policy. `raw` is the text exactly as given, to be stored and returned as is."""

    name: str
    rules: tuple[PathRule, ...]
    raw: str


def normalize_name(name: str) -> str:
    """Policy names are case-insensitive: trimmed and lowercased before use."""
    return name.strip().lower()


def parse_policy(name: str, text: str) -> Policy:
    """Parse HCL or JSON policy text. Raises InvalidRequest("failed to parse policy: ...")."""
    tree = _load(text)
    if not isinstance(tree, dict):
        _fail("does not contain a root object")
    for key in tree:
        if key not in _TOP_LEVEL_KEYS:
            _fail(f"invalid key {_q(key)}")
    rules = tuple(_parse_rule(pattern, body) for pattern, body in _path_blocks(tree.get("path")))
    return Policy(name=name, rules=rules, raw=text)


def _fail(message: str) -> NoReturn:
    raise InvalidRequest(f"failed to parse policy: {message}")


def _q(value: object) -> str:
    """Go's %q, near enough: a double-quoted string."""
    return json.dumps(value if isinstance(value, str) else str(value), ensure_ascii=False)


def _load(text: str) -> object:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            _fail(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    try:
        return hcl2.loads(text, serialization_options=_HCL_OPTIONS)
    except Exception as exc:  # hcl2 raises lark's errors, and others on odd input
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        where = f" at line {line}, column {column}" if line is not None else ""
        detail = str(exc).strip().splitlines()
        _fail(f"invalid HCL{where}: {detail[0] if detail else type(exc).__name__}")


def _path_blocks(value: object) -> list[tuple[str, object]]:
    """(pattern, body) pairs from either the HCL block list or the JSON object form."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    if not isinstance(value, list):
        _fail('"path" must be a block such as path "secret/*" { capabilities = ["read"] }')
    blocks: list[tuple[str, object]] = []
    for item in value:
        if not isinstance(item, dict) or not item or _BLOCK_MARKER in item:
            _fail('a "path" block needs a pattern: path "secret/*" { ... }')
        blocks.extend(item.items())
    return blocks


def _parse_rule(pattern: str, body: object) -> PathRule:
    where = f"path {_q(pattern)}"
    if not isinstance(body, dict):
        _fail(f"{where}: the body must be an object")
    body = {k: v for k, v in body.items() if k != _BLOCK_MARKER}
    for key in body:
        if key not in _PATH_KEYS:
            _fail(f"{where}: invalid key {_q(key)}")
    pattern = _check_pattern(where, pattern.removeprefix("/"))
    min_ttl = _ttl(where, "min_wrapping_ttl", body.get("min_wrapping_ttl"))
    max_ttl = _ttl(where, "max_wrapping_ttl", body.get("max_wrapping_ttl"))
    if min_ttl and max_ttl and max_ttl < min_ttl:
        _fail(f"{where}: max_wrapping_ttl cannot be less than min_wrapping_ttl")
    return PathRule(
        pattern=pattern,
        capabilities=_capabilities(where, body.get("capabilities"), body.get("policy")),
        allowed_parameters=_parameters(where, "allowed_parameters", body.get("allowed_parameters")),
        denied_parameters=_parameters(where, "denied_parameters", body.get("denied_parameters")),
        required_parameters=_required(where, body.get("required_parameters")),
        min_wrapping_ttl=min_ttl,
        max_wrapping_ttl=max_ttl,
    )


def _check_pattern(where: str, pattern: str) -> str:
    if "+*" in pattern:
        _fail(f"{where}: invalid use of wildcards ('+*' is forbidden)")
    if "*" in pattern[:-1]:
        _fail(f"{where}: '*' is only allowed as the last character of a pattern")
    return pattern


def _capabilities(where: str, capabilities: object, legacy: object) -> frozenset[str]:
    caps: list[str] = []
    if capabilities is not None:
        if not isinstance(capabilities, list):
            _fail(f"{where}: capabilities must be a list of strings")
        for cap in capabilities:
            if not isinstance(cap, str) or cap not in CAPABILITIES:
                _fail(f"{where}: invalid capability {_q(cap)}")
            caps.append(cap)
    if legacy is not None:
        if not isinstance(legacy, str) or legacy not in _LEGACY_POLICIES:
            _fail(f"{where}: invalid policy {_q(legacy)}")
        caps.extend(_LEGACY_POLICIES[legacy])
    if "deny" in caps:
        return frozenset({"deny"})
    return frozenset(caps)


def _parameters(where: str, key: str, value: object) -> ParameterMap | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        _fail(f"{where}: {key}: must be a map of parameter names to lists of values")
    result: dict[str, tuple[JSONValue, ...]] = {}
    for name, values in value.items():
        _check_parameter_name(where, key, name, wildcard_ok=True)
        if not isinstance(values, list):
            _fail(f"{where}: {key}: parameter {_q(name)}: values must be a list")
        result[name.lower()] = tuple(values)
    return result


def _required(where: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _fail(f"{where}: required_parameters: must be a list of strings")
    for name in value:
        _check_parameter_name(where, "required_parameters", name, wildcard_ok=False)
    return tuple(value)


def _check_parameter_name(where: str, key: str, name: str, *, wildcard_ok: bool) -> None:
    """Vault's rule: a wildcard key is `*` or a JSON pointer ending in `/*`."""
    if "*" not in name:
        return
    if not wildcard_ok:
        _fail(f"{where}: {key}: parameter key {_q(name)}: wildcard is not permitted here")
    tail_glob = name.startswith("/") and name.endswith("/*") and "*" not in name[:-2]
    if name != "*" and not tail_glob:
        _fail(f"{where}: {key}: parameter key {_q(name)} cannot contain non-tail wildcards")


def _ttl(where: str, key: str, value: object) -> int:
    if value is None:
        return 0
    try:
        return parse_duration(value)
    except ValueError as exc:
        _fail(f"{where}: error parsing {key}: {exc}")
