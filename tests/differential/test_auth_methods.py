"""Auth mounts: `sys/auth` listed, `sys/auth/:path` enabled, read and disabled, their tune,
`sys/auth/token/tune` (issue 17 item 5), and AppRole (both serve it): a role, its role ID, a
secret ID and a login."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import DELETE, GET, LIST, POST, Case, Target, check, params

ENABLE = POST("sys/auth/diff-ar", {"type": "approle"})
CLEAN = (DELETE("sys/auth/diff-ar"),)
ROLE = POST("auth/diff-ar/role/r", {"token_policies": "default", "token_ttl": "10m"})
ROLE_ID = GET("auth/diff-ar/role/r/role-id", save={"rid": "data.role_id"})
SECRET_ID = POST("auth/diff-ar/role/r/secret-id", {}, save={"sid": "data.secret_id"})
TOKEN = ("token/",)
K8S = POST("sys/auth/diff-k8s", {"type": "kubernetes"})
K8S_CLEAN = (DELETE("sys/auth/diff-k8s"),)
K8S_HOST = "https://192.168.99.100:8443"
BAD_PEM = "-----BEGIN CERTIFICATE-----\n.....\n-----END CERTIFICATE-----"  # hvac's own

DEPRECATION = (
    "`deprecation_status` (`supported`, ...) is the plugin catalog's lifecycle of a builtin; "
    "there is no plugin catalog here, and no method here is deprecated."
)
NULL_OPTIONS = (
    "A mount made without options reads back `options: null` here (Vault does so for the "
    "methods that take none); OpenBao answers `{}`. Clients read either as no options."
)
BAD_CA = (
    "A `kubernetes_ca_cert` that holds no certificate is refused at the write (400 "
    "`kubernetes_ca_cert holds no valid PEM certificate`); Vault and OpenBao store it, and "
    "every login then fails (docs/compatibility.md, Kubernetes auth)."
)
LEGACY_ROLE_FIELDS = (
    "The deprecated names `policies` and `period` are read back beside `token_policies` and "
    "`token_period` (Vault only when a role was written with them): readers of the old names "
    "keep working."
)

CASES = [
    Case(
        "sys/auth listed",
        GET("sys/auth"),
        compare=("status", "data"),
        fields=(TOKEN, (*TOKEN, "config"), (*TOKEN, "options"), (*TOKEN, "type")),
    ),
    Case("enable approle", POST("sys/auth/diff-ar", {"type": "approle"}), cleanup=CLEAN),
    Case("read an auth mount", GET("sys/auth/diff-ar"), setup=(ENABLE,), cleanup=CLEAN, item="5"),
    Case("read the token auth mount", GET("sys/auth/token"), item="5"),
    Case("read a missing auth mount", GET("sys/auth/diff-none"), item="5"),
    Case("enable an unknown auth type", POST("sys/auth/diff-x", {"type": "no-such-method"})),
    Case("read sys/auth/token/tune", GET("sys/auth/token/tune"), item="5"),
    Case(
        "tune sys/auth/token/tune",
        POST("sys/auth/token/tune", {"max_lease_ttl": "768h"}),
        item="5",
    ),
    Case("read an auth mount's tune", GET("sys/auth/diff-ar/tune"), setup=(ENABLE,), cleanup=CLEAN),
    Case(
        "tune an auth mount",
        POST("sys/auth/diff-ar/tune", {"default_lease_ttl": "1h"}),
        setup=(ENABLE,),
        cleanup=CLEAN,
    ),
    Case("disable an auth mount", DELETE("sys/auth/diff-ar"), setup=(ENABLE,)),
    Case(
        "approle role written",
        POST("auth/diff-ar/role/r", {"token_policies": "default"}),
        setup=(ENABLE,),
        cleanup=CLEAN,
    ),
    Case("approle role read", GET("auth/diff-ar/role/r"), setup=(ENABLE, ROLE), cleanup=CLEAN),
    Case("approle roles listed", LIST("auth/diff-ar/role"), setup=(ENABLE, ROLE), cleanup=CLEAN),
    Case(
        "approle role-id", GET("auth/diff-ar/role/r/role-id"), setup=(ENABLE, ROLE), cleanup=CLEAN
    ),
    Case(
        "approle secret-id",
        POST("auth/diff-ar/role/r/secret-id", {}),
        setup=(ENABLE, ROLE),
        cleanup=CLEAN,
    ),
    Case(
        "approle login",
        POST("auth/diff-ar/login", {"role_id": "$rid", "secret_id": "$sid"}, token=None),
        setup=(ENABLE, ROLE, ROLE_ID, SECRET_ID),
        cleanup=CLEAN,
    ),
    Case(
        "approle login refused",
        POST("auth/diff-ar/login", {"role_id": "$rid", "secret_id": "wrong"}, token=None),
        setup=(ENABLE, ROLE, ROLE_ID),
        cleanup=CLEAN,
    ),
    Case(
        "approle token_policies as one comma string split",
        GET("auth/diff-ar/role/r2"),
        setup=(ENABLE, POST("auth/diff-ar/role/r2", {"token_policies": "a,b"})),
        cleanup=CLEAN,
        compare=("status",),
        values=("data.token_policies",),
        item="3",
    ),
    Case("approle missing role", GET("auth/diff-ar/role/none"), setup=(ENABLE,), cleanup=CLEAN),
    Case(
        "kubernetes config without a CA and without the pod's",
        POST("auth/diff-k8s/config", {"kubernetes_host": K8S_HOST, "disable_local_ca_jwt": True}),
        setup=(K8S,),
        cleanup=K8S_CLEAN,
    ),
    Case(
        "kubernetes config with a CA that is no certificate",
        POST("auth/diff-k8s/config", {"kubernetes_host": K8S_HOST, "kubernetes_ca_cert": BAD_PEM}),
        setup=(K8S,),
        cleanup=K8S_CLEAN,
    ),
]

UNKNOWN_TYPE = (
    "errors: openbao ['plugin not found in the catalog: no-such-method'], "
    "awsbroker [\"unknown auth method type 'no-such-method'\"]"
)
EXPECTED: dict[str, dict[str, str]] = {
    "kubernetes config with a CA that is no certificate": {
        "status: openbao 204, awsbroker 400": BAD_CA,
        "body: openbao NoneType, awsbroker dict": BAD_CA,
    },
    "read an auth mount": {
        "envelope: key 'deprecation_status' only in openbao": DEPRECATION,
        "data: key 'deprecation_status' only in openbao": DEPRECATION,
        "envelope.options: openbao dict, awsbroker NoneType": NULL_OPTIONS,
        "data.options: openbao object, awsbroker NoneType": NULL_OPTIONS,
    },
    "enable an unknown auth type": {
        UNKNOWN_TYPE: "There is no plugin catalog here; the error names what is wrong in the "
        "request (docs/compatibility.md, auth method types).",
    },
    "approle role read": {
        "data: key 'token_strictly_bind_ip' only in openbao": "An OpenBao-only role field.",
        "data: key 'policies' only in awsbroker": LEGACY_ROLE_FIELDS,
        "data: key 'period' only in awsbroker": LEGACY_ROLE_FIELDS,
        "data.secret_id_bound_cidrs: openbao NoneType, awsbroker list": "An empty list rather "
        "than Go's nil slice: the same meaning, and readers need not test for null.",
    },
}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
