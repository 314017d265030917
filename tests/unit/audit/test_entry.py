"""The entry format: Vault's fields, hashed with the device's salt, empty fields left out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from awsbroker.audit.entry import (
    REQUEST,
    RESPONSE,
    Caller,
    FormatOptions,
    Formatter,
    LogInput,
    rfc3339,
)
from awsbroker.audit.hashing import Salt
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import Auth, Operation, Request, Response

SALT = Salt("device-salt")
H = SALT.hash
TOKEN = "hvs.callertoken000000000000"
ACCESSOR = "accessor-of-the-caller"


def caller() -> Caller:
    return Caller(
        client_token=TOKEN,
        accessor=ACCESSOR,
        display_name="token-ci",
        policies=("default", "creds"),
        token_policies=("default", "creds"),
        metadata={"team": "ci"},
        token_type="service",
        token_ttl=3600,
        token_issue_time=1_700_000_000.0,
    )


def creds_input(**overrides: Any) -> LogInput:
    request = Request(
        Operation.READ,
        "aws/creds/deploy",
        {"ttl": "15m", "role_session_name": "ci"},
        client_token=TOKEN,
        id="req-1",
        mount_point="aws/",
        mount_type="aws",
        mount_accessor="aws_1234abcd",
        remote_address="127.0.0.1",
    )
    response = Response(
        data={"access_key": "AKIAEXAMPLE", "secret_key": "wJalrXUtnFEMI/K7MDENG", "ttl": 900},
        lease_id="aws/creds/deploy/abc",
        mount_type="aws",
        warnings=["capped"],
    )
    values: dict[str, Any] = {
        "request": request,
        "time": 1_700_000_123.5,
        "caller": caller(),
        "allowed": True,
        "response": response,
    }
    values.update(overrides)
    return LogInput(**values)


def line(formatter: Formatter, kind: str, log: LogInput) -> dict[str, Any]:
    raw = formatter.line(kind, log)
    assert raw.endswith(b"\n"), "one line per entry"
    assert raw.count(b"\n") == 1, "one line per entry"
    parsed: dict[str, Any] = json.loads(raw)
    return parsed


def test_request_entry_has_vaults_fields_with_tokens_accessors_and_data_hashed() -> None:
    entry = line(Formatter(SALT), REQUEST, creds_input())
    assert entry["type"] == "request"
    assert entry["time"] == "2023-11-14T22:15:23.500000Z"
    assert entry["auth"] == {
        "client_token": H(TOKEN),
        "accessor": H(ACCESSOR),
        "display_name": "token-ci",
        "policies": ["default", "creds"],
        "token_policies": ["default", "creds"],
        "metadata": {"team": "ci"},
        "token_type": "service",
        "token_ttl": 3600,
        "token_issue_time": "2023-11-14T22:13:20.000000Z",
        "policy_results": {"allowed": True},
    }
    assert entry["request"] == {
        "id": "req-1",
        "operation": "read",
        "mount_point": "aws/",
        "mount_type": "aws",
        "mount_accessor": "aws_1234abcd",
        "client_token": H(TOKEN),
        "client_token_accessor": H(ACCESSOR),
        "namespace": {"id": "root"},
        "path": "aws/creds/deploy",
        "data": {"ttl": H("15m"), "role_session_name": H("ci")},
        "remote_address": "127.0.0.1",
    }
    assert "response" not in entry
    assert "error" not in entry


def test_response_entry_hashes_every_string_of_the_data_and_keeps_the_lease_id() -> None:
    entry = line(Formatter(SALT), RESPONSE, creds_input())
    assert entry["type"] == "response"
    assert entry["response"] == {
        "mount_type": "aws",
        "mount_accessor": "aws_1234abcd",
        "secret": {"lease_id": "aws/creds/deploy/abc"},
        "data": {
            "access_key": H("AKIAEXAMPLE"),
            "secret_key": H("wJalrXUtnFEMI/K7MDENG"),
            "ttl": 900,
        },
        "warnings": ["capped"],
    }
    text = Formatter(SALT).line(RESPONSE, creds_input()).decode()
    for secret in ("wJalrXUtnFEMI/K7MDENG", "AKIAEXAMPLE", TOKEN, ACCESSOR):
        assert secret not in text


def test_non_hmac_keys_of_the_mount_stay_readable() -> None:
    log = creds_input(
        non_hmac_request_keys=("role_session_name",), non_hmac_response_keys=("access_key",)
    )
    request = line(Formatter(SALT), REQUEST, log)["request"]
    assert request["data"] == {"ttl": H("15m"), "role_session_name": "ci"}
    response = line(Formatter(SALT), RESPONSE, log)["response"]
    assert response["data"]["access_key"] == "AKIAEXAMPLE"
    assert response["data"]["secret_key"] == H("wJalrXUtnFEMI/K7MDENG")


def test_a_created_token_in_the_response_is_hashed() -> None:
    auth = Auth("hvs.childtoken0000000000", "child-accessor", ["default"], ["default"], None,
                3600, True, False, 0)  # fmt: skip
    log = creds_input(response=Response(auth=auth, mount_type="token"))
    response = line(Formatter(SALT), RESPONSE, log)["response"]
    assert response["auth"]["client_token"] == H("hvs.childtoken0000000000")
    assert response["auth"]["accessor"] == H("child-accessor")
    assert response["auth"]["token_ttl"] == 3600


def test_hmac_accessor_false_leaves_accessors_readable_but_hashes_tokens() -> None:
    formatter = Formatter(SALT, FormatOptions(hmac_accessor=False))
    entry = line(formatter, REQUEST, creds_input())
    assert entry["auth"]["accessor"] == ACCESSOR
    assert entry["request"]["client_token_accessor"] == ACCESSOR
    assert entry["request"]["client_token"] == H(TOKEN)


def test_log_raw_hashes_nothing() -> None:
    entry = line(Formatter(SALT, FormatOptions(log_raw=True)), RESPONSE, creds_input())
    assert entry["request"]["client_token"] == TOKEN
    assert entry["response"]["data"]["secret_key"] == "wJalrXUtnFEMI/K7MDENG"


def test_errors_and_prefix_and_elided_lists() -> None:
    listing = Request(Operation.LIST, "aws/roles/", mount_point="aws/")
    log = LogInput(
        request=listing,
        time=0.0,
        response=Response(data={"keys": ["a", "b", "c"]}),
        error="permission denied",
    )
    formatter = Formatter(SALT, FormatOptions(elide_list_responses=True, prefix="AUDIT: "))
    raw = formatter.line(RESPONSE, log).decode()
    assert raw.startswith('AUDIT: {"time"')
    entry = json.loads(raw[len("AUDIT: ") :])
    assert entry["error"] == "permission denied"
    assert entry["response"]["data"] == {"keys": 3}
    assert "auth" not in entry, "no caller, no auth block"


def test_format_options_are_decoded_from_device_options() -> None:
    options = FormatOptions.from_options(
        {"hmac_accessor": "false", "log_raw": "true", "elide_list_responses": "1", "prefix": "x"}
    )
    assert options == FormatOptions(False, True, True, "x")
    assert FormatOptions.from_options({}) == FormatOptions()
    with pytest.raises(InvalidRequest, match="format"):
        FormatOptions.from_options({"format": "jsonx"})
    with pytest.raises(InvalidRequest, match="log_raw"):
        FormatOptions.from_options({"log_raw": "perhaps"})


def test_rfc3339_is_utc_with_a_z() -> None:
    assert rfc3339(0.25) == "1970-01-01T00:00:00.250000Z"
