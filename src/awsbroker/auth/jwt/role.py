"""A JWT role's claim rules (Vault's `auth/jwt/role/:name` fields other than the `token_*`
ones, which are common to every auth method). `validate()` is the write-time check;
`to_response()` the read, in Vault's names; `to_record()`/`from_record()` its stored form."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject, JSONValue

# Metadata keys a login sets itself, which no claim mapping may overwrite.
RESERVED_METADATA = ("role",)

DEFAULT_CLOCK_SKEW_LEEWAY = 60
DEFAULT_EXPIRATION_LEEWAY = 150
DEFAULT_NOT_BEFORE_LEEWAY = 150


@dataclass(frozen=True)
class JwtRole:
    name: str
    user_claim: str
    role_type: str = "oidc"
    bound_audiences: tuple[str, ...] = ()
    bound_subject: str = ""
    bound_claims: Mapping[str, JSONValue] = field(default_factory=dict)
    bound_claims_type: str = "string"
    user_claim_json_pointer: bool = False
    claim_mappings: Mapping[str, str] = field(default_factory=dict)
    groups_claim: str = ""
    # Seconds; 0 means the default, a negative value means no leeway (as in Vault).
    clock_skew_leeway: int = DEFAULT_CLOCK_SKEW_LEEWAY
    expiration_leeway: int = DEFAULT_EXPIRATION_LEEWAY
    not_before_leeway: int = DEFAULT_NOT_BEFORE_LEEWAY
    allowed_redirect_uris: tuple[str, ...] = ()
    oidc_scopes: tuple[str, ...] = ()

    def validate(self, token_bound_cidrs: Sequence[str] = ()) -> None:
        """A 400 naming what to fix, or nothing. `token_bound_cidrs` (a common token field)
        counts as a bound constraint, as in Vault."""
        if self.role_type not in ("jwt", "oidc"):
            raise InvalidRequest(f"invalid 'role_type': {self.role_type}")
        if self.bound_claims_type not in ("string", "glob"):
            raise InvalidRequest(f"invalid 'bound_claims_type': {self.bound_claims_type}")
        for claim, values in self.bound_claims.items():
            items = values if isinstance(values, list) else [values]
            glob = self.bound_claims_type == "glob"
            for item in items:
                if glob and not isinstance(item, str):
                    raise InvalidRequest(f"bound claim {claim!r}: {item!r} is not a string")
                if not isinstance(item, str | bool | int | float):
                    raise InvalidRequest(
                        f"bound claim {claim!r}: {item!r} is not a string, number or bool"
                    )
        targets: set[str] = set()
        for target in self.claim_mappings.values():
            if target in RESERVED_METADATA:
                raise InvalidRequest(
                    f"metadata key {target!r} is reserved and may not be a mapping destination"
                )
            if target in targets:
                raise InvalidRequest(f"multiple keys are mapped to metadata key {target!r}")
            targets.add(target)
        if not self.user_claim:
            raise InvalidRequest("a user claim must be defined on the role")
        if self.role_type == "oidc" and not self.allowed_redirect_uris:
            raise InvalidRequest(
                "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified."
            )
        if self.role_type == "jwt" and not (
            self.bound_audiences or self.bound_subject or self.bound_claims or token_bound_cidrs
        ):
            raise InvalidRequest(
                "must have at least one bound constraint when creating/updating a role"
            )

    def leeways(self) -> tuple[int, int, int]:
        """(clock skew, expiration, not before) in seconds, defaults and "none" resolved."""
        return (
            _leeway(self.clock_skew_leeway, DEFAULT_CLOCK_SKEW_LEEWAY),
            _leeway(self.expiration_leeway, DEFAULT_EXPIRATION_LEEWAY),
            _leeway(self.not_before_leeway, DEFAULT_NOT_BEFORE_LEEWAY),
        )

    def to_response(self) -> JSONObject:
        """The role's read (besides the `token_*` fields); unset collections are null, as in
        Vault."""
        return {
            "role_type": self.role_type,
            "bound_audiences": list(self.bound_audiences) or None,
            "bound_subject": self.bound_subject,
            "bound_claims": dict(self.bound_claims) or None,
            "bound_claims_type": self.bound_claims_type,
            "user_claim": self.user_claim,
            "user_claim_json_pointer": self.user_claim_json_pointer,
            "claim_mappings": dict(self.claim_mappings) or None,
            "groups_claim": self.groups_claim,
            "clock_skew_leeway": self.clock_skew_leeway,
            "expiration_leeway": self.expiration_leeway,
            "not_before_leeway": self.not_before_leeway,
            "allowed_redirect_uris": list(self.allowed_redirect_uris) or None,
            "oidc_scopes": list(self.oidc_scopes) or None,
        }

    def to_record(self) -> bytes:
        return json.dumps({"name": self.name, **self.to_response()}).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> JwtRole:
        raw = json.loads(blob)
        return cls(
            name=str(raw["name"]),
            user_claim=str(raw.get("user_claim") or ""),
            role_type=str(raw.get("role_type") or "oidc"),
            bound_audiences=tuple(raw.get("bound_audiences") or ()),
            bound_subject=str(raw.get("bound_subject") or ""),
            bound_claims=dict(raw.get("bound_claims") or {}),
            bound_claims_type=str(raw.get("bound_claims_type") or "string"),
            user_claim_json_pointer=bool(raw.get("user_claim_json_pointer")),
            claim_mappings=dict(raw.get("claim_mappings") or {}),
            groups_claim=str(raw.get("groups_claim") or ""),
            clock_skew_leeway=int(raw.get("clock_skew_leeway", DEFAULT_CLOCK_SKEW_LEEWAY)),
            expiration_leeway=int(raw.get("expiration_leeway", DEFAULT_EXPIRATION_LEEWAY)),
            not_before_leeway=int(raw.get("not_before_leeway", DEFAULT_NOT_BEFORE_LEEWAY)),
            allowed_redirect_uris=tuple(raw.get("allowed_redirect_uris") or ()),
            oidc_scopes=tuple(raw.get("oidc_scopes") or ()),
        )


def _leeway(value: int, default: int) -> int:
    return 0 if value < 0 else default if value == 0 else value
