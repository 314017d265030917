"""`verify_login` against hand-signed tokens: what a valid token yields, and every way a token
must be refused (each a 400 naming the reason)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from jwt.warnings import InsecureKeyLengthWarning
from tests.support import jwt_tokens as tokens

from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.auth.jwt.jwks import KeySetCache
from awsbroker.auth.jwt.keys import KeyLookup
from awsbroker.auth.jwt.role import JwtRole
from awsbroker.auth.jwt.verify import LoginIdentity, verify_identity, verify_login
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InvalidRequest

NOW = 1_800_000_000
ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "https://github.com/acme"

RSA = tokens.rsa_key()


def config(**changes: Any) -> JwtConfig:
    fields: dict[str, Any] = {
        "jwt_validation_pubkeys": (RSA.public_pem(),),
        "bound_issuer": ISSUER,
        **changes,
    }
    return JwtConfig(**fields)


def role(**changes: Any) -> JwtRole:
    fields: dict[str, Any] = {
        "name": "deploy",
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_audiences": (AUDIENCE,),
        **changes,
    }
    return JwtRole(**fields)


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "repo:acme/app:ref:refs/heads/main",
        "aud": AUDIENCE,
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 300,
        "repository": "acme/app",
        "ref": "refs/heads/main",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def keys_of(cfg: JwtConfig) -> KeyLookup:
    return cfg.key_lookup(KeySetCache(ManualClock(NOW)))


def login(token: str, cfg: JwtConfig | None = None, rl: JwtRole | None = None) -> LoginIdentity:
    cfg = cfg or config()
    return verify_login(token, cfg, rl or role(), keys_of(cfg), NOW)


def refused(token: str, message: str, **kwargs: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        login(token, **kwargs)
    assert message in str(caught.value), caught.value


def test_a_valid_token_yields_the_user_claim_metadata_and_groups() -> None:
    rl = role(
        claim_mappings={"repository": "repository", "/ctx/env": "environment"},
        groups_claim="/ctx/teams",
    )
    token = RSA.sign(claims(ctx={"env": "prod", "teams": ["ops", "", "dev"]}))
    identity = login(token, rl=rl)
    assert identity == LoginIdentity(
        alias_name="repo:acme/app:ref:refs/heads/main",
        metadata={"repository": "acme/app", "environment": "prod", "role": "deploy"},
        groups=("ops", "dev"),
    )


def test_user_claim_as_json_pointer_only_when_the_role_says_so() -> None:
    token = RSA.sign(claims(ctx={"user": "alice"}))
    assert (
        login(token, rl=role(user_claim="/ctx/user", user_claim_json_pointer=True)).alias_name
        == "alice"
    )
    refused(token, "claim '/ctx/user' not found in token", rl=role(user_claim="/ctx/user"))


@pytest.mark.parametrize(
    "alg_key",
    [
        tokens.rsa_key(alg="RS512"),
        tokens.rsa_key(alg="PS256"),
        tokens.ec_key(alg="ES384"),
        tokens.ed25519_key(),
    ],
    ids=lambda k: k.alg,
)
def test_other_algorithms_when_configured(alg_key: tokens.SigningKey) -> None:
    cfg = config(jwt_validation_pubkeys=(alg_key.public_pem(),), jwt_supported_algs=(alg_key.alg,))
    assert login(alg_key.sign(claims()), cfg=cfg).alias_name.startswith("repo:")
    # The default is RS256 only, as Vault documents it.
    refused(
        alg_key.sign(claims()),
        f"{alg_key.alg!r} is not one of jwt_supported_algs (RS256)",
        cfg=config(jwt_validation_pubkeys=(alg_key.public_pem(),)),
    )


def test_alg_none_is_refused() -> None:
    refused(tokens.unsigned(claims()), "'none' is not one of jwt_supported_algs")


def test_hs256_signed_with_the_public_key_as_secret_is_refused() -> None:
    forged = tokens.hs256_keyed_with(RSA.public_pem().encode(), claims())
    refused(forged, "'HS256' is not one of jwt_supported_algs")


def test_a_token_relabelled_to_another_algorithm_verifies_with_no_key() -> None:
    # RS256-signed, header says PS256 (configured): the RSA key fits, the signature does not.
    token = tokens.with_header(RSA.sign(claims()), alg="PS256")
    refused(token, "no key verified it", cfg=config(jwt_supported_algs=("RS256", "PS256")))


def test_an_rsa_key_never_verifies_an_ec_algorithm() -> None:
    ec = tokens.ec_key()
    cfg = config(jwt_validation_pubkeys=(RSA.public_pem(),), jwt_supported_algs=("RS256", "ES256"))
    refused(ec.sign(claims()), "no key verified it", cfg=cfg)


def test_a_signature_by_another_key_is_refused() -> None:
    refused(tokens.rsa_key().sign(claims()), "error verifying token signature: no key verified it")


def test_a_key_under_2048_bits_verifies_nothing() -> None:
    small = tokens.rsa_key(bits=1024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # signing with it, on purpose
        token = small.sign(claims())
    refused(token, "no key verified it", cfg=config(jwt_validation_pubkeys=(small.public_pem(),)))


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = RSA.sign(claims()).split(".")
    other = RSA.sign(claims(sub="repo:evil/app:ref:refs/heads/main")).split(".")[1]
    refused(f"{header}.{other}.{signature}", "no key verified it")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "missing token"),
        ("a.b", "not a JWT"),
        ("a.b.c.d.e", "encrypted tokens (JWE) are not supported"),
        ("%%%.e30.sig", "header is not base64url-encoded JSON"),
    ],
)
def test_malformed_tokens(token: str, message: str) -> None:
    refused(token, message)


@pytest.mark.parametrize(
    ("header", "payload", "message"),
    [
        ({"typ": "JWT"}, b"{}", "the token's header has no algorithm (alg)"),
        ({"alg": "RS256", "kid": 7}, b"{}", "the token's key ID (kid) is not a string"),
        ({"alg": "RS256"}, b"[1, 2]", "the token's claims is not a JSON object"),
        ({"alg": "RS256"}, b'{"sub": "a", "sub": "b"}', "duplicate member 'sub'"),
        ({"alg": "RS256"}, b"not json", "claims is not base64url-encoded JSON"),
    ],
)
def test_headers_and_payloads_we_never_accept(
    header: dict[str, Any], payload: bytes, message: str
) -> None:
    refused(tokens.rs256_raw(RSA, header, payload), message)


def test_a_signature_that_is_not_base64url_is_malformed() -> None:
    header, payload, _ = RSA.sign(claims()).split(".")
    refused(f"{header}.{payload}.***", "malformed token")


def test_an_issuer_that_is_not_a_string_is_refused() -> None:
    payload = json.dumps(claims(iss=["a"])).encode()
    refused(tokens.rs256_raw(RSA, {"alg": "RS256"}, payload), "invalid iss claim: not a string")


def test_critical_header_extensions_are_refused() -> None:
    refused(RSA.sign(claims(), crit=["exp"]), "critical extensions")


def test_wrong_issuer() -> None:
    refused(RSA.sign(claims(iss="https://evil.example")), "invalid issuer (iss) claim")


def test_issuer_unchecked_without_bound_issuer() -> None:
    token = RSA.sign(claims(iss="https://other.example"))
    assert login(token, cfg=config(bound_issuer="")).alias_name


def test_subject_mismatch() -> None:
    rl = role(bound_subject="repo:acme/app:ref:refs/heads/main")
    assert login(RSA.sign(claims()), rl=rl)
    refused(
        RSA.sign(claims(sub="repo:acme/app:ref:refs/heads/dev")),
        "invalid subject (sub) claim",
        rl=rl,
    )


def test_audience_must_hold_a_bound_one() -> None:
    assert login(RSA.sign(claims(aud=["other", AUDIENCE])))
    refused(
        RSA.sign(claims(aud="https://github.com/evil")),
        "aud claim does not match any expected audience",
    )
    refused(RSA.sign(claims(aud=None)), "aud claim does not match any expected audience")


def test_a_token_with_an_audience_needs_a_role_with_bound_audiences() -> None:
    rl = role(bound_audiences=(), bound_subject="repo:acme/app:ref:refs/heads/main")
    refused(
        RSA.sign(claims()), "audience claim found in JWT but no audiences bound to the role", rl=rl
    )
    assert login(RSA.sign(claims(aud=None)), rl=rl)


def test_expired_within_and_beyond_the_clock_skew_leeway() -> None:
    assert login(RSA.sign(claims(exp=NOW - 59)))
    refused(RSA.sign(claims(exp=NOW - 61)), "token is expired")
    refused(RSA.sign(claims(exp=NOW - 1)), "token is expired", rl=role(clock_skew_leeway=-1))


def test_not_yet_valid() -> None:
    assert login(RSA.sign(claims(nbf=NOW + 59, iat=None)))
    refused(RSA.sign(claims(nbf=NOW + 61, iat=None)), "token not yet valid")


def test_issued_in_the_future() -> None:
    refused(RSA.sign(claims(iat=NOW + 120, nbf=NOW)), "token issued in the future")


def test_missing_exp_is_iat_plus_expiration_leeway() -> None:
    # iat 200 s ago: exp is iat + 150 = 50 s ago, inside the 60 s clock skew; 300 s ago is out.
    assert login(RSA.sign(claims(exp=None, nbf=None, iat=NOW - 200)))
    refused(RSA.sign(claims(exp=None, nbf=None, iat=NOW - 300)), "token is expired")
    assert login(
        RSA.sign(claims(exp=None, nbf=None, iat=NOW - 300)), rl=role(expiration_leeway=400)
    )


def test_missing_nbf_is_exp_minus_not_before_leeway_without_iat() -> None:
    # exp 400 s ahead: nbf = exp - 150 = 250 s ahead, not yet valid; a 400 s leeway admits it.
    refused(RSA.sign(claims(nbf=None, iat=None, exp=NOW + 400)), "token not yet valid")
    assert login(
        RSA.sign(claims(nbf=None, iat=None, exp=NOW + 400)), rl=role(not_before_leeway=400)
    )


def test_a_token_with_no_times_is_refused() -> None:
    refused(RSA.sign(claims(iat=None, nbf=None, exp=None)), "no issued at (iat), not before (nbf)")


def test_a_time_claim_that_is_not_a_number_is_refused() -> None:
    refused(RSA.sign(claims(exp="tomorrow")), "invalid exp claim: not a number")


def test_bound_claims_exact_and_any_of_a_list() -> None:
    rl = role(bound_claims={"repository": ["acme/app", "acme/lib"], "ref": "refs/heads/main"})
    assert login(RSA.sign(claims()), rl=rl)
    refused(
        RSA.sign(claims(repository="acme/other")),
        "error validating claims: claim 'repository' does not match",
        rl=rl,
    )
    refused(RSA.sign(claims(ref=None)), "claim 'ref' is missing", rl=rl)


def test_bound_claims_globs() -> None:
    rl = role(bound_claims_type="glob", bound_claims={"sub": "repo:acme/*:ref:refs/heads/main"})
    assert login(RSA.sign(claims()), rl=rl)
    refused(
        RSA.sign(claims(sub="repo:acme/app:ref:refs/heads/dev")),
        "claim 'sub' does not match",
        rl=rl,
    )
    refused(
        RSA.sign(claims(sub="repo:evil/acme/app:ref:refs/heads/main-x")), "does not match", rl=rl
    )


def test_claim_mapping_of_a_non_string_is_refused() -> None:
    refused(
        RSA.sign(claims(run=7)),
        "error converting claim 'run' to string",
        rl=role(claim_mappings={"run": "run"}),
    )


def test_groups_claim_missing_or_not_strings() -> None:
    refused(RSA.sign(claims()), "'groups' claim not found in token", rl=role(groups_claim="groups"))
    refused(
        RSA.sign(claims(groups=[1])),
        "could not be parsed as string",
        rl=role(groups_claim="groups"),
    )


def test_an_oidc_role_cannot_log_in_with_a_jwt() -> None:
    refused(
        RSA.sign(claims()),
        "role with oidc role_type is not allowed",
        rl=role(role_type="oidc", allowed_redirect_uris=("http://localhost/cb",)),
    )


def test_user_claim_must_be_a_string() -> None:
    refused(
        RSA.sign(claims(sub=None, uid=5)),
        "claim 'uid' could not be converted to string",
        rl=role(user_claim="uid"),
    )


def test_an_id_token_must_carry_the_nonce_its_request_sent() -> None:
    """The OIDC flow's callback: the same checks, for a role of type oidc, plus the nonce."""
    rl = role(role_type="oidc", allowed_redirect_uris=("http://localhost/cb",))
    cfg = config()
    token = RSA.sign(claims(nonce="n-1"))
    assert verify_identity(token, cfg, rl, keys_of(cfg), NOW, nonce="n-1").alias_name
    for other in ("n-2", ""):
        with pytest.raises(InvalidRequest, match="invalid ID token nonce"):
            verify_identity(token, cfg, rl, keys_of(cfg), NOW, nonce=other)
    with pytest.raises(InvalidRequest, match="invalid ID token nonce"):
        verify_identity(RSA.sign(claims()), cfg, rl, keys_of(cfg), NOW, nonce="n-1")
