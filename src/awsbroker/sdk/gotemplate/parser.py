"""The parser: the lexer's items into typed nodes (nodes.py), with Go's error texts."""

from __future__ import annotations

import re

from awsbroker.sdk.gotemplate.functions import FUNCS, from_bytes
from awsbroker.sdk.gotemplate.lexer import ActionItem, Token, error, lex
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
)

_STR_OK = re.compile(
    r'"(?:[^"\\]|\\(?:[abfnrtv\\"]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}))*"'
)
_ESC = re.compile(r"\\(?:([abfnrtv\\\"])|x(..)|u(....)|U(........)|([0-7]{3}))")
_SIMPLE_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_UNSUPPORTED = ("range", "with", "define", "template", "block", "break", "continue")


def _unescape(m: re.Match[str]) -> str:
    simple, x, u, big_u, octal = m.groups()
    if simple:
        return _SIMPLE_ESC.get(simple, simple)
    if u or big_u:
        return chr(int(u or big_u, 16))
    byte = int(x, 16) if x else int(octal, 8)
    return chr(byte) if byte < 0x80 else from_bytes(bytes([byte]))


def parse_nodes(text: str) -> tuple[Node, ...]:
    """The template's nodes; raises TemplateError (and RecursionError when nested too deeply)."""
    return _Parser(text).nodes(None)[0]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.items, self.i = text, lex(text), 0

    def nodes(self, inside: str | None) -> tuple[tuple[Node, ...], str, list[Token], int]:
        out: list[Node] = []
        while self.i < len(self.items):
            item = self.items[self.i]
            self.i += 1
            if not isinstance(item, ActionItem):
                out.append(Text(item.text))
                continue
            val, pos = item.tokens, item.pos
            if any(t.kind == "comment" for t in val):
                if len(val) > 1:
                    raise error(self.text, pos, "a comment must be alone in its action")
                continue
            head = val[0].text if val and val[0].kind == "ident" else ""
            if head in ("end", "else"):
                if inside is None:
                    raise error(self.text, pos, f"unexpected {{{{{head}}}}}")
                return tuple(out), head, val[1:], pos
            if head == "if":
                out.append(self.if_node(val[1:], pos))
            elif head in _UNSUPPORTED:
                raise error(self.text, pos, f"{{{{{head}}}}} is not supported")
            else:
                out.append(Action(self.pipeline(val, pos, "command")))
        if inside is not None:
            raise error(self.text, len(self.text), f"unexpected EOF: {{{{{inside}}}}} not closed")
        return tuple(out), "", [], len(self.text)

    def if_node(self, toks: list[Token], pos: int) -> If:
        branches: list[tuple[Pipe, tuple[Node, ...]]] = []
        while True:
            cond = self.pipeline(toks, pos, "if")
            body, term, rest, pos = self.nodes("if")
            branches.append((cond, body))
            if term == "else" and rest[:1] and rest[0].text == "if":
                toks = rest[1:]
                continue
            if rest:
                raise error(self.text, rest[0].pos, f"unexpected {rest[0].text!r} in {term}")
            if term == "end":
                return If(tuple(branches), ())
            otherwise, term, rest, pos = self.nodes("if")
            if term != "end" or rest:
                raise error(self.text, pos, "expected {{end}} after {{else}}")
            return If(tuple(branches), otherwise)

    def pipeline(self, toks: list[Token], pos: int, what: str) -> Pipe:
        if not toks:
            raise error(self.text, pos, f"missing value for {what}")
        pipe, j = self.pipe(toks, 0, pos)
        if j < len(toks):
            raise error(self.text, toks[j].pos, f"unexpected {toks[j].text!r} in {what}")
        return pipe

    def pipe(self, toks: list[Token], j: int, pos: int) -> tuple[Pipe, int]:
        cmds: list[Command] = []
        while True:
            args: list[Operand] = []
            start = end = toks[j].pos if j < len(toks) else pos
            while j < len(toks) and toks[j].text not in ("|", ")"):
                tok = toks[j]
                if tok.text == "(":
                    sub, j = self.pipe(toks, j + 1, tok.pos)
                    if j >= len(toks):
                        raise error(self.text, tok.pos, "unclosed left paren")
                    args.append(SubPipe(sub))
                else:
                    args.append(self.operand(tok))
                end, j = toks[j].pos + len(toks[j].text), j + 1
            if not args:
                raise error(self.text, start, "missing command in pipeline")
            if cmds and not isinstance(args[0], FuncRef):
                msg = f"non executable command in pipeline stage {len(cmds) + 1}"
                raise error(self.text, start, msg)
            cmds.append(Command(tuple(args), start, self.text[start:end]))
            if j < len(toks) and toks[j].text == "|":
                j += 1
                continue
            return tuple(cmds), j

    def operand(self, tok: Token) -> Operand:
        kind, val, pos = tok
        if kind == "str":
            if not _STR_OK.fullmatch(val):
                raise error(self.text, pos, f"invalid escape in quoted string {val}")
            return Literal(_ESC.sub(_unescape, val[1:-1]))
        if kind == "raw":
            return Literal(val[1:-1].replace("\r", ""))
        if kind == "num":
            octal = re.fullmatch(r"[-+]?0[0-7]+", val)
            try:
                return Literal(int(val, 8 if octal else 0))
            except ValueError:
                raise error(self.text, pos, f"bad number syntax: {val!r}") from None
        if kind == "field":
            return FieldRef(tuple(val[1:].split(".")))
        if kind == "ident" and val in ("true", "false"):
            return Literal(val == "true")
        if kind == "ident" and val in FUNCS:
            return FuncRef(val)
        if kind == "ident":
            raise error(self.text, pos, f'function "{val}" not defined')
        if kind == "var":
            raise error(self.text, pos, f"variables are not supported: {val!r}")
        raise error(self.text, pos, "{{.}} (dot) is not supported; use a field such as .Type")
