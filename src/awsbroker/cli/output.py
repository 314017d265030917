"""How answers are printed: `-format=table` (the default), `json` or `yaml`, and `-field`.

Tables look like Vault's: a `Key`/`Value` table for one secret, a `Keys` column for a
listing, named columns for `secrets list` and friends. JSON and YAML print what Vault's CLI
prints (`vault_json`: a secret as Vault's `api.Secret`, whatever else the server added left
out). `-field=NAME` prints one value alone, for scripts: as is for a table, encoded in JSON or
YAML with those formats, as Vault does. Warnings go to stderr, so stdout stays parseable in
every format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from awsbroker.cli import vault_json, yaml_out
from awsbroker.cli.errors import CLIError, UsageError
from awsbroker.cli.flags import Flag

FORMATS = ("table", "json", "yaml")
JSON = dict[str, Any]
Row = tuple[str, object]


def output_flags() -> list[Flag]:
    return [
        Flag("format", "Output format: table, json or yaml (AWSBROKER_FORMAT)", "", "FORMAT"),
        Flag("field", "Print only this field's value", "", "NAME"),
    ]


def human_duration(seconds: int) -> str:
    """Vault's short Go duration: 2764800 -> 768h, 3661 -> 1h1m1s, 3600 -> 1h, 0 -> 0s."""
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h" if hours else ""
    if minutes or (hours and secs):
        text += f"{minutes}m"
    if secs:
        text += f"{secs}s"
    return text


def _is_duration_key(key: str) -> bool:
    return key in ("lease_duration", "token_duration", "period") or key.endswith("ttl")


def cell(value: object, key: str = "") -> str:
    """A value as Vault's tables show it (Go's `%v`)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and _is_duration_key(key):
        return human_duration(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(cell(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{cell(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def secret_rows(body: JSON) -> list[Row]:
    """The rows of Vault's table for one response envelope."""
    rows: list[Row] = []
    lease_duration = body.get("lease_duration") or 0
    if lease_duration > 0:
        if body.get("lease_id"):
            rows += [
                ("lease_id", body["lease_id"]),
                ("lease_duration", lease_duration),
                ("lease_renewable", bool(body.get("renewable"))),
            ]
        else:
            rows.append(("refresh_interval", human_duration(lease_duration)))
    auth = body.get("auth")
    if isinstance(auth, dict):
        duration = auth.get("lease_duration") or 0
        rows += [
            ("token", auth.get("client_token")),
            ("token_accessor", auth.get("accessor")),
            ("token_duration", duration if duration else "∞"),
            ("token_renewable", bool(auth.get("renewable"))),
            ("token_policies", auth.get("token_policies") or []),
            ("identity_policies", []),
            ("policies", auth.get("policies") or []),
        ]
        for key, value in sorted((auth.get("metadata") or {}).items()):
            rows.append((f"token_meta_{key}", value))
    wrap = body.get("wrap_info")
    if isinstance(wrap, dict):
        rows += [
            ("wrapping_token:", wrap.get("token")),
            ("wrapping_accessor:", wrap.get("accessor")),
            ("wrapping_token_ttl:", human_duration(int(wrap.get("ttl") or 0))),
            ("wrapping_token_creation_time:", go_time(str(wrap.get("creation_time") or ""))),
            ("wrapping_token_creation_path:", wrap.get("creation_path")),
        ]
        if wrap.get("wrapped_accessor"):
            rows.append(("wrapped_accessor:", wrap["wrapped_accessor"]))
    data = body.get("data")
    if isinstance(data, dict):
        rows += sorted(data.items())
    return rows


def go_time(rfc3339: str) -> str:
    """An RFC 3339 time in UTC as Go's `time.Time.String()` prints it, as Vault's table does:
    `2026-12-04 23:39:58.21918 +0000 UTC` (trailing zeros of the fraction dropped)."""
    try:
        when = datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return rfc3339
    fraction = f"{when.microsecond:06d}".rstrip("0")
    return when.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " +0000 UTC"


@dataclass
class Output:
    format: str
    field: str
    stdout: TextIO
    stderr: TextIO

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise UsageError(f"invalid -format {self.format!r}: use table, json or yaml")

    # ---- what commands call -----------------------------------------------------------------

    @property
    def table(self) -> bool:
        """Whether this prints a table (not JSON, YAML or one field)."""
        return self.format == "table" and not self.field

    def secret(self, body: JSON) -> None:
        """A response envelope, as Vault's OutputSecret (and PrintRawField for -field)."""
        self._warnings(body.get("warnings"))
        if self.field:
            self._field(vault_json.raw_field(body, self.field))
        elif self.format == "table":
            self._pairs(secret_rows(body))
        else:
            self._structured(vault_json.secret(body))

    def mapping(
        self, data: JSON, rows: Sequence[Row] | None = None, structured: object = None
    ) -> None:
        """A flat Key/Value answer (status, unseal); `rows` orders the table, `structured`
        (default: `data`) is what JSON and YAML print, `-field` picks from `data`."""
        if self.field:
            self._field(data.get(self.field))
        elif self.format == "table":
            self._pairs(list(rows) if rows is not None else sorted(data.items()))
        else:
            self._structured(data if structured is None else structured)

    def structured(self, value: object) -> None:
        """JSON or YAML only (the caller prints its own table)."""
        self._structured(value)

    def keys(self, keys: Sequence[object]) -> None:
        if self.field:
            raise CLIError("-field is not supported for a listing")
        if self.format == "table":
            self.columns(["Keys"], [[k] for k in keys])
        else:
            self._structured(list(keys))

    def columns(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        cells = [[cell(v) for v in row] for row in rows]
        table = [list(headers), ["-" * len(h) for h in headers], *cells]
        widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
        for row in table:
            parts = [text.ljust(widths[i]) for i, text in enumerate(row)]
            self.stdout.write("    ".join(parts).rstrip() + "\n")

    def table_or_structured(
        self, data: object, headers: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        if self.field:
            raise CLIError("-field is not supported here")
        if self.format == "table":
            self.columns(headers, rows)
        else:
            self._structured(data)

    def success(self, text: str) -> None:
        self.stdout.write(text + "\n")

    # ---- rendering --------------------------------------------------------------------------

    def _structured(self, value: object) -> None:
        if self.format == "json":
            self.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        else:
            self.stdout.write(yaml_out.dumps(value))

    def _pairs(self, rows: Sequence[Row]) -> None:
        self.columns(["Key", "Value"], [[k, cell(v, k)] for k, v in rows])

    def _field(self, value: object) -> None:
        if value is None:
            raise CLIError(f'Field "{self.field}" not present in secret')
        if self.format == "table":
            text = value if isinstance(value, str) else cell(value)
        elif self.format == "json":
            text = json.dumps(value, indent=2, ensure_ascii=False)
        else:
            text = yaml_out.dumps(value)
        # As Vault: no newline when piped, so $(awsbroker read -field=x ...) is exact.
        self.stdout.write(text + ("\n" if self.stdout.isatty() else ""))

    def _warnings(self, warnings: object) -> None:
        if isinstance(warnings, list) and warnings:
            lines = "\n".join(f"  * {w}" for w in warnings)
            self.stderr.write(f"WARNING! The server returned these warnings:\n\n{lines}\n\n")
