"""The JWT/OIDC and Kubernetes auth methods (OpenBao has both built in): config written and
read, roles written, read and listed, and a login refused."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import DELETE, GET, LIST, POST, Case, Target, check, params

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "diff-ca")])
_NOW = datetime.datetime.now(datetime.UTC)
CA_PEM = (
    x509.CertificateBuilder()
    .subject_name(_NAME)
    .issuer_name(_NAME)
    .public_key(_KEY.public_key())
    .serial_number(1)
    .not_valid_before(_NOW - datetime.timedelta(days=1))
    .not_valid_after(_NOW + datetime.timedelta(days=30))
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(_KEY, hashes.SHA256())
    .public_bytes(serialization.Encoding.PEM)
    .decode()
)

JWT = POST("sys/auth/diff-jwt", {"type": "jwt"})
JWT_CONFIG = POST("auth/diff-jwt/config", {"jwt_validation_pubkeys": [PUBLIC_PEM]})
JWT_ROLE = POST(
    "auth/diff-jwt/role/r",
    {"role_type": "jwt", "bound_audiences": ["a"], "user_claim": "sub", "token_ttl": "10m"},
)
JWT_CLEAN = (DELETE("sys/auth/diff-jwt"),)
K8S = POST("sys/auth/diff-k8s2", {"type": "kubernetes"})
K8S_CONFIG = POST(
    "auth/diff-k8s2/config",
    {"kubernetes_host": "https://192.0.2.1:6443", "kubernetes_ca_cert": CA_PEM},
)
K8S_ROLE = POST(
    "auth/diff-k8s2/role/r",
    {"bound_service_account_names": ["app"], "bound_service_account_namespaces": ["default"]},
)
K8S_CLEAN = (DELETE("sys/auth/diff-k8s2"),)

CASES = [
    Case("jwt config written", JWT_CONFIG, setup=(JWT,), cleanup=JWT_CLEAN),
    Case(
        "jwt config read", GET("auth/diff-jwt/config"), setup=(JWT, JWT_CONFIG), cleanup=JWT_CLEAN
    ),
    Case(
        "jwt config read before any", GET("auth/diff-jwt/config"), setup=(JWT,), cleanup=JWT_CLEAN
    ),
    Case(
        "jwt config with two key sources",
        POST(
            "auth/diff-jwt/config",
            {"jwt_validation_pubkeys": [PUBLIC_PEM], "jwks_url": "https://192.0.2.1/keys"},
        ),
        setup=(JWT,),
        cleanup=JWT_CLEAN,
    ),
    Case("jwt role written", JWT_ROLE, setup=(JWT, JWT_CONFIG), cleanup=JWT_CLEAN),
    Case(
        "jwt role read",
        GET("auth/diff-jwt/role/r"),
        setup=(JWT, JWT_CONFIG, JWT_ROLE),
        cleanup=JWT_CLEAN,
        values=("data.bound_audiences", "data.user_claim", "data.token_ttl", "data.role_type"),
    ),
    Case("jwt roles listed", LIST("auth/diff-jwt/role"), setup=(JWT, JWT_ROLE), cleanup=JWT_CLEAN),
    Case(
        "jwt role without a user_claim",
        POST("auth/diff-jwt/role/r2", {"role_type": "jwt", "bound_audiences": ["a"]}),
        setup=(JWT, JWT_CONFIG),
        cleanup=JWT_CLEAN,
    ),
    Case(
        "jwt login with a token that is not a JWT",
        POST("auth/diff-jwt/login", {"role": "r", "jwt": "not-a-jwt"}, token=None),
        setup=(JWT, JWT_CONFIG, JWT_ROLE),
        cleanup=JWT_CLEAN,
        compare=("status",),
    ),
    Case("kubernetes config written", K8S_CONFIG, setup=(K8S,), cleanup=K8S_CLEAN),
    Case(
        "kubernetes config read",
        GET("auth/diff-k8s2/config"),
        setup=(K8S, K8S_CONFIG),
        cleanup=K8S_CLEAN,
        values=("data.kubernetes_host", "data.kubernetes_ca_cert", "data.disable_local_ca_jwt"),
    ),
    Case("kubernetes role written", K8S_ROLE, setup=(K8S, K8S_CONFIG), cleanup=K8S_CLEAN),
    Case(
        "kubernetes role read",
        GET("auth/diff-k8s2/role/r"),
        setup=(K8S, K8S_CONFIG, K8S_ROLE),
        cleanup=K8S_CLEAN,
        values=("data.bound_service_account_names", "data.bound_service_account_namespaces"),
    ),
    Case(
        "kubernetes roles listed",
        LIST("auth/diff-k8s2/role"),
        setup=(K8S, K8S_ROLE),
        cleanup=K8S_CLEAN,
    ),
    Case(
        "kubernetes role without bindings",
        POST("auth/diff-k8s2/role/r2", {"bound_service_account_names": ["app"]}),
        setup=(K8S,),
        cleanup=K8S_CLEAN,
    ),
    Case(
        "kubernetes missing role", GET("auth/diff-k8s2/role/none"), setup=(K8S,), cleanup=K8S_CLEAN
    ),
]

IGNORED_OIDC = (
    "OIDC options that are accepted and ignored here (the code flow only; docs/compatibility.md, "
    "JWT auth) are not read back; `status` and `override_allowed_server_names` are OpenBao's own."
)
NOT_SERVED_ROLE = (
    "Role fields that are not served here (OIDC options ignored, docs/compatibility.md) or that "
    "are OpenBao's own (`oauth2_metadata`, `oidc_disable_confirmation`, "
    "`token_policies_template_claims`, `token_strictly_bind_ip`)."
)
LEGACY = (
    "The deprecated names (`policies`, `period`, `ttl`, `max_ttl`, `num_uses`, `bound_cidrs`) are "
    "read back beside the `token_*` ones, so readers of the old names keep working."
)
SAYS_WHY = "Same status (400); the words name only what this server supports."
EXPECTED: dict[str, dict[str, str]] = {
    "jwt config read": {
        f"data: key {key!r} only in openbao": IGNORED_OIDC
        for key in (
            "namespace_in_state",
            "oidc_response_mode",
            "oidc_response_types",
            "override_allowed_server_names",
            "provider_config",
            "status",
        )
    },
    "jwt config with two key sources": {
        "errors: openbao [\"exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs', "
        "'oidc_discovery_url', or 'provider_config' must be set\"], awsbroker [\"exactly one of "
        "'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set\"]": SAYS_WHY,
    },
    "jwt role read": {
        **{
            f"data: key {key!r} only in openbao": NOT_SERVED_ROLE
            for key in (
                "callback_mode",
                "max_age",
                "oauth2_metadata",
                "oidc_disable_confirmation",
                "token_policies_template_claims",
                "token_strictly_bind_ip",
                "verbose_oidc_logging",
            )
        },
        "data: key 'policies' only in awsbroker": LEGACY,
        "data: key 'period' only in awsbroker": LEGACY,
    },
    "kubernetes config read": {
        "data: key 'use_annotations_as_alias_metadata' only in awsbroker": "Vault's field "
        "(refused when true here, docs/compatibility.md); OpenBao has none.",
    },
    "kubernetes role read": {
        "data: key 'token_strictly_bind_ip' only in openbao": "OpenBao's own field.",
        "data: key 'audience' only in awsbroker": "Vault's role field `audience`, read back "
        "here even when unset (empty); OpenBao's answer leaves it out when unset.",
        **{
            f"data: key {key!r} only in awsbroker": LEGACY
            for key in ("policies", "period", "ttl", "max_ttl", "num_uses", "bound_cidrs")
        },
    },
    "kubernetes role without bindings": {
        'errors: openbao [\'"bound_service_account_namespaces" can not be empty if '
        '"bound_service_account_namespace_selector" is not set\'], awsbroker '
        "['\"bound_service_account_namespaces\" can not be empty']": "Same status (400); "
        "there is no namespace selector here (docs/compatibility.md), so the words do not "
        "offer one.",
    },
}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
