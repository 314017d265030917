"""Durations as Vault accepts them: integer seconds, numeric strings, or Go duration strings."""

from __future__ import annotations

import math
import re

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
# Go's time.Duration is int64 nanoseconds: about 292 years. Longer is out of range there (and
# here, where a time that far out does not fit a datetime).
MAX_SECONDS = (2**63 - 1) // 1_000_000_000
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)


def parse_duration(value: object) -> int:
    """Seconds in `value`, truncated toward zero. Raises ValueError with a readable message."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '1h30m'")
    if isinstance(value, int):
        seconds: float = value
    elif isinstance(value, float):
        seconds = value
    elif isinstance(value, str):
        seconds = _parse_string(value.strip())
    else:
        raise ValueError("a duration is a number of seconds or a string like '1h30m'")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if not seconds <= MAX_SECONDS:  # also NaN and infinity (JSON's NaN, Infinity)
        raise ValueError(f"a duration is at most {MAX_SECONDS} seconds (about 292 years)")
    return int(seconds)


def _parse_string(text: str) -> float:
    if text == "":
        return 0
    if _INTEGER.fullmatch(text):
        # Past 19 digits it is out of range anyway, and converting it could fail (a float
        # overflows past 308 digits, an int refuses past 4300).
        sign = -1.0 if text.startswith("-") else 1.0
        digits = text.lstrip("+-").lstrip("0") or "0"
        return sign * (math.inf if len(digits) > 19 else float(int(digits)))
    sign = 1.0
    if text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    pos = 0
    total = 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(
            f"invalid duration {text!r}: use seconds or a string like '90s' or '1h30m'"
        )
    return sign * total


def format_duration(seconds: int) -> str:
    """Go's `time.Duration.String()` for whole seconds: 60 -> '1m0s', 0 -> '0s'."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"
