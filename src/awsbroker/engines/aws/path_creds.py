"""`creds/:name` and `sts/:name`: credentials of a role, by its credential type.

A `ttl` the caller asks for is honoured as Vault does (capped by the role's `max_sts_ttl`, else
the mount's max); when the credential it gives lives no longer than the AWS SDKs' refresh
window, the answer warns (`sdk_windows.py`): an SDK would fetch a new one at nearly every call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.engines.aws import iam_user, sts
from awsbroker.engines.aws import reason as rs
from awsbroker.engines.aws.records.role import (
    ASSUMED_ROLE,
    FEDERATION_TOKEN,
    IAM_USER,
    SESSION_TOKEN,
    RoleEntry,
    load_role,
)
from awsbroker.engines.aws.sdk_windows import (
    ASK_LONGER,
    LONGER_LEASE,
    inside_refresh_window,
    window_warning,
)
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response
from awsbroker.sdk.telemetry import CREDENTIALS_ISSUED

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

DEFAULT_STS_TTL = 3600


def paths() -> list[Path[AWSBackend]]:
    return [
        Path(
            r"(?P<endpoint>creds|sts)/(?P<name>\w(?:[\w.@-]*\w)?)",
            {Operation.READ: read_creds, Operation.UPDATE: read_creds},
            {
                "endpoint": Field(T.STRING),
                "name": Field(T.STRING, "Name of the role"),
                "role_arn": Field(T.STRING, "assumed_role: which of the role's ARNs to assume"),
                "role_session_name": Field(T.STRING, "assumed_role: the session name"),
                "ttl": Field(
                    T.DURATION, "STS types: lifetime of the credentials", default=DEFAULT_STS_TTL
                ),
                "mfa_code": Field(T.STRING, "session_token: the current MFA code"),
                rs.FIELD: rs.field(),
            },
            summary="Generate credentials of a role",
            audit_clear=(rs.FIELD,),
        )
    ]


def _sts_ttl(b: AWSBackend, role: RoleEntry, fd: FieldData) -> int:
    if fd.is_set("ttl"):
        ttl = fd.get_duration("ttl")
    elif role.default_sts_ttl > 0:
        ttl = role.default_sts_ttl
    else:
        ttl = DEFAULT_STS_TTL
    cap = role.max_sts_ttl if role.max_sts_ttl > 0 else b.system.max_lease_ttl()
    return min(ttl, cap)


def _credential_type(role: RoleEntry, endpoint: str) -> str:
    if len(role.credential_types) == 1:
        return role.credential_types[0]
    wanted = IAM_USER if endpoint == "creds" else FEDERATION_TOKEN
    if wanted not in role.credential_types:
        allowed = "[]string{" + ", ".join(f'"{t}"' for t in role.credential_types) + "}"
        raise InvalidRequest(
            f'requested credential type "{wanted}" not in allowed credential types {allowed}'
        )
    return wanted


def read_creds(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    response = issue_creds(b, req, fd)
    if fd.is_set("ttl"):

        def warn() -> None:
            if inside_refresh_window(response.lease_duration):
                is_sts = response.secret is None or response.secret.internal_data.get("is_sts")
                remedy = ASK_LONGER if is_sts else LONGER_LEASE
                response.add_warning(window_warning(response.lease_duration, remedy))

        response.on_registered.append(warn)
    return response


def issue_creds(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    """Credentials of the role `fd` names, by its type; the lease is the core's to register."""
    name, endpoint = fd.get_str("name"), fd.get_str("endpoint")
    role = load_role(b, name)
    if role is None:
        raise InvalidRequest(f'Role "{name}" not found')
    ttl = _sts_ttl(b, role, fd)
    kind = _credential_type(role, endpoint)
    if role.prohibit_flexible_cred_path:
        if kind == IAM_USER and endpoint == "sts":
            raise InvalidRequest(
                "attempted to retrieve iam_user credentials through the sts path; "
                "this is not allowed for legacy roles"
            )
        if kind != IAM_USER and endpoint == "creds":
            raise InvalidRequest(
                f"attempted to retrieve {kind} credentials through the creds path; "
                "this is not allowed for legacy roles"
            )
    reason, tags = rs.take_for_role(fd, role)  # 400s before AWS calls
    response = _issue(b, req, name, role, kind=kind, ttl=ttl, fd=fd, extra_tags=tags)
    if response.secret is not None:
        response.secret.reason = reason
    # Counted once the lease is stored: a credential that got no lease was rolled back.
    labels = {"mount": b.mount_path, "role": name, "credential_type": kind}
    response.on_registered.append(lambda: b.telemetry.count(CREDENTIALS_ISSUED, labels))
    return response


def _issue(
    b: AWSBackend,
    req: Request,
    name: str,
    role: RoleEntry,
    *,
    kind: str,
    ttl: int,
    fd: FieldData,
    extra_tags: dict[str, str],
) -> Response:
    if kind == IAM_USER:
        return iam_user.create(b, req, name, role, extra_tags=extra_tags)
    if kind == ASSUMED_ROLE:
        arn = sts.chosen_role_arn(role, name, fd.get_str("role_arn"))
        session = fd.get_str("role_session_name")
        if session and role.session_name_template:
            raise InvalidRequest(
                f'role "{name}" names its sessions by its session_name_template; '
                "do not send role_session_name"
            )
        return sts.assumed_role(
            b,
            req,
            name,
            role,
            ttl=ttl,
            role_arn=arn,
            session_name=session,
            extra_tags=extra_tags,
        )
    if kind == FEDERATION_TOKEN:
        return sts.federation_token(b, req, name, role, ttl, extra_tags=extra_tags)
    if kind == SESSION_TOKEN:
        return sts.session_token(b, req, role, ttl, fd.get_str("mfa_code"))
    raise InvalidRequest(f'unknown credential_type: "{kind}"')
