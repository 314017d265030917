"""The ACL path of a policy endpoint: its name segment as the policy store will use it."""

from __future__ import annotations

import pytest

from awsbroker.core.policy_store import acl_path


@pytest.mark.parametrize(
    ("path", "checked"),
    [
        ("sys/policies/acl/ADMIN", "sys/policies/acl/admin"),
        ("sys/policies/acl/ admin\t", "sys/policies/acl/admin"),
        ("sys/policy/Admin ", "sys/policy/admin"),
        ("sys/policies/acl/admin", "sys/policies/acl/admin"),
        # Not one policy's name: left alone.
        ("sys/policies/acl/", "sys/policies/acl/"),
        ("sys/policies/acl/A/B", "sys/policies/acl/A/B"),
        ("sys/policies/ACL/X", "sys/policies/ACL/X"),
        ("sys/policy", "sys/policy"),
        ("aws/creds/ADMIN", "aws/creds/ADMIN"),
        ("sys/mounts/ADMIN", "sys/mounts/ADMIN"),
    ],
)
def test_acl_path(path: str, checked: str) -> None:
    assert acl_path(path) == checked
