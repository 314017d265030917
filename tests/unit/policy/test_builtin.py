"""The built-in default policy and the sudo-path check."""

from __future__ import annotations

import pytest

from awsbroker.policy.acl import ACL
from awsbroker.policy.builtin import (
    DEFAULT_POLICY,
    DEFAULT_POLICY_NAME,
    ROOT_POLICY,
    is_root_path,
)
from awsbroker.policy.parse import parse_policy
from awsbroker.sdk.logical import Operation


def default_acl() -> ACL:
    return ACL([parse_policy(DEFAULT_POLICY_NAME, DEFAULT_POLICY)])


def test_names() -> None:
    assert (ROOT_POLICY, DEFAULT_POLICY_NAME) == ("root", "default")


def test_default_policy_parses_and_keeps_its_comments() -> None:
    policy = parse_policy(DEFAULT_POLICY_NAME, DEFAULT_POLICY)
    assert policy.raw == DEFAULT_POLICY
    assert "# Allow tokens to look up their own properties" in policy.raw
    assert len(policy.rules) == 17


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("auth/token/lookup-self", Operation.READ),
        ("auth/token/renew-self", Operation.UPDATE),
        ("auth/token/revoke-self", Operation.UPDATE),
        ("sys/capabilities-self", Operation.UPDATE),
        ("sys/internal/ui/resultant-acl", Operation.READ),
        ("sys/internal/specs/openapi", Operation.READ),
        ("sys/renew", Operation.UPDATE),
        ("sys/leases/renew", Operation.UPDATE),
        ("sys/leases/lookup", Operation.UPDATE),
        ("sys/leases/self", Operation.READ),
        ("sys/leases/self/revoke", Operation.UPDATE),
        ("cubbyhole/x", Operation.CREATE),
        ("cubbyhole/x", Operation.READ),
        ("cubbyhole/x", Operation.DELETE),
        ("cubbyhole/", Operation.LIST),
        ("sys/wrapping/wrap", Operation.UPDATE),
        ("sys/wrapping/lookup", Operation.UPDATE),
        ("sys/wrapping/unwrap", Operation.UPDATE),
        ("sys/tools/hash", Operation.UPDATE),
        ("sys/tools/hash/sha2-512", Operation.UPDATE),
    ],
)
def test_default_policy_grants(path: str, operation: Operation) -> None:
    decision = default_acl().allowed(path, operation)
    assert decision.allowed
    assert decision.granting_policies == ("default",)
    assert not decision.sudo


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("sys/mounts", Operation.READ),
        ("auth/token/lookup-self", Operation.UPDATE),
        ("auth/token/create", Operation.UPDATE),
        ("sys/leases/revoke", Operation.UPDATE),
        ("sys/policies/acl", Operation.LIST),
        ("aws/creds/role", Operation.READ),
    ],
)
def test_default_policy_refuses(path: str, operation: Operation) -> None:
    assert not default_acl().allowed(path, operation).allowed


def test_default_policy_capabilities() -> None:
    a = default_acl()
    assert a.capabilities("auth/token/lookup-self") == ["read"]
    assert a.capabilities("cubbyhole/x") == ["create", "delete", "list", "read", "update"]
    assert a.capabilities("sys/mounts") == ["deny"]


ROOT_GLOBS = ("sys/audit", "sys/audit/*", "sys/raw*", "auth/token/accessors", "sys/leases/lookup/*")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("sys/audit", True),
        ("/sys/audit", True),
        ("sys/audit/file", True),
        ("sys/audit/", True),
        ("sys/audits", False),
        ("sys/raw", True),
        ("sys/rawx/y", True),
        ("auth/token/accessors", True),
        ("auth/token/accessors/", False),
        ("sys/leases/lookup/aws/", True),
        ("sys/leases/lookup", False),
        ("sys/mounts", False),
    ],
)
def test_is_root_path(path: str, expected: bool) -> None:
    assert is_root_path(path, ROOT_GLOBS) is expected


def test_is_root_path_without_globs() -> None:
    assert not is_root_path("sys/audit", [])
