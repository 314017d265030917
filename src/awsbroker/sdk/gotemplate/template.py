"""A parsed template and its evaluation: pipelines, fields, `{{if}}`s, function calls."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from awsbroker.sdk.gotemplate.errors import TemplateError
from awsbroker.sdk.gotemplate.functions import (
    FUNCS,
    Env,
    FuncError,
    printed,
    random_base62,
    truthy,
    type_name,
)
from awsbroker.sdk.gotemplate.lexer import error
from awsbroker.sdk.gotemplate.nodes import (
    Action,
    Command,
    FieldRef,
    FuncRef,
    If,
    Literal,
    Node,
    Operand,
    Pipe,
    SubPipe,
    Text,
    Value,
)
from awsbroker.sdk.gotemplate.parser import parse_nodes

# What a template may read: strings, and maps of strings read by key.
Data = Mapping[str, "str | Mapping[str, str]"]
_TOO_DEEP = "template: template: nests too deeply (parentheses, pipelines or {{if}}s)"


@dataclass(frozen=True)
class _Run:
    src: str
    data: Data
    env: Env

    def fail(self, cmd: Command, msg: str) -> TemplateError:
        return error(self.src, cmd.pos, f'executing "template" at <{cmd.src}>: {msg}')

    def pipe(self, pipe: Pipe) -> Value:
        val: Value | None = None
        for cmd in pipe:
            val = self.command(cmd, val)
        assert val is not None
        return val

    def command(self, cmd: Command, piped: Value | None) -> Value:
        head, rest = cmd.args[0], cmd.args[1:]
        if isinstance(head, FuncRef):
            args = [self.operand(a, cmd) for a in rest] + ([] if piped is None else [piped])
            return self.call(head.name, args, cmd)
        if rest or piped is not None:
            raise self.fail(cmd, "can't give argument to non-function")
        return self.operand(head, cmd)

    def operand(self, op: Operand, cmd: Command) -> Value:
        if isinstance(op, FuncRef):
            return self.call(op.name, [], cmd)
        if isinstance(op, SubPipe):
            return self.pipe(op.pipe)
        if isinstance(op, Literal):
            return op.value
        first, *more = op.names
        if first not in self.data:
            have = ", ".join(sorted(self.data))
            raise self.fail(cmd, f"can't evaluate field {first} (available fields: {have})")
        value = self.data[first]
        if not isinstance(value, str):
            if len(more) != 1:
                raise self.fail(cmd, f"field {first} is a map: read one key, as .{first}.<key>")
            return value.get(more[0], "")
        if more:
            raise self.fail(cmd, f"can't evaluate field {more[0]} in type string")
        return value

    def call(self, name: str, args: list[Value], cmd: Command) -> Value:
        spec, fn = FUNCS[name]
        if spec is not None:
            if len(args) != len(spec):
                want = f"want {len(spec)} got {len(args)}"
                raise self.fail(cmd, f"wrong number of args for {name}: {want}")
            for arg, typ in zip(args, spec, strict=True):
                if typ != "any" and type_name(arg) != typ:
                    raise self.fail(
                        cmd, f"wrong type for value; expected {typ}; got {type_name(arg)}"
                    )
        try:
            return fn(self.env, *args)
        except FuncError as exc:
            raise self.fail(cmd, f"error calling {name}: {exc}") from None

    def nodes(self, nodes: tuple[Node, ...], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, If):
                body = next((b for cond, b in node.branches if truthy(self.pipe(cond))), None)
                self.nodes(node.otherwise if body is None else body, out)
            else:
                out.append(printed(self.pipe(node.pipe)))


class Template:
    """A parsed template. Immutable; render it as often as needed."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._nodes = parse_nodes(source)
        except RecursionError:
            raise TemplateError(_TOO_DEEP) from None

    def fields(self) -> list[tuple[str, ...]]:
        """Every field the template reads (`.Metadata.repository` → ("Metadata", "repository")),
        in order, in every branch, whether or not a rendering would reach it."""
        found: list[tuple[str, ...]] = []

        def pipe(cmds: Pipe) -> None:
            for cmd in cmds:
                for arg in cmd.args:
                    if isinstance(arg, FieldRef):
                        found.append(arg.names)
                    elif isinstance(arg, SubPipe):
                        pipe(arg.pipe)

        def walk(nodes: tuple[Node, ...]) -> None:
            for node in nodes:
                if isinstance(node, If):
                    for cond, body in node.branches:
                        pipe(cond)
                        walk(body)
                    walk(node.otherwise)
                elif isinstance(node, Action):
                    pipe(node.pipe)

        walk(self._nodes)
        return found

    def render(
        self,
        data: Data,
        *,
        now: Callable[[], float] = time.time,
        rand: Callable[[int], str] = random_base62,
        rand_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> str:
        out: list[str] = []
        try:
            _Run(self.source, data, Env(now, rand, rand_bytes)).nodes(self._nodes, out)
        except RecursionError:
            raise TemplateError(_TOO_DEEP) from None
        return "".join(out)


def parse(text: str) -> Template:
    """Compile `text`; raises `TemplateError` on bad syntax or an unknown function."""
    if not text:
        raise TemplateError("missing template")
    return Template(text)
