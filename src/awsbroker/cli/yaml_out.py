"""A YAML emitter for JSON values (`-format=yaml`), in block style.

Strings that could be read back as something else (`yes`, `1.0`, `null`, `: x`...) are written
double-quoted with JSON's escapes, which YAML's double-quoted style reads the same way; only
plain identifiers, paths and ARNs-without-colons stay unquoted. So `yaml.safe_load` of the
output gives back exactly the value that was emitted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./@-]*")
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"})
# Characters YAML does not allow raw in a double-quoted scalar (C1 controls, line/paragraph
# separators, BOM, surrogates, non-characters): written as \uXXXX escapes.
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _quote(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return _quote(text)


def _is_block(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            return [pad + "{}"]
        out: list[str] = []
        for key, item in value.items():
            name = scalar(str(key))
            if _is_block(item):
                out.append(f"{pad}{name}:")
                out.extend(_lines(item, indent + 2))
            else:
                out.append(f"{pad}{name}: {_inline(item)}")
        return out
    if isinstance(value, list | tuple):
        if not value:
            return [pad + "[]"]
        out = []
        for item in value:
            if _is_block(item):
                nested = _lines(item, indent + 2)
                out.append(pad + "- " + nested[0][indent + 2 :])
                out.extend(nested[1:])
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [pad + scalar(value)]


def _inline(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[]"
    return scalar(value)


def dumps(value: object) -> str:
    return "\n".join(_lines(value, 0)) + "\n"
