"""`sdk/openapi.py`: patterns to templates, fields to schemas, specs to path items, and a
document that validates; every pattern the server declares converts."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from awsbroker.sdk import openapi
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response
from awsbroker.sdk.openapi import Mount, UnsupportedPattern, field_schema, templates

R, U, C, D, L, H = (
    Operation.READ,
    Operation.UPDATE,
    Operation.CREATE,
    Operation.DELETE,
    Operation.LIST,
    Operation.HEAD,
)


def handler(b: object, req: Request, fd: FieldData) -> Response | None:
    return None


def spec(pattern: str, *ops: Operation, **fields: Field) -> Path[Any]:
    return Path(pattern, dict.fromkeys(ops, handler), fields, summary=f"about {pattern}")


def items(*specs: Path[Any], **kwargs: Any) -> dict[str, Any]:
    """The path items of `specs` mounted at `m/` (`Any`: the tests index deep into them)."""
    return openapi.path_items(Mount("m/", specs, "secrets", **kwargs))


# ---- patterns ---------------------------------------------------------------------------


def test_literal_pattern_is_its_own_path() -> None:
    (t,) = templates("config/rotate-root")
    assert (t.path, dict(t.parameters), t.optional_slash) == ("config/rotate-root", {}, False)


def test_optional_trailing_slash_is_dropped_and_remembered() -> None:
    (t,) = templates("roles/?")
    assert (t.path, t.optional_slash) == ("roles", True)


def test_named_group_becomes_a_parameter_with_its_regex() -> None:
    (t,) = templates(r"roles/(?P<name>\w(?:[\w.-]*\w)?)")
    assert t.path == "roles/{name}"
    assert t.parameters["name"] == {
        "type": "string",
        "pattern": r"^(?:\w(?:[\w.-]*\w)?)$",
        "minLength": 1,
    }
    assert t.captured == {"name"}


def test_a_group_that_may_be_empty_has_no_min_length() -> None:
    (t,) = templates("lookup/(?P<prefix>.*)")
    assert t.parameters["prefix"] == {"type": "string", "pattern": "^(?:.*)$"}


def test_groups_with_parentheses_and_classes_inside() -> None:
    (t,) = templates(r"a/(?P<x>[)(](?:y|z))/(?P<y>[^/]+)/tune")
    assert t.path == "a/{x}/{y}/tune"
    assert t.parameters["x"]["pattern"] == "^(?:[)(](?:y|z))$"


def test_alternation_of_words_expands_into_paths() -> None:
    found = templates(r"(?P<endpoint>creds|sts)/(?P<name>\w+)")
    assert [t.path for t in found] == ["creds/{name}", "sts/{name}"]
    assert all(t.captured == {"endpoint", "name"} for t in found)
    assert all(list(t.parameters) == ["name"] for t in found)


def test_escaped_literals() -> None:
    (t,) = templates(r"a\.b\-c")
    assert t.path == "a.b-c"


@pytest.mark.parametrize("pattern", ["a.*", "a+", "x/[ab]", "(?:a|b)", "a/?b", "(?P<x>a"])
def test_patterns_that_are_no_template(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern):
        templates(pattern)


def test_an_unsupported_pattern_is_left_out() -> None:
    assert list(items(spec(".*", R), spec("ok", R))) == ["/m/ok"]


# ---- fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ftype", "body", "query"),
    [
        (T.STRING, {"type": "string"}, {"type": "string"}),
        (T.INT, {"type": "integer"}, {"type": "integer"}),
        (T.BOOL, {"type": "boolean"}, {"type": "boolean"}),
        (
            T.DURATION,
            {"oneOf": [{"type": "integer"}, {"type": "string"}]},
            {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        ),
        (
            T.STRING_LIST,
            {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
            {"type": "string"},
        ),
        (
            T.MAP,
            {
                "oneOf": [
                    {"type": "object", "additionalProperties": {"type": "string"}},
                    {"type": "string"},
                ]
            },
            {"type": "string"},
        ),
        (T.OBJECT, {"type": "object"}, {"type": "string"}),
    ],
)
def test_field_types(ftype: T, body: JSONObject, query: JSONObject) -> None:
    assert field_schema(Field(ftype)) == body
    assert field_schema(Field(ftype), in_query=True) == query


def test_field_description_and_default() -> None:
    schema = field_schema(Field(T.BOOL, "Wait", default=True))
    assert schema == {"type": "boolean", "description": "Wait", "default": True}


# ---- path items -------------------------------------------------------------------------


def test_list_only_path_keeps_its_slash_and_requires_list_true() -> None:
    found = items(spec("roles/?", L))
    get = found["/m/roles/"]["get"]
    assert get["parameters"] == [
        {
            "name": "list",
            "in": "query",
            "description": "Must be set to `true`",
            "required": True,
            "schema": {"type": "string", "enum": ["true"]},
        }
    ]
    assert get["x-vault-operation"] == "list"


def test_read_and_list_document_the_read_with_an_optional_list() -> None:
    found = items(spec("policy/?", R, L))
    (param,) = found["/m/policy"]["get"]["parameters"]
    assert param["name"] == "list"
    assert "required" not in param
    assert param["schema"] == {"type": "string", "enum": ["true", "false"]}
    assert found["/m/policy"]["get"]["x-vault-operation"] == "read"


def test_operations_map_to_methods() -> None:
    found = items(spec("a", R, U, D), spec("b", C), spec("health", R, H))
    assert {m for m in found["/m/a"] if m in ("get", "post", "delete", "head")} == {
        "get",
        "post",
        "delete",
    }
    assert found["/m/b"]["post"]["x-vault-operation"] == "create"
    assert "head" in found["/m/health"]


def test_post_fields_are_the_body_and_captures_are_not() -> None:
    found = items(
        spec(
            r"roles/(?P<name>\w+)",
            R,
            U,
            name=Field(T.STRING, "Name"),
            ttl=Field(T.DURATION),
            tags=Field(T.STRING_LIST, required=True),
        )
    )
    item = found["/m/roles/{name}"]
    assert item["parameters"] == [
        {
            "name": "name",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": r"^(?:\w+)$", "minLength": 1},
            "description": "Name",
        }
    ]
    body = item["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is False
    assert sorted(schema["properties"]) == ["tags", "ttl"]
    assert schema["required"] == ["tags"]
    query = [p["name"] for p in item["get"]["parameters"]]
    assert query == ["tags", "ttl"]


def test_post_without_fields_has_no_body() -> None:
    assert "requestBody" not in items(spec("rotate", U))["/m/rotate"]["post"]


def test_responses() -> None:
    found = items(spec("a", R, U))
    read, write = found["/m/a"]["get"]["responses"], found["/m/a"]["post"]["responses"]
    assert read["200"]["content"]["application/json"]["schema"] == {"$ref": openapi.ENVELOPE}
    assert "204" not in read
    assert "204" in write
    for code in ("400", "403", "404", "405", "default"):
        assert read[code]["content"]["application/json"]["schema"] == {"$ref": openapi.ERRORS}


def test_sudo_and_unauthenticated_paths() -> None:
    found = items(
        spec("admin/(?P<x>.+)", U),
        spec("open", R),
        sudo=lambda p: p.startswith("admin/"),
        unauthenticated=lambda p: p == "open",
    )
    assert found["/m/admin/{x}"]["x-vault-sudo"] is True
    assert "security" not in found["/m/admin/{x}"]["post"]
    assert found["/m/open"]["x-vault-unauthenticated"] is True
    assert found["/m/open"]["get"]["security"] == []


def test_the_first_spec_of_a_path_wins_per_method() -> None:
    found = items(spec("a", R), Path("a", {R: handler, U: handler}, summary="second"))
    assert found["/m/a"]["get"]["summary"] == "about a"
    assert found["/m/a"]["post"]["summary"] == "second"


# ---- the document -----------------------------------------------------------------------


def test_document_validates_and_ids_are_unique() -> None:
    mounts = [
        Mount("m/", [spec("a/?", L), spec(r"a/(?P<n>\w+)", R, U, D), spec("a-n", R)], "secrets"),
        Mount("n/", [spec("a", R)], "secrets"),
    ]
    doc: Any = openapi.document(mounts, openapi.Info("t", "1", "d"))
    validate(doc)
    assert doc["openapi"] == "3.0.2"
    assert doc["servers"] == [{"url": "/v1"}]
    assert doc["security"] == [{openapi.SECURITY_SCHEME: []}]
    ids = [
        op["operationId"]
        for item in doc["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "delete", "head")
    ]
    assert len(ids) == len(set(ids))
    # `/m/a-n` and `/m/a/{n}` camel-case alike: the second (in path order) gets a suffix.
    assert ids == ["readMAN", "listMA", "readMAN_2", "writeMAN", "deleteMAN", "readNA"]
