"""The rest of `sys/`: seal-status, health, leader, init, key-status, `sys/host-info` and
OpenBao's `sys/rotate/keyring` (issue 17 item 11), `sys/rotate`, audit devices enabled, listed
and disabled, and leases looked up."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import (
    DELETE,
    GET,
    LIST,
    POST,
    PUT,
    Case,
    Step,
    Target,
    check,
    params,
)

AUDIT = PUT("sys/audit/diff-file", {"type": "file", "options": {"file_path": "discard"}})
AUDIT_CLEAN = (DELETE("sys/audit/diff-file"),)

CASES = [
    Case("seal-status", GET("sys/seal-status", token=None)),
    Case("health", GET("sys/health", token=None)),
    Case("health HEAD", Step("HEAD", "sys/health", token=None), compare=("status",)),
    Case("leader", GET("sys/leader", token=None)),
    Case("init status", GET("sys/init", token=None)),
    Case("key-status", GET("sys/key-status")),
    Case("host-info", GET("sys/host-info"), compare=("status", "envelope"), item="11"),
    Case("rotate", POST("sys/rotate"), item="11"),
    Case("rotate/keyring", POST("sys/rotate/keyring"), item="11"),
    Case("rotate/keyring read", GET("sys/rotate/keyring"), item="11"),
    Case("ha-status", GET("sys/ha-status"), compare=("status", "envelope")),
    Case(
        "audit enable",
        PUT("sys/audit/diff-file2", {"type": "file", "options": {"file_path": "discard"}}),
        cleanup=(DELETE("sys/audit/diff-file2"),),
    ),
    Case(
        "audit list",
        GET("sys/audit"),
        setup=(AUDIT,),
        cleanup=AUDIT_CLEAN,
        fields=(("diff-file/",),),
    ),
    Case("audit enable an unknown type", PUT("sys/audit/diff-x", {"type": "nope"})),
    Case(
        "audit enable twice",
        PUT("sys/audit/diff-file", {"type": "file", "options": {"file_path": "discard"}}),
        setup=(AUDIT,),
        cleanup=AUDIT_CLEAN,
    ),
    Case("audit disable", DELETE("sys/audit/diff-file"), setup=(AUDIT,)),
    Case("audit disable a missing device", DELETE("sys/audit/diff-none")),
    Case(
        "audit-hash",
        POST("sys/audit-hash/diff-file", {"input": "x"}),
        setup=(AUDIT,),
        cleanup=AUDIT_CLEAN,
    ),
    Case(
        "lease lookup of a bogus lease", PUT("sys/leases/lookup", {"lease_id": "aws/creds/x/bogus"})
    ),
    Case(
        "lease renew of a bogus lease", PUT("sys/leases/renew", {"lease_id": "aws/creds/x/bogus"})
    ),
    Case(
        "lease revoke of a bogus lease", PUT("sys/leases/revoke", {"lease_id": "aws/creds/x/bogus"})
    ),
    Case("leases listed under a missing prefix", LIST("sys/leases/lookup/diff-none/")),
    Case(
        "seal without sudo",
        PUT("sys/seal", token="$t"),
        setup=(
            POST("auth/token/create", {"policies": ["default"]}, save={"t": "auth.client_token"}),
        ),
    ),
    Case("internal specs openapi", GET("sys/internal/specs/openapi"), compare=("status",)),
]

FOLLOW_VAULT = "Vault's answer has this key; OpenBao's not: we follow Vault."
EXPECTED: dict[str, dict[str, str]] = {
    "seal-status": {
        "envelope: key 'commit_date' only in openbao": "OpenBao's own key (2.6+); Vault has none.",
        "envelope: key 'build_date' only in awsbroker": FOLLOW_VAULT,
    },
    "health": {"envelope: key 'performance_standby' only in awsbroker": FOLLOW_VAULT},
    "leader": {
        f"envelope: key {key!r} only in awsbroker": "Vault's `sys/leader` answers every field "
        "of its LeaderResponse whether HA is on or not; OpenBao leaves them out when it is off "
        "(its dev mode). Ours is always an HA-capable node (docs/compatibility.md)."
        for key in (
            "is_self",
            "active_time",
            "leader_address",
            "leader_cluster_address",
            "performance_standby",
            "performance_standby_last_remote_wal",
        )
    },
    "audit enable twice": {
        "errors: openbao ['path already in use'], awsbroker ['path already in use at "
        "diff-file/']": "Same status (400); ours names the path.",
    },
}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
