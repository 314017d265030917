"""Vault's `sdk/helper/template` for generated IAM user / STS session names (reference §3.1).

A safe interpreter for the Go `text/template` subset such templates use: text and `{{ }}` actions
(with `{{-`/`-}}` trim markers and `{{/* */}}` comments), `if`/`else if`/`else`/`end`, pipelines,
parentheses, `.Field` access, string/raw-string/int/bool literals, the Go builtins
`and or not eq ne lt le gt ge len print printf println` and the functions Vault/OpenBao register.
Strings are handled as Go does, as bytes (`truncate`, `len` and the length limits count bytes).
`timestamp` formats in UTC. `range`, `with`, variables and `{{.}}` are not supported.

A field's value is a string, or a map of strings read by key (`.Metadata.repository`); a key the
map lacks reads as "" (Go's `missingkey=zero`, where Go's default would print `<no value>`).
`Template.fields` lists the fields a template reads, so a caller can refuse unknown ones before
any rendering.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import math
import operator
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from awsbroker.sdk.glob import glob_match

DEFAULT_TEMPLATE = (
    '{{ if (eq .Type "STS") }}{{ printf "vault-%s-%s"  (unix_time) (random 20) | truncate 32 }}'
    '{{ else }}{{ printf "vault-%s-%s-%s" (printf "%s-%s" (.DisplayName) (.PolicyName) | '
    "truncate 42) (unix_time) (random 20) | truncate 64 }}{{ end }}"
)
# Vault has one default template that branches on `.Type`; these aliases name its two uses.
DEFAULT_IAM_TEMPLATE = DEFAULT_TEMPLATE
DEFAULT_STS_TEMPLATE = DEFAULT_TEMPLATE
UsernameKind = Literal["IAM", "STS"]
USERNAME_LIMITS: Mapping[str, int] = {"IAM": 64, "STS": 32}
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

Value = str | int | bool
# What a template may read: strings, and maps of strings read by key.
Data = Mapping[str, "str | Mapping[str, str]"]


class TemplateError(ValueError):
    """A template that does not parse, or fails while running. The message says where."""


class UsernameError(TemplateError):
    """Raised by `generate_username`, with Vault's exact error text (HTTP 500 in Vault)."""


class _FuncError(Exception):
    pass


def random_base62(n: int) -> str:
    """`n` characters drawn uniformly from BASE62 by the OS's CSPRNG, in one read of it rather
    than one per character: a byte under 248 (4 x 62) picks a character, the rest are dropped."""
    out: list[str] = []
    while len(out) < n:
        out += [BASE62[b % 62] for b in secrets.token_bytes(n - len(out) + 8) if b < 248]
    return "".join(out[:n])


def normalize_name(name: str) -> str:
    """Vault's normalizeDisplayName: every character outside `[a-zA-Z0-9+=,.@_-]` becomes `_`."""
    return re.sub(r"[^a-zA-Z0-9+=,.@_-]", "_", name)


def _b(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


# ---- lexer ----------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)|(?P<close>-?\}\})|(?P<comment>/\*.*?\*/)
    |(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<raw>`[^`]*`)|(?P<num>[-+]?[0-9][\w.]*)
    |(?P<field>(?:\.[^\W\d]\w*)+)|(?P<dot>\.)|(?P<var>\$\w*(?:\s*:?=)?)|(?P<ident>[^\W\d]\w*)|(?P<punct>[|()])""",
    re.VERBOSE | re.DOTALL,
)
_STR_OK = re.compile(
    r'"(?:[^"\\]|\\(?:[abfnrtv\\"]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}))*"'
)
_ESC = re.compile(r"\\(?:([abfnrtv\\\"])|x(..)|u(....)|U(........)|([0-7]{3}))")
_SIMPLE_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_WS = " \t\r\n"
Tok = tuple[str, str, int]  # kind, text, offset


def _unescape(m: re.Match[str]) -> str:
    simple, x, u, big_u, octal = m.groups()
    if simple:
        return _SIMPLE_ESC.get(simple, simple)
    if u or big_u:
        return chr(int(u or big_u, 16))
    byte = int(x, 16) if x else int(octal, 8)
    return chr(byte) if byte < 0x80 else _s(bytes([byte]))


def _loc(text: str, pos: int) -> str:
    return f"{text.count(chr(10), 0, pos) + 1}:{pos - text.rfind(chr(10), 0, pos)}"


def _error(text: str, pos: int, msg: str) -> TemplateError:
    return TemplateError(f"template: template:{_loc(text, pos)}: {msg}")


def _lex(text: str) -> list[tuple[str, str | list[Tok], int]]:
    items: list[tuple[str, str | list[Tok], int]] = []
    pos, trim_next = 0, False
    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        chunk = chunk.lstrip(_WS) if trim_next else chunk
        i = start + 2
        if start >= 0 and text[i : i + 1] == "-" and text[i + 1 : i + 2] in tuple(_WS):
            chunk, i = chunk.rstrip(_WS), i + 2
        if chunk:
            items.append(("text", chunk, pos))
        if start < 0:
            return items
        toks: list[Tok] = []
        prev_ws = False
        while True:
            m = _TOKEN.match(text, i)
            if m is None:
                if i >= len(text):
                    raise _error(text, start, "unclosed action")
                what = {'"': "unterminated quoted string", "`": "unterminated raw quoted string"}
                msg = what.get(text[i], f"bad character {text[i]!r} in action")
                raise _error(text, i, "unclosed comment" if text.startswith("/*", i) else msg)
            kind, i = m.lastgroup or "", m.end()
            if kind == "close":
                if m.group().startswith("-") and not prev_ws:
                    raise _error(text, m.start(), "bad character '-' in action")
                trim_next = m.group().startswith("-")
                break
            if kind != "ws":
                toks.append((kind, m.group(), m.start()))
            prev_ws = kind == "ws"
        items.append(("action", toks, start))
        pos = i


# ---- parser ---------------------------------------------------------------------------------
Operand = tuple[str, object]  # ("lit", value) | ("field", names) | ("func", name) | ("pipe", cmds)


@dataclass(frozen=True)
class _Cmd:
    args: list[Operand]
    pos: int
    src: str


Pipe = list[_Cmd]


@dataclass(frozen=True)
class _If:
    branches: list[tuple[Pipe, list[object]]]
    otherwise: list[object]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.items, self.i = text, _lex(text), 0

    def nodes(self, inside: str | None) -> tuple[list[object], str, list[Tok], int]:
        out: list[object] = []
        while self.i < len(self.items):
            _, val, pos = self.items[self.i]
            self.i += 1
            if isinstance(val, str):
                out.append(val)
                continue
            if any(t[0] == "comment" for t in val):
                if len(val) > 1:
                    raise _error(self.text, pos, "a comment must be alone in its action")
                continue
            head = val[0][1] if val and val[0][0] == "ident" else ""
            if head in ("end", "else"):
                if inside is None:
                    raise _error(self.text, pos, f"unexpected {{{{{head}}}}}")
                return out, head, val[1:], pos
            if head == "if":
                out.append(self.if_node(val[1:], pos))
            elif head in ("range", "with", "define", "template", "block", "break", "continue"):
                raise _error(self.text, pos, f"{{{{{head}}}}} is not supported")
            else:
                out.append(self.pipeline(val, pos, "command"))
        if inside is not None:
            raise _error(self.text, len(self.text), f"unexpected EOF: {{{{{inside}}}}} not closed")
        return out, "", [], len(self.text)

    def if_node(self, toks: list[Tok], pos: int) -> _If:
        branches: list[tuple[Pipe, list[object]]] = []
        while True:
            cond = self.pipeline(toks, pos, "if")
            body, term, rest, pos = self.nodes("if")
            branches.append((cond, body))
            if term == "else" and rest[:1] and rest[0][1] == "if":
                toks = rest[1:]
                continue
            if rest:
                raise _error(self.text, rest[0][2], f"unexpected {rest[0][1]!r} in {term}")
            if term == "end":
                return _If(branches, [])
            otherwise, term, rest, pos = self.nodes("if")
            if term != "end" or rest:
                raise _error(self.text, pos, "expected {{end}} after {{else}}")
            return _If(branches, otherwise)

    def pipeline(self, toks: list[Tok], pos: int, what: str) -> Pipe:
        if not toks:
            raise _error(self.text, pos, f"missing value for {what}")
        pipe, j = self.pipe(toks, 0, pos)
        if j < len(toks):
            raise _error(self.text, toks[j][2], f"unexpected {toks[j][1]!r} in {what}")
        return pipe

    def pipe(self, toks: list[Tok], j: int, pos: int) -> tuple[Pipe, int]:
        cmds: Pipe = []
        while True:
            args: list[Operand] = []
            start = end = toks[j][2] if j < len(toks) else pos
            while j < len(toks) and toks[j][1] not in ("|", ")"):
                kind, val, tpos = toks[j]
                if val == "(":
                    sub, j = self.pipe(toks, j + 1, tpos)
                    if j >= len(toks):
                        raise _error(self.text, tpos, "unclosed left paren")
                    args.append(("pipe", sub))
                else:
                    args.append(self.operand(kind, val, tpos))
                end, j = toks[j][2] + len(toks[j][1]), j + 1
            if not args:
                raise _error(self.text, start, "missing command in pipeline")
            if cmds and args[0][0] != "func":
                msg = f"non executable command in pipeline stage {len(cmds) + 1}"
                raise _error(self.text, start, msg)
            cmds.append(_Cmd(args, start, self.text[start:end]))
            if j < len(toks) and toks[j][1] == "|":
                j += 1
                continue
            return cmds, j

    def operand(self, kind: str, val: str, pos: int) -> Operand:
        if kind == "str":
            if not _STR_OK.fullmatch(val):
                raise _error(self.text, pos, f"invalid escape in quoted string {val}")
            return ("lit", _ESC.sub(_unescape, val[1:-1]))
        if kind == "raw":
            return ("lit", val[1:-1].replace("\r", ""))
        if kind == "num":
            octal = re.fullmatch(r"[-+]?0[0-7]+", val)
            try:
                return ("lit", int(val, 8 if octal else 0))
            except ValueError:
                raise _error(self.text, pos, f"bad number syntax: {val!r}") from None
        if kind == "field":
            return ("field", tuple(val[1:].split(".")))
        if kind == "ident" and val in ("true", "false"):
            return ("lit", val == "true")
        if kind == "ident" and val in _FUNCS:
            return ("func", val)
        if kind == "ident":
            raise _error(self.text, pos, f'function "{val}" not defined')
        if kind == "var":
            raise _error(self.text, pos, f"variables are not supported: {val!r}")
        raise _error(self.text, pos, "{{.}} (dot) is not supported; use a field such as .Type")


# ---- evaluation -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ctx:
    src: str
    data: Data
    now: Callable[[], float]
    rand: Callable[[int], str]
    rand_bytes: Callable[[int], bytes]

    def fail(self, cmd: _Cmd, msg: str) -> TemplateError:
        return _error(self.src, cmd.pos, f'executing "template" at <{cmd.src}>: {msg}')


def _tname(v: Value) -> str:
    return "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "string"


def _fmt(v: Value) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _truthy(v: Value) -> bool:
    return v if isinstance(v, bool) else v != 0 if isinstance(v, int) else v != ""


def _pipe(pipe: Pipe, ctx: _Ctx) -> Value:
    val: Value | None = None
    for cmd in pipe:
        val = _command(cmd, ctx, val)
    assert val is not None
    return val


def _command(cmd: _Cmd, ctx: _Ctx, piped: Value | None) -> Value:
    (kind, head), rest = cmd.args[0], cmd.args[1:]
    if kind == "func":
        args = [_operand(a, ctx, cmd) for a in rest] + ([] if piped is None else [piped])
        return _call(str(head), args, ctx, cmd)
    if rest or piped is not None:
        raise ctx.fail(cmd, "can't give argument to non-function")
    return _operand(cmd.args[0], ctx, cmd)


def _operand(op: Operand, ctx: _Ctx, cmd: _Cmd) -> Value:
    kind, val = op
    if kind == "func":
        return _call(str(val), [], ctx, cmd)
    if kind == "pipe":
        return _pipe(val, ctx)  # type: ignore[arg-type]
    if kind == "field":
        first, *more = cast(tuple[str, ...], val)
        if first not in ctx.data:
            have = ", ".join(sorted(ctx.data))
            raise ctx.fail(cmd, f"can't evaluate field {first} (available fields: {have})")
        value = ctx.data[first]
        if not isinstance(value, str):
            if len(more) != 1:
                raise ctx.fail(cmd, f"field {first} is a map: read one key, as .{first}.<key>")
            return value.get(more[0], "")
        if more:
            raise ctx.fail(cmd, f"can't evaluate field {more[0]} in type string")
        return value
    return val  # type: ignore[return-value]


def _call(name: str, args: list[Value], ctx: _Ctx, cmd: _Cmd) -> Value:
    spec, fn = _FUNCS[name]
    if spec is not None:
        if len(args) != len(spec):
            want = f"want {len(spec)} got {len(args)}"
            raise ctx.fail(cmd, f"wrong number of args for {name}: {want}")
        for arg, typ in zip(args, spec, strict=True):
            if typ != "any" and _tname(arg) != typ:
                raise ctx.fail(cmd, f"wrong type for value; expected {typ}; got {_tname(arg)}")
    try:
        return fn(ctx, *args)
    except _FuncError as exc:
        raise ctx.fail(cmd, f"error calling {name}: {exc}") from None


# ---- functions ------------------------------------------------------------------------------
def _truncate_sha256(n: int, s: str) -> str:
    if n <= 8:
        raise _FuncError(f"max length must be > 8 but was {n}")
    b = _b(s)
    return s if len(b) <= n else _s(b[: n - 8]) + hashlib.sha256(b[n - 8 :]).hexdigest()[:8]


def _truncate(n: int, s: str) -> str:
    if n <= 0:
        raise _FuncError(f"max length must be > 0 but was {n}")
    return _s(_b(s)[:n])


def _decode(fn: Callable[[bytes], bytes], s: str) -> str:
    try:
        return _s(fn(_b(s)))
    except (binascii.Error, ValueError) as exc:
        raise _FuncError(str(exc)) from None


def _random(ctx: _Ctx, n: int) -> str:
    if n < 0:
        raise _FuncError(f"length must be >= 0 but was {n}")
    return ctx.rand(n)


def _uuid(ctx: _Ctx) -> str:
    h = ctx.rand_bytes(16).hex()  # hashicorp/go-uuid: 16 random bytes, no version bits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(.?)", re.DOTALL)


def _printf(fmt: Value, *args: Value) -> str:
    if not isinstance(fmt, str):
        raise _FuncError(f"format must be a string, got {_tname(fmt)}")
    out, pos, used = [], 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.groups()
        if len(width) > 6 or len(prec or "") > 6:  # Go refuses widths/precisions over 1e6
            out.append("%!(BADWIDTH)" if len(width) > 6 else "%!(BADPREC)")
            width, prec = ("" if len(width) > 6 else width), ("" if len(prec or "") > 6 else prec)
        if verb in ("%", ""):
            out.append("%" if verb else "%!(NOVERB)")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg, used = args[used], used + 1
        left, tname = "-" in flags, _tname(arg)
        if (verb in "sv" and (tname == "string" or verb == "v")) or (verb + tname == "tbool"):
            text = _fmt(arg)[: int(prec)] if prec else _fmt(arg)
        elif verb == "q" and isinstance(arg, str):
            text = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif verb in "dxX" and tname == "int":
            sign = "+" if "+" in flags else " " if " " in flags else ""
            zero = "0" if "0" in flags and not left else ""
            alt = "#" if "#" in flags else ""
            out.append(format(arg, f"{'<' if left else ''}{sign}{alt}{zero}{width}{verb}"))
            continue
        elif verb in "xX" and isinstance(arg, str):
            text = _b(arg).hex().upper() if verb == "X" else _b(arg).hex()
        else:
            out.append(f"%!{verb}({tname}={_fmt(arg)})")
            continue
        fill = "0" if "0" in flags and not left else " "
        out.append(format(text, f"{fill}{'<' if left else '>'}{width}"))
    out.append(fmt[pos:])
    if used < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{_tname(a)}={_fmt(a)}" for a in args[used:]) + ")")
    return "".join(out)


def _variadic(name: str, least: int, fn: Callable[..., Value]) -> Callable[..., Value]:
    def call(_ctx: _Ctx, *args: Value) -> Value:
        if len(args) < least:
            raise _FuncError(f"wrong number of args for {name}: want at least {least} got 0")
        return fn(*args)

    return call


def _eq(a: Value, *others: Value) -> bool:
    if not others:
        raise _FuncError("missing argument for comparison")
    if any(_tname(a) != _tname(b) for b in others):
        raise _FuncError("incompatible types for comparison")
    return a in others


def _order(op: Callable[[Value, Value], bool]) -> Callable[..., Value]:
    def compare(_ctx: _Ctx, a: Value, b: Value) -> bool:
        if _tname(a) != _tname(b):
            raise _FuncError("incompatible types for comparison")
        if isinstance(a, bool):
            raise _FuncError("invalid type for comparison")
        return op(a, b)

    return compare


def _sprint(*args: Value) -> str:
    def glue(i: int) -> str:
        return (
            " " if i and not isinstance(args[i], str) and not isinstance(args[i - 1], str) else ""
        )

    return "".join(glue(i) + _fmt(v) for i, v in enumerate(args))


_MONTHS = "January February March April May June July August September October November December"
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
_LAYOUT = re.compile(
    r"January|Monday|2006|[Z-]07(?::00:00|0000|:00|00)?|MST|Jan|Mon|002|__2|_2(?!006)|15"
    r"|0[1-6]|PM|pm|[.,](?:0+|9+)(?!\d)|[1-5]"
)


def _timestamp(ctx: _Ctx, layout: str) -> str:
    """Go's `time.Time.Format(layout)`, in UTC."""
    t = ctx.now()
    dt = datetime.fromtimestamp(t, UTC)
    month, day = _MONTHS.split()[dt.month - 1], _DAYS.split()[dt.weekday()]
    h12, yday = dt.hour % 12 or 12, dt.timetuple().tm_yday
    table = {
        "January": month, "Jan": month[:3], "Monday": day, "Mon": day[:3], "MST": "UTC",
        "2006": f"{dt.year:04d}", "06": f"{dt.year % 100:02d}", "01": f"{dt.month:02d}",
        "1": str(dt.month), "02": f"{dt.day:02d}", "2": str(dt.day), "_2": f"{dt.day:2d}",
        "002": f"{yday:03d}", "__2": f"{yday:3d}", "15": f"{dt.hour:02d}", "03": f"{h12:02d}",
        "3": str(h12), "04": f"{dt.minute:02d}", "4": str(dt.minute), "05": f"{dt.second:02d}",
        "5": str(dt.second), "PM": "PM" if dt.hour >= 12 else "AM",
        "pm": "pm" if dt.hour >= 12 else "am",
    }  # fmt: skip

    def one(m: re.Match[str]) -> str:
        tok = m.group()
        if tok in table:
            return table[tok]
        if tok[0] in "Z-":
            return "Z" if tok[0] == "Z" else "+" + tok[1:].replace("7", "0")
        digits = f"{round((t - math.floor(t)) * 1e9) % 10**9:09d}"[: len(tok) - 1]
        digits = digits.rstrip("0") if tok[1] == "9" else digits
        return tok[0] + digits if digits else ""

    return _LAYOUT.sub(one, layout)


def _pure(fn: Callable[..., Value]) -> Callable[..., Value]:
    return lambda _ctx, *args: fn(*args)


_S, _I = ("string",), ("int",)
_FUNCS: dict[str, tuple[tuple[str, ...] | None, Callable[..., Value]]] = {
    "random": (_I, _random),
    "truncate": (_I + _S, _pure(_truncate)),
    "truncate_sha256": (_I + _S, _pure(_truncate_sha256)),
    "uppercase": (_S, _pure(str.upper)),
    "lowercase": (_S, _pure(str.lower)),
    "replace": (_S * 3, _pure(lambda old, new, s: s.replace(old, new))),
    "sha256": (_S, _pure(lambda s: hashlib.sha256(_b(s)).hexdigest())),
    "base64": (_S, _pure(lambda s: base64.b64encode(_b(s)).decode())),
    "decode_base64": (
        _S,
        _pure(lambda s: _decode(lambda b: base64.b64decode(b, validate=True), s)),
    ),
    "hex": (_S, _pure(lambda s: _b(s).hex())),
    "decode_hex": (_S, _pure(lambda s: _decode(binascii.unhexlify, s))),
    "unix_time": ((), lambda ctx: str(math.floor(ctx.now()))),
    "unix_time_millis": ((), lambda ctx: str(math.floor(ctx.now() * 1000))),
    "timestamp": (_S, _timestamp),
    "uuid": ((), _uuid),
    "glob": (_S * 2, _pure(glob_match)),
    "and": (None, _variadic("and", 1, lambda *a: next((v for v in a if not _truthy(v)), a[-1]))),
    "or": (None, _variadic("or", 1, lambda *a: next((v for v in a if _truthy(v)), a[-1]))),
    "not": (("any",), _pure(lambda v: not _truthy(v))),
    "eq": (None, _variadic("eq", 1, _eq)),
    "ne": (None, _variadic("ne", 1, lambda a, *b: not _eq(a, *b))),
    "lt": (("any", "any"), _order(operator.lt)),
    "le": (("any", "any"), _order(operator.le)),
    "gt": (("any", "any"), _order(operator.gt)),
    "ge": (("any", "any"), _order(operator.ge)),
    "len": (_S, _pure(lambda s: len(_b(s)))),
    "print": (None, _pure(_sprint)),
    "println": (None, _pure(lambda *a: " ".join(map(_fmt, a)) + "\n")),
    "printf": (None, _variadic("printf", 1, _printf)),
}


# ---- public API -----------------------------------------------------------------------------
_TOO_DEEP = "template: template: nests too deeply (parentheses, pipelines or {{if}}s)"


class Template:
    """A parsed template. Immutable; render it as often as needed."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._nodes = _Parser(source).nodes(None)[0]
        except RecursionError:
            raise TemplateError(_TOO_DEEP) from None

    def fields(self) -> list[tuple[str, ...]]:
        """Every field the template reads (`.Metadata.repository` → ("Metadata", "repository")),
        in order, in every branch, whether or not a rendering would reach it."""
        found: list[tuple[str, ...]] = []

        def pipe(cmds: Pipe) -> None:
            for cmd in cmds:
                for kind, val in cmd.args:
                    if kind == "field":
                        found.append(cast(tuple[str, ...], val))
                    elif kind == "pipe":
                        pipe(cast(Pipe, val))

        def walk(nodes: list[object]) -> None:
            for node in nodes:
                if isinstance(node, _If):
                    for cond, body in node.branches:
                        pipe(cond)
                        walk(body)
                    walk(node.otherwise)
                elif not isinstance(node, str):
                    pipe(cast(Pipe, node))

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
            self._run(self._nodes, _Ctx(self.source, data, now, rand, rand_bytes), out)
        except RecursionError:
            raise TemplateError(_TOO_DEEP) from None
        return "".join(out)

    def _run(self, nodes: list[object], ctx: _Ctx, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, _If):
                body = next((b for cond, b in node.branches if _truthy(_pipe(cond, ctx))), None)
                self._run(node.otherwise if body is None else body, ctx, out)
            else:
                out.append(_fmt(_pipe(node, ctx)))  # type: ignore[arg-type]


def parse(text: str) -> Template:
    """Compile `text`; raises `TemplateError` on bad syntax or an unknown function."""
    if not text:
        raise TemplateError("missing template")
    return Template(text)


@functools.lru_cache(maxsize=32)
def load_username_template(text: str | None) -> Template:
    """The stored `username_template` (empty or None → the default), parsed once and cached.
    Errors carry Vault's `unable to initialize username template: ...` text."""
    try:
        return parse(text or DEFAULT_TEMPLATE)
    except TemplateError as exc:
        msg = f"unable to initialize username template: unable to parse template: {exc}"
        raise UsernameError(msg) from None


def generate_username(
    template: Template | str | None,
    display_name: str,
    policy_name: str,
    *,
    kind: UsernameKind,
    limit: int | None = None,
    now: Callable[[], float] = time.time,
    rand: Callable[[int], str] = random_base62,
    rand_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> str:
    """Vault's genUsername. IAM (iam_user, and assumed_role without role_session_name): `.Type`
    "IAM", normalised names, 64-byte limit. STS (federation_token): `.Type` "STS", empty names,
    32-byte limit. `limit` overrides the kind's limit. Raises `UsernameError` (HTTP 500)."""
    tmpl = template if isinstance(template, Template) else load_username_template(template)
    names = (
        (normalize_name(display_name), normalize_name(policy_name)) if kind == "IAM" else ("", "")
    )
    data = {"Type": kind, "DisplayName": names[0], "PolicyName": names[1]}
    try:
        name = tmpl.render(data, now=now, rand=rand, rand_bytes=rand_bytes)
    except TemplateError as exc:
        raise UsernameError(
            f"failed to generate username: unable to apply template: {exc}"
        ) from None
    limit = USERNAME_LIMITS[kind] if limit is None else limit
    if len(_b(name)) > limit:
        raise UsernameError(
            f"the username generated by the template exceeds the {kind} username length limits "
            f"of {limit} chars"
        )
    return name
