"""A JWT login's token checked against a mount's config and a role: pure, no I/O of its own
(the keys come from an injected `KeyLookup`, the time from the caller).

In order, as Vault's `jwt` plugin does it: the header (`alg` one of `jwt_supported_algs`, so
never `none` nor an HMAC algorithm), the signature (only keys whose `kid` the token names, and
whose type fits the algorithm), the issuer, the subject, the audience, the times, then the
identity (`user_claim`, `claim_mappings`, `groups_claim`) and the bound claims.

Times follow Vault (its `cap/jwt` library): at least one of `iat`, `nbf`, `exp` is required; a
missing `exp` is `max(iat, nbf) + expiration_leeway`, a missing `nbf` is `iat`, else
`exp - not_before_leeway`; then `nbf`, `exp` and `iat` are checked with `clock_skew_leeway`."""

from __future__ import annotations

from dataclasses import dataclass

from awsbroker.auth.jwt import claims as rules
from awsbroker.auth.jwt.algorithms import key_fits
from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.auth.jwt.jws import Header, TokenInvalid, read_header, verify_signature
from awsbroker.auth.jwt.keys import KeyLookup
from awsbroker.auth.jwt.role import JwtRole
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject


@dataclass(frozen=True)
class LoginIdentity:
    """Who a verified token says the caller is: the alias name (the `user_claim`), the token
    metadata (mapped claims and `role`), and the group names of `groups_claim`."""

    alias_name: str
    metadata: dict[str, str]
    groups: tuple[str, ...]


def verify_login(
    token: str, config: JwtConfig, role: JwtRole, keys: KeyLookup, now: float
) -> LoginIdentity:
    """The identity in `token`, or `InvalidRequest` (400) saying what is wrong with it."""
    if role.role_type != "jwt":
        raise InvalidRequest("role with oidc role_type is not allowed")
    return verify_identity(token, config, role, keys, now)


def verify_identity(
    token: str,
    config: JwtConfig,
    role: JwtRole,
    keys: KeyLookup,
    now: float,
    *,
    nonce: str | None = None,
) -> LoginIdentity:
    """`verify_login` for a role of either type: the OIDC flow's callback checks an ID token
    so, with the `nonce` its authorization request sent."""
    if not token:
        raise InvalidRequest("missing token")
    try:
        claims = _verified_claims(token, config.supported_algs(), keys)
        _check_registered(claims, config, role, now)
        if nonce is not None and claims.get("nonce") != nonce:
            raise TokenInvalid("invalid ID token nonce")
    except TokenInvalid as exc:
        raise InvalidRequest(f"error validating token: {exc}") from None
    try:
        if not role.bound_audiences:  # checked above when bound; else no audience may be named
            rules.check_audience(claims, ())
        name = rules.user_name(claims, role.user_claim, role.user_claim_json_pointer)
        metadata = {**rules.mapped_metadata(claims, role.claim_mappings), "role": role.name}
        groups = rules.groups(claims, role.groups_claim) if role.groups_claim else []
        rules.check_bound_claims(claims, role.bound_claims, role.bound_claims_type == "glob")
    except TokenInvalid as exc:
        raise InvalidRequest(str(exc)) from None
    return LoginIdentity(alias_name=name, metadata=metadata, groups=tuple(groups))


def _verified_claims(token: str, algs: tuple[str, ...], keys: KeyLookup) -> JSONObject:
    header = read_header(token)
    if header.alg not in algs:
        raise TokenInvalid(
            f"invalid algorithm (alg) header parameter: {header.alg!r} is not one of"
            f" jwt_supported_algs ({', '.join(algs)})"
        )
    named = keys.keys_for(header.kid)
    if not named:
        raise TokenInvalid(_no_key(header))
    fitting = [k for k in named if key_fits(header.alg, k.key) and k.alg in (None, header.alg)]
    for key in fitting:
        claims = verify_signature(token, header.alg, key.key)
        if claims is not None:
            return claims
    raise TokenInvalid("error verifying token signature: no key verified it")


def _no_key(header: Header) -> str:
    if header.kid is None:
        return "error verifying token signature: the key set is empty"
    return f"error verifying token signature: no key with key ID (kid) {header.kid!r}"


def _check_registered(claims: JSONObject, config: JwtConfig, role: JwtRole, now: float) -> None:
    for name, expected in (("iss", config.bound_issuer), ("sub", role.bound_subject)):
        value = claims.get(name)
        if value is not None and not isinstance(value, str):
            raise TokenInvalid(f"invalid {name} claim: not a string")
        if expected and value != expected:
            word = "issuer" if name == "iss" else "subject"
            raise TokenInvalid(f"invalid {word} ({name}) claim")
    if role.bound_audiences:
        rules.check_audience(claims, role.bound_audiences)
    _check_times(claims, role, now)


def _check_times(claims: JSONObject, role: JwtRole, now: float) -> None:
    iat, nbf, exp = (_numeric_date(claims, name) for name in ("iat", "nbf", "exp"))
    if not (iat or nbf or exp):
        raise TokenInvalid(
            "no issued at (iat), not before (nbf), or expiration time (exp) claims in token"
        )
    skew, expiration_leeway, not_before_leeway = role.leeways()
    if not exp:
        exp = max(iat, nbf) + expiration_leeway
    if not nbf:
        nbf = iat or exp - not_before_leeway
    if now + skew < nbf:
        raise TokenInvalid("invalid not before (nbf) claim: token not yet valid")
    if now - skew > exp:
        raise TokenInvalid("invalid expiration time (exp) claim: token is expired")
    if iat and now + skew < iat:
        raise TokenInvalid("invalid issued at (iat) claim: token issued in the future")


def _numeric_date(claims: JSONObject, name: str) -> int:
    value = claims.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalid(f"invalid {name} claim: not a number")
    return int(value)
