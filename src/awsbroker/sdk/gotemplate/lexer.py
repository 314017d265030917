"""Go `text/template`'s lexer, for the subset we run: text between actions, and inside each
`{{ }}` the tokens (with `{{-`/`-}}` trimming the whitespace next to them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from awsbroker.sdk.gotemplate.errors import TemplateError

_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)|(?P<close>-?\}\})|(?P<comment>/\*.*?\*/)
    |(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<raw>`[^`]*`)|(?P<num>[-+]?[0-9][\w.]*)
    |(?P<field>(?:\.[^\W\d]\w*)+)|(?P<dot>\.)|(?P<var>\$\w*(?:\s*:?=)?)|(?P<ident>[^\W\d]\w*)|(?P<punct>[|()])""",
    re.VERBOSE | re.DOTALL,
)
_WS = " \t\r\n"


class Token(NamedTuple):
    kind: str  # the _TOKEN group: str, raw, num, field, dot, var, ident, punct, comment
    text: str
    pos: int  # offset in the source


@dataclass(frozen=True)
class TextItem:
    text: str
    pos: int


@dataclass(frozen=True)
class ActionItem:
    tokens: list[Token]
    pos: int


Item = TextItem | ActionItem


def location(text: str, pos: int) -> str:
    """Go's `line:column` of an offset."""
    return f"{text.count(chr(10), 0, pos) + 1}:{pos - text.rfind(chr(10), 0, pos)}"


def error(text: str, pos: int, msg: str) -> TemplateError:
    return TemplateError(f"template: template:{location(text, pos)}: {msg}")


def lex(text: str) -> list[Item]:
    items: list[Item] = []
    pos, trim_next = 0, False
    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        chunk = chunk.lstrip(_WS) if trim_next else chunk
        i = start + 2
        if start >= 0 and text[i : i + 1] == "-" and text[i + 1 : i + 2] in tuple(_WS):
            chunk, i = chunk.rstrip(_WS), i + 2
        if chunk:
            items.append(TextItem(chunk, pos))
        if start < 0:
            return items
        toks: list[Token] = []
        prev_ws = False
        while True:
            m = _TOKEN.match(text, i)
            if m is None:
                if i >= len(text):
                    raise error(text, start, "unclosed action")
                what = {'"': "unterminated quoted string", "`": "unterminated raw quoted string"}
                msg = what.get(text[i], f"bad character {text[i]!r} in action")
                raise error(text, i, "unclosed comment" if text.startswith("/*", i) else msg)
            kind, i = m.lastgroup or "", m.end()
            if kind == "close":
                if m.group().startswith("-") and not prev_ws:
                    raise error(text, m.start(), "bad character '-' in action")
                trim_next = m.group().startswith("-")
                break
            if kind != "ws":
                toks.append(Token(kind, m.group(), m.start()))
            prev_ws = kind == "ws"
        items.append(ActionItem(toks, start))
        pos = i
