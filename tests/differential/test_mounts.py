"""Secrets engine mounts: `sys/mounts` listed, one mount enabled, read, tuned and disabled
(both serve the `aws` type), `sys/mounts/<path>/tune`; `GET sys/mounts/sys/tune` and a missing
mount (issue 17 item 6)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import DELETE, GET, POST, Case, Target, check, params

ENABLE = POST("sys/mounts/diff-aws", {"type": "$engine", "description": "d"})
CLEAN = (DELETE("sys/mounts/diff-aws"),)
SYS = ("sys/",)

DEPRECATION = (
    "`deprecation_status` is the plugin catalog's lifecycle of a builtin engine; there is no "
    "plugin catalog here, and the one engine is not deprecated."
)
NULL_OPTIONS = (
    "An `aws` mount has no options (`null`); OpenBao's `kv` mount answers `{}` (a kv mount has a "
    "`version` option). Clients read either as no options."
)
SAYS_WHAT_TO_FIX = "Same status; our words say what to fix rather than how the server failed."

CASES = [
    Case(
        "sys/mounts listed",
        GET("sys/mounts"),
        compare=("status", "data"),
        fields=(SYS, (*SYS, "config"), (*SYS, "options"), ("sys/", "type")),
    ),
    Case("enable aws", POST("sys/mounts/diff-aws", {"type": "$engine"}), cleanup=CLEAN),
    Case(
        "enable on a taken path",
        POST("sys/mounts/diff-aws", {"type": "$engine"}),
        setup=(ENABLE,),
        cleanup=CLEAN,
    ),
    Case("enable an unknown type", POST("sys/mounts/diff-x", {"type": "no-such-engine"})),
    Case("enable without a type", POST("sys/mounts/diff-x", {})),
    Case("enable at sys/", POST("sys/mounts/sys", {"type": "$engine"})),
    Case("read a mount", GET("sys/mounts/diff-aws"), setup=(ENABLE,), cleanup=CLEAN),
    Case("read a missing mount", GET("sys/mounts/diff-none"), item="6"),
    Case("read a mount's tune", GET("sys/mounts/diff-aws/tune"), setup=(ENABLE,), cleanup=CLEAN),
    Case("read sys/'s tune", GET("sys/mounts/sys/tune"), item="6"),
    Case("read a missing mount's tune", GET("sys/mounts/diff-none/tune"), item="6"),
    Case(
        "tune a mount",
        POST(
            "sys/mounts/diff-aws/tune",
            {"default_lease_ttl": "1h", "max_lease_ttl": "2h", "description": "t"},
        ),
        setup=(ENABLE,),
        cleanup=CLEAN,
    ),
    Case(
        "a tune reads back",
        GET("sys/mounts/diff-aws/tune"),
        values=("data.default_lease_ttl", "data.max_lease_ttl"),
        setup=(
            ENABLE,
            POST("sys/mounts/diff-aws/tune", {"default_lease_ttl": "1h", "max_lease_ttl": "2h"}),
        ),
        cleanup=CLEAN,
    ),
    Case(
        "tune default over max",
        POST("sys/mounts/diff-aws/tune", {"default_lease_ttl": "3h", "max_lease_ttl": "2h"}),
        setup=(ENABLE,),
        cleanup=CLEAN,
    ),
    Case("tune a missing mount", POST("sys/mounts/diff-none/tune", {"default_lease_ttl": "1h"})),
    Case(
        "enable with a default over the server's max",
        POST("sys/mounts/diff-long", {"type": "$engine", "config": {"default_lease_ttl": "800h"}}),
        cleanup=(DELETE("sys/mounts/diff-long"),),
    ),
    Case(
        "enable with a max over the server's max",
        POST("sys/mounts/diff-long2", {"type": "$engine", "config": {"max_lease_ttl": "8760h"}}),
        cleanup=(DELETE("sys/mounts/diff-long2"),),
    ),
    Case(
        "tune a max over the server's max",
        POST("sys/mounts/diff-aws/tune", {"max_lease_ttl": "12345678s"}),
        setup=(ENABLE,),
        cleanup=CLEAN,
    ),
    Case("disable", DELETE("sys/mounts/diff-aws"), setup=(ENABLE,)),
    Case("disable a missing mount", DELETE("sys/mounts/diff-none")),
    Case("disable sys/", DELETE("sys/mounts/sys")),
    Case("disable cubbyhole/", DELETE("sys/mounts/cubbyhole"), item="15"),
    Case("disable identity/", DELETE("sys/mounts/identity")),
    Case("internal ui mounts", GET("sys/internal/ui/mounts"), compare=("status", "envelope")),
    Case(
        "internal ui mounts list sys/ and cubbyhole/",
        GET("sys/internal/ui/mounts"),
        compare=("status",),
        values=(
            "data.secret.sys/.type",
            "data.secret.sys/.description",
            "data.secret.cubbyhole/.type",
        ),
    ),
]

PASSTHROUGH = (
    'The `sys/` mount\'s `passthrough_request_headers` (`["Accept"]` in Vault and OpenBao) is '
    "not shown: no handler here reads request headers, so there is nothing to pass through."
)
EXPECTED: dict[str, dict[str, str]] = {
    "sys/mounts listed": {
        "data.sys/.config: key 'passthrough_request_headers' only in openbao": PASSTHROUGH,
        "data.sys//config: key 'passthrough_request_headers' only in openbao": PASSTHROUGH,
    },
    "read sys/'s tune": {
        "envelope: key 'passthrough_request_headers' only in openbao": PASSTHROUGH,
        "data: key 'passthrough_request_headers' only in openbao": PASSTHROUGH,
    },
    "read a mount": {
        "envelope: key 'deprecation_status' only in openbao": DEPRECATION,
        "data: key 'deprecation_status' only in openbao": DEPRECATION,
        "envelope.options: openbao dict, awsbroker NoneType": NULL_OPTIONS,
        "data.options: openbao object, awsbroker NoneType": NULL_OPTIONS,
    },
    "enable without a type": {
        "errors: openbao ['backend type must be specified as a string'], "
        "awsbroker ['\\'type\\' is required, e.g. {\"type\": \"aws\"}']": SAYS_WHAT_TO_FIX,
    },
    "enable at sys/": {
        "errors: openbao ['cannot mount \"sys/\"'], awsbroker ['path is already in use at sys/']": (
            "Same status (400); our words name the mount in the way, as for any taken path."
        ),
    },
    "read a missing mount's tune": {
        "errors: openbao ['cannot fetch sysview for path \"diff-none/\"'], "
        "awsbroker ['no mount at diff-none/']": SAYS_WHAT_TO_FIX,
    },
    "tune a missing mount": {
        "errors: openbao ['tune of path \"diff-none/\" failed: no mount entry found'], "
        "awsbroker ['no mount at diff-none/']": SAYS_WHAT_TO_FIX,
    },
}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
