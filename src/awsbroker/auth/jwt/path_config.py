"""`config`: where a mount's keys come from, the algorithms and issuer it accepts, and the
role a login without one uses. A write replaces the whole config, as Vault's does, and fetches
a remote key set once (a 400 when it cannot be had)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.auth.jwt.backend import JwtBackend

CONFIG_FIELDS: dict[str, Field] = {
    "oidc_discovery_url": Field(T.STRING, "OIDC issuer URL; keys from its discovery document"),
    "oidc_discovery_ca_pem": Field(T.STRING, "CA certificates (PEM) for the discovery URL"),
    "jwks_url": Field(T.STRING, "JWKS URL to fetch the keys from"),
    "jwks_ca_pem": Field(T.STRING, "CA certificates (PEM) for the JWKS URL"),
    "jwt_validation_pubkeys": Field(T.STRING_LIST, "PEM public keys to verify tokens with"),
    "jwt_supported_algs": Field(T.STRING_LIST, "Accepted signing algorithms (default RS256)"),
    "bound_issuer": Field(T.STRING, "The issuer (iss) every token must name"),
    "default_role": Field(T.STRING, "The role of a login that names none"),
    "oidc_client_id": Field(T.STRING, "The OIDC browser flow's client ID"),
    "oidc_client_secret": Field(
        T.STRING, "The OIDC browser flow's client secret (never read back)"
    ),
}


def paths() -> list[Path[JwtBackend]]:
    return [
        Path(
            "config",
            {Operation.READ: read_config, Operation.UPDATE: write_config},
            CONFIG_FIELDS,
            summary="Configure how tokens are verified",
        )
    ]


def read_config(b: JwtBackend, req: Request, fd: FieldData) -> Response | None:
    stored = b.store.config()
    if stored is None:
        return None
    data = {
        **stored.config.to_response(),
        "default_role": stored.default_role,
        "oidc_client_id": stored.oidc_client_id,
    }
    return Response(data=data)


def write_config(b: JwtBackend, req: Request, fd: FieldData) -> None:
    client_id, client_secret = fd.get_str("oidc_client_id"), fd.get_str("oidc_client_secret")
    if bool(client_id) != bool(client_secret):
        raise InvalidRequest("both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC")
    config = JwtConfig(
        oidc_discovery_url=fd.get_str("oidc_discovery_url"),
        oidc_discovery_ca_pem=fd.get_str("oidc_discovery_ca_pem"),
        jwks_url=fd.get_str("jwks_url"),
        jwks_ca_pem=fd.get_str("jwks_ca_pem"),
        jwt_validation_pubkeys=tuple(fd.get_list("jwt_validation_pubkeys")),
        jwt_supported_algs=tuple(fd.get_list("jwt_supported_algs")),
        bound_issuer=fd.get_str("bound_issuer"),
    )
    config.validate()
    if client_id and not config.oidc_discovery_url:
        raise InvalidRequest("'oidc_discovery_url' must be set for OIDC")
    config.check_source(b.fetcher)
    b.store.put_config(config, fd.get_str("default_role"), client_id, client_secret)
