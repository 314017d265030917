"""`console/:name` (issue 19 section 2): an AWS console sign-in URL for a person.

The role's STS credentials (assumed_role, else federation_token) are traded at AWS's sign-in
federation endpoint for a sign-in token (`getSigninToken`, transport/federation.py), and the
answer is the endpoint's `login` URL with `Issuer`, `Destination` and `SigninToken`. The
credentials never leave the broker; the URL is the secret (AWS accepts its token for 15
minutes). The URL is under a lease of the credentials' secret type, so revoking it does what
revoking those credentials does.

`ttl` is the console session's length. For assumed_role it is both the credentials' lifetime
and `SessionDuration` (AWS: 900 to 43,200 seconds; the role's own maximum session duration
must allow it, or AssumeRole refuses). For federation_token it is the token's own lifetime
(900 to 129,600 seconds): AWS takes a federated console session's length from the token, and
`SessionDuration` is sent only with credentials of a role. iam_user and session_token roles are
refused: the federation endpoint signs in only sessions of roles and federation tokens.

With `session_revocation` on the role, revoking the lease denies the session (its `aws:userid`
is the console's too), and the deny must outlast the console session, not only the
credentials: AWS accepts the URL for 15 minutes and the console session lasts its length from
sign-in, so the lease's block gets `console_until`, issue time + 15 minutes + `ttl`, the latest
the console session can end (session_revocation.session_end).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from awsbroker.engines.aws import reason as rs
from awsbroker.engines.aws import session_revocation as sr
from awsbroker.engines.aws import sts
from awsbroker.engines.aws.records import root_config
from awsbroker.engines.aws.records.role import ASSUMED_ROLE, FEDERATION_TOKEN, load_role
from awsbroker.engines.aws.transport.endpoints import fallback_region
from awsbroker.engines.aws.transport.federation import (
    default_destination,
    default_endpoint,
    login_url,
)
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response
from awsbroker.sdk.telemetry import CREDENTIALS_ISSUED

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.records.role import RoleEntry

DEFAULT_TTL = 3600
MIN_TTL = 900  # AWS's least console session and least STS credential
MAX_ROLE_SESSION = 43200  # SessionDuration's most: 12 hours
MAX_FEDERATION = 129600  # GetFederationToken's most: 36 hours
DEFAULT_ISSUER = "awsbroker"
CONSOLE_TYPES = (ASSUMED_ROLE, FEDERATION_TOKEN)


def paths() -> list[Path[AWSBackend]]:
    return [
        Path(
            r"console/(?P<name>\w(?:[\w.@-]*\w)?)",
            {Operation.READ: read_console, Operation.UPDATE: read_console},
            {
                "name": Field(T.STRING, "Name of the role"),
                "ttl": Field(T.DURATION, "Length of the console session"),
                "destination": Field(
                    T.STRING, "Console URL to land on (default: the partition's console home)"
                ),
                "issuer": Field(
                    T.STRING, "Issuer sent to AWS: where an expired session sends the user"
                ),
                "role_arn": Field(T.STRING, "assumed_role: which of the role's ARNs to assume"),
                rs.FIELD: rs.field(),
            },
            summary="Generate an AWS console sign-in URL for a role",
            audit_clear=(rs.FIELD,),
        )
    ]


def _kind(name: str, role: RoleEntry) -> str:
    for kind in CONSOLE_TYPES:
        if kind in role.credential_types:
            return kind
    types = ", ".join(role.credential_types)
    raise InvalidRequest(
        f'role "{name}" has credential type {types}: console sign-in needs assumed_role or '
        "federation_token, because AWS's federation endpoint signs in only sessions of IAM "
        "roles and federation tokens (not IAM users' keys or GetSessionToken sessions)"
    )


def _ttl(b: AWSBackend, role: RoleEntry, kind: str, fd: FieldData) -> int:
    if fd.is_set("ttl"):
        ttl = fd.get_duration("ttl")
    elif role.default_sts_ttl > 0:
        ttl = role.default_sts_ttl
    else:
        ttl = DEFAULT_TTL
    cap = role.max_sts_ttl if role.max_sts_ttl > 0 else b.system.max_lease_ttl()
    ttl = min(ttl, cap)
    if ttl < MIN_TTL:
        raise InvalidRequest(
            f"ttl {ttl}s is too short: an AWS console session lasts at least {MIN_TTL}s (15m)"
        )
    most = MAX_ROLE_SESSION if kind == ASSUMED_ROLE else MAX_FEDERATION
    if ttl > most:
        what = (
            "a role's console session (SessionDuration)"
            if kind == ASSUMED_ROLE
            else ("a federation token")
        )
        raise InvalidRequest(f"ttl {ttl}s is too long: AWS allows at most {most}s for {what}")
    return ttl


def _destination(fd: FieldData, endpoint: str) -> str:
    destination = fd.get_str("destination") or default_destination(endpoint)
    parts = urlsplit(destination)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in destination):
        raise InvalidRequest(
            f"invalid destination {destination!r}: use an https URL of the AWS console, such "
            "as https://console.aws.amazon.com/s3/"
        )
    return destination


def read_console(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    name = fd.get_str("name")
    role = load_role(b, name)
    if role is None:
        raise InvalidRequest(f'Role "{name}" not found')
    kind = _kind(name, role)
    ttl = _ttl(b, role, kind, fd)
    config = root_config.current(b)
    endpoint = config.federation_endpoint or default_endpoint(config.region or fallback_region())
    destination = _destination(fd, endpoint)  # 400s before any AWS call
    issuer = fd.get_str("issuer") or DEFAULT_ISSUER
    reason, tags = rs.take_for_role(fd, role)  # 400s before any AWS call
    if kind == ASSUMED_ROLE:
        arn = sts.chosen_role_arn(role, name, fd.get_str("role_arn"))
        issued = sts.assumed_role(
            b, req, name, role, ttl=ttl, role_arn=arn, session_name="", extra_tags=tags
        )
    else:
        issued = sts.federation_token(b, req, name, role, ttl, extra_tags=tags)
    data = issued.data or {}
    session = {
        "sessionId": str(data["access_key"]),
        "sessionKey": str(data["secret_key"]),
        "sessionToken": str(data["session_token"]),
    }
    # STS credentials cannot be deleted: if the sign-in fails they simply expire, unleased.
    token = b.federation.signin_token(endpoint, session, ttl if kind == ASSUMED_ROLE else None)
    response = Response(
        data={
            "url": login_url(endpoint, token, issuer, destination),
            "credential_type": kind,
            "ttl": issued.secret.ttl if issued.secret is not None else ttl,
        },
        secret=issued.secret,
    )
    if issued.secret is not None:
        issued.secret.internal_data["console"] = True
        issued.secret.reason = reason
        block = issued.secret.internal_data.get(sr.FIELD)
        if isinstance(block, dict):
            # The console session may outlive the credentials: the deny stays until it ends.
            block["console_until"] = b.system.clock.now() + sr.SIGNIN_URL_LIFE + ttl
    labels = {"mount": b.mount_path, "role": name, "credential_type": f"{kind}_console"}
    response.on_registered.append(lambda: b.telemetry.count(CREDENTIALS_ISSUED, labels))
    return response
