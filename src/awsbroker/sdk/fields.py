"""Declared fields and the typed decoding of request data against them.

Input is decoded once at the edge of a handler: every supplied field is checked against its
type before the handler runs, so a handler sees typed values or never runs at all. A JSON
`null` means "not supplied"; unknown keys are ignored, as Vault does.
"""

from __future__ import annotations

import contextlib
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass

from awsbroker.sdk.duration import parse_duration
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject, JSONValue

# Go's int64, the range of Vault's integer fields.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(value: object) -> bool:
    """Go's strconv.ParseBool, plus JSON booleans and 0/1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise ValueError("expected a boolean (true/false)")


class FieldType(enum.Enum):
    STRING = "string"
    INT = "int"
    BOOL = "bool"
    DURATION = "duration"
    STRING_LIST = "comma-separated string list"  # Vault's TypeCommaStringSlice
    # Vault's TypeStringSlice: a list, and a lone string is ONE item, commas and all.
    STRING_SLICE = "string list"
    MAP = "map of strings"
    OBJECT = "object"


@dataclass(frozen=True)
class Field:
    type: FieldType
    description: str = ""
    default: JSONValue = None
    required: bool = False


Value = str | int | bool | list[str] | dict[str, str] | JSONObject


def _decode(ftype: FieldType, raw: JSONValue) -> Value:
    if ftype is FieldType.STRING:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ValueError("expected a string")
        return str(raw)
    if ftype is FieldType.INT:
        return _decode_int(raw)
    if ftype is FieldType.BOOL:
        return parse_bool(raw)
    if ftype is FieldType.DURATION:
        return parse_duration(raw)
    if ftype is FieldType.STRING_LIST:
        return _decode_list(raw)
    if ftype is FieldType.STRING_SLICE:
        return _decode_list([raw] if isinstance(raw, str) else raw)
    if ftype is FieldType.MAP:
        return _decode_map(raw)
    obj: JSONValue = raw
    if isinstance(raw, str):
        try:
            obj = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ValueError("expected a JSON object") from exc
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    return obj


def _decode_int(raw: JSONValue) -> int:
    """An integer Go's int64 holds (Vault's `TypeInt` is a Go int): a larger one cannot be
    stored or answered to a Go client (`1e300` would come back as a 301-digit JSON number)."""
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str):
        with contextlib.suppress(ValueError):  # not an integer: said below
            value = int(raw.strip())
    if value is None:
        raise ValueError("expected an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"out of range: an integer is from {INT64_MIN} to {INT64_MAX}")
    return value


def _decode_list(raw: JSONValue) -> list[str]:
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, list):
        out: list[str] = []
        for item in raw:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise ValueError("expected a list of strings")
            if str(item).strip():
                out.append(str(item).strip())
        return out
    raise ValueError("expected a list of strings or a comma-separated string")


def _decode_map(raw: JSONValue) -> dict[str, str]:
    if isinstance(raw, str):
        # Vault also accepts "k1=v1,k2=v2" for key-value fields.
        pairs: dict[str, str] = {}
        for part in (p for p in raw.split(",") if p.strip()):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError("expected a map or 'key=value' pairs")
            pairs[key.strip()] = value.strip()
        return pairs
    if isinstance(raw, list):
        return _decode_map(",".join(str(x) for x in raw))
    if not isinstance(raw, dict):
        raise ValueError("expected a map of strings")
    out: dict[str, str] = {}
    for name, item in raw.items():
        if isinstance(item, dict | list) or item is None:
            raise ValueError("expected a map of strings")
        out[name] = str(item).lower() if isinstance(item, bool) else str(item)
    return out


class FieldData:
    """The decoded, typed data of one request against the fields its path declares."""

    def __init__(self, schema: Mapping[str, Field], raw: Mapping[str, JSONValue]) -> None:
        self._schema = schema
        self.unknown = sorted(k for k, v in raw.items() if k not in schema and v is not None)
        self._values: dict[str, Value] = {}
        for name, spec in schema.items():
            value = raw.get(name)
            if value is None:
                continue
            try:
                self._values[name] = _decode(spec.type, value)
            except ValueError as exc:
                raise InvalidRequest(f"Field validation failed: field {name!r}: {exc}") from None

    def is_set(self, name: str) -> bool:
        self._spec(name)
        return name in self._values

    def require(self, *names: str) -> None:
        for name in names:
            if name not in self._values or self._values[name] in ("", [], {}):
                raise InvalidRequest(f"missing {name}")

    def get_str(self, name: str) -> str:
        return str(self._get(name, ""))

    def get_int(self, name: str) -> int:
        value = self._get(name, 0)
        return int(value) if isinstance(value, int | str) else 0

    def get_bool(self, name: str) -> bool:
        return bool(self._get(name, False))

    def get_duration(self, name: str) -> int:
        value = self._get(name, 0)
        if isinstance(value, str):
            return parse_duration(value)
        return int(value) if isinstance(value, int) else 0

    def get_list(self, name: str) -> list[str]:
        value = self._get(name, [])
        if isinstance(value, str):
            return _decode_list(value)
        return list(value) if isinstance(value, list) else []

    def get_map(self, name: str) -> dict[str, str]:
        value = self._get(name, {})
        return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def get_object(self, name: str) -> JSONObject:
        value = self._get(name, {})
        return dict(value) if isinstance(value, dict) else {}

    def _spec(self, name: str) -> Field:
        try:
            return self._schema[name]
        except KeyError:
            raise KeyError(f"field {name!r} is not declared on this path") from None

    def _get(self, name: str, zero: Value) -> Value:
        spec = self._spec(name)
        if name in self._values:
            return self._values[name]
        if spec.default is not None:
            return _decode(spec.type, spec.default)
        return zero
