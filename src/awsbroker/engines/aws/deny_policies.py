"""Issue 19 section 1: the deny policies of one identity on IAM, split to fit IAM's limits.

The revoked sessions of an identity, oldest first, fill the inline policy (10,240 characters on
a role, 2,048 on a user) and then up to `MANAGED_MAX` customer-managed policies the broker owns
(6,144 characters each, path `/awsbroker-revoked/`), attached to the identity. Since entries are
only appended at the end and removed anywhere, a session only ever moves to an earlier policy;
policies are written first to last, so a session is never missing from all of them while they
are rewritten. A managed policy is updated by a new default version (older ones deleted, IAM
keeps at most five), and detached and deleted once no session is left for it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from awsbroker.engines.aws.records import session_deny
from awsbroker.engines.aws.records.session_deny import ROLE, Target
from awsbroker.engines.aws.transport.errors import AWS_ERRORS, error_code
from awsbroker.sdk.errors import InternalError

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.transport.api import IAM

ROLE_INLINE_LIMIT = 10_240
USER_INLINE_LIMIT = 2_048
MANAGED_LIMIT = 6_144
# Managed policies per identity: IAM attaches at most 10 to a role or user by default, and the
# broker's user already has its own (docs/iam-policy.md).
MANAGED_MAX = 4
MANAGED_PATH = "/awsbroker-revoked/"


def document(userids: list[str]) -> str:
    """The policy AWS evaluates: `*` denied to each revoked session's `aws:userid`."""
    listed = sorted(set(userids))
    statement = {
        "Sid": "AwsbrokerRevokedSessions",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:userid": listed}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def chunks(target: Target, userids: list[str]) -> list[list[str]]:
    """`userids` (oldest first) cut into the inline policy's share, then each managed one's."""
    limits = [ROLE_INLINE_LIMIT if target.kind == ROLE else USER_INLINE_LIMIT]
    limits += [MANAGED_LIMIT] * MANAGED_MAX
    base = len(document([]))
    out: list[list[str]] = [[]]
    size = base
    for userid in userids:
        cost = len(json.dumps(userid)) + (1 if out[-1] else 0)
        if size + cost > limits[len(out) - 1]:
            if len(out) == len(limits):
                raise InternalError(
                    f"the revoked sessions of {target.kind} {target.name} would overflow its "
                    f"inline policy and {MANAGED_MAX} managed policies; revoking more of its "
                    "sessions waits until some of them end"
                )
            out.append([])
            size, cost = base, len(json.dumps(userid))
        out[-1].append(userid)
        size += cost
    return out


def write(
    backend: AWSBackend, iam: IAM, target: Target, inline_name: str, userids: list[str]
) -> None:
    """Make the identity's policies deny exactly `userids`, with `iam` (raises AWS's errors)."""
    parts = chunks(target, userids) if userids else []
    if parts and parts[0]:
        _put_inline(iam, target, inline_name, document(parts[0]))
    managed = session_deny.managed_arns(backend, target)
    for index, part in enumerate(parts[1:], start=1):
        name = f"{inline_name}-{target.key}-{index}"
        arn = managed.get(index) or _create(backend, iam, target, name, part)
        if index in managed:
            _new_version(iam, arn, document(part))
        _attach(iam, target, arn)
    for index in sorted(i for i in managed if i >= max(len(parts), 1)):
        _remove(iam, target, managed[index])
        session_deny.delete_managed(backend, target, index)
    if not parts:
        _delete_inline(iam, target, inline_name)


def _put_inline(iam: IAM, target: Target, name: str, text: str) -> None:
    if target.kind == ROLE:
        iam.put_role_policy(RoleName=target.name, PolicyName=name, PolicyDocument=text)
    else:
        iam.put_user_policy(UserName=target.name, PolicyName=name, PolicyDocument=text)


def _delete_inline(iam: IAM, target: Target, name: str) -> None:
    try:
        if target.kind == ROLE:
            iam.delete_role_policy(RoleName=target.name, PolicyName=name)
        else:
            iam.delete_user_policy(UserName=target.name, PolicyName=name)
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise


def _create(backend: AWSBackend, iam: IAM, target: Target, name: str, part: list[str]) -> str:
    index = int(name.rsplit("-", 1)[1])
    created = iam.create_policy(PolicyName=name, Path=MANAGED_PATH, PolicyDocument=document(part))
    arn = created["Policy"]["Arn"]
    session_deny.put_managed(backend, target, index, arn)
    return arn


def _new_version(iam: IAM, arn: str, text: str) -> None:
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    older = [v["VersionId"] for v in versions if not v["IsDefaultVersion"]]
    for version in older:  # IAM keeps five versions at most
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=text, SetAsDefault=True)


def _attach(iam: IAM, target: Target, arn: str) -> None:
    if target.kind == ROLE:
        iam.attach_role_policy(RoleName=target.name, PolicyArn=arn)
    else:
        iam.attach_user_policy(UserName=target.name, PolicyArn=arn)


def _remove(iam: IAM, target: Target, arn: str) -> None:
    try:
        if target.kind == ROLE:
            iam.detach_role_policy(RoleName=target.name, PolicyArn=arn)
        else:
            iam.detach_user_policy(UserName=target.name, PolicyArn=arn)
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
    try:
        for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=arn)
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
