from __future__ import annotations

import io
import json

import pytest

from awsbroker.cli.errors import CLIError, UsageError
from awsbroker.cli.output import Output, cell, human_duration, secret_rows


def out(fmt: str = "table", field: str = "") -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(fmt, field, stdout, stderr), stdout, stderr


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (30, "30s"),
        (60, "1m"),
        (3600, "1h"),
        (3661, "1h1m1s"),
        (3605, "1h0m5s"),
        (2764800, "768h"),
        (3599, "59m59s"),
    ],
)
def test_human_duration_is_vaults(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_cells_look_like_gos_percent_v() -> None:
    assert cell(None) == "n/a"
    assert cell(True) == "true"
    assert cell(["a", "b"]) == "[a b]"
    assert cell({"b": 1, "a": None}) == "map[a:n/a b:1]"
    assert cell(3600, "ttl") == "1h"
    assert cell(3600, "count") == "3600"


ENVELOPE = {
    "lease_id": "aws/creds/r/x",
    "lease_duration": 3600,
    "renewable": True,
    "data": {"b": 2, "a": "one"},
    "warnings": ["careful"],
    "auth": None,
}


def test_secret_table_rows_and_warnings_on_stderr() -> None:
    printer, stdout, stderr = out()
    printer.secret(ENVELOPE)
    lines = stdout.getvalue().splitlines()
    assert lines[0].split() == ["Key", "Value"]
    assert [line.split()[0] for line in lines[2:]] == [
        "lease_id",
        "lease_duration",
        "lease_renewable",
        "a",
        "b",
    ]
    assert "1h" in lines[3]
    assert "careful" in stderr.getvalue()


def test_secret_json_yaml_and_fields() -> None:
    printer, stdout, _ = out("json")
    printer.secret(ENVELOPE)
    assert json.loads(stdout.getvalue())["data"] == {"b": 2, "a": "one"}
    printer, stdout, _ = out("yaml")
    printer.secret(ENVELOPE)
    assert "lease_id: aws/creds/r/x" in stdout.getvalue()
    for name, expected in [("a", "one"), ("b", "2"), ("lease_id", "aws/creds/r/x")]:
        printer, stdout, _ = out(field=name)
        printer.secret(ENVELOPE)
        assert stdout.getvalue() == expected
    printer, _, _ = out(field="nope")
    with pytest.raises(CLIError):
        printer.secret(ENVELOPE)


def test_auth_rows() -> None:
    rows = dict(
        secret_rows(
            {
                "lease_duration": 0,
                "auth": {
                    "client_token": "t",
                    "accessor": "a",
                    "lease_duration": 0,
                    "renewable": False,
                    "token_policies": ["root"],
                    "policies": ["root"],
                    "metadata": {"team": "x"},
                },
            }
        )
    )
    assert rows["token"] == "t"
    assert rows["token_duration"] == "∞"
    assert rows["token_meta_team"] == "x"


def test_keys_columns_and_bad_formats() -> None:
    printer, stdout, _ = out()
    printer.keys(["a", "bb"])
    assert stdout.getvalue() == "Keys\n----\na\nbb\n"
    printer, stdout, _ = out("json")
    printer.keys(["a"])
    assert json.loads(stdout.getvalue()) == ["a"]
    printer, stdout, _ = out()
    printer.columns(["Path", "Type"], [["aws/", "aws"], ["sys/", "system"]])
    assert stdout.getvalue().splitlines()[0] == "Path    Type"
    with pytest.raises(UsageError):
        out("xml")
    printer, _, _ = out(field="x")
    with pytest.raises(CLIError):
        printer.keys(["a"])
