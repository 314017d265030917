"""`config`: where the cluster's API server is, how to trust it, and the reviewer's token.

A write replaces the whole config, as Vault's does. A read never shows `token_reviewer_jwt`
(Vault hides it; `token_reviewer_jwt_set` says whether one is stored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.auth.kubernetes.review import base_url, ssl_context
from awsbroker.auth.kubernetes.store import Config
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.auth.kubernetes.backend import KubernetesBackend

CONFIG_FIELDS: dict[str, Field] = {
    "kubernetes_host": Field(
        T.STRING, "Host, host:port or URL of the Kubernetes API server", required=True
    ),
    "kubernetes_ca_cert": Field(T.STRING, "PEM CA certificate(s) of the API server's TLS"),
    "token_reviewer_jwt": Field(
        T.STRING, "Bearer token for the TokenReview API; the pod's own when not set"
    ),
    "disable_local_ca_jwt": Field(
        T.BOOL, "Do not fall back on the pod's own token and CA", default=False
    ),
    "pem_keys": Field(T.STRING_LIST, "Not supported: tokens are verified by the TokenReview API"),
    "issuer": Field(T.STRING, "Deprecated: the issuer to expect when validation is enabled"),
    "disable_iss_validation": Field(T.BOOL, "Deprecated: skip the issuer check", default=True),
    "use_annotations_as_alias_metadata": Field(T.BOOL, "Not supported", default=False),
}


def paths() -> list[Path[KubernetesBackend]]:
    return [
        Path(
            "config",
            {Operation.READ: read_config, Operation.UPDATE: write_config},
            CONFIG_FIELDS,
            summary="Configure the Kubernetes API server the TokenReview calls go to",
        )
    ]


def write_config(b: KubernetesBackend, req: Request, fd: FieldData) -> None:
    host = fd.get_str("kubernetes_host").strip()
    if not host:
        raise InvalidRequest("no host provided")
    base_url(host)
    if fd.get_list("pem_keys"):
        raise InvalidRequest(
            "pem_keys is not supported: the TokenReview API verifies each token's signature"
        )
    if fd.get_bool("use_annotations_as_alias_metadata"):
        raise InvalidRequest("use_annotations_as_alias_metadata is not supported")
    ca = fd.get_str("kubernetes_ca_cert")
    if ca.strip():
        ssl_context(ca)
    elif fd.get_bool("disable_local_ca_jwt"):  # no pod CA to fall back on: Vault's refusal
        raise InvalidRequest("kubernetes_ca_cert must be given when disable_local_ca_jwt is true")
    b.store.put_config(
        Config(
            kubernetes_host=host,
            kubernetes_ca_cert=ca,
            token_reviewer_jwt=fd.get_str("token_reviewer_jwt").strip(),
            disable_local_ca_jwt=fd.get_bool("disable_local_ca_jwt"),
            issuer=fd.get_str("issuer"),
            disable_iss_validation=fd.get_bool("disable_iss_validation"),
        )
    )


def read_config(b: KubernetesBackend, req: Request, fd: FieldData) -> Response | None:
    config = b.store.config()
    if config is None:
        return None
    data: JSONObject = {
        "kubernetes_host": config.kubernetes_host,
        "kubernetes_ca_cert": config.kubernetes_ca_cert,
        "pem_keys": [],
        "disable_local_ca_jwt": config.disable_local_ca_jwt,
        "issuer": config.issuer,
        "disable_iss_validation": config.disable_iss_validation,
        "use_annotations_as_alias_metadata": False,
        "token_reviewer_jwt_set": bool(config.token_reviewer_jwt),
    }
    return Response(data=data)
