"""Issue 19 section 1: the deny policies of one identity on IAM, split to fit IAM's limits.

The revoked sessions of an identity, oldest first, fill the inline policy (10,240 characters on
a role, 2,048 on a user) and then up to `MANAGED_MAX` customer-managed policies the broker owns
(6,144 characters each, path `/awsbroker-revoked/`), attached to the identity. Since entries are
only appended at the end and removed anywhere, a session only ever moves to an earlier policy;
policies are written first to last, so a session is never missing from all of them while they
are rewritten. A managed policy is updated by a new default version (older ones deleted, IAM
keeps at most five), and detached and deleted once no session is left for it.

Creating one is write-ahead as the rest: an intent (`session_deny.put_intent`) is stored before
CreatePolicy and cleared once its ARN is recorded. The name is deterministic (mount id,
identity, index), so a CreatePolicy answered EntityAlreadyExists finds a policy of ours that a
stopped write left behind: it is adopted (a new default version, recorded, attached). One no
longer needed is removed by the periodic check (`remove_unrecorded`), which claims the intent
first: a write does not adopt a policy claimed by a live process (it fails, to be retried),
and the removal stops, keeping the policy, if a write took it over anyway.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from awsbroker.engines.aws.records import session_deny
from awsbroker.engines.aws.records.session_deny import ROLE, Target
from awsbroker.engines.aws.transport.errors import AWS_ERRORS, error_code, gone_is_done
from awsbroker.sdk.errors import InternalError, UpstreamError

if TYPE_CHECKING:
    from collections.abc import Callable

    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.transport.api import IAM

ROLE_INLINE_LIMIT = 10_240
USER_INLINE_LIMIT = 2_048
MANAGED_LIMIT = 6_144
# Managed policies per identity: IAM attaches at most 10 to a role or user by default, and the
# broker's user already has its own (docs/iam-policy.md).
MANAGED_MAX = 4
MANAGED_PATH = "/awsbroker-revoked/"


class PolicyFull(InternalError):
    """The revoked sessions would not fit in the inline policy and every managed one."""


def timestamp(at: float) -> str:
    """`at` as IAM's date condition wants it, rounded up to the second."""
    whole = math.ceil(at)
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document(userids: list[str], before: float | None = None) -> str:
    """The policy AWS evaluates: `*` denied to each revoked session's `aws:userid`, and, with
    `before` (a cut, in the inline policy only), to every session issued before it, as the IAM
    console's "Revoke active sessions" writes it."""
    statements: list[dict[str, object]] = []
    if userids or before is None:
        statements.append(
            {
                "Sid": "AwsbrokerRevokedSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:userid": sorted(set(userids))}},
            }
        )
    if before is not None:
        statements.append(
            {
                "Sid": "AwsbrokerRevokedOlderSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": timestamp(before)}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def chunks(target: Target, userids: list[str], before: float | None = None) -> list[list[str]]:
    """`userids` (oldest first) cut into the inline policy's share, then each managed one's
    (raises PolicyFull past the last)."""
    limits = [ROLE_INLINE_LIMIT if target.kind == ROLE else USER_INLINE_LIMIT]
    limits += [MANAGED_LIMIT] * MANAGED_MAX
    base = len(document([]))
    # The inline policy also carries the cut's statement, when there is one.
    size = base if before is None else len(document(["x"], before)) - len('"x"')
    out: list[list[str]] = [[]]
    for userid in userids:
        cost = len(json.dumps(userid)) + (1 if out[-1] else 0)
        if size + cost > limits[len(out) - 1]:
            if len(out) == len(limits):
                raise PolicyFull(
                    f"the revoked sessions of {target.kind} {target.name} would overflow its "
                    f"inline policy and {MANAGED_MAX} managed policies"
                )
            out.append([])
            size, cost = base, len(json.dumps(userid))
        out[-1].append(userid)
        size += cost
    return out


def write(
    backend: AWSBackend,
    iam: IAM,
    target: Target,
    inline_name: str,
    userids: list[str],
    *,
    before: float | None = None,
) -> None:
    """Make the identity's policies deny exactly `userids`, and every session issued before
    `before` if given, with `iam` (raises AWS's errors, and PolicyFull before any call)."""
    parts = chunks(target, userids, before) if userids else []
    if (parts and parts[0]) or before is not None:
        _put_inline(iam, target, inline_name, document(parts[0] if parts else [], before))
    managed = session_deny.managed_arns(backend, target)
    for index, part in enumerate(parts[1:], start=1):
        name = managed_name(inline_name, target, index)
        arn = managed.get(index) or _create(backend, iam, target, name, index=index, part=part)
        if index in managed and not _new_version(iam, arn, document(part)):
            # deleted by hand: made again
            arn = _create(backend, iam, target, name, index=index, part=part)
        _attach(iam, target, arn)
    for index in sorted(i for i in managed if i >= max(len(parts), 1)):
        _remove(iam, target, managed[index])
        session_deny.delete_managed(backend, target, index)
    if not parts and before is None:
        _delete_inline(iam, target, inline_name)


# How `read_back` shows a managed policy that exists but is not attached to the identity.
DETACHED = "detached"


def read_back(backend: AWSBackend, iam: IAM, target: Target, inline_name: str) -> dict[str, object]:
    """What AWS holds now: the inline policy (under "") and the default version of each
    managed policy (under its ARN), parsed; None for one that is gone, and `(DETACHED,
    document)` for one no longer attached to the identity."""
    found: dict[str, object] = {"": _read_inline(iam, target, inline_name)}
    managed = session_deny.managed_arns(backend, target)
    # The broker's managed policies attached to the identity: one call (IAM attaches at most
    # 20 policies to a role or user; the path leaves the others out); none for an identity that
    # is gone (deleted since its sessions were revoked).
    attached = (_attached_or_gone(iam, target) or set()) if managed else set()
    for arn in managed.values():
        try:
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            text: object = iam.get_policy_version(PolicyArn=arn, VersionId=version)[
                "PolicyVersion"
            ]["Document"]
            found[arn] = _parsed(text) if arn in attached else (DETACHED, _parsed(text))
        except AWS_ERRORS as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            found[arn] = None
    return found


def wanted(
    backend: AWSBackend, target: Target, inline_name: str, userids: list[str], before: float | None
) -> dict[str, object]:
    """What `write` puts there, in `read_back`'s shape."""
    parts = chunks(target, userids, before) if userids else []
    inline = parts[0] if parts else []
    want: dict[str, object] = {
        "": json.loads(document(inline, before)) if inline or before is not None else None
    }
    managed = session_deny.managed_arns(backend, target)
    for index, arn in managed.items():
        want[arn] = json.loads(document(parts[index])) if index < len(parts) else None
    for index in range(1, len(parts)):
        if index not in managed:  # a creation that stopped before its ARN was recorded
            want[managed_name(inline_name, target, index)] = json.loads(document(parts[index]))
    return want


def managed_name(inline_name: str, target: Target, index: int) -> str:
    """The name of the identity's managed overflow policy `index` (1 and up)."""
    return f"{inline_name}-{target.key}-{index}"


def identity_gone(iam: IAM, target: Target) -> bool:
    """Whether the role or user was deleted (the call `_attached` makes, which the broker's
    rights allow, answered NoSuchEntity)."""
    return _attached_or_gone(iam, target) is None


def _attached_or_gone(iam: IAM, target: Target) -> set[str] | None:
    try:
        if target.kind == ROLE:
            page = iam.list_attached_role_policies(
                RoleName=target.name, PathPrefix=MANAGED_PATH, MaxItems=1000
            )
        else:
            page = iam.list_attached_user_policies(
                UserName=target.name, PathPrefix=MANAGED_PATH, MaxItems=1000
            )
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        return None
    return {p["PolicyArn"] for p in page["AttachedPolicies"] if "PolicyArn" in p}


# What `remove_unrecorded` did.
REMOVED = "removed"
ABSENT = "absent"
KEPT = "kept"


def remove_unrecorded(
    iam: IAM, target: Target, name: str, still_unrecorded: Callable[[], bool]
) -> str:
    """Detach and delete the broker's managed policy `name` (one a stopped write created but
    never recorded): REMOVED, ABSENT when there is none, KEPT when `still_unrecorded()` turned
    false before the detach or the delete (a write stored its intent again, or recorded the
    policy: it is that write's now, and may be attached again)."""
    arn = _find(iam, name)
    if arn is None:
        return ABSENT
    if not still_unrecorded():
        return KEPT
    _detach(iam, target, arn)
    if not still_unrecorded():
        return KEPT
    _delete(iam, arn)
    return REMOVED


def _find(iam: IAM, name: str) -> str | None:
    """The ARN of the broker's managed policy `name` (its path holds only the broker's)."""
    page = iam.list_policies(Scope="Local", PathPrefix=MANAGED_PATH, MaxItems=1000)
    while True:
        for policy in page["Policies"]:
            if policy.get("PolicyName") == name and "Arn" in policy:
                return policy["Arn"]
        if not page.get("IsTruncated") or not page.get("Marker"):
            return None
        page = iam.list_policies(
            Scope="Local", PathPrefix=MANAGED_PATH, MaxItems=1000, Marker=page["Marker"]
        )


def _read_inline(iam: IAM, target: Target, name: str) -> object:
    try:
        if target.kind == ROLE:
            found: object = iam.get_role_policy(RoleName=target.name, PolicyName=name)[
                "PolicyDocument"
            ]
        else:
            found = iam.get_user_policy(UserName=target.name, PolicyName=name)["PolicyDocument"]
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        return None
    return _parsed(found)


def _parsed(found: object) -> object:
    return json.loads(urllib.parse.unquote(found)) if isinstance(found, str) else found


def _put_inline(iam: IAM, target: Target, name: str, text: str) -> None:
    if target.kind == ROLE:
        iam.put_role_policy(RoleName=target.name, PolicyName=name, PolicyDocument=text)
    else:
        iam.put_user_policy(UserName=target.name, PolicyName=name, PolicyDocument=text)


def _delete_inline(iam: IAM, target: Target, name: str) -> None:
    with gone_is_done():
        if target.kind == ROLE:
            iam.delete_role_policy(RoleName=target.name, PolicyName=name)
        else:
            iam.delete_user_policy(UserName=target.name, PolicyName=name)


def _create(
    backend: AWSBackend, iam: IAM, target: Target, name: str, *, index: int, part: list[str]
) -> str:
    """Create (or adopt) managed policy `name`, write-ahead: the intent is stored first, the
    ARN recorded after, then the intent cleared."""
    intent = session_deny.ManagedIntent(
        target, index, name, backend.system.boot_id, backend.system.clock.now()
    )
    blob = session_deny.put_intent(backend, intent, backend.system.node_alive)
    if blob is None:
        raise UpstreamError(
            f"managed session deny policy {name} of {target.kind} {target.name} is being removed "
            "by another process's periodic check; retry"
        )
    text = document(part)
    try:
        arn = iam.create_policy(PolicyName=name, Path=MANAGED_PATH, PolicyDocument=text)["Policy"][
            "Arn"
        ]
    except AWS_ERRORS as exc:
        if error_code(exc) != "EntityAlreadyExists":
            raise
        # Ours (the name is this mount's, this identity's, this index's): left by a write
        # that stopped before recording it. Adopted, with the document wanted now.
        found = _find(iam, name)
        if found is None or not _new_version(iam, found, text):
            raise
        arn = found
    session_deny.put_managed(backend, target, index, arn)
    session_deny.clear_intent(backend, intent, blob)
    return arn


def _new_version(iam: IAM, arn: str, text: str) -> bool:
    """A new default version of `arn` (False if the policy is gone)."""
    try:
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        return False
    older = [v["VersionId"] for v in versions if not v["IsDefaultVersion"]]
    for version in older:  # IAM keeps five versions at most
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=text, SetAsDefault=True)
    return True


def _attach(iam: IAM, target: Target, arn: str) -> None:
    if target.kind == ROLE:
        iam.attach_role_policy(RoleName=target.name, PolicyArn=arn)
    else:
        iam.attach_user_policy(UserName=target.name, PolicyArn=arn)


def _remove(iam: IAM, target: Target, arn: str) -> None:
    _detach(iam, target, arn)
    _delete(iam, arn)


def _detach(iam: IAM, target: Target, arn: str) -> None:
    with gone_is_done():
        if target.kind == ROLE:
            iam.detach_role_policy(RoleName=target.name, PolicyArn=arn)
        else:
            iam.detach_user_policy(UserName=target.name, PolicyArn=arn)


def _delete(iam: IAM, arn: str) -> None:
    with gone_is_done():
        for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=arn)
