"""`Request.caller`: the read-only identity the core gives every backend of the token it
authorized (display name, metadata, policies, the auth mount that made the token), never the
token; and only the core sets it."""

from __future__ import annotations

import dataclasses

import pytest
from tests.support.core_harness import ENGINE_MOUNT, Harness, make_harness, rule

from awsbroker.core.caller import caller_identity
from awsbroker.core.router import Router
from awsbroker.core.tokens import TokenEntry
from awsbroker.sdk.logical import CallerIdentity, Operation, Request

R = Operation.READ


@pytest.fixture
def h() -> Harness:
    return make_harness()


def test_an_engine_sees_the_callers_identity_and_not_the_token(h: Harness) -> None:
    h.policy("echo", rule(f"{ENGINE_MOUNT}echo", "read"))
    auth = h.create_token(
        {"display_name": "ci", "meta": {"repository": "org/app"}, "policies": ["echo"]}
    )
    h.ok(R, f"{ENGINE_MOUNT}echo", token=auth.client_token)
    seen = h.engine.requests[-1]
    assert seen.client_token == ""
    assert seen.caller == CallerIdentity(
        display_name="token-ci",
        metadata={"repository": "org/app"},
        policies=("default", "echo"),
        auth_mount_path="auth/token/",
        auth_mount_type="token",
        auth_mount_accessor="auth_token_00000000",
    )
    assert auth.client_token not in repr(seen.caller)


def test_the_root_token_is_a_token_store_caller(h: Harness) -> None:
    h.ok(R, f"{ENGINE_MOUNT}echo")
    caller = h.engine.requests[-1].caller
    assert caller is not None
    assert (caller.display_name, caller.policies) == ("root", ("root",))
    assert (caller.auth_mount_path, caller.auth_mount_type) == ("auth/token/", "token")
    assert dict(caller.metadata) == {}


def test_a_caller_identity_sent_in_the_request_is_replaced(h: Harness) -> None:
    forged = CallerIdentity("admin", {"repository": "org/prod"}, ("root",), "auth/jwt/", "jwt", "x")
    h.core.handle(Request(R, f"{ENGINE_MOUNT}echo", client_token=h.root, caller=forged))
    caller = h.engine.requests[-1].caller
    assert caller is not None
    assert caller.display_name == "root"
    assert dict(caller.metadata) == {}


def test_unauthenticated_paths_have_no_caller(h: Harness) -> None:
    h.core.handle(
        Request(R, f"{ENGINE_MOUNT}public", caller=CallerIdentity("x", {}, (), "", "", ""))
    )
    assert h.engine.requests[-1].caller is None


def test_the_identity_is_read_only_and_a_copy(h: Harness) -> None:
    meta = {"team": "a"}
    entry = TokenEntry("h", "acc", ["default"], "auth/token/create", "token", 0.0, meta=meta)
    caller = caller_identity(entry, h.core.router)
    meta["team"] = "b"
    assert caller.metadata == {"team": "a"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        caller.display_name = "other"  # type: ignore[misc]


def test_a_token_whose_auth_mount_is_gone_names_none() -> None:
    entry = TokenEntry("h", "acc", ["default"], "auth/approle/login", "approle", 0.0)
    caller = caller_identity(entry, Router())
    assert (caller.auth_mount_path, caller.auth_mount_type, caller.auth_mount_accessor) == (
        "",
        "",
        "",
    )


def test_a_token_path_outside_auth_names_no_mount(h: Harness) -> None:
    entry = TokenEntry("h", "acc", ["default"], f"{ENGINE_MOUNT}echo", "x", 0.0)
    assert caller_identity(entry, h.core.router).auth_mount_path == ""
