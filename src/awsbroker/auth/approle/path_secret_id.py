"""Secret IDs: generate (random or custom), list accessors, look up and destroy (by value or
accessor), and `tidy/secret-id`."""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from awsbroker.auth.approle.path_role import ROLE_NAME, role_named
from awsbroker.auth.approle.store import Role, SecretID
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path, list_response
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response
from awsbroker.sdk.token_fields import parse_cidrs

if TYPE_CHECKING:
    from awsbroker.auth.approle.backend import AppRoleBackend

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
_NAME = {"role_name": Field(T.STRING, "Name of the role")}
_SECRET = {**_NAME, "secret_id": Field(T.STRING, "The secret ID")}
_ACCESSOR = {**_NAME, "secret_id_accessor": Field(T.STRING, "The secret ID's accessor")}
_GENERATE = {
    **_NAME,
    "metadata": Field(T.STRING, "JSON object of string values, added to the token's metadata"),
    "cidr_list": Field(T.STRING_LIST, "CIDR blocks this secret ID may log in from"),
    "token_bound_cidrs": Field(T.STRING_LIST, "CIDR blocks the tokens it logs in may be used from"),
    "ttl": Field(T.DURATION, "How long it lives; at most the role's secret_id_ttl"),
    "num_uses": Field(T.INT, "Logins it allows; at most the role's secret_id_num_uses"),
}
ZERO_TIME = "0001-01-01T00:00:00Z"


def paths() -> list[Path[AppRoleBackend]]:
    base = f"role/{ROLE_NAME}"
    return [
        Path(
            f"{base}/secret-id/?",
            {U: generate, L: list_accessors},
            _GENERATE,
            summary="Generate a secret ID, or list the role's secret ID accessors",
        ),
        Path(
            f"{base}/custom-secret-id",
            {U: custom},
            {**_GENERATE, "secret_id": Field(T.STRING, "The secret ID to use")},
            summary="Register a secret ID of your choosing",
        ),
        # An oracle (data for a real secret ID, 204 for any other): throttled as logins are.
        Path(
            f"{base}/secret-id/lookup",
            {U: lookup},
            _SECRET,
            summary="Look up a secret ID",
            checks_credential=True,
        ),
        Path(f"{base}/secret-id/destroy", {U: destroy, D: destroy}, _SECRET, summary="Destroy one"),
        Path(f"{base}/secret-id-accessor/lookup", {U: lookup_accessor}, _ACCESSOR),
        Path(
            f"{base}/secret-id-accessor/destroy",
            {U: destroy_accessor, D: destroy_accessor},
            _ACCESSOR,
        ),
        Path("tidy/secret-id", {U: tidy}, summary="Remove expired secret IDs"),
    ]


def _metadata(fd: FieldData) -> dict[str, str]:
    raw = fd.get_str("metadata")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidRequest("metadata must be a JSON object of string values")
    return {str(k): v for k, v in value.items()}


def _within(name: str, given: list[str], allowed: list[str]) -> list[str]:
    """`given` CIDRs, each inside one of `allowed` when the role restricts them."""
    cidrs = parse_cidrs(name, given)
    if not allowed:
        return cidrs
    nets = [ipaddress.ip_network(a, strict=False) for a in allowed]
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr, strict=False)
        if not any(net.version == n.version and net.subnet_of(n) for n in nets):  # type: ignore[arg-type]
            raise InvalidRequest(f"{name} entry {cidr!r} is not within the role's blocks")
    return cidrs


def _generate(b: AppRoleBackend, req: Request, fd: FieldData, value: str) -> Response:
    role = role_named(b, fd)
    ttl = fd.get_duration("ttl") if fd.is_set("ttl") else role.secret_id_ttl
    if role.secret_id_ttl and (ttl > role.secret_id_ttl or ttl == 0):
        raise InvalidRequest("ttl cannot be longer than the role's secret_id_ttl")
    uses = fd.get_int("num_uses") if fd.is_set("num_uses") else role.secret_id_num_uses
    if uses < 0:
        raise InvalidRequest("num_uses cannot be negative")
    if role.secret_id_num_uses and (uses == 0 or uses > role.secret_id_num_uses):
        raise InvalidRequest("num_uses cannot be higher than the role's secret_id_num_uses")
    now = b.now()
    secret = SecretID(
        secret_id_hmac=b.store.hmac(value),
        accessor=str(uuid.uuid4()),
        role_name=role.name,
        creation_time=now,
        expiration_time=now + ttl if ttl else 0.0,
        num_uses=uses,
        ttl=ttl,
        metadata=_metadata(fd),
        cidr_list=_within("cidr_list", fd.get_list("cidr_list"), role.secret_id_bound_cidrs),
        token_bound_cidrs=_within(
            "token_bound_cidrs", fd.get_list("token_bound_cidrs"), role.token.bound_cidrs
        ),
        last_updated_time=now,
    )
    if not b.store.put_secret(secret):
        raise InvalidRequest("that secret ID is already registered for this role")
    return Response(
        data={
            "secret_id": value,
            "secret_id_accessor": secret.accessor,
            "secret_id_ttl": ttl,
            "secret_id_num_uses": uses,
        }
    )


def generate(b: AppRoleBackend, req: Request, fd: FieldData) -> Response:
    return _generate(b, req, fd, str(uuid.uuid4()))


def custom(b: AppRoleBackend, req: Request, fd: FieldData) -> Response:
    fd.require("secret_id")
    return _generate(b, req, fd, fd.get_str("secret_id"))


def list_accessors(b: AppRoleBackend, req: Request, fd: FieldData) -> Response:
    role = role_named(b, fd)
    now = b.now()
    keys = sorted(s.accessor for s in b.store.secrets_of(role.name) if not s.expired(now))
    return list_response(keys)


def _rfc3339(ts: float) -> str:
    if not ts:
        return ZERO_TIME
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _info(secret: SecretID) -> JSONObject:
    return {
        "cidr_list": list[JSONValue](secret.cidr_list),
        "creation_time": _rfc3339(secret.creation_time),
        "expiration_time": _rfc3339(secret.expiration_time),
        "last_updated_time": _rfc3339(secret.last_updated_time),
        "metadata": dict[str, JSONValue](secret.metadata),
        "secret_id_accessor": secret.accessor,
        "secret_id_num_uses": secret.num_uses,
        "secret_id_ttl": secret.ttl,
        "token_bound_cidrs": list[JSONValue](secret.token_bound_cidrs),
    }


def _by_value(b: AppRoleBackend, fd: FieldData) -> tuple[Role, SecretID | None]:
    fd.require("secret_id")
    role = role_named(b, fd)
    found = b.store.secret(role.name, b.store.hmac(fd.get_str("secret_id")))
    return role, None if found is None or found.expired(b.now()) else found


def _by_accessor(b: AppRoleBackend, fd: FieldData) -> SecretID:
    fd.require("secret_id_accessor")
    role = role_named(b, fd)
    found = b.store.secret_by_accessor(role.name, fd.get_str("secret_id_accessor"))
    if found is None:
        raise InvalidRequest("failed to find accessor entry for secret_id_accessor")
    return found


def lookup(b: AppRoleBackend, req: Request, fd: FieldData) -> Response | None:
    _, found = _by_value(b, fd)
    if found is None:
        req.refused_credential = True
        return None
    return Response(data=_info(found))


def destroy(b: AppRoleBackend, req: Request, fd: FieldData) -> None:
    _, found = _by_value(b, fd)
    if found is not None:
        b.store.delete_secret(found)


def lookup_accessor(b: AppRoleBackend, req: Request, fd: FieldData) -> Response:
    return Response(data=_info(_by_accessor(b, fd)))


def destroy_accessor(b: AppRoleBackend, req: Request, fd: FieldData) -> None:
    b.store.delete_secret(_by_accessor(b, fd))


def tidy(b: AppRoleBackend, req: Request, fd: FieldData) -> Response:
    """Remove expired secret IDs, and accessor entries that point at no secret ID."""
    now = b.now()
    removed = 0
    roles = {b.store.hmac(name): name for name in b.store.role_names()}
    for role_key in b.store.storage.list("secret_id/"):
        for key in b.store.storage.list(f"secret_id/{role_key}"):
            record = b.store.get(f"secret_id/{role_key}{key}")
            if record is None:
                continue
            secret = SecretID.from_record(record)
            if secret.expired(now) or role_key.rstrip("/") not in roles:
                b.store.delete_secret(secret)
                removed += 1
    for key in b.store.storage.list("accessor/"):
        entry = b.store.get(f"accessor/{key}")
        if entry is None:
            continue
        target = f"secret_id/{entry['role']}/{entry['secret_id']}"
        if b.store.storage.get(target) is None:
            b.store.storage.delete(f"accessor/{key}")
            removed += 1
    response = Response(status=202)
    response.add_warning(f"Tidy removed {removed} expired or dangling secret ID entries.")
    return response
