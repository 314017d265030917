"""Command-line flags the way Vault spells them, and the usual GNU way too.

`-format=json`, `--format=json`, `--format json` and `-format json` are one flag; a boolean
flag is `-force` or `-force=false` (never a separate value, as Go's `flag` package). Flags may
come before or after the positional arguments; `--` ends them. A command declares its flags
as `Flag`s; `parse` returns their values and the positional arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from awsbroker.cli.errors import UsageError

_FLAG = re.compile(r"--?(?P<name>[a-zA-Z][a-zA-Z0-9_-]*)(?:=(?P<value>.*))?", re.DOTALL)
_TRUE = frozenset({"1", "t", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "f", "false", "no", "n", "off"})


@dataclass(frozen=True)
class Flag:
    name: str
    help: str
    default: str | bool = ""
    metavar: str = "VALUE"
    # Repeatable (`-policy=a -policy=b`); its value is a list.
    multiple: bool = False

    @property
    def boolean(self) -> bool:
        return isinstance(self.default, bool)


@dataclass(frozen=True)
class Parsed:
    values: Mapping[str, str | bool | list[str]]
    args: list[str]

    def get_str(self, name: str) -> str:
        value = self.values[name]
        assert isinstance(value, str)
        return value

    def get_bool(self, name: str) -> bool:
        value = self.values[name]
        assert isinstance(value, bool)
        return value

    def get_list(self, name: str) -> list[str]:
        value = self.values[name]
        assert isinstance(value, list)
        return value


def parse_bool(text: str, what: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(f"invalid boolean value {text!r} for {what}: use true or false")


def parse(argv: Sequence[str], flags: Sequence[Flag], *, stop_after: int | None = None) -> Parsed:
    """Split `argv` into flag values and positional arguments.

    With `stop_after=N`, everything after the N-th positional argument is positional too (the
    command line of `aws exec`), unless flags come first and a `--` after them: then those are
    flags too (`aws exec ROLE -ca-cert=FILE -- COMMAND`).
    """
    by_name = {f.name: f for f in flags}
    values: dict[str, str | bool | list[str]] = {
        f.name: [] if f.multiple else f.default for f in flags
    }
    args: list[str] = []
    rest = list(argv)
    while rest:
        item = rest.pop(0)
        if (
            stop_after is not None
            and len(args) >= stop_after
            and not _flag_before_dashes(item, rest)
        ):
            args.append(item)
            args.extend(rest)
            break
        if item == "--":
            args.extend(rest)
            break
        match = _FLAG.fullmatch(item)
        if match is None:
            args.append(item)
            continue
        name, value = match["name"], match["value"]
        spec = by_name.get(name)
        if spec is None:
            raise UsageError(f"unknown flag: {item.split('=', 1)[0]}")
        if spec.boolean:
            values[name] = True if value is None else parse_bool(value, f"-{name}")
            continue
        if value is None:
            if not rest:
                raise UsageError(f"flag -{name} needs a value")
            value = rest.pop(0)
        current = values[name]
        values[name] = [*current, value] if isinstance(current, list) else value
    return Parsed(values, args)


def _flag_before_dashes(item: str, rest: Sequence[str]) -> bool:
    return item != "--" and _FLAG.fullmatch(item) is not None and "--" in rest


def usage(synopsis: str, description: str, flags: Sequence[Flag]) -> str:
    lines = [f"Usage: awsbroker {synopsis}", "", description.strip()]
    if flags:
        lines += ["", "Flags:"]
        for f in flags:
            left = f"-{f.name}" if f.boolean else f"-{f.name}={f.metavar}"
            default = "" if f.boolean or not f.default else f" (default: {f.default})"
            lines.append(f"  {left:<26} {f.help}{default}")
    return "\n".join(lines) + "\n"
