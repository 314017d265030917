"""`roles/` and `roles/:name`: dynamic roles, stored at `role/<name>`.

Writes merge: a field not sent keeps its stored value, as stored at the moment of the write
(a compare-and-set: a write on another process meanwhile stays). Legacy roles (a raw policy
or ARN at `policy/<name>`, or the deprecated `policy`/`arn` parameters) are upgraded in
`load_role`. Error texts are Vault's, including Go's `%q` quoting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.engines.aws import reason as rs
from awsbroker.engines.aws import session_revocation
from awsbroker.engines.aws import session_templates as st
from awsbroker.engines.aws.records.role import (
    COLLECTIONS,
    DURATIONS,
    MAPS,
    TEMPLATE_STRINGS,
    RoleEntry,
    compact_json,
    go_quote,
    load_role,
    multierror_text,
    upgrade_legacy,
)
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONValue, Operation, Request, Response
from awsbroker.sdk.storage import update

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

# Vault's GenericNameWithAtRegex `\w(([\w-.@]+)?\w)?`, with Go's ASCII-only `\w`.
ROLE_NAME = r"(?P<name>[A-Za-z0-9_](?:[A-Za-z0-9_.@-]*[A-Za-z0-9_])?)"
LEGACY_WARNING = (
    "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
)
# Fields that cannot be combined with `policy`/`arn`, in Vault's order of checking.
_LEGACY_CONFLICTS = (
    "credential_type", "role_arns", "policy_arns", "policy_document", "default_sts_ttl",
    "max_sts_ttl", "user_path", "permissions_boundary_arn", "key_propagation_timeout",
)  # fmt: skip


def paths() -> list[Path[AWSBackend]]:
    return [
        Path("roles/?", {Operation.LIST: list_roles}, summary="List the existing roles"),
        Path(
            "roles/" + ROLE_NAME,
            {
                Operation.READ: read_role,
                Operation.UPDATE: write_role,
                Operation.DELETE: delete_role,
            },
            {
                "name": Field(T.STRING, "Name of the role"),
                "credential_type": Field(
                    T.STRING,
                    "Type of credential to retrieve. Must be one of assumed_role, iam_user, "
                    "federation_token, or session_token",
                ),
                "role_arns": Field(T.STRING_LIST, "ARNs of AWS roles allowed to be assumed"),
                "policy_arns": Field(T.STRING_LIST, "ARNs of AWS managed policies"),
                "policy_document": Field(T.STRING, "JSON-encoded IAM policy document"),
                "iam_groups": Field(T.STRING_LIST, "Names of IAM groups"),
                "iam_tags": Field(T.MAP, "IAM tags for created users (map or k=v pairs)"),
                "session_tags": Field(T.MAP, "Session tags for assumed_role credentials"),
                st.TAGS_FIELD: Field(
                    T.MAP,
                    "awsbroker extension, assumed_role and federation_token: session tag key → "
                    "template of its value, from the requesting token's identity "
                    "(docs/session-tags.md)",
                ),
                st.NAME_FIELD: Field(
                    T.STRING,
                    "awsbroker extension: template of the AssumeRole RoleSessionName or the "
                    "GetFederationToken Name, from the requesting token's identity",
                ),
                st.SOURCE_FIELD: Field(
                    T.STRING,
                    "awsbroker extension, assumed_role only: template of the AssumeRole "
                    "SourceIdentity, from the requesting token's identity",
                ),
                "external_id": Field(T.STRING, "External ID to set when assuming the role"),
                "default_sts_ttl": Field(T.DURATION, "Default TTL of STS credentials"),
                "max_sts_ttl": Field(T.DURATION, "Max allowed TTL of STS credentials"),
                "permissions_boundary_arn": Field(T.STRING, "Permissions boundary of IAM users"),
                "user_path": Field(T.STRING, "Path for IAM users (iam_user only)", default="/"),
                "mfa_serial_number": Field(T.STRING, "MFA device of the root user"),
                "key_propagation_timeout": Field(
                    T.DURATION,
                    "awsbroker extension, iam_user only: wait up to this long (at most 300s) "
                    "for a new access key to be accepted by AWS before returning it; 0 is off",
                    default=0,
                ),
                # Issue 19 section 3, a reason on every credential (reason.py)
                rs.REQUIRED_FIELD: Field(
                    T.BOOL,
                    "awsbroker extension: credentials of this role are refused without a reason",
                ),
                rs.MIN_LENGTH_FIELD: Field(
                    T.INT,
                    f"awsbroker extension: a reason given must be at least this many characters "
                    f"(0 to {rs.MAX_LENGTH})",
                ),
                rs.SESSION_TAG_FIELD: Field(
                    T.BOOL,
                    f"awsbroker extension: send the reason to AWS as the tag {rs.TAG_KEY} "
                    "(session tag of assumed_role and federation_token, user tag of iam_user)",
                ),
                # (end of section 3)
                # issue 19 section 1
                "session_revocation": Field(
                    T.BOOL,
                    "awsbroker extension, assumed_role and federation_token: revoking a lease "
                    "denies its session on AWS (docs/session-revocation.md); off by default",
                ),
                "session_revocation_role_arns": Field(
                    T.STRING_LIST,
                    "awsbroker extension: for target roles in other accounts, a role in each "
                    "such account that the broker assumes to write the deny",
                ),
                "arn": Field(T.STRING, "Deprecated: use role_arns or policy_arns instead"),
                "policy": Field(T.STRING, "Deprecated: use policy_document instead"),
            },
            summary="Read, write and delete roles that credentials are made for",
        ),
    ]


def list_roles(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    keys: list[JSONValue] = [*b.storage.list("role/"), *b.storage.list("policy/")]
    return Response(data={"keys": keys})


def read_role(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    role = load_role(b, fd.get_str("name"))
    return None if role is None else Response(data=role.to_response())


def delete_role(b: AWSBackend, req: Request, fd: FieldData) -> None:
    name = fd.get_str("name")
    b.storage.delete(f"policy/{name}")
    b.storage.delete(f"role/{name}")


def write_role(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    name = fd.get_str("name")
    if not name:
        raise InvalidRequest("missing role name")
    load_role(b, name)  # a legacy `policy/<name>` becomes `role/<name>` first
    warnings: list[str] = []

    checked: list[list[str]] = []

    def change(stored: bytes | None) -> bytes:
        warnings.clear()  # this run's only: `change` runs again after a lost race
        role = _written(stored, fd, warnings)
        # issue 19 section 1: the deny can only be written where the broker can write it.
        wanted = [*role.role_arns, "|", *role.session_revocation_role_arns]
        if role.session_revocation and wanted not in checked:
            session_revocation.check_role(b, role.role_arns, role.session_revocation_role_arns)
            checked.append(wanted)
        return role.to_record()

    # Merged into the role as stored at the moment of the write: another process's write of
    # other fields meanwhile stays.
    update(b.storage, f"role/{name}", change)
    return Response(warnings=warnings) if warnings else None


def _written(stored: bytes | None, fd: FieldData, warnings: list[str]) -> RoleEntry:
    """The role this write leaves over the stored one (none: a new role)."""
    role = RoleEntry() if stored is None else RoleEntry.from_record(stored)
    if role.invalid_data:
        warnings.append(f"Invalid data of {go_quote(role.invalid_data)} cleared out of role")
        role.invalid_data = ""
    legacy = _legacy_value(fd)
    _merge(role, fd, legacy)
    if legacy:
        role = upgrade_legacy(legacy)
        if role.invalid_data:
            raise InvalidRequest(f"unable to parse supplied data: {go_quote(role.invalid_data)}")
        warnings.append(LEGACY_WARNING)
    else:
        role.prohibit_flexible_cred_path = False
    problems = role.validate()
    if problems:
        quoted = go_quote(multierror_text(problems))
        raise InvalidRequest(f"error(s) validating supplied role data: {quoted}")
    return role


def _legacy_value(fd: FieldData) -> str:
    policy, arn = fd.get_str("policy"), fd.get_str("arn")
    if policy and arn:
        # Vault answers 500 (a plain error); it is the caller's input: 400, with Vault's text.
        raise InvalidRequest("only one of policy or arn should be provided")
    return policy or arn


def _merge(role: RoleEntry, fd: FieldData, legacy: str) -> None:
    """Copy every supplied field into `role`, in Vault's order (which decides the first error)."""
    for name in _LEGACY_CONFLICTS:
        if not fd.is_set(name):
            continue
        if legacy:
            what = "an explicit credential_type" if name == "credential_type" else name
            raise InvalidRequest(f"cannot supply deprecated role or policy parameters with {what}")
        if name == "credential_type":
            role.set_collection("credential_types", [fd.get_str(name)])
        elif name in COLLECTIONS:
            role.set_collection(name, fd.get_list(name))
        elif name == "policy_document":
            role.policy_document = _compact_document(fd.get_str(name))
        elif name in DURATIONS:
            setattr(role, name, fd.get_duration(name))
        else:
            setattr(role, name, fd.get_str(name))
    if fd.is_set("iam_groups"):
        role.set_collection("iam_groups", fd.get_list("iam_groups"))
    for name in MAPS:
        if fd.is_set(name):
            role.set_collection(name, fd.get_map(name))
    for name in ("mfa_serial_number", "external_id"):
        if fd.is_set(name):
            setattr(role, name, fd.get_str(name))
    if fd.is_set(st.TAGS_FIELD):
        role.session_tags_template = fd.get_map(st.TAGS_FIELD)
    for name in TEMPLATE_STRINGS:
        if fd.is_set(name):
            setattr(role, name, fd.get_str(name))
    # Issue 19 section 3 (reason.py)
    for name in (rs.REQUIRED_FIELD, rs.SESSION_TAG_FIELD):
        if fd.is_set(name):
            setattr(role, name, fd.get_bool(name))
    if fd.is_set(rs.MIN_LENGTH_FIELD):
        role.reason_min_length = fd.get_int(rs.MIN_LENGTH_FIELD)
    if fd.is_set("session_revocation"):  # issue 19 section 1
        role.session_revocation = fd.get_bool("session_revocation")
    if fd.is_set("session_revocation_role_arns"):
        role.session_revocation_role_arns = fd.get_list("session_revocation_role_arns")


def _compact_document(raw: str) -> str:
    if not raw:
        return raw
    try:
        return compact_json(raw)
    except ValueError:
        raise InvalidRequest(f"cannot parse policy document: {go_quote(raw)}") from None
