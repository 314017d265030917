"""The functions a template may call: Go's builtins (`and or not eq ne lt le gt ge len print
printf println`) and the ones Vault's `sdk/helper/template` registers. Strings are handled as Go
does, as bytes (`truncate`, `len` count bytes). `timestamp` formats in UTC."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import operator
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from awsbroker.sdk.glob import glob_match
from awsbroker.sdk.gotemplate.nodes import Value

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class FuncError(Exception):
    """A function refused its arguments; the evaluator says which call, where."""


@dataclass(frozen=True)
class Env:
    """What the impure functions read: the clock and the randomness."""

    now: Callable[[], float]
    rand: Callable[[int], str]
    rand_bytes: Callable[[int], bytes]


def random_base62(n: int) -> str:
    """`n` characters drawn uniformly from BASE62 by the OS's CSPRNG, in one read of it rather
    than one per character: a byte under 248 (4 x 62) picks a character, the rest are dropped."""
    out: list[str] = []
    while len(out) < n:
        out += [BASE62[b % 62] for b in secrets.token_bytes(n - len(out) + 8) if b < 248]
    return "".join(out[:n])


def to_bytes(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def from_bytes(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def type_name(v: Value) -> str:
    return "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "string"


def printed(v: Value) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def truthy(v: Value) -> bool:
    return v if isinstance(v, bool) else v != 0 if isinstance(v, int) else v != ""


def _truncate_sha256(n: int, s: str) -> str:
    if n <= 8:
        raise FuncError(f"max length must be > 8 but was {n}")
    b = to_bytes(s)
    return s if len(b) <= n else from_bytes(b[: n - 8]) + hashlib.sha256(b[n - 8 :]).hexdigest()[:8]


def _truncate(n: int, s: str) -> str:
    if n <= 0:
        raise FuncError(f"max length must be > 0 but was {n}")
    return from_bytes(to_bytes(s)[:n])


def _decode(fn: Callable[[bytes], bytes], s: str) -> str:
    try:
        return from_bytes(fn(to_bytes(s)))
    except (binascii.Error, ValueError) as exc:
        raise FuncError(str(exc)) from None


def _random(ctx: Env, n: int) -> str:
    if n < 0:
        raise FuncError(f"length must be >= 0 but was {n}")
    return ctx.rand(n)


def _uuid(ctx: Env) -> str:
    h = ctx.rand_bytes(16).hex()  # hashicorp/go-uuid: 16 random bytes, no version bits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(.?)", re.DOTALL)


def _printf(fmt: Value, *args: Value) -> str:
    if not isinstance(fmt, str):
        raise FuncError(f"format must be a string, got {type_name(fmt)}")
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
        left, tname = "-" in flags, type_name(arg)
        if (verb in "sv" and (tname == "string" or verb == "v")) or (verb + tname == "tbool"):
            text = printed(arg)[: int(prec)] if prec else printed(arg)
        elif verb == "q" and isinstance(arg, str):
            text = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif verb in "dxX" and tname == "int":
            sign = "+" if "+" in flags else " " if " " in flags else ""
            zero = "0" if "0" in flags and not left else ""
            alt = "#" if "#" in flags else ""
            out.append(format(arg, f"{'<' if left else ''}{sign}{alt}{zero}{width}{verb}"))
            continue
        elif verb in "xX" and isinstance(arg, str):
            text = to_bytes(arg).hex().upper() if verb == "X" else to_bytes(arg).hex()
        else:
            out.append(f"%!{verb}({tname}={printed(arg)})")
            continue
        fill = "0" if "0" in flags and not left else " "
        out.append(format(text, f"{fill}{'<' if left else '>'}{width}"))
    out.append(fmt[pos:])
    if used < len(args):
        out.append(
            "%!(EXTRA " + ", ".join(f"{type_name(a)}={printed(a)}" for a in args[used:]) + ")"
        )
    return "".join(out)


def _variadic(name: str, least: int, fn: Callable[..., Value]) -> Callable[..., Value]:
    def call(_ctx: Env, *args: Value) -> Value:
        if len(args) < least:
            raise FuncError(f"wrong number of args for {name}: want at least {least} got 0")
        return fn(*args)

    return call


def _eq(a: Value, *others: Value) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    if any(type_name(a) != type_name(b) for b in others):
        raise FuncError("incompatible types for comparison")
    return a in others


def _order(op: Callable[[Value, Value], bool]) -> Callable[..., Value]:
    def compare(_ctx: Env, a: Value, b: Value) -> bool:
        if type_name(a) != type_name(b):
            raise FuncError("incompatible types for comparison")
        if isinstance(a, bool):
            raise FuncError("invalid type for comparison")
        return op(a, b)

    return compare


def _sprint(*args: Value) -> str:
    def glue(i: int) -> str:
        return (
            " " if i and not isinstance(args[i], str) and not isinstance(args[i - 1], str) else ""
        )

    return "".join(glue(i) + printed(v) for i, v in enumerate(args))


_MONTHS = "January February March April May June July August September October November December"
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
_LAYOUT = re.compile(
    r"January|Monday|2006|[Z-]07(?::00:00|0000|:00|00)?|MST|Jan|Mon|002|__2|_2(?!006)|15"
    r"|0[1-6]|PM|pm|[.,](?:0+|9+)(?!\d)|[1-5]"
)


def _timestamp(ctx: Env, layout: str) -> str:
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
FUNCS: dict[str, tuple[tuple[str, ...] | None, Callable[..., Value]]] = {
    "random": (_I, _random),
    "truncate": (_I + _S, _pure(_truncate)),
    "truncate_sha256": (_I + _S, _pure(_truncate_sha256)),
    "uppercase": (_S, _pure(str.upper)),
    "lowercase": (_S, _pure(str.lower)),
    "replace": (_S * 3, _pure(lambda old, new, s: s.replace(old, new))),
    "sha256": (_S, _pure(lambda s: hashlib.sha256(to_bytes(s)).hexdigest())),
    "base64": (_S, _pure(lambda s: base64.b64encode(to_bytes(s)).decode())),
    "decode_base64": (
        _S,
        _pure(lambda s: _decode(lambda b: base64.b64decode(b, validate=True), s)),
    ),
    "hex": (_S, _pure(lambda s: to_bytes(s).hex())),
    "decode_hex": (_S, _pure(lambda s: _decode(binascii.unhexlify, s))),
    "unix_time": ((), lambda ctx: str(math.floor(ctx.now()))),
    "unix_time_millis": ((), lambda ctx: str(math.floor(ctx.now() * 1000))),
    "timestamp": (_S, _timestamp),
    "uuid": ((), _uuid),
    "glob": (_S * 2, _pure(glob_match)),
    "and": (None, _variadic("and", 1, lambda *a: next((v for v in a if not truthy(v)), a[-1]))),
    "or": (None, _variadic("or", 1, lambda *a: next((v for v in a if truthy(v)), a[-1]))),
    "not": (("any",), _pure(lambda v: not truthy(v))),
    "eq": (None, _variadic("eq", 1, _eq)),
    "ne": (None, _variadic("ne", 1, lambda a, *b: not _eq(a, *b))),
    "lt": (("any", "any"), _order(operator.lt)),
    "le": (("any", "any"), _order(operator.le)),
    "gt": (("any", "any"), _order(operator.gt)),
    "ge": (("any", "any"), _order(operator.ge)),
    "len": (_S, _pure(lambda s: len(to_bytes(s)))),
    "print": (None, _pure(_sprint)),
    "println": (None, _pure(lambda *a: " ".join(map(printed, a)) + "\n")),
    "printf": (None, _variadic("printf", 1, _printf)),
}
