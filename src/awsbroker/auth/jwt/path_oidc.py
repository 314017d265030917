"""The OIDC browser flow for people: `oidc/auth_url` sends the person to the provider with a
fresh state, nonce and PKCE challenge; `oidc/callback` takes the code the provider redirected
back with, exchanges it (with the PKCE verifier) for an ID token, and logs in with it as a
JWT login does, with the role's claim rules.

The request in flight is kept in storage under its state, so the callback may reach any node;
it is deleted as it is read (one callback per state) and expires after ten minutes. The ID
token's `aud` must name the client ID (and one of `bound_audiences`, if the role has them), its
issuer the discovery URL (or `bound_issuer`), its `nonce` the one sent."""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from awsbroker.auth.jwt.oidc_client import exchange_code, pkce_pair
from awsbroker.auth.jwt.path_login import auth_for
from awsbroker.auth.jwt.store import StoredConfig, StoredRole
from awsbroker.auth.jwt.verify import verify_identity
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response
from awsbroker.sdk.token_fields import address_in

if TYPE_CHECKING:
    from awsbroker.auth.jwt.backend import JwtBackend

STATE_TTL = 600.0
# Caller-supplied values kept in a state record: a CLI's nonce is a few dozen characters, a
# redirect URI a short URL; anything longer is refused before it is stored.
MAX_CLIENT_NONCE = 256
MAX_REDIRECT_URI = 2048
EXPIRED = "Expired or missing OAuth state."


def paths() -> list[Path[JwtBackend]]:
    return [
        Path(
            "oidc/auth_url",
            {Operation.UPDATE: auth_url},
            {
                "role": Field(T.STRING, "The OIDC role; the config's default_role"),
                "redirect_uri": Field(T.STRING, "Where the provider sends the person back"),
                "client_nonce": Field(T.STRING, "A value the callback must present again"),
            },
            summary="Start the OIDC browser flow: the provider's URL to send the person to",
        ),
        Path(
            "oidc/callback",
            {Operation.READ: callback, Operation.UPDATE: callback},
            {
                "state": Field(T.STRING, "The state the provider sent back"),
                "code": Field(T.STRING, "The authorization code the provider sent back"),
                "client_nonce": Field(T.STRING, "The client_nonce given to auth_url"),
            },
            summary="Finish the OIDC browser flow: exchange the code and log in",
        ),
    ]


def _oidc_config(b: JwtBackend) -> StoredConfig:
    stored = b.store.config()
    if stored is None:
        raise InvalidRequest("could not load configuration")
    if not stored.oidc_client_id:
        raise InvalidRequest(
            "this mount is not configured for OIDC: set oidc_discovery_url, oidc_client_id"
            " and oidc_client_secret"
        )
    return stored


def _oidc_role(b: JwtBackend, name: str) -> StoredRole:
    found = b.store.role(name)
    if found is None:
        raise InvalidRequest(f"role {name!r} could not be found")
    if found.role.role_type != "oidc":
        raise InvalidRequest(f"role {name!r} is not an OIDC role (role_type=oidc)")
    return found


def auth_url(b: JwtBackend, req: Request, fd: FieldData) -> Response:
    stored = _oidc_config(b)
    name = fd.get_str("role") or stored.default_role
    if not name:
        raise InvalidRequest("missing role")
    found = _oidc_role(b, name)
    redirect_uri = fd.get_str("redirect_uri")
    if not redirect_uri:
        raise InvalidRequest("missing redirect_uri")
    client_nonce = fd.get_str("client_nonce")
    _at_most("redirect_uri", redirect_uri, MAX_REDIRECT_URI)
    _at_most("client_nonce", client_nonce, MAX_CLIENT_NONCE)
    if not allowed_redirect(redirect_uri, found.role.allowed_redirect_uris):
        raise InvalidRequest(f"unauthorized redirect_uri: {redirect_uri}")
    endpoints = b.oidc_endpoints(stored)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    record: JSONObject = {
        "role": name,
        "redirect_uri": redirect_uri,
        "nonce": nonce,
        "code_verifier": verifier,
        "client_nonce": client_nonce,
        "expires": b.now() + STATE_TTL,
    }
    b.store.put_state(state, record)
    # Every state stored spends one attempt of the caller's login throttle bucket, as a failed
    # login does (core/login_limits.py; not counted as a failure): what an unauthenticated
    # caller can make us store is bounded by that rate, per address and node, times the ten
    # minutes a state is kept.
    req.spent_attempt = True
    scopes = " ".join(dict.fromkeys(["openid", *found.role.oidc_scopes]))
    query = urlencode(
        {
            "client_id": stored.oidc_client_id,
            "response_type": "code",
            "scope": scopes,
            "redirect_uri": redirect_uri,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    endpoint = endpoints.authorization_endpoint
    return Response(data={"auth_url": endpoint + ("&" if "?" in endpoint else "?") + query})


def _at_most(name: str, value: str, limit: int) -> None:
    if len(value.encode()) > limit:
        raise InvalidRequest(f"{name} is longer than {limit} bytes")


def callback(b: JwtBackend, req: Request, fd: FieldData) -> Response:
    record = b.store.take_state(fd.get_str("state")) if fd.get_str("state") else None
    if record is None or float(str(record.get("expires", 0))) < b.now():
        raise InvalidRequest(EXPIRED)
    if record.get("client_nonce") and record["client_nonce"] != fd.get_str("client_nonce"):
        raise InvalidRequest("invalid client_nonce")
    stored = _oidc_config(b)
    found = _oidc_role(b, str(record["role"]))
    if found.token.bound_cidrs and not address_in(req.remote_address, found.token.bound_cidrs):
        raise PermissionDenied()
    if not fd.get_str("code"):
        raise InvalidRequest("OAuth code parameter not provided")
    endpoints = b.oidc_endpoints(stored)
    config = stored.config
    id_token = exchange_code(
        endpoints.token_endpoint,
        config.oidc_discovery_ca_pem,
        (stored.oidc_client_id, stored.oidc_client_secret),
        code=fd.get_str("code"),
        redirect_uri=str(record["redirect_uri"]),
        verifier=str(record["code_verifier"]),
    )
    checked = dataclasses.replace(config, bound_issuer=config.bound_issuer or endpoints.issuer)
    keys = config.key_lookup(b.key_sets(stored.blob))
    nonce = str(record["nonce"])
    role = found.role
    client_role = dataclasses.replace(role, bound_audiences=(stored.oidc_client_id,))
    identity = verify_identity(id_token, checked, client_role, keys, b.now(), nonce=nonce)
    if role.bound_audiences:
        verify_identity(id_token, checked, role, keys, b.now(), nonce=nonce)
    return Response(auth=auth_for(found, identity))


def allowed_redirect(uri: str, allowed: tuple[str, ...]) -> bool:
    """`uri` is one of `allowed`; for a loopback host, any port (a CLI listens on a free
    one), as Vault allows."""
    if uri in allowed:
        return True
    parts = urlsplit(uri)
    if not _loopback(parts.hostname):
        return False
    for candidate in allowed:
        other = urlsplit(candidate)
        if (other.scheme, other.hostname, other.path, other.query) == (
            parts.scheme,
            parts.hostname,
            parts.path,
            parts.query,
        ):
            return True
    return False


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
