"""Key-range helper shared by the SQL backends."""

from __future__ import annotations

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES_START = 0xD800
_SURROGATES_END = 0xDFFF


def prefix_upper_bound(prefix: str) -> str | None:
    """An exclusive upper bound for every key that starts with `prefix`, or None if unbounded.

    Keys starting with `p` sort in `[p, bound)` by code point, which is also UTF-8 byte order.
    Surrogates are skipped (they cannot be encoded); a trailing U+10FFFF is dropped and the
    character before it incremented instead. Callers still filter with `startswith`.
    """
    while prefix:
        code = ord(prefix[-1]) + 1
        if _SURROGATES_START <= code <= _SURROGATES_END:
            code = _SURROGATES_END + 1
        if code <= _MAX_CODE_POINT:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None
