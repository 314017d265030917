"""The audit entry format: Vault's request and response entries, one JSON object per line.

    {"time": ..., "type": "request",  "auth": {...}, "request": {...}, "error": "..."}
    {"time": ..., "type": "response", "auth": {...}, "request": {...}, "response": {...},
     "error": "..."}

The core fills a `LogInput` once per request; each device's `Formatter` turns it into a line
with that device's salt. Client tokens, accessors and every string in request and response
data become `hmac-sha256:<hex>`, but for the mount's non-HMAC keys (and everything, on a
`log_raw` device). Empty fields are left out, as Vault's `omitempty` does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from awsbroker.audit.hashing import Salt, hash_structure
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import parse_bool
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response

REQUEST = "request"
RESPONSE = "response"


@dataclass(frozen=True)
class Caller:
    """The token a request was made with, as the audit log describes it."""

    client_token: str
    accessor: str
    display_name: str
    policies: tuple[str, ...]
    token_policies: tuple[str, ...]
    metadata: Mapping[str, str] | None
    token_type: str
    token_ttl: int
    token_issue_time: float
    entity_id: str = ""


@dataclass
class LogInput:
    """One request (and, later, its response or error) as the core saw it. `request.path` is
    the full path and `request.operation` the resolved one (create or update)."""

    request: Request
    time: float
    caller: Caller | None = None
    allowed: bool | None = None
    response: Response | None = None
    error: str = ""
    non_hmac_request_keys: Collection[str] = field(default_factory=tuple)
    non_hmac_response_keys: Collection[str] = field(default_factory=tuple)
    # When the path ends in a secret (`auth/token/lookup/<token>`), where that secret starts:
    # the rest of the path is hashed like any token.
    path_secret_at: int = 0


@dataclass(frozen=True)
class FormatOptions:
    """The formatting options of a device (Vault's names)."""

    hmac_accessor: bool = True
    log_raw: bool = False
    elide_list_responses: bool = False
    prefix: str = ""

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> FormatOptions:
        fmt = options.get("format", "json")
        if fmt != "json":
            raise InvalidRequest(f"unsupported 'format': {fmt!r} (only 'json' is)")
        return cls(
            hmac_accessor=_bool(options, "hmac_accessor", True),
            log_raw=_bool(options, "log_raw", False),
            elide_list_responses=_bool(options, "elide_list_responses", False),
            prefix=options.get("prefix", ""),
        )


def _bool(options: Mapping[str, str], key: str, default: bool) -> bool:
    if key not in options:
        return default
    try:
        return parse_bool(options[key])
    except ValueError:
        raise InvalidRequest(f"unable to parse '{key}': {options[key]!r}") from None


def rfc3339(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def _token_in_jwt(token: str) -> str:
    """A JWT wrapping token's `jti` (the token it carries), as Vault audits it; any other token
    as it is. Read without verifying: it is only hashed."""
    parts = token.split(".")
    if len(parts) != 3 or not token.startswith("eyJ"):
        return token
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return token
    jti = claims.get("jti") if isinstance(claims, dict) else None
    return jti if isinstance(jti, str) and jti else token


def _compact(fields: JSONObject) -> JSONObject:
    """Drop empty fields (None, "", 0, False, empty lists and maps), as Go's omitempty."""
    return {k: v for k, v in fields.items() if v not in (None, "", 0, False, [], {})}


class Formatter:
    """Builds a device's lines: Vault's fields, hashed with the device's salt."""

    def __init__(self, salt: Salt, options: FormatOptions | None = None) -> None:
        self.salt = salt
        self.options = options or FormatOptions()

    def line(self, kind: str, log: LogInput) -> bytes:
        entry = self.request_entry(log) if kind == REQUEST else self.response_entry(log)
        text = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        return (self.options.prefix + text + "\n").encode("utf-8", "surrogatepass")

    def request_entry(self, log: LogInput) -> JSONObject:
        return _compact(
            {
                "time": rfc3339(log.time),
                "type": REQUEST,
                "auth": self._auth(log),
                "request": self._request(log),
                "error": log.error,
            }
        )

    def response_entry(self, log: LogInput) -> JSONObject:
        return _compact(
            {
                "time": rfc3339(log.time),
                "type": RESPONSE,
                "auth": self._auth(log),
                "request": self._request(log),
                "response": self._response(log),
                "error": log.error,
            }
        )

    # ---- hashing --------------------------------------------------------------------------

    def _hash(self, value: str) -> str:
        return value if self.options.log_raw or not value else self.salt.hash(value)

    def _path(self, log: LogInput) -> str:
        at = log.path_secret_at
        path = log.request.path
        return path[:at] + self._hash(path[at:]) if 0 < at < len(path) else path

    def _hash_accessor(self, value: str) -> str:
        return self._hash(value) if self.options.hmac_accessor else value

    def _hash_data(self, data: JSONObject | None, ignored: Collection[str]) -> JSONValue:
        if not data or self.options.log_raw:
            return data
        return hash_structure(data, self.salt.hash, ignored)

    # ---- blocks -----------------------------------------------------------------------------

    def _auth(self, log: LogInput) -> JSONObject:
        caller = log.caller
        if caller is None:
            return {}
        policy_results: JSONObject = {} if log.allowed is None else {"allowed": log.allowed}
        return _compact(
            {
                "client_token": self._hash(caller.client_token),
                "accessor": self._hash_accessor(caller.accessor),
                "display_name": caller.display_name,
                "policies": list(caller.policies),
                "token_policies": list(caller.token_policies),
                "metadata": dict(caller.metadata or {}),
                "entity_id": caller.entity_id,
                "token_type": caller.token_type,
                "token_ttl": caller.token_ttl,
                "token_issue_time": rfc3339(caller.token_issue_time)
                if caller.token_issue_time
                else "",
                "policy_results": policy_results,
            }
        )

    def _request(self, log: LogInput) -> JSONObject:
        req = log.request
        accessor = log.caller.accessor if log.caller is not None else ""
        return _compact(
            {
                "id": req.id,
                "operation": req.operation.value,
                "mount_point": req.mount_point,
                "mount_type": req.mount_type,
                "mount_accessor": req.mount_accessor,
                "client_token": self._hash(req.client_token),
                "client_token_accessor": self._hash_accessor(accessor),
                "namespace": {"id": "root"},
                "path": self._path(log),
                "data": self._hash_data(req.data, log.non_hmac_request_keys),
                "remote_address": req.remote_address,
                "wrap_ttl": req.wrap_ttl,
            }
        )

    def _response(self, log: LogInput) -> JSONObject:
        resp = log.response
        if resp is None:
            return {}
        wrap = resp.wrap_info
        if wrap is not None and wrap.token:
            # Wrapped: what the caller got, the wrapping token hashed as every token (Vault).
            return _compact(
                {
                    "mount_type": resp.mount_type or log.request.mount_type,
                    "mount_accessor": log.request.mount_accessor,
                    "wrap_info": _compact(
                        {
                            "ttl": wrap.ttl,
                            "token": self._hash(_token_in_jwt(wrap.token)),
                            "accessor": self._hash_accessor(wrap.accessor),
                            "creation_time": wrap.creation_time,
                            "creation_path": wrap.creation_path,
                            "wrapped_accessor": self._hash_accessor(wrap.wrapped_accessor),
                        }
                    ),
                    "warnings": list(resp.warnings),
                }
            )
        data = resp.data
        if (
            self.options.elide_list_responses
            and log.request.operation is Operation.LIST
            and data
            and isinstance(data.get("keys"), list)
        ):
            keys = data["keys"]
            data = {**data, "keys": len(keys) if isinstance(keys, list) else 0}
        auth: JSONObject = {}
        if resp.auth is not None:
            auth = _compact(
                {
                    "client_token": self._hash(resp.auth.client_token),
                    "accessor": self._hash_accessor(resp.auth.accessor),
                    "policies": list(resp.auth.policies),
                    "token_policies": list(resp.auth.token_policies),
                    "metadata": dict(resp.auth.metadata or {}),
                    "entity_id": resp.auth.entity_id,
                    "token_type": resp.auth.token_type,
                    "token_ttl": resp.auth.lease_duration,
                    "num_uses": resp.auth.num_uses,
                    "orphan": resp.auth.orphan,
                }
            )
        return _compact(
            {
                "mount_type": resp.mount_type or log.request.mount_type,
                "mount_accessor": log.request.mount_accessor,
                "auth": auth,
                "secret": {"lease_id": resp.lease_id} if resp.lease_id else {},
                "data": self._hash_data(data, log.non_hmac_response_keys),
                "warnings": list(resp.warnings),
            }
        )
