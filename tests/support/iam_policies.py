"""The shipped IAM policies of the broker's own user (docs/iam/*.json), and what the tests do
with them: load, pick statements, drop an action, rewrite for moto, and check recorded calls
against their Resources as AWS would match them. Also docs/iam-policy.md's setup block, which
docs/production.md has the operator run.

Moto evaluates identity policies against the resource `*` for every IAM and STS action but
AssumeRole (whose resource is the RoleArn), and an ARN pattern does not match `*`; so
`for_moto` widens every other statement's Resource to `*`. What moto then proves is the
Action lists; `resource_misses` checks the Resources against the calls the broker made, from
the resource types of AWS's Service Authorization Reference as written down here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from tests.support.aws_proxy import Call

POLICY_DIR = Path(__file__).resolve().parents[2] / "docs" / "iam"
DOC = POLICY_DIR.parent / "iam-policy.md"
# Every file, in the order docs/iam-policy.md's setup block attaches them.
FILES = (
    "iam_user",
    "federation_token",
    "session_token",
    "assumed_role",
    "rotation_and_static_roles",
)
PLACEHOLDER_ACCOUNTS = ("111122223333", "444455556666")
MOTO_ACCOUNT = "123456789012"
# Actions whose resource moto matches against the statement's Resource (the RoleArn).
MOTO_CHECKS_RESOURCE = frozenset({"sts:AssumeRole"})
# In the shipped files, never called by name, so moto cannot check them: AWS requires
# iam:TagUser for CreateUser with Tags, sts:TagSession for AssumeRole with Tags and
# sts:SetSourceIdentity for AssumeRole with a SourceIdentity (docs/session-tags.md);
# DeleteServiceSpecificCredential follows a ListServiceSpecificCredentials moto lacks.
IMPLIED_OR_UNREACHABLE = frozenset(
    {
        "iam:TagUser",
        "sts:TagSession",
        "sts:SetSourceIdentity",
        "iam:DeleteServiceSpecificCredential",
    }
)

Policy = dict[str, Any]


def load(name: str, sids: tuple[str, ...] | None = None) -> Policy:
    """docs/iam/<name>.json, only the statements named by `sids` if given."""
    policy: Policy = json.loads((POLICY_DIR / f"{name}.json").read_text())
    if sids is not None:
        policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] in sids]
        assert {s["Sid"] for s in policy["Statement"]} == set(sids), sids
    return policy


def load_all() -> Policy:
    """Every file's statements in one policy: what the setup block gives the broker's user."""
    statements = [s for name in FILES for s in load(name)["Statement"]]
    return {"Version": "2012-10-17", "Statement": statements}


def setup_block() -> str:
    """The commands of docs/iam-policy.md's setup block."""
    match = re.search(r"<!-- iam-policy: setup -->\n```sh\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/iam-policy.md has no setup block"
    return match.group(1)


def actions(policy: Policy) -> set[str]:
    found: set[str] = set()
    for statement in policy["Statement"]:
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def without(policy: Policy, action: str) -> Policy:
    """The policy with `action` taken out of every statement (and empty statements dropped)."""
    result = copy.deepcopy(policy)
    kept = []
    for statement in result["Statement"]:
        listed = statement["Action"]
        listed = [listed] if isinstance(listed, str) else listed
        statement["Action"] = [a for a in listed if a != action]
        if statement["Action"]:
            kept.append(statement)
    # IAM refuses a policy with no statement: one that allows only what anyone may call.
    nothing = {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
    result["Statement"] = kept or [nothing]
    return result


def in_moto_account(policy: Policy) -> Policy:
    text = json.dumps(policy)
    for account in PLACEHOLDER_ACCOUNTS:
        text = text.replace(account, MOTO_ACCOUNT)
    parsed: Policy = json.loads(text)
    return parsed


def for_moto(policy: Policy) -> Policy:
    """In moto's account; every Resource moto matches against `*` widened to `*`."""
    result = in_moto_account(policy)
    for statement in result["Statement"]:
        listed = statement["Action"]
        listed = {listed} if isinstance(listed, str) else set(listed)
        if not listed <= MOTO_CHECKS_RESOURCE | {"sts:TagSession", "sts:SetSourceIdentity"}:
            statement["Resource"] = "*"
    return result


# --- Resources as AWS matches them -------------------------------------------------------

_USER_ACTIONS = frozenset(
    {
        "CreateUser", "TagUser", "AttachUserPolicy", "PutUserPolicy", "CreateAccessKey",
        "ListGroupsForUser", "ListUserPolicies", "ListAttachedUserPolicies", "ListAccessKeys",
        "DeleteAccessKey", "DetachUserPolicy", "DeleteUserPolicy", "DeleteUser",
        "DeleteLoginProfile", "ListMFADevices", "DeactivateMFADevice", "ListSigningCertificates",
        "DeleteSigningCertificate", "ListSSHPublicKeys", "DeleteSSHPublicKey",
        "ListServiceSpecificCredentials", "DeleteServiceSpecificCredential", "GetUser",
        "GetUserPolicy",
    }
)  # fmt: skip
# Session revocation's deny on a target role (session_revocation.json).
_ROLE_ACTIONS = frozenset({"PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy"})
_GROUP_ACTIONS = frozenset(
    {
        "AddUserToGroup", "RemoveUserFromGroup", "ListAttachedGroupPolicies",
        "ListGroupPolicies", "GetGroupPolicy",
    }
)  # fmt: skip
_SERVICE = {"GetFederationToken": "sts", "GetSessionToken": "sts", "AssumeRole": "sts"}


def resource_of(
    call: Call, user_arns: dict[str, str], caller: str, role_arns: dict[str, str] | None = None
) -> str:
    """The ARN AWS authorises `call` against (Service Authorization Reference)."""
    account = MOTO_ACCOUNT
    if call.action in _USER_ACTIONS:
        name = call.param("UserName") or caller
        return user_arns[name]
    if call.action in _ROLE_ACTIONS:
        return (role_arns or {})[str(call.param("RoleName"))]
    if call.action in _GROUP_ACTIONS:
        return f"arn:aws:iam::{account}:group/{call.param('GroupName')}"
    if call.action == "DeleteVirtualMFADevice":
        return str(call.param("SerialNumber"))
    if call.action == "GetFederationToken":
        return f"arn:aws:sts::{account}:federated-user/{call.param('Name')}"
    if call.action == "AssumeRole":
        return str(call.param("RoleArn"))
    if call.action == "GetSessionToken":
        return "*"  # no resource type
    raise AssertionError(f"no resource type written down for {call.action}")


def _matches(pattern: str, value: str, username: str) -> bool:
    pattern = pattern.replace("${aws:username}", username)
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def allows(policy: Policy, action: str, resource: str, username: str) -> bool:
    for statement in policy["Statement"]:
        listed = statement["Action"]
        listed = [listed] if isinstance(listed, str) else listed
        if action.lower() not in {a.lower() for a in listed}:
            continue
        patterns = statement["Resource"]
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if any(_matches(p, resource, username) for p in patterns):
            return True
    return False


def resource_misses(
    policy: Policy,
    calls: list[Call],
    user_arns: dict[str, str],
    caller: str,
    role_arns: dict[str, str] | None = None,
) -> list[str]:
    """The calls the broker's own user made that the shipped Resources would not allow
    (`role_arns`: name to ARN of the roles the calls name, with their paths)."""
    shipped = in_moto_account(policy)
    misses = []
    for call in calls:
        if call.action == "GetCallerIdentity" or "x-amz-security-token" in call.headers:
            continue  # anyone may call it / signed by an assumed role, not the broker's user
        action = f"{_SERVICE.get(call.action, 'iam')}:{call.action}"
        resource = resource_of(call, user_arns, caller, role_arns)
        if not allows(shipped, action, resource, caller):
            misses.append(f"{action} on {resource}")
    return misses
