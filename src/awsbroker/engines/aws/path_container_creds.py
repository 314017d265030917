"""`container-creds/:name`: a role's credentials in the format of AWS's container-credentials
provider, so an unmodified AWS SDK fetches (and refreshes) them itself.

Point an SDK at it with

    AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:8200/v1/aws/container-creds/ROLE
    AWS_CONTAINER_AUTHORIZATION_TOKEN=<a broker token that may read this path>

The SDK sends a GET with the token as the bare `Authorization` header (no `Bearer`); the path
declares that it accepts that form (`bare_authorization`), and the core takes it as the token
for this path only (`Core.handle`). SDKs allow plain http only to
loopback and a few link-local addresses; anywhere else, serve the broker over https.

The answer is `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (`Token` is null for
`iam_user`), and `Expiration` is the lease's expiry. Each fetch is an issuance with its own
lease, exactly as a read of `creds/:name`; the query parameters of `creds/` (`ttl`, `role_arn`,
`role_session_name`, `reason`: put it in the URI, `...container-creds/ROLE?reason=...`) work
here too. A role with several credential types serves an STS type if
it has one (as `sts/:name` would), else an IAM user. The ACL path is
`<mount>/container-creds/<role>` (capability `read`).

Lifetimes fit the SDKs' refresh windows (`sdk_windows.py`): asked for no `ttl`, the credential
lives at least an hour (the role's `default_sts_ttl`, or for an IAM user the lease of
`config/lease`, if longer), within the role's `max_sts_ttl` (else the mount's max) or
`config/lease`'s `lease_max` and the mount's max. A `ttl` asked for is used as asked, within the
same maximums; for an IAM user it is the lease's TTL. An answer whose lifetime is inside the
window (15 minutes or less) is still given, with a warning: the ECS body has no place for it, so
it goes in an `X-Awsbroker-Warning` header and in the server's log (a WARNING line naming the
mount, role and lifetime).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from awsbroker.engines.aws import path_creds
from awsbroker.engines.aws import reason as rs
from awsbroker.engines.aws.records.role import IAM_USER, load_role
from awsbroker.engines.aws.sdk_windows import (
    SDK_DEFAULT_TTL,
    inside_refresh_window,
    window_warning,
)
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

log = logging.getLogger("awsbroker.engines.aws.container_creds")


def paths() -> list[Path[AWSBackend]]:
    return [
        Path(
            r"container-creds/(?P<name>\w(?:[\w.@-]*\w)?)",
            {Operation.READ: read_container_creds},
            {
                "name": Field(T.STRING, "Name of the role"),
                "ttl": Field(T.DURATION, "Lifetime of the credentials (default: at least 1h)"),
                "role_arn": Field(T.STRING, "assumed_role: which of the role's ARNs to assume"),
                "role_session_name": Field(T.STRING, "assumed_role: the session name"),
                rs.FIELD: rs.field(),
            },
            summary="A role's credentials for the AWS SDKs' container-credentials provider",
            bare_authorization=True,
            audit_clear=(rs.FIELD,),
        )
    ]


def read_container_creds(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    name = fd.get_str("name")
    role = load_role(b, name)
    if role is None:
        raise InvalidRequest(f'Role "{name}" not found')
    sts_types = [t for t in role.credential_types if t != IAM_USER]
    creds_spec = path_creds.paths()[0]
    passed = ("ttl", "role_arn", "role_session_name", rs.FIELD)
    raw = {k: v for k, v in req.data.items() if k in passed}
    asked = fd.is_set("ttl")
    if sts_types and not asked:
        raw["ttl"] = max(role.default_sts_ttl, SDK_DEFAULT_TTL)  # capped by path_creds
    raw.update(name=name, endpoint="sts" if sts_types else "creds")
    response = path_creds.issue_creds(b, req, FieldData(creds_spec.fields, raw))
    if not sts_types and response.secret is not None:
        # An IAM user's lease: as asked, else at least an hour; the core caps it at
        # config/lease's lease_max and the mount's max.
        secret = response.secret
        default = secret.ttl or b.system.default_lease_ttl()
        secret.ttl = fd.get_duration("ttl") if asked else max(default, SDK_DEFAULT_TTL)
    data = response.data or {}

    def fill_in() -> None:
        # The lease is stored: its duration is known, and so is the expiry SDKs must see.
        lifetime = response.lease_duration
        if inside_refresh_window(lifetime):
            response.add_warning(window_warning(lifetime))
            log.warning(
                "%scontainer-creds/%s gave a credential of %ds, inside the "
                "AWS SDKs' 15-minute refresh window: SDKs will fetch one at nearly every call",
                b.mount_path,
                name,
                lifetime,
            )
        expires = b.system.clock.now() + lifetime
        response.raw = {
            "AccessKeyId": data.get("access_key"),
            "SecretAccessKey": data.get("secret_key"),
            "Token": data.get("security_token"),
            "Expiration": datetime.fromtimestamp(int(expires), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    # `data` stays as `creds/` has it, so audit devices record it hashed as usual; the SDK
    # gets `raw`, which the HTTP layer sends instead of the envelope (warnings as headers).
    response.on_registered.append(fill_in)
    return response
