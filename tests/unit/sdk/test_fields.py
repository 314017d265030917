"""Typed decoding of request data against declared fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest

from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData, FieldType, parse_bool
from awsbroker.sdk.logical import JSONObject, JSONValue

T = FieldType


def data(schema: dict[str, Field], raw: JSONObject) -> FieldData:
    return FieldData(schema, raw)


def typed_get(fd: FieldData, name: str, ftype: FieldType) -> JSONValue:
    """The public getter that matches the field's type."""
    getters: dict[FieldType, Callable[[str], object]] = {
        T.STRING: fd.get_str,
        T.INT: fd.get_int,
        T.BOOL: fd.get_bool,
        T.DURATION: fd.get_duration,
        T.STRING_LIST: fd.get_list,
        T.STRING_SLICE: fd.get_list,
        T.MAP: fd.get_map,
        T.OBJECT: fd.get_object,
    }
    return cast(JSONValue, getters[ftype](name))


@pytest.mark.parametrize("value", [True, 1, "1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_true(value: object) -> None:
    assert parse_bool(value) is True


@pytest.mark.parametrize("value", [False, 0, "0", "f", "F", "FALSE", "false", "False"])
def test_parse_bool_false(value: object) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", ["yes", "tRUE", "", 2, 1.0, None, []])
def test_parse_bool_refuses_everything_else(value: object) -> None:
    with pytest.raises(ValueError, match="boolean"):
        parse_bool(value)


@pytest.mark.parametrize(
    ("ftype", "raw", "expected"),
    [
        (T.STRING, "x", "x"),
        (T.STRING, 7, "7"),
        (T.STRING, 1.5, "1.5"),
        (T.INT, 7, 7),
        (T.INT, 7.0, 7),
        (T.INT, " 12 ", 12),
        (T.INT, "-3", -3),
        (T.INT, 2**63 - 1, 2**63 - 1),
        (T.INT, str(-(2**63)), -(2**63)),
        (T.BOOL, "true", True),
        (T.BOOL, 0, False),
        (T.DURATION, "1h", 3600),
        (T.DURATION, 30, 30),
        (T.STRING_LIST, "a, b,,c ", ["a", "b", "c"]),
        (T.STRING_LIST, ["a", " b ", "", 3], ["a", "b", "3"]),
        (T.STRING_LIST, "", []),
        # Vault's TypeStringSlice: a lone string is one item, its commas kept.
        (T.STRING_SLICE, "a,b", ["a,b"]),
        (T.STRING_SLICE, ["a", " b "], ["a", "b"]),
        (T.MAP, {"a": "1", "b": 2, "c": True}, {"a": "1", "b": "2", "c": "true"}),
        (T.MAP, "k1=v1, k2=v=2", {"k1": "v1", "k2": "v=2"}),
        (T.MAP, ["a=1", "b=2"], {"a": "1", "b": "2"}),
        (T.OBJECT, {"x": [1, None]}, {"x": [1, None]}),
        (T.OBJECT, '{"x": 1}', {"x": 1}),
        (T.OBJECT, "  ", {}),
    ],
)
def test_decoding(ftype: FieldType, raw: JSONValue, expected: JSONValue) -> None:
    fd = data({"f": Field(ftype)}, {"f": raw})
    assert fd.is_set("f")
    assert typed_get(fd, "f", ftype) == expected


@pytest.mark.parametrize(
    ("ftype", "raw", "reason"),
    [
        (T.STRING, True, "expected a string"),
        (T.STRING, ["a"], "expected a string"),
        (T.STRING, {"a": 1}, "expected a string"),
        (T.INT, True, "expected an integer"),
        (T.INT, 1.5, "expected an integer"),
        (T.INT, "x", "expected an integer"),
        (T.INT, [1], "expected an integer"),
        # Past Go's int64: a Go client could not decode it back.
        (T.INT, 1e300, "out of range: an integer is from -9223372036854775808 to"),
        (T.INT, 2**63, "out of range"),
        (T.INT, str(-(2**63) - 1), "out of range"),
        (T.BOOL, "maybe", "boolean"),
        (T.DURATION, "soon", "invalid duration"),
        (T.DURATION, -1, "negative"),
        (T.STRING_LIST, 5, "list of strings"),
        (T.STRING_LIST, [True], "list of strings"),
        (T.STRING_LIST, [["a"]], "list of strings"),
        (T.MAP, "novalue", "key=value"),
        (T.MAP, {"a": {"b": "c"}}, "map of strings"),
        (T.MAP, {"a": None}, "map of strings"),
        (T.MAP, 5, "map of strings"),
        (T.OBJECT, "{not json", "JSON object"),
        (T.OBJECT, "[1]", "JSON object"),
        (T.OBJECT, 5, "JSON object"),
    ],
)
def test_bad_values_name_the_field_and_the_problem(
    ftype: FieldType, raw: JSONValue, reason: str
) -> None:
    with pytest.raises(InvalidRequest) as err:
        data({"f": Field(ftype)}, {"f": raw})
    (message,) = err.value.messages
    assert message.startswith("Field validation failed: field 'f': ")
    assert reason in message


def test_null_means_not_supplied() -> None:
    fd = data({"n": Field(T.INT, default=5), "s": Field(T.STRING)}, {"n": None, "s": None})
    assert not fd.is_set("n")
    assert fd.get_int("n") == 5
    assert fd.get_str("s") == ""


def test_unknown_keys_are_listed_sorted_and_nulls_are_not_unknown() -> None:
    fd = data({"a": Field(T.STRING)}, {"a": "x", "zz": 1, "bb": "y", "nothing": None})
    assert fd.unknown == ["bb", "zz"]


def test_zero_values_when_absent_and_no_default() -> None:
    schema = {
        "s": Field(T.STRING),
        "i": Field(T.INT),
        "b": Field(T.BOOL),
        "d": Field(T.DURATION),
        "l": Field(T.STRING_LIST),
        "m": Field(T.MAP),
        "o": Field(T.OBJECT),
    }
    fd = data(schema, {})
    assert fd.get_str("s") == ""
    assert fd.get_int("i") == 0
    assert fd.get_bool("b") is False
    assert fd.get_duration("d") == 0
    assert fd.get_list("l") == []
    assert fd.get_map("m") == {}
    assert fd.get_object("o") == {}
    assert not any(fd.is_set(name) for name in schema)


def test_defaults_are_decoded_by_type() -> None:
    schema = {
        "b": Field(T.BOOL, default=True),
        "d": Field(T.DURATION, default="1h"),
        "l": Field(T.STRING_LIST, default="a,b"),
        "m": Field(T.MAP, default={"k": "v"}),
        "o": Field(T.OBJECT, default={"x": 1}),
        "i": Field(T.INT, default="3"),
    }
    fd = data(schema, {})
    assert fd.get_bool("b") is True
    assert fd.get_duration("d") == 3600
    assert fd.get_list("l") == ["a", "b"]
    assert fd.get_map("m") == {"k": "v"}
    assert fd.get_object("o") == {"x": 1}
    assert fd.get_int("i") == 3


def test_supplied_value_beats_default() -> None:
    fd = data({"b": Field(T.BOOL, default=True)}, {"b": "false"})
    assert fd.get_bool("b") is False


def test_getters_are_lenient_across_types() -> None:
    schema = {"s": Field(T.STRING), "i": Field(T.INT), "l": Field(T.STRING_LIST)}
    fd = data(schema, {"s": "90s", "i": 4, "l": ["x"]})
    assert fd.get_duration("s") == 90
    assert fd.get_list("s") == ["90s"]
    assert fd.get_int("i") == 4
    assert fd.get_map("l") == {}
    assert fd.get_object("i") == {}
    assert fd.get_duration("l") == 0
    assert fd.get_list("i") == []


def test_getters_return_copies() -> None:
    fd = data({"l": Field(T.STRING_LIST), "m": Field(T.MAP)}, {"l": ["a"], "m": {"k": "v"}})
    fd.get_list("l").append("b")
    fd.get_map("m")["x"] = "y"
    assert fd.get_list("l") == ["a"]
    assert fd.get_map("m") == {"k": "v"}


def test_undeclared_field_is_a_programming_error() -> None:
    fd = data({"a": Field(T.STRING)}, {"b": "x"})
    with pytest.raises(KeyError, match="not declared"):
        fd.get_str("b")
    with pytest.raises(KeyError, match="not declared"):
        fd.is_set("b")


def test_require_names_the_missing_field() -> None:
    schema = {"a": Field(T.STRING), "l": Field(T.STRING_LIST), "n": Field(T.INT)}
    fd = data(schema, {"a": "x", "l": "", "n": 0})
    fd.require("a", "n")
    with pytest.raises(InvalidRequest, match="missing l"):
        fd.require("a", "l")
    with pytest.raises(InvalidRequest, match="missing nope"):
        data(schema, {}).require("nope")
    with pytest.raises(InvalidRequest, match="missing a"):
        data(schema, {"a": ""}).require("a")
