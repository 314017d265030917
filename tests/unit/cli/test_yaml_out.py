from __future__ import annotations

import pytest
import yaml

from awsbroker.cli import yaml_out

VALUES: list[object] = [
    {"a": 1, "b": "text", "c": None, "d": True, "e": 1.5},
    {"nested": {"list": [1, "two", {"three": 3}, [4, 5]], "empty": {}, "none": []}},
    ["yes", "no", "null", "~", "1.0", "123", "0x1F", "on", "", " lead", "trail "],
    ["a: b", "- x", "#c", "[x]", "{y}", "&a", "*b", "!t", "|", ">", "@x", "`x`", "%y"],
    ["line\nbreak", "tab\tx", 'quo"te', "back\\slash", "uni\u00e9", "\u2028sep", "\x85", "\x7f"],
    {"key with space": 1, "1": "numeric key", "true": "bool key", "": "empty key"},
    "scalar",
    None,
    [],
    {},
    [[]],
    [{}],
    {"arn": "arn:aws:iam::123456789012:user/x", "path": "aws/creds/r/abc", "x.y-z@w": "ok"},
]


@pytest.mark.parametrize("value", VALUES)
def test_round_trips_through_a_yaml_parser(value: object) -> None:
    assert yaml.safe_load(yaml_out.dumps(value)) == value


def test_block_style_and_plain_scalars() -> None:
    assert yaml_out.dumps({"a": {"b": [1, "x"]}, "c": "d"}) == "a:\n  b:\n    - 1\n    - x\nc: d\n"
    assert yaml_out.dumps([{"a": 1, "b": 2}]) == "- a: 1\n  b: 2\n"
