"""An OpenAPI 3 description generated from the declared `Path` specs, after Vault's
`sdk/framework/openapi.go`.

How a spec becomes OpenAPI:

- **Patterns.** A pattern is a regular expression matched against the whole path below the
  mount. Literal text stays as it is; a named group `(?P<name>regex)` becomes the path parameter
  `{name}` whose schema is `{"type": "string", "pattern": "^(?:regex)$"}` (Python's syntax,
  which for the groups used here reads the same in ECMA-262, but for Python's word class taking
  in all of Unicode); an optional trailing slash `/?` is dropped (the plain path), except on a
  path served by LIST alone, which keeps its slash (`aws/roles/`), the way listings are
  addressed. A named group that is an alternation of
  literals (`(?P<endpoint>creds|sts)`) is expanded into one path per alternative
  (`aws/creds/{name}` and `aws/sts/{name}`), as Vault does for `(creds|sts)`: each is a fixed URL
  a client calls, and the handler still reads the captured word. Any other regex syntax outside a
  named group cannot be a URL template: `templates()` raises `UnsupportedPattern`, and
  `path_items()` leaves the spec out (Vault's "unpublished"). Every pattern the server declares
  converts; a unit test holds that.
- **Operations.** read -> `get`; list -> `get` with a required `list=true` query parameter
  (OpenAPI has no LIST verb; a path with both read and list documents the read, with an optional
  `list` parameter); update and create -> `post` (the server takes `PUT` as a synonym, which is
  not repeated here, as in Vault's document); delete -> `delete`; head -> `head`.
- **Fields.** Captured names are path parameters only (a capture overrides the body). The other
  fields are the JSON request body of `post`, and query parameters of `get`, `delete` and
  `head`. None is required unless declared so: every field has a default.
- **Security and responses.** Every operation needs the `X-Vault-Token` header (an `apiKey`
  scheme), except on the backend's unauthenticated paths (`security: []`,
  `x-vault-unauthenticated`); sudo paths carry `x-vault-sudo`. Success is Vault's envelope
  (200) or an empty body (204); errors are `{"errors": [...]}` (400, 403, 404, 405, and
  `default` for the rest).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from awsbroker.sdk.fields import Field, FieldType
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation
from awsbroker.sdk.path_spec import Path

OPENAPI_VERSION = "3.0.2"
SECURITY_SCHEME = "token"
ENVELOPE = "#/components/schemas/Response"
ERRORS = "#/components/schemas/ErrorResponse"
_LITERAL = re.compile(r"[A-Za-z0-9_@/-]")
_ESCAPED_LITERAL = re.compile(r"\\[.\-/@_]")
_WORD_ALTERNATION = re.compile(r"[A-Za-z0-9_@-]+(?:\|[A-Za-z0-9_@-]+)+")
_VERBS = {
    Operation.READ: "read",
    Operation.LIST: "list",
    Operation.UPDATE: "write",
    Operation.CREATE: "write",
    Operation.DELETE: "delete",
    Operation.HEAD: "head",
}


class UnsupportedPattern(ValueError):
    """A pattern that cannot be written as an OpenAPI path template."""


@dataclass(frozen=True)
class Template:
    """One OpenAPI path (relative to the mount) a pattern stands for."""

    path: str
    # Path parameters in template order: name -> schema.
    parameters: Mapping[str, JSONObject]
    # Names the pattern captures, including those fixed by an expanded alternation.
    captured: frozenset[str]
    # The pattern ends in `/?`: the path is served with and without the trailing slash.
    optional_slash: bool


@dataclass(frozen=True)
class Mount:
    """A mounted backend to document: its mount path (`aws/`), specs and special paths."""

    path: str
    specs: Sequence[Path[Any]]
    # Tag of every operation: Vault's "system", "auth" or "secrets".
    tag: str
    # Tests of a path relative to the mount (with `{param}` templates in it).
    sudo: Callable[[str], bool] = lambda _path: False
    unauthenticated: Callable[[str], bool] = lambda _path: False


def templates(pattern: str) -> list[Template]:
    """The OpenAPI path templates of one pattern (several when it has an alternation)."""
    variants: list[tuple[str, dict[str, JSONObject]]] = [("", {})]
    captured: set[str] = set()
    i = 0
    optional_slash = False
    while i < len(pattern):
        rest = pattern[i:]
        if rest == "/?":
            optional_slash = True
            break
        if rest.startswith("(?P<"):
            name, body, i = _named_group(pattern, i)
            captured.add(name)
            variants = _apply_group(variants, name, body)
            continue
        if _ESCAPED_LITERAL.match(rest):
            variants = [(text + rest[1], params) for text, params in variants]
            i += 2
            continue
        if _LITERAL.match(rest):
            variants = [(text + rest[0], params) for text, params in variants]
            i += 1
            continue
        raise UnsupportedPattern(f"pattern {pattern!r}: cannot template {rest!r}")
    return [Template(t, p, frozenset(captured), optional_slash) for t, p in variants]


def _named_group(pattern: str, start: int) -> tuple[str, str, int]:
    """(name, body, index after the group) of the `(?P<name>body)` starting at `start`."""
    close = pattern.index(">", start)
    name = pattern[start + len("(?P<") : close]
    depth, i, in_class = 1, close + 1, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return name, pattern[close + 1 : i], i + 1
        i += 1
    raise UnsupportedPattern(f"pattern {pattern!r}: unbalanced group {name!r}")


def _apply_group(
    variants: list[tuple[str, dict[str, JSONObject]]], name: str, body: str
) -> list[tuple[str, dict[str, JSONObject]]]:
    if _WORD_ALTERNATION.fullmatch(body):
        words = body.split("|")
        return [(text + word, dict(params)) for text, params in variants for word in words]
    if "(?P<" in body:
        raise UnsupportedPattern(f"named group inside {name!r}")
    schema: JSONObject = {"type": "string", "pattern": f"^(?:{body})$"}
    if re.fullmatch(body, "") is None:
        schema["minLength"] = 1
    return [(text + "{" + name + "}", {**params, name: schema}) for text, params in variants]


# ---- schemas of fields ----------------------------------------------------------------------


def field_schema(spec: Field, *, in_query: bool = False) -> JSONObject:
    """The JSON schema of a field's value in a JSON body, or as a query parameter."""
    schema = _type_schema(spec.type, in_query)
    if spec.description:
        schema["description"] = spec.description
    if spec.default is not None:
        schema["default"] = spec.default
    return schema


def _type_schema(ftype: FieldType, in_query: bool) -> JSONObject:
    text: JSONObject = {"type": "string"}
    if ftype is FieldType.STRING:
        return text
    if ftype is FieldType.INT:
        return {"type": "integer"}
    if ftype is FieldType.BOOL:
        return {"type": "boolean"}
    if ftype is FieldType.DURATION:
        # Seconds, or a Go duration string ("90s", "1h30m").
        return {"oneOf": [{"type": "integer"}, text]}
    if in_query:
        return text  # a query string has no structure: lists are comma-separated, maps k=v
    if ftype in (FieldType.STRING_LIST, FieldType.STRING_SLICE):
        return {"oneOf": [{"type": "array", "items": text}, text]}
    if ftype is FieldType.MAP:
        return {"oneOf": [{"type": "object", "additionalProperties": text}, text]}
    return {"type": "object"}


# ---- path items --------------------------------------------------------------------------


def path_items(mount: Mount) -> dict[str, JSONObject]:
    """`{"/aws/roles/{name}": path item, ...}` for one mount. A path two specs both produce
    keeps the first spec's operation per method, as the backend's first matching spec wins."""
    items: dict[str, JSONObject] = {}
    for spec in mount.specs:
        try:
            found = templates(spec.pattern)
        except UnsupportedPattern:
            continue
        for template in found:
            ops = dict(spec.operations)
            list_only = set(ops) == {Operation.LIST}
            relative = template.path + ("/" if template.optional_slash and list_only else "")
            item = items.setdefault("/" + mount.path + relative, {})
            _fill_item(item, mount, spec, template, relative)
    return items


def _fill_item(
    item: JSONObject, mount: Mount, spec: Path[Any], template: Template, relative: str
) -> None:
    description = spec.description or spec.summary
    if description:
        item.setdefault("description", description)
    if template.parameters:
        item["parameters"] = [
            _parameter(name, "path", schema, spec.fields.get(name), required=True)
            for name, schema in template.parameters.items()
        ]
    if mount.sudo(relative):
        item["x-vault-sudo"] = True
    unauthenticated = mount.unauthenticated(relative)
    if unauthenticated:
        item["x-vault-unauthenticated"] = True
    fields = {n: f for n, f in spec.fields.items() if n not in template.captured}
    for method, op in _methods(spec.operations):
        if method in item:
            continue
        item[method] = _operation(mount, spec, op, fields, unauthenticated)


def _methods(operations: Mapping[Operation, object]) -> list[tuple[str, Operation]]:
    ops = set(operations)
    out: list[tuple[str, Operation]] = []
    if Operation.READ in ops:
        out.append(("get", Operation.READ))
    elif Operation.LIST in ops:
        out.append(("get", Operation.LIST))
    if Operation.UPDATE in ops:
        out.append(("post", Operation.UPDATE))
    elif Operation.CREATE in ops:
        out.append(("post", Operation.CREATE))
    if Operation.DELETE in ops:
        out.append(("delete", Operation.DELETE))
    if Operation.HEAD in ops:
        out.append(("head", Operation.HEAD))
    return out


def _operation(
    mount: Mount,
    spec: Path[Any],
    op: Operation,
    fields: Mapping[str, Field],
    unauthenticated: bool,
) -> JSONObject:
    operation: JSONObject = {"tags": [mount.tag], "responses": _responses(op)}
    if spec.summary:
        operation["summary"] = spec.summary
    params: list[JSONValue] = []
    if op is Operation.LIST:
        params.append(_list_parameter(required=True))
    elif op is Operation.READ and Operation.LIST in spec.operations:
        params.append(_list_parameter(required=False))
    if op in (Operation.UPDATE, Operation.CREATE):
        if fields:
            operation["requestBody"] = _request_body(fields)
    else:
        params += [
            _parameter(name, "query", field_schema(f, in_query=True), f, required=f.required)
            for name, f in sorted(fields.items())
        ]
    if params:
        operation["parameters"] = params
    if unauthenticated:
        operation["security"] = []
    # Tells a `post` that creates (existence check says "missing") from one that updates.
    operation["x-vault-operation"] = op.value
    return operation


def _list_parameter(*, required: bool) -> JSONObject:
    if required:
        return {
            "name": "list",
            "in": "query",
            "description": "Must be set to `true`",
            "required": True,
            "schema": {"type": "string", "enum": ["true"]},
        }
    return {
        "name": "list",
        "in": "query",
        "description": "Return a list if `true`",
        "schema": {"type": "string", "enum": ["true", "false"]},
    }


def _parameter(
    name: str, where: str, schema: JSONObject, spec: Field | None, *, required: bool
) -> JSONObject:
    param: JSONObject = {"name": name, "in": where, "required": required, "schema": schema}
    if spec is not None and spec.description:
        param["description"] = spec.description
    return param


def _request_body(fields: Mapping[str, Field]) -> JSONObject:
    properties: JSONObject = {name: field_schema(f) for name, f in sorted(fields.items())}
    schema: JSONObject = {"type": "object", "properties": properties}
    required: list[JSONValue] = [name for name, f in sorted(fields.items()) if f.required]
    if required:
        schema["required"] = required
    return {"required": False, "content": {"application/json": {"schema": schema}}}


def _responses(op: Operation) -> JSONObject:
    responses: JSONObject = {"200": _json("OK", ENVELOPE)}
    if op is Operation.HEAD:
        responses["200"] = {"description": "OK (headers only)"}
    if op in (Operation.UPDATE, Operation.CREATE, Operation.DELETE):
        responses["204"] = {"description": "empty body"}
    for code, text in (
        ("400", "invalid request"),
        ("403", "permission denied"),
        ("404", "not found"),
        ("405", "unsupported operation"),
    ):
        responses[code] = _json(text, ERRORS)
    responses["default"] = _json("error", ERRORS)
    return responses


def _json(description: str, ref: str) -> JSONObject:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


# ---- the document -------------------------------------------------------------------------


@dataclass(frozen=True)
class Info:
    title: str
    version: str
    description: str = ""


def document(mounts: Sequence[Mount], info: Info, servers: Sequence[str] = ("/v1",)) -> JSONObject:
    """The whole OpenAPI document: every mount's paths, sorted, with unique operation IDs.
    `servers` are the URLs the paths are relative to (Vault's API lives under `/v1`)."""
    paths: dict[str, JSONObject] = {}
    for mount in mounts:
        for path, item in path_items(mount).items():
            paths.setdefault(path, item)
    ordered: JSONObject = {path: paths[path] for path in sorted(paths)}
    _operation_ids(ordered)
    info_object: JSONObject = {"title": info.title, "version": info.version}
    if info.description:
        info_object["description"] = info.description
    return {
        "openapi": OPENAPI_VERSION,
        "info": info_object,
        "servers": [{"url": url} for url in servers],
        "paths": ordered,
        "components": _components(),
        "security": [{SECURITY_SCHEME: []}],
    }


def _operation_ids(paths: JSONObject) -> None:
    """`readAwsRolesName`, `listAwsRoles`... (Vault's camel case of the path); a duplicate
    gets `_2`, `_3`."""
    seen: dict[str, int] = {}
    for path, item in paths.items():
        assert isinstance(item, dict)
        words = [w for w in re.split(r"[^A-Za-z0-9]+", path) if w]
        camel = "".join(w[:1].upper() + w[1:] for w in words)
        for method in ("get", "post", "delete", "head"):
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            verb = _VERBS[Operation(str(operation["x-vault-operation"]))]
            base = verb + camel
            seen[base] = seen.get(base, 0) + 1
            operation["operationId"] = base if seen[base] == 1 else f"{base}_{seen[base]}"


def _components() -> JSONObject:
    nullable_object: JSONObject = {"type": "object", "nullable": True}
    return {
        "securitySchemes": {
            SECURITY_SCHEME: {"type": "apiKey", "in": "header", "name": "X-Vault-Token"}
        },
        "schemas": {
            "Response": {
                "type": "object",
                "description": "Vault's envelope (raw endpoints such as sys/health answer "
                "their own object instead)",
                "properties": {
                    "request_id": {"type": "string"},
                    "lease_id": {"type": "string"},
                    "renewable": {"type": "boolean"},
                    "lease_duration": {"type": "integer"},
                    "data": {"type": "object", "nullable": True, "additionalProperties": True},
                    "wrap_info": nullable_object,
                    "warnings": {"type": "array", "nullable": True, "items": {"type": "string"}},
                    "auth": nullable_object,
                    "mount_type": {"type": "string"},
                },
            },
            "ErrorResponse": {
                "type": "object",
                "required": ["errors"],
                "properties": {"errors": {"type": "array", "items": {"type": "string"}}},
            },
        },
    }
