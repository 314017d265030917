"""The claim rules of a JWT role, as Vault's `jwt` plugin applies them.

A claim name that starts with `/` is a JSON pointer (RFC 6901) into nested claims, anywhere a
role names a claim (`bound_claims`, `claim_mappings`, `groups_claim`; `user_claim` only with
`user_claim_json_pointer`). Bound claim values match exactly, or as globs where `*` stands for
any run of characters (and no other character is special); a list means any one of them, and a
list-valued claim matches when any of its values does. Numbers compare as integers and booleans
only with booleans, as in Vault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from awsbroker.auth.jwt.jws import TokenInvalid
from awsbroker.sdk.glob import glob_match
from awsbroker.sdk.logical import JSONObject, JSONValue

# A scalar as bound claims compare it: the kind keeps True from equalling 1.
_Scalar = tuple[str, str | bool | int]


def get_claim(claims: JSONObject, name: str) -> JSONValue:
    """The claim `name` (a JSON pointer when it starts with `/`), or None when absent."""
    if not name.startswith("/"):
        return claims.get(name)
    value: JSONValue = claims
    for raw in name[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            value = value.get(token)
        elif (
            isinstance(value, list)
            and token.isascii()
            and token.isdigit()
            and int(token) < len(value)
        ):
            value = value[int(token)]
        else:
            return None
    return value


def check_bound_claims(claims: JSONObject, bound: Mapping[str, JSONValue], glob: bool) -> None:
    """Every bound claim is present and one of its values matches one of the token's."""
    for name, expected in bound.items():
        actual = get_claim(claims, name)
        if actual is None:
            raise TokenInvalid(f"error validating claims: claim {name!r} is missing")
        actual_values = _scalars(actual)
        if actual_values is None:
            raise TokenInvalid(
                f"error validating claims: claim {name!r} is not a string, bool, number or list"
            )
        expected_values = _scalars(expected) or []
        if not any(_matches(e, a, glob) for e in expected_values for a in actual_values):
            raise TokenInvalid(
                f"error validating claims: claim {name!r} does not match any associated"
                " bound claim values"
            )


def check_audience(claims: JSONObject, bound_audiences: Sequence[str]) -> None:
    """With bound audiences, `aud` must hold one of them; without, a token must not carry
    any audience (it was meant for someone, and the role did not say that is us)."""
    aud = claims.get("aud")
    items = [] if aud is None else [aud] if isinstance(aud, str) else aud
    if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
        raise TokenInvalid("invalid audience (aud) claim: not a string or list of strings")
    audiences = [a for a in items if isinstance(a, str)]
    if bound_audiences:
        if not any(a in audiences for a in bound_audiences):
            raise TokenInvalid(
                "invalid audience (aud) claim: aud claim does not match any expected audience"
            )
    elif any(a != "" for a in audiences):
        raise TokenInvalid("audience claim found in JWT but no audiences bound to the role")


def user_name(claims: JSONObject, user_claim: str, json_pointer: bool) -> str:
    """The value of the role's `user_claim`, the alias name: present and a string."""
    value = get_claim(claims, user_claim) if json_pointer else claims.get(user_claim)
    if value is None:
        raise TokenInvalid(f"claim {user_claim!r} not found in token")
    if not isinstance(value, str):
        raise TokenInvalid(f"claim {user_claim!r} could not be converted to string")
    return value


def mapped_metadata(claims: JSONObject, mappings: Mapping[str, str]) -> dict[str, str]:
    """`claim_mappings` applied: each claim present is copied to its metadata key; it must
    be a string."""
    metadata: dict[str, str] = {}
    for source, target in mappings.items():
        value = get_claim(claims, source)
        if value is None:
            continue
        if not isinstance(value, str):
            raise TokenInvalid(f"error converting claim {source!r} to string")
        metadata[target] = value
    return metadata


def groups(claims: JSONObject, groups_claim: str) -> list[str]:
    """The names in `groups_claim` (a string or a list of strings; empty names dropped)."""
    value = get_claim(claims, groups_claim)
    if value is None:
        raise TokenInvalid(f"{groups_claim!r} claim not found in token")
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list):
        raise TokenInvalid(f"{groups_claim!r} claim could not be converted to string list")
    names = []
    for item in values:
        if not isinstance(item, str):
            raise TokenInvalid(f"value {item!r} in groups claim could not be parsed as string")
        if item:
            names.append(item)
    return names


def _scalars(value: JSONValue) -> list[_Scalar | None] | None:
    if isinstance(value, list):
        return [_scalar(item) for item in value]
    scalar = _scalar(value)
    return None if scalar is None else [scalar]


def _scalar(value: JSONValue) -> _Scalar | None:
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", int(value))
    if isinstance(value, str):
        return ("string", value)
    return None


def _matches(expected: _Scalar | None, actual: _Scalar | None, glob: bool) -> bool:
    if expected is None or actual is None:
        return False
    if glob:
        return (
            expected[0] == "string"
            and actual[0] == "string"
            and glob_match(str(expected[1]), str(actual[1]))
        )
    return expected == actual
