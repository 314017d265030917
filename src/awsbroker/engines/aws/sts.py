"""STS credentials: federation tokens, session tokens and assumed roles.

None of them can be revoked: they end at their expiry, so their leases are not renewable and
revoking one makes no AWS call.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from datetime import datetime
from typing import TYPE_CHECKING

from awsbroker.engines.aws import session_revocation as sr
from awsbroker.engines.aws import session_templates as st
from awsbroker.engines.aws.iam_user import username
from awsbroker.engines.aws.records import root_config
from awsbroker.engines.aws.records.lease_config import SECRET_ACCESS_KEYS
from awsbroker.engines.aws.records.role import ASSUMED_ROLE, FEDERATION_TOKEN, RoleEntry
from awsbroker.engines.aws.records.session_deny import ROLE, USER, Target
from awsbroker.engines.aws.transport.errors import AWS_ERRORS, aws_error
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject, Request, Response, Secret

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.transport.api import (
        AssumeRoleRequest,
        Credentials,
        FederationTokenRequest,
        PolicyDescriptor,
        SessionTokenRequest,
        StsTag,
    )

SESSION_LIMIT = 64
_BAD_NAME_CHARS = re.compile(r"[^a-zA-Z0-9+=,.@_-]")


def normalize_name(name: str) -> str:
    return _BAD_NAME_CHARS.sub("_", name)


def group_policies(backend: AWSBackend, groups: list[str]) -> tuple[list[str], list[str]]:
    """The managed ARNs and inline documents of `groups`, in order (one page each, as Vault)."""
    iam = backend.clients.iam()
    arns: list[str] = []
    documents: list[str] = []
    try:
        for group in groups:
            attached = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
            arns.extend(p["PolicyArn"] for p in attached)
            for name in iam.list_group_policies(GroupName=group)["PolicyNames"]:
                doc = iam.get_group_policy(GroupName=group, PolicyName=name)["PolicyDocument"]
                documents.append(doc if isinstance(doc, str) else json.dumps(doc))
    except AWS_ERRORS as exc:
        raise aws_error("Error reading the policies of IAM groups", exc) from exc
    return arns, [urllib.parse.unquote(d) for d in documents]


def merge_documents(documents: list[str]) -> str:
    statements: list[object] = []
    for text in documents:
        if not text:
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            raise InvalidRequest(f"cannot parse policy document: {text!r}") from None
        statement = doc.get("Statement", []) if isinstance(doc, dict) else []
        statements.extend(statement if isinstance(statement, list) else [statement])
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def _policies(backend: AWSBackend, role: RoleEntry) -> tuple[str, list[str]]:
    document, arns = role.policy_document, list(role.policy_arns)
    if role.iam_groups:
        group_arns, group_docs = group_policies(backend, role.iam_groups)
        arns += group_arns
        if group_docs:
            document = merge_documents([*group_docs, role.policy_document])
    return document, arns


def _descriptors(arns: list[str]) -> list[PolicyDescriptor]:
    return [{"arn": arn} for arn in arns]


def _response(
    backend: AWSBackend,
    credentials: Credentials,
    internal: JSONObject,
    extra: JSONObject | None = None,
) -> Response:
    expiration: datetime = credentials["Expiration"]
    ttl = max(0, int(expiration.timestamp() - backend.system.clock.now()))
    token = credentials["SessionToken"]
    data: JSONObject = {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        "security_token": token,
        "session_token": token,
        "ttl": ttl,
        **(extra or {}),
    }
    return Response(
        data=data,
        secret=Secret(
            SECRET_ACCESS_KEYS, ttl=ttl, max_ttl=ttl, renewable=False, internal_data=internal
        ),
    )


def _shaped(
    backend: AWSBackend, req: Request, role_name: str, role: RoleEntry, kind: str
) -> st.Shaped:
    """The role's templates (session_templates.py) rendered for the token that asked."""
    is_role = kind == ASSUMED_ROLE
    return st.shape(
        tags=role.session_tags_template,
        session_name=role.session_name_template,
        source_identity=role.source_identity_template if is_role else "",
        data=st.identity_data(req.caller, role_name, kind),
        name_limit=st.SESSION_NAME_MAX if is_role else st.FEDERATION_NAME_MAX,
        now=backend.system.clock.now(),
    )


def _tags(static: dict[str, str], templated: dict[str, str], extra: dict[str, str]) -> list[StsTag]:
    """STS `Tags`: the static ones, then the templated, then the broker's own (`extra`: the
    reason's, engines/aws/reason.py). A key is never in two: the role's write refuses it."""
    return [{"Key": k, "Value": v} for k, v in {**static, **templated, **extra}.items()]


def federation_token(
    backend: AWSBackend,
    req: Request,
    role_name: str,
    role: RoleEntry,
    ttl: int,
    *,
    extra_tags: dict[str, str] | None = None,
) -> Response:
    shaped = _shaped(backend, req, role_name, role, FEDERATION_TOKEN)  # 400s before AWS calls
    document, arns = _policies(backend, role)
    config = root_config.current(backend)  # read once for both
    sts = backend.clients.sts(config)
    name = shaped.session_name or username(backend, "STS", req.display_name, role_name, config)
    if not document and not arns:
        raise InvalidRequest(
            "must specify at least one of policy_arns or policy_document with federation_token "
            "credential_type"
        )
    args: FederationTokenRequest = {"Name": name, "DurationSeconds": ttl}
    if document:
        args["Policy"] = document
    if arns:
        args["PolicyArns"] = _descriptors(arns)
    tags = _tags({}, shaped.tags, extra_tags or {})
    if tags:
        args["Tags"] = tags
    try:
        result = sts.get_federation_token(**args)
    except AWS_ERRORS as exc:
        raise aws_error("Error generating STS keys", exc) from exc
    internal: JSONObject = {"username": name, "policy": document, "is_sts": True}
    if role.session_revocation:  # issue 19 section 1
        user = broker_user(backend)
        target = Target(USER, user[1], account=user[0])
        ends = result["Credentials"]["Expiration"].timestamp()
        userid = result["FederatedUser"]["FederatedUserId"]
        internal[sr.FIELD] = sr.marker(target, userid, ends, req.lease_id)
    return _response(backend, result["Credentials"], internal)


def session_token(
    backend: AWSBackend, req: Request, role: RoleEntry, ttl: int, mfa_code: str
) -> Response:
    sts = backend.clients.sts()
    args: SessionTokenRequest = {"DurationSeconds": ttl}
    if role.mfa_serial_number:
        args["SerialNumber"] = role.mfa_serial_number
    if mfa_code:
        args["TokenCode"] = mfa_code
    try:
        result = sts.get_session_token(**args)
    except AWS_ERRORS as exc:
        raise aws_error("Error generating STS keys", exc) from exc
    return _response(backend, result["Credentials"], {"is_sts": True})


def assumed_role(
    backend: AWSBackend,
    req: Request,
    role_name: str,
    role: RoleEntry,
    *,
    ttl: int,
    role_arn: str,
    session_name: str,
    extra_tags: dict[str, str] | None = None,
) -> Response:
    shaped = _shaped(backend, req, role_name, role, ASSUMED_ROLE)  # 400s before AWS calls
    document, arns = _policies(backend, role)
    config = root_config.current(backend)  # read once for both
    sts = backend.clients.sts(config)
    if shaped.session_name:
        session_name = shaped.session_name  # the caller may not choose one (path_creds.py)
    elif session_name:
        session_name = normalize_name(session_name)[:SESSION_LIMIT]
    else:
        session_name = username(backend, "IAM", req.display_name, role_name, config)
    args: AssumeRoleRequest = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": ttl,
    }
    if document:
        args["Policy"] = document
    if arns:
        args["PolicyArns"] = _descriptors(arns)
    tags = _tags(role.session_tags, shaped.tags, extra_tags or {})
    if tags:
        args["Tags"] = tags
    if shaped.source_identity:
        args["SourceIdentity"] = shaped.source_identity
    if role.external_id:
        args["ExternalId"] = role.external_id
    try:
        result = sts.assume_role(**args)
    except AWS_ERRORS as exc:
        raise aws_error("Error assuming role", exc) from exc
    internal: JSONObject = {"username": session_name, "policy": role_arn, "is_sts": True}
    if role.session_revocation:  # issue 19 section 1
        account, resource = role_arn.split(":", 5)[4:]
        via = sr.via_role(role.session_revocation_role_arns, account)
        target = Target(ROLE, resource.rsplit("/", 1)[-1], account=account, via=via)
        ends = result["Credentials"]["Expiration"].timestamp()
        userid = result["AssumedRoleUser"]["AssumedRoleId"]
        internal[sr.FIELD] = sr.marker(target, userid, ends, req.lease_id)
    return _response(
        backend, result["Credentials"], internal, {"arn": result["AssumedRoleUser"]["Arn"]}
    )


def chosen_role_arn(role: RoleEntry, name: str, requested: str) -> str:
    """The role ARN a request assumes: the one it names, which must be one of the role's, or
    the role's only one."""
    if not requested:
        if len(role.role_arns) != 1:
            raise InvalidRequest("did not supply a role_arn parameter and unable to determine one")
        return role.role_arns[0]
    if requested not in role.role_arns:
        raise InvalidRequest(
            f'role_arn "{requested}" not in allowed role arns for Vault role "{name}"'
        )
    return requested


def broker_user(backend: AWSBackend) -> tuple[str, str]:
    """The account and name of the IAM user the broker calls AWS as (federation tokens' deny
    goes on it: its policies bound every federated session)."""
    try:
        identity = backend.clients.sts().get_caller_identity()
    except AWS_ERRORS as exc:
        raise aws_error("Error reading the broker's identity", exc) from exc
    arn = identity["Arn"]
    resource = arn.split(":", 5)[-1]
    if not resource.startswith("user/"):
        raise InvalidRequest(
            f"revoking sessions of federation or session tokens needs the broker to call AWS as "
            f"an IAM user (their sessions come from it), not {arn}"
        )
    return identity["Account"], resource.rsplit("/", 1)[-1]
