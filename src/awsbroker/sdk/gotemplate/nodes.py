"""The parsed form of a template: typed nodes, immutable once the parser has made them."""

from __future__ import annotations

from dataclasses import dataclass

# What a template's values are: Go's string, int and bool.
Value = str | int | bool


@dataclass(frozen=True)
class Literal:
    """A string, raw string, number or bool written in the template."""

    value: Value


@dataclass(frozen=True)
class FieldRef:
    """`.Name` or `.Map.key`: the names after the dots."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class FuncRef:
    """A function named by a command (`truncate`, `printf`...)."""

    name: str


@dataclass(frozen=True)
class SubPipe:
    """A parenthesised pipeline used as an operand: `(printf "%s" .X)`."""

    pipe: Pipe


Operand = Literal | FieldRef | FuncRef | SubPipe


@dataclass(frozen=True)
class Command:
    """One stage of a pipeline: its operands (a function first, or a single value), where it
    starts in the source and its text, for error messages."""

    args: tuple[Operand, ...]
    pos: int
    src: str


Pipe = tuple[Command, ...]


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Action:
    """`{{ pipeline }}`: its value is printed."""

    pipe: Pipe


@dataclass(frozen=True)
class If:
    """`{{if}}`, its `{{else if}}`s (one branch each) and its `{{else}}` (`otherwise`)."""

    branches: tuple[tuple[Pipe, tuple[Node, ...]], ...]
    otherwise: tuple[Node, ...]


Node = Text | Action | If
