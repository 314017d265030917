"""The token fields of auth roles (`sdk/token_fields.py`): parsing, refusals and `apply`."""

from __future__ import annotations

from typing import Any

import pytest

from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import FieldData
from awsbroker.sdk.logical import Auth
from awsbroker.sdk.token_fields import TOKEN_FIELDS, TokenParams, address_in


def parsed(**raw: Any) -> TokenParams:
    params = TokenParams()
    params.update(FieldData(TOKEN_FIELDS, raw))
    return params


def test_fields_parse_into_the_dataclass_and_round_trip() -> None:
    params = parsed(
        token_ttl="10m",
        token_max_ttl="1h",
        token_period=0,
        token_explicit_max_ttl="2h",
        token_num_uses=3,
        token_bound_cidrs="10.0.0.0/8, 127.0.0.1",
        token_policies="B,a",
        token_no_default_policy=True,
        token_type="service",
    )
    assert params == TokenParams(
        600, 3600, 0, 7200, 3, ["10.0.0.0/8", "127.0.0.1"], ["a", "b"], True, "service"
    )
    assert TokenParams.from_record(params.to_record()) == params
    assert params.response_data()["token_policies"] == ["a", "b"]


def test_deprecated_names_still_set_policies_and_period() -> None:
    params = parsed(policies=["p"], period="1h")
    assert (params.policies, params.period) == (["p"], 3600)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"token_type": "batch"}, "batch tokens are not supported"),
        ({"token_type": "other"}, "invalid token_type"),
        ({"token_bound_cidrs": "10.0.0.0/33"}, "invalid CIDR block in token_bound_cidrs"),
        ({"token_num_uses": -1}, "token_num_uses cannot be negative"),
        ({"token_ttl": "2h", "token_max_ttl": "1h"}, "should not be greater than token_max_ttl"),
        ({"token_policies": "root"}, "may not include 'root'"),
    ],
)
def test_bad_values_are_refused_naming_the_field(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parsed(**raw)


def test_update_keeps_unset_fields() -> None:
    params = parsed(token_ttl="10m", token_policies="a")
    params.update(FieldData(TOKEN_FIELDS, {"token_num_uses": 2}))
    assert (params.ttl, params.policies, params.num_uses) == (600, ["a"], 2)


def test_apply_puts_the_fields_onto_an_auth() -> None:
    auth = Auth()
    parsed(token_ttl=60, token_period=0, token_bound_cidrs="10.0.0.0/8", token_policies="a").apply(
        auth
    )
    assert (auth.ttl, auth.bound_cidrs, auth.policies, auth.client_token) == (
        60,
        ["10.0.0.0/8"],
        ["a"],
        "",
    )


@pytest.mark.parametrize(
    ("address", "cidrs", "inside"),
    [
        ("127.0.0.1", ["127.0.0.1/32"], True),
        ("127.0.0.2", ["127.0.0.1/32"], False),
        ("10.1.2.3", ["192.168.0.0/16", "10.0.0.0/8"], True),
        ("::1", ["::1/128"], True),
        ("::ffff:10.1.2.3", ["10.0.0.0/8"], True),  # an IPv4 client of a dual-stack listener
        ("::ffff:10.1.2.3", ["192.168.0.0/16"], False),
        ("", ["0.0.0.0/0"], False),
    ],
)
def test_address_in(address: str, cidrs: list[str], inside: bool) -> None:
    assert address_in(address, cidrs) is inside
