from __future__ import annotations

import pytest

from awsbroker.cli.errors import UsageError
from awsbroker.cli.flags import Flag, parse, usage

FLAGS = [
    Flag("format", "output", "table"),
    Flag("force", "bool", False),
    Flag("sync", "bool", True),
    Flag("policy", "repeat", multiple=True),
]


@pytest.mark.parametrize(
    "argv",
    [
        ["-format=json", "x"],
        ["--format=json", "x"],
        ["--format", "json", "x"],
        ["-format", "json", "x"],
        ["x", "-format=json"],
    ],
)
def test_every_spelling_of_a_value_flag(argv: list[str]) -> None:
    parsed = parse(argv, FLAGS)
    assert parsed.get_str("format") == "json"
    assert parsed.args == ["x"]


def test_booleans_take_a_value_only_with_equals() -> None:
    parsed = parse(["-force", "-sync=false", "path"], FLAGS)
    assert parsed.get_bool("force") is True
    assert parsed.get_bool("sync") is False
    assert parsed.args == ["path"]
    assert parse([], FLAGS).get_bool("sync") is True
    with pytest.raises(UsageError, match="invalid boolean"):
        parse(["-force=maybe"], FLAGS)


def test_repeatable_flags_collect_a_list() -> None:
    parsed = parse(["-policy=a", "--policy", "b"], FLAGS)
    assert parsed.get_list("policy") == ["a", "b"]
    assert parse([], FLAGS).get_list("policy") == []


def test_double_dash_and_stop_after_end_the_flags() -> None:
    assert parse(["--", "-format=json"], FLAGS).args == ["-format=json"]
    parsed = parse(["-force", "role", "cmd", "-format=x"], FLAGS, stop_after=1)
    assert parsed.args == ["role", "cmd", "-format=x"]
    assert parsed.get_str("format") == "table"
    # Flags after the stop, before a `--`, are flags: `aws exec ROLE -ca-cert=F -- COMMAND`.
    parsed = parse(["role", "-format", "json", "--", "cmd", "-force"], FLAGS, stop_after=1)
    assert parsed.args == ["role", "--", "cmd", "-force"]  # `aws exec` drops the `--`
    assert parsed.get_str("format") == "json"
    assert parsed.get_bool("force") is False
    # Without a `--` later, or once the command started, they are the command's.
    assert parse(["role", "-force"], FLAGS, stop_after=1).args == ["role", "-force"]
    parsed = parse(["role", "cmd", "-force", "--", "x"], FLAGS, stop_after=1)
    assert parsed.args == ["role", "cmd", "-force", "--", "x"]
    assert parse(["role", "--", "cmd"], FLAGS, stop_after=1).args == ["role", "--", "cmd"]


def test_lone_dash_negative_numbers_and_k_v_are_positional() -> None:
    assert parse(["-", "-1", "a=-b"], FLAGS).args == ["-", "-1", "a=-b"]


def test_errors() -> None:
    with pytest.raises(UsageError, match="unknown flag: -nope"):
        parse(["-nope=1"], FLAGS)
    with pytest.raises(UsageError, match="needs a value"):
        parse(["-format"], FLAGS)


def test_usage_lists_flags_and_defaults() -> None:
    text = usage("read PATH", "Read it.", FLAGS)
    assert text.startswith("Usage: awsbroker read PATH\n\nRead it.\n\nFlags:\n")
    assert "-format=VALUE" in text
    assert "(default: table)" in text
    assert "  -force " in text
