"""`sys/policies/acl/*`, the legacy `sys/policy/*`, and `sys/capabilities*`."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from awsbroker.core.policy_store import acl_path
from awsbroker.core.tokens import TokenEntry
from awsbroker.policy.parse import normalize_name
from awsbroker.sdk.errors import InvalidRequest, NotFound, PermissionDenied
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
_NAME = r"(?P<name>[^/]+)"
_POLICY_FIELDS = {
    "name": Field(T.STRING, "Policy name"),
    "policy": Field(T.STRING, "Policy text, HCL or JSON"),
    "rules": Field(T.STRING, "Legacy alias of policy"),
}
_PATHS = {
    "paths": Field(T.STRING_LIST, "Paths to report capabilities for"),
    "path": Field(T.STRING_LIST, "Legacy alias of paths"),
}


def paths() -> list[Path[SystemBackend]]:
    return [
        Path("policies/acl/?", {L: list_policies}, summary="List ACL policies"),
        Path(
            "policies/acl/" + _NAME,
            {R: read_policy, U: write_policy, D: delete_policy},
            _POLICY_FIELDS,
            summary="Read, write or delete an ACL policy",
        ),
        Path(
            "policy/?", {R: list_policies_legacy, L: list_policies_legacy}, summary="List policies"
        ),
        Path(
            "policy/" + _NAME,
            {R: read_policy_legacy, U: write_policy, D: delete_policy},
            _POLICY_FIELDS,
            summary="Legacy policy endpoint",
        ),
        Path("capabilities-self", {U: capabilities_self}, _PATHS),
        Path("capabilities", {U: capabilities}, {**_PATHS, "token": Field(T.STRING)}),
        Path(
            "capabilities-accessor",
            {U: capabilities_accessor},
            {**_PATHS, "accessor": Field(T.STRING)},
        ),
    ]


def _names(b: SystemBackend) -> list[str]:
    return sorted({*b.core.policies.names(), "root"})


def list_policies(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    return Response(data={"keys": list(_names(b))})


def list_policies_legacy(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    names = _names(b)
    return Response(data={"keys": list(names), "policies": list(names)}, inject_top_level=True)


def read_policy(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    name = normalize_name(fd.get_str("name"))
    if name == "root":
        return Response(data={"name": "root", "policy": ""})
    policy = b.core.policies.get(name)
    if policy is None:
        raise NotFound()
    return Response(data={"name": policy.name, "policy": policy.raw})


def read_policy_legacy(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    resp = read_policy(b, req, fd)
    assert resp.data is not None
    resp.data = {"name": resp.data["name"], "rules": resp.data["policy"]}
    resp.inject_top_level = True
    return resp


def write_policy(b: SystemBackend, req: Request, fd: FieldData) -> Response | None:
    text = _decoded(fd.get_str("policy") or fd.get_str("rules"))
    if not text.strip():
        raise InvalidRequest("'policy' parameter not supplied or empty")
    raw_name = fd.get_str("name")
    b.core.write_policy(raw_name, text)
    if normalize_name(raw_name) != raw_name:
        resp = Response()
        resp.add_warning(f"policy name was converted to lowercase: {normalize_name(raw_name)}")
        return resp
    return None


def _decoded(text: str) -> str:
    """The policy text, base64-decoded when it is valid standard base64, as Vault does (Go's
    `StdEncoding`, which skips line breaks). HCL or JSON policy text never is: it has spaces,
    quotes or braces."""
    try:
        raw = base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
        return raw.decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return text


def delete_policy(b: SystemBackend, req: Request, fd: FieldData) -> None:
    b.core.delete_policy(fd.get_str("name"))


def _report(b: SystemBackend, entry: TokenEntry, fd: FieldData) -> Response:
    paths = fd.get_list("paths") or fd.get_list("path")
    if not paths:
        raise InvalidRequest("'paths' must be supplied")
    acl = b.core.policies.acl(entry.policies)
    data: JSONObject = {p: list(acl.capabilities(acl_path(p.lstrip("/")))) for p in paths}
    if len(paths) == 1:
        data["capabilities"] = data[paths[0]]
    return Response(data=data, inject_top_level=True)


def capabilities_self(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    entry = b.core.tokens.get_by_hash(req.token_hash) if req.token_hash else None
    if entry is None:
        raise PermissionDenied("permission denied")
    return _report(b, entry, fd)


def capabilities(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    entry = b.core.tokens.lookup(fd.get_str("token"))
    if entry is None:
        raise InvalidRequest("invalid token")
    return _report(b, entry, fd)


def capabilities_accessor(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    entry = b.core.tokens.lookup_accessor(fd.get_str("accessor"))
    if entry is None:
        raise InvalidRequest("invalid accessor")
    return _report(b, entry, fd)
