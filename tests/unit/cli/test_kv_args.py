from __future__ import annotations

import io
from pathlib import Path

import pytest

from awsbroker.cli import kv_args
from awsbroker.cli.errors import CLIError, UsageError


def test_pairs_files_and_stdin(tmp_path: Path) -> None:
    doc = tmp_path / "doc.json"
    doc.write_text('{"a": 1, "b": "file"}')
    value = tmp_path / "value.txt"
    value.write_text("from a file")
    data = kv_args.parse(
        [f"@{doc}", "b=arg", f"c=@{value}", "p=x", "p=y", "q=-"], io.StringIO("in")
    )
    assert data == {"a": 1, "b": "arg", "c": "from a file", "p": ["x", "y"], "q": "in"}
    assert kv_args.parse(["-"], io.StringIO('{"k": [1]}')) == {"k": [1]}
    assert kv_args.parse(["x=a=b"], io.StringIO()) == {"x": "a=b"}


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        kv_args.parse(["novalue"], io.StringIO())
    with pytest.raises(UsageError, match="only once"):
        kv_args.parse(["-", "a=-"], io.StringIO("{}"))
    with pytest.raises(CLIError, match="not valid JSON"):
        kv_args.parse(["-"], io.StringIO("nope"))
    with pytest.raises(CLIError, match="JSON object"):
        kv_args.parse(["-"], io.StringIO("[1]"))
    with pytest.raises(CLIError, match="cannot read"):
        kv_args.parse([f"@{tmp_path / 'missing'}"], io.StringIO())
