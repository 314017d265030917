"""The data of `write` and friends: `key=value` arguments, `@file` and `-` (stdin), as Vault.

- `key=value` sets a string; repeating a key makes a list (`policies=a policies=b`).
- `key=@path` reads the value from a file; `key=-` from stdin.
- A lone `@path.json` or `-` reads a JSON object, merged under the `key=value` arguments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from awsbroker.cli.errors import CLIError, UsageError


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None


def _json_object(text: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CLIError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CLIError(f"{source} must hold a JSON object")
    return value


def parse(args: list[str], stdin: TextIO) -> dict[str, Any]:
    data: dict[str, Any] = {}
    pairs: dict[str, Any] = {}
    stdin_used = False
    for arg in args:
        if arg == "-" or (arg.startswith("@") and "=" not in arg):
            if arg == "-":
                if stdin_used:
                    raise UsageError("stdin (-) can be read only once")
                stdin_used = True
                data.update(_json_object(stdin.read(), "stdin"))
            else:
                data.update(_json_object(_read_file(arg[1:]), arg[1:]))
            continue
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid argument {arg!r}: use key=value, key=@file, @file or -")
        if value == "-":
            if stdin_used:
                raise UsageError("stdin (-) can be read only once")
            stdin_used = True
            value = stdin.read()
        elif value.startswith("@"):
            value = _read_file(value[1:])
        if key in pairs:
            existing = pairs[key]
            pairs[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            pairs[key] = value
    data.update(pairs)
    return data
