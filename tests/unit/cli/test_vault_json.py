"""The Go structs `-format=json` re-encodes answers into (tests/cli/test_vault_cli_json.py
compares the result with the real `bao`; these pin the rules that comparison relies on)."""

from __future__ import annotations

from awsbroker.cli import vault_json


def test_a_secret_keeps_vaults_fields_only_in_vaults_order() -> None:
    body = {
        "mount_type": "aws",
        "data": {"b": 1, "a": {"z": 1, "y": 2}},
        "lease_duration": 60,
        "request_id": "r",
        "wrap_info": None,
        "auth": None,
        "something_new": True,
    }
    shaped = vault_json.secret(body)
    assert list(shaped) == [
        "request_id",
        "lease_id",
        "lease_duration",
        "renewable",
        "data",
        "warnings",
        "mount_type",
    ]
    assert list(shaped["data"]) == ["a", "b"]  # Go encodes a map with its keys sorted
    assert list(shaped["data"]["a"]) == ["y", "z"]
    assert shaped["lease_id"] == ""
    assert shaped["warnings"] is None


def test_a_tokens_auth_is_api_secret_auth() -> None:
    auth = {"client_token": "t", "policies": ["default"], "token_type": "service", "num_uses": 0}
    shaped = vault_json.secret({"auth": auth, "data": None})
    assert list(shaped["auth"]) == [name for name, _, _ in vault_json.SECRET_AUTH]
    assert shaped["auth"]["client_token"] == "t"
    assert shaped["auth"]["identity_policies"] is None


def test_status_drops_empty_omitempty_fields_but_never_active_time() -> None:
    shaped = vault_json.status(
        {"type": "shamir", "sealed": True, "cluster_name": "", "extra": 1},
        {"ha_enabled": True, "leader_address": "", "is_self": False},
    )
    assert "cluster_name" not in shaped
    assert "leader_address" not in shaped
    assert "is_self" not in shaped
    assert "extra" not in shaped
    assert shaped["ha_enabled"] is True
    assert shaped["active_time"] == vault_json.ZERO_TIME
    assert shaped["build_date"] == ""


def test_init_names_the_shares_as_vault_does() -> None:
    request = {"secret_shares": 3, "secret_threshold": 2}
    answer = {
        "keys": ["aa", "bb", "cc"],
        "keys_base64": ["qg==", "uw==", "zA=="],
        "root_token": "r",
    }
    shaped = vault_json.init(request, answer)
    assert shaped == {
        "unseal_keys_b64": ["qg==", "uw==", "zA=="],
        "unseal_keys_hex": ["aa", "bb", "cc"],
        "unseal_shares": 3,
        "unseal_threshold": 2,
        "recovery_keys_b64": None,
        "recovery_keys_hex": None,
        "recovery_keys_shares": 0,
        "recovery_keys_threshold": 0,
        "root_token": "r",
    }
    # No shares back (a seal that keeps the key): Vault reports one share of one.
    stored = vault_json.init(request, {"root_token": "r"})
    assert (stored["unseal_shares"], stored["unseal_threshold"]) == (1, 1)


def test_raw_field_follows_vaults_precedence() -> None:
    lookup = {"lease_id": "", "renewable": False, "data": {"renewable": True, "id": "x"}}
    assert vault_json.raw_field(lookup, "renewable") is False  # the envelope's, as Vault
    assert vault_json.raw_field(lookup, "id") == "x"
    assert vault_json.raw_field(lookup, "nope") is None
    assert vault_json.raw_field(lookup, "data") == {"id": "x", "renewable": True}
    created = {"auth": {"client_token": "t", "lease_duration": 0}, "data": {"token": "no"}}
    assert vault_json.raw_field(created, "token") == "t"
    assert vault_json.raw_field(created, "token_duration") == 0
    assert vault_json.raw_field(created, "token_policies") is None


def test_login_builds_the_secret_vaults_token_login_prints() -> None:
    lookup = {"accessor": "a", "policies": ["default"], "meta": {"k": "v"}, "ttl": 60}
    shaped = vault_json.login("t", {**lookup, "renewable": True})
    assert shaped["auth"]["client_token"] == "t"
    assert shaped["auth"]["policies"] == shaped["auth"]["token_policies"] == ["default"]
    assert shaped["auth"]["metadata"] == {"k": "v"}
    assert (shaped["auth"]["lease_duration"], shaped["auth"]["renewable"]) == (60, True)
    assert shaped["data"] is None
