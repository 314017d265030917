"""Requests as Vault's Go `api` package writes them, field for field: what Terraform's vault
provider sends (it is built on that package; docs/compatibility.md, "Terraform's vault
provider"), and the Vault CLI. Go writes every field of its structs, zero values included
(`"options": null`, `"local": false`, durations as `"0s"`), which a server must take."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import DELETE, GET, POST, PUT, Case, Target, check, params

# api.MountInput / api.EnableAuthOptions with their zero values (Sys().Mount, Sys().EnableAuth)
MOUNT_INPUT = {
    "type": "$engine",
    "description": "made by terraform",
    "config": {
        "options": None,
        "default_lease_ttl": "3600s",
        "max_lease_ttl": "7200s",
        "force_no_cache": False,
    },
    "local": False,
    "seal_wrap": False,
    "external_entropy_access": False,
    "options": None,
}
AUTH_INPUT = {**MOUNT_INPUT, "type": "approle", "config": {**MOUNT_INPUT["config"]}}
# api.MountConfigInput as Terraform's vault_mount update sends it (sys/mounts/:path/tune)
TUNE_INPUT = {
    "options": None,
    "default_lease_ttl": "1800s",
    "max_lease_ttl": "3600s",
    "description": "tuned by terraform",
    "force_no_cache": False,
}
ENABLED = POST("sys/mounts/diff-tf", MOUNT_INPUT)
CLEAN = (DELETE("sys/mounts/diff-tf"),)
AUTH_CLEAN = (DELETE("sys/auth/diff-tf-ar"),)

CASES = [
    # the provider's start: its token, the server's version, then a limited child token
    Case("provider: lookup-self", GET("auth/token/lookup-self")),
    Case("provider: seal-status for the version", GET("sys/seal-status")),
    Case(
        "provider: its child token",
        POST(
            "auth/token/create",
            {
                "display_name": "terraform",
                "ttl": "1200s",
                "explicit_max_ttl": "1200s",
                "renewable": False,
            },
        ),
        values=("auth.renewable", "auth.lease_duration", "auth.policies"),
    ),
    # vault_mount, vault_aws_secret_backend (its mount)
    Case("vault_mount: create", POST("sys/mounts/diff-tf", MOUNT_INPUT), cleanup=CLEAN),
    Case("vault_mount: read", GET("sys/mounts/diff-tf"), setup=(ENABLED,), cleanup=CLEAN),
    Case(
        "vault_mount: update (tune)",
        POST("sys/mounts/diff-tf/tune", TUNE_INPUT),
        setup=(ENABLED,),
        cleanup=CLEAN,
    ),
    Case(
        "vault_mount: the tune read back",
        GET("sys/mounts/diff-tf/tune"),
        setup=(ENABLED, POST("sys/mounts/diff-tf/tune", TUNE_INPUT)),
        cleanup=CLEAN,
        values=("data.default_lease_ttl", "data.max_lease_ttl", "data.description"),
    ),
    Case("vault_mount: gone (read)", GET("sys/mounts/diff-tf-none")),
    Case("vault_mount: destroy", DELETE("sys/mounts/diff-tf"), setup=(ENABLED,)),
    # vault_auth_backend (AppRole's mount)
    Case("vault_auth_backend: create", POST("sys/auth/diff-tf-ar", AUTH_INPUT), cleanup=AUTH_CLEAN),
    Case(
        "vault_auth_backend: read",
        GET("sys/auth/diff-tf-ar"),
        setup=(POST("sys/auth/diff-tf-ar", AUTH_INPUT),),
        cleanup=AUTH_CLEAN,
    ),
    Case("vault_auth_backend: gone (read)", GET("sys/auth/diff-tf-none")),
    # vault_policy (Sys().PutPolicy / GetPolicy / DeletePolicy)
    Case(
        "vault_policy: write",
        PUT("sys/policies/acl/diff-tf", {"policy": 'path "x/*" { capabilities = ["read"] }'}),
    ),
    Case("vault_policy: read missing", GET("sys/policies/acl/diff-tf-none")),
]

EXPECTED: dict[str, dict[str, str]] = {
    "provider: seal-status for the version": {
        "envelope: key 'commit_date' only in openbao": "OpenBao's own key; Vault has none.",
        "envelope: key 'build_date' only in awsbroker": "Vault's key; we follow Vault.",
    },
    "vault_mount: read": {
        "envelope: key 'deprecation_status' only in openbao": "No plugin catalog here "
        "(test_mounts.py).",
        "data: key 'deprecation_status' only in openbao": "No plugin catalog here "
        "(test_mounts.py).",
    },
    "vault_auth_backend: read": {
        "envelope: key 'deprecation_status' only in openbao": "No plugin catalog here.",
        "data: key 'deprecation_status' only in openbao": "No plugin catalog here.",
    },
}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
