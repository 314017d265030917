"""`login`: a service account's JWT and a role in, an `Auth` out, once the cluster's
TokenReview API has said the JWT is a live service account's token.

The JWT's own claims (read unsigned) refuse early a service account the role does not allow,
as Vault does; then the TokenReview answer decides: it must be authenticated, name a service
account (`system:serviceaccount:<namespace>:<name>`) the role allows, and agree with the
claims. Refusals are Vault's: 400 for a missing field or unknown role, 403 otherwise. An API
server that cannot answer is a 502 naming the host, never a traceback; no token is logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NoReturn

from awsbroker.auth.kubernetes.claims import Claims, allowed, unverified_claims
from awsbroker.auth.kubernetes.review import (
    Reviewed,
    ReviewerRefused,
    ReviewUnavailable,
    review,
)
from awsbroker.auth.kubernetes.store import Config, Role
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied, UpstreamError
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Auth, Operation, Request, Response
from awsbroker.sdk.token_fields import address_in

if TYPE_CHECKING:
    from awsbroker.auth.kubernetes.backend import KubernetesBackend

log = logging.getLogger("awsbroker.auth.kubernetes")

NAME_REFUSED = "service account name not authorized"
NAMESPACE_REFUSED = "namespace not authorized"


def paths() -> list[Path[KubernetesBackend]]:
    return [
        Path(
            "login",
            {Operation.UPDATE: login},
            {
                "role": Field(T.STRING, "Name of the role to log in with"),
                "jwt": Field(T.STRING, "The service account's JWT"),
            },
            summary="Log in with a Kubernetes service account token",
        )
    ]


def login(b: KubernetesBackend, req: Request, fd: FieldData) -> Response:
    role_name, jwt = fd.get_str("role"), fd.get_str("jwt").strip()
    if not role_name:
        raise InvalidRequest("missing role")
    if not jwt:
        raise InvalidRequest("missing jwt")
    role = b.store.role(role_name)
    if role is None:
        raise InvalidRequest(f"invalid role name {role_name!r}")
    if role.token.bound_cidrs and not address_in(req.remote_address, role.token.bound_cidrs):
        raise PermissionDenied()
    config = b.store.config()
    if config is None:
        raise InvalidRequest(
            f"could not load backend configuration: write {b.config.mount_path}config first"
        )
    claims = unverified_claims(jwt)
    if claims is None:
        _refuse(b, "the jwt is not a JWT")
    _precheck(b, config, role, claims)
    reviewed = _review(b, config, role, claims, jwt)
    namespace, name = _check_review(b, role, claims, reviewed)
    metadata = {
        "service_account_uid": reviewed.uid or claims.uid,
        "service_account_name": name,
        "service_account_namespace": namespace,
        "service_account_secret_name": claims.secret_name,
        "role": role.name,
    }
    auth = Auth(internal_data={"role": role.name}, display_name=f"{namespace}-{name}")
    role.token.apply(auth)
    auth.metadata = metadata
    return Response(auth=auth)


def renew(b: KubernetesBackend, req: Request, auth: Auth) -> Auth:
    """A login's token renews only while its role exists with the same policies, as Vault's."""
    role = b.store.role(str(auth.internal_data.get("role", "")))
    if role is None:
        raise InvalidRequest("role no longer exists; the token cannot be renewed")
    if set(role.token.policies) - {"default"} != set(auth.policies) - {"default"}:
        raise InvalidRequest("policies have changed, not renewing")
    # Vault's pathLoginRenew: the renewal takes the role's TTLs as they are now.
    auth.ttl, auth.max_ttl = role.token.ttl, role.token.max_ttl
    auth.period = role.token.period
    return auth


def _refuse(b: KubernetesBackend, reason: str, message: str = "permission denied") -> NoReturn:
    log.info("kubernetes login refused on auth/%s: %s", b.config.mount_path, reason)
    raise PermissionDenied(message)


def _check_account(b: KubernetesBackend, role: Role, namespace: str, name: str) -> None:
    names, namespaces = role.bound_service_account_names, role.bound_service_account_namespaces
    if names != ["*"] and not allowed(names, name):
        _refuse(b, f"service account {name!r} not bound", NAME_REFUSED)
    if namespaces != ["*"] and not allowed(namespaces, namespace):
        _refuse(b, f"namespace {namespace!r} not bound", NAMESPACE_REFUSED)


def _precheck(b: KubernetesBackend, config: Config, role: Role, claims: Claims) -> None:
    """What the unsigned claims can refuse before we ask the cluster."""
    if not config.disable_iss_validation and config.issuer and claims.issuer != config.issuer:
        _refuse(b, "issuer does not match", "invalid issuer (iss) claim")
    if role.audience and role.audience not in claims.audiences:
        _refuse(b, "audience does not match", "invalid audience (aud) claim")
    _check_account(b, role, claims.namespace, claims.name)


def _review(b: KubernetesBackend, config: Config, role: Role, claims: Claims, jwt: str) -> Reviewed:
    local = not config.disable_local_ca_jwt
    bearer = config.token_reviewer_jwt or (b.local.token() if local else "") or jwt
    ca_pem = config.kubernetes_ca_cert or (b.local.ca_cert() if local else "")
    audiences = [role.audience] if role.audience else claims.audiences
    try:
        return review(config.kubernetes_host, ca_pem, bearer, jwt, audiences)
    except ReviewerRefused as exc:
        if bearer == jwt:  # the login's own token was the bearer: it is not a valid one
            _refuse(b, str(exc))
        log.warning("kubernetes TokenReview refused on auth/%s: %s", b.config.mount_path, exc)
        raise UpstreamError(
            f"the Kubernetes API server refused the reviewer's token ({exc}); check "
            "token_reviewer_jwt (or the pod's own token) and its system:auth-delegator binding"
        ) from None
    except ReviewUnavailable as exc:
        log.warning("kubernetes TokenReview failed on auth/%s: %s", b.config.mount_path, exc)
        raise UpstreamError(f"the Kubernetes TokenReview API could not answer: {exc}") from None


def _check_review(
    b: KubernetesBackend, role: Role, claims: Claims, reviewed: Reviewed
) -> tuple[str, str]:
    if not reviewed.authenticated:
        _refuse(b, f"token not authenticated by the API server: {reviewed.error or 'no reason'}")
    account = reviewed.service_account()
    if account is None:
        _refuse(b, "the reviewed user is not a service account")
    namespace, name = account
    _check_account(b, role, namespace, name)
    if role.audience and reviewed.audiences and role.audience not in reviewed.audiences:
        _refuse(b, "the API server did not confirm the role's audience")
    if (claims.namespace, claims.name) != (namespace, name) or (
        claims.uid and reviewed.uid and claims.uid != reviewed.uid
    ):
        _refuse(b, "the JWT's claims do not match the TokenReview's user")
    return namespace, name
