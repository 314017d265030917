"""`auth/token/`: Vault's token rules (reference section 3), through the real request pipeline."""

from __future__ import annotations

import pytest
from tests.support.core_harness import Harness, make_harness, rule

from awsbroker.barrier.aes_gcm import RESERVED_PATHS
from awsbroker.barrier.seal import PLAIN_PATHS
from awsbroker.core.path_token import lookup_data, normalize_policies
from awsbroker.core.tokens import ROOT_PATH, TokenEntry
from awsbroker.core.upgrade import FORMAT_PATH
from awsbroker.sdk.errors import InvalidRequest, NotFound, PermissionDenied
from awsbroker.sdk.logical import JSONObject, Operation, Request
from awsbroker.sdk.storage import list_recursive

R, U, L = Operation.READ, Operation.UPDATE, Operation.LIST
DEFAULT = 768 * 3600


def harness(default_ttl: int = DEFAULT, max_ttl: int = DEFAULT) -> Harness:
    """A core where policy `a` may create tokens (but holds no sudo)."""
    h = make_harness(default_ttl, max_ttl)
    h.policy("a", rule("auth/token/create", "update") + rule("auth/token/create-orphan", "update"))
    return h


@pytest.fixture
def h() -> Harness:
    return harness()


def creator(h: Harness, *policies: str, extra: str = "") -> str:
    """A non-sudo token that may create tokens, with `policies` besides `creator`."""
    h.policy(
        "creator",
        rule("auth/token/create", "update")
        + rule("auth/token/create-orphan", "update")
        + rule("auth/token/lookup", "update")
        + extra,
    )
    return h.token({"policies": ["creator", *policies]})


def invalid(h: Harness, data: JSONObject, token: str | None = None, path: str = "create") -> str:
    with pytest.raises(InvalidRequest) as err:
        h.call(U, f"auth/token/{path}", data, token)
    return "; ".join(err.value.messages)


# ---- policies ----------------------------------------------------------------------------------


def test_normalize_policies() -> None:
    assert normalize_policies([" B", "a", "A", "b", "", "  "]) == ["a", "b"]
    assert normalize_policies(["x", "ROOT"]) == ["root"]
    assert normalize_policies([]) == []


def test_policies_are_normalised_and_default_added_for_root_callers(h: Harness) -> None:
    auth = h.create_token({"policies": [" Dev", "ops", "dev", "OPS "]})
    assert auth.policies == ["default", "dev", "ops"]
    assert auth.token_policies == auth.policies
    # Vault's TypeStringSlice: one string is one name, its comma kept (never two policies).
    assert h.create_token({"policies": "b,a"}).policies == ["b,a", "default"]


def test_root_in_the_list_collapses_to_root(h: Harness) -> None:
    auth = h.create_token({"policies": ["dev", "root"]})
    assert auth.policies == ["root"]


def test_omitted_policies_are_inherited(h: Harness) -> None:
    parent = h.token({"policies": ["a", "b"]})
    assert h.create_token(token=parent).policies == ["a", "b", "default"]


def test_empty_policies_mean_inherit(h: Harness) -> None:
    parent = h.token({"policies": ["a"]})
    assert h.create_token({"policies": []}, token=parent).policies == ["a", "default"]
    assert h.create_token({"policies": ""}, token=parent).policies == ["a", "default"]


def test_root_children_inherit_root(h: Harness) -> None:
    auth = h.create_token()
    assert auth.policies == ["root"]


def test_no_default_policy(h: Harness) -> None:
    assert h.create_token({"policies": ["a"], "no_default_policy": True}).policies == ["a"]
    parent = h.token({"policies": ["a"]})
    inherited = h.create_token({"no_default_policy": True}, token=parent)
    assert inherited.policies == ["a"]


def test_non_sudo_parent_passes_default_only_if_it_has_it(h: Harness) -> None:
    with_default = creator(h, "a")
    assert h.create_token({"policies": ["a"]}, token=with_default).policies == ["a", "default"]
    h.policy("c2", rule("auth/token/create", "update"))
    without = h.token({"policies": ["c2", "a"], "no_default_policy": True})
    assert h.create_token({"policies": ["a"]}, token=without).policies == ["a"]


def test_non_sudo_child_policies_must_be_a_subset(h: Harness) -> None:
    token = creator(h, "a")
    assert "child policies must be subset of parent" in invalid(h, {"policies": ["b"]}, token)
    assert "child policies must be subset of parent" in invalid(h, {"policies": ["a", "b"]}, token)
    assert h.create_token({"policies": ["A"]}, token=token).policies == ["a", "default"]


def test_non_sudo_parent_without_default_cannot_grant_default(h: Harness) -> None:
    h.policy("c2", rule("auth/token/create", "update"))
    without = h.token({"policies": ["c2", "a"], "no_default_policy": True})
    message = invalid(h, {"policies": ["a", "default"]}, without)
    assert "child policies must be subset of parent" in message


def test_sudo_callers_may_grant_any_policy(h: Harness) -> None:
    h.policy("admin", rule("auth/token/create", "update", "sudo"))
    admin = h.token({"policies": ["admin"]})
    assert h.create_token({"policies": ["x"]}, token=admin).policies == ["default", "x"]


def test_only_root_tokens_create_root_tokens(h: Harness) -> None:
    h.policy("admin", rule("auth/token/create", "update", "sudo"))
    admin = h.token({"policies": ["admin"]})
    assert "root tokens may not be created" in invalid(h, {"policies": ["root"]}, admin)


def test_response_wrapping_policy_is_not_assignable(h: Harness) -> None:
    message = invalid(h, {"policies": ["a", "Response-Wrapping"]})
    assert message == 'cannot assign policy "response-wrapping"'


def test_unknown_policies_warn_but_succeed(h: Harness) -> None:
    h.policy("known", rule("x", "read"))
    resp = h.ok(U, "auth/token/create", {"policies": ["known", "ghost"]})
    assert resp.auth is not None
    assert resp.auth.policies == ["default", "ghost", "known"]
    assert resp.warnings == ['Policy "ghost" does not exist']


# ---- display name, metadata, identity ----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (None, "token"),
        ("", "token"),
        ("token", "token-token"),
        ("my app", "token-my-app"),
        ("a!!b", "token-a-b"),
        ("ci/deploy.", "token-ci-deploy"),
        ("x-y", "token-x-y"),
    ],
)
def test_display_name(h: Harness, given: str | None, stored: str) -> None:
    token = h.token({"display_name": given})
    assert h.lookup(token)["display_name"] == stored


def test_meta_is_kept_and_returned(h: Harness) -> None:
    auth = h.create_token({"meta": {"team": "a", "n": 1}})
    assert auth.metadata == {"team": "a", "n": "1"}
    assert h.lookup(auth.client_token)["meta"] == {"team": "a", "n": "1"}
    assert h.create_token().metadata is None


def test_token_shape(h: Harness) -> None:
    auth = h.create_token({"policies": ["a"]})
    assert auth.client_token.startswith("hvs.")
    assert auth.accessor
    assert auth.accessor != auth.client_token
    assert auth.token_type == "service"
    assert auth.renewable is True
    assert auth.orphan is False
    assert auth.num_uses == 0


def test_only_service_tokens_and_unknown_roles_refused(h: Harness) -> None:
    assert "only service tokens" in invalid(h, {"type": "batch"})
    assert h.create_token({"type": "service"}).token_type == "service"
    assert "unknown role ops" in invalid(h, {}, path="create/ops")
    # `role_name` in the body of `create` names no role (as Vault): only the path does.
    assert h.create_token({"role_name": "ops", "policies": ["a"]}).token_policies == [
        "a",
        "default",
    ]


# ---- TTL ---------------------------------------------------------------------------------------


def test_default_ttl_is_the_servers() -> None:
    h = harness(default_ttl=1000, max_ttl=5000)
    auth = h.create_token({"policies": ["a"]})
    assert auth.lease_duration == 1000
    assert harness().create_token({"policies": ["a"]}).lease_duration == DEFAULT


def test_ttl_forms(h: Harness) -> None:
    assert h.create_token({"policies": ["a"], "ttl": "1h"}).lease_duration == 3600
    assert h.create_token({"policies": ["a"], "ttl": 90}).lease_duration == 90
    assert h.create_token({"policies": ["a"], "lease": "2m"}).lease_duration == 120
    assert "field 'ttl'" in invalid(h, {"ttl": "-5s"})
    assert "field 'ttl'" in invalid(h, {"ttl": "soon"})


def test_ttl_is_capped_by_the_server_max() -> None:
    h = harness(default_ttl=100, max_ttl=1000)
    assert h.create_token({"policies": ["a"], "ttl": 5000}).lease_duration == 1000


def test_explicit_max_ttl_caps_the_ttl(h: Harness) -> None:
    auth = h.create_token({"policies": ["a"], "ttl": "30m", "explicit_max_ttl": "5m"})
    assert auth.lease_duration == 300
    data = h.lookup(auth.client_token)
    assert data["explicit_max_ttl"] == 300
    assert data["creation_ttl"] == 300
    no_ttl = h.create_token({"policies": ["a"], "explicit_max_ttl": "1h"})
    assert no_ttl.lease_duration == 3600
    larger = h.create_token({"policies": ["a"], "ttl": "10m", "explicit_max_ttl": "1h"})
    assert larger.lease_duration == 600


def test_root_children_without_ttl_never_expire(h: Harness) -> None:
    auth = h.create_token()
    assert auth.policies == ["root"]
    assert auth.lease_duration == 0
    assert auth.renewable is False
    data = h.lookup(auth.client_token)
    assert data["expire_time"] is None
    assert data["ttl"] == 0
    h.clock.advance(10 * 365 * 86400)
    assert h.core.tokens.lookup(auth.client_token) is not None


def test_root_children_with_ttl_expire(h: Harness) -> None:
    auth = h.create_token({"ttl": 60})
    assert auth.policies == ["root"]
    assert auth.lease_duration == 60
    h.clock.advance(61)
    assert h.core.tokens.lookup(auth.client_token) is None


def test_expiring_root_tokens_cannot_create_non_expiring_root_tokens(h: Harness) -> None:
    expiring = h.token({"ttl": "1h"})
    message = invalid(h, {}, expiring)
    assert message == "expiring root tokens cannot create non-expiring root tokens"
    assert h.create_token({"ttl": 60}, token=expiring).lease_duration == 60


def test_root_token_is_not_renewable(h: Harness) -> None:
    assert "lease is not renewable" in invalid(h, {}, path="renew-self")
    assert "lease is not renewable" in invalid(h, {"token": h.root}, path="renew")


def test_ttl_expiry_without_sleeping(h: Harness) -> None:
    token = h.token({"policies": ["a"], "ttl": 60})
    assert h.core.tokens.lookup(token) is not None
    assert h.lookup(token)["ttl"] == 60
    h.clock.advance(30)
    assert h.lookup(token)["ttl"] == 30
    h.clock.advance(31)
    assert h.core.tokens.lookup(token) is None
    with pytest.raises(PermissionDenied, match="bad token"):
        h.call(U, "auth/token/lookup", {"token": token})


# ---- periodic ----------------------------------------------------------------------------------


def test_periodic_token(h: Harness) -> None:
    auth = h.create_token({"policies": ["a"], "period": "30m"})
    assert auth.lease_duration == 1800
    assert h.lookup(auth.client_token)["period"] == 1800
    for _ in range(5):
        h.clock.advance(1500)
        renewed = h.ok(U, "auth/token/renew-self", {"increment": "10h"}, auth.client_token).auth
        assert renewed is not None
        assert renewed.lease_duration == 1800
    assert h.core.tokens.lookup(auth.client_token) is not None


def test_periodic_tokens_outlive_the_server_max() -> None:
    h = harness(default_ttl=1000, max_ttl=2000)
    token = h.token({"policies": ["a"], "period": 1500})
    for _ in range(4):
        h.clock.advance(1400)
        h.ok(U, "auth/token/renew-self", {}, token)
    assert h.lookup(token)["ttl"] == 1500


def test_periodic_token_is_still_bound_by_explicit_max(h: Harness) -> None:
    token = h.token({"policies": ["a"], "period": 600, "explicit_max_ttl": 1000})
    h.clock.advance(500)
    auth = h.ok(U, "auth/token/renew-self", {}, token).auth
    assert auth is not None
    assert auth.lease_duration == 500


def test_period_needs_sudo(h: Harness) -> None:
    token = creator(h)
    message = invalid(h, {"period": "1h", "policies": ["creator"]}, token)
    assert message == "root or sudo privileges required to create periodic token"


# ---- renew -------------------------------------------------------------------------------------


def test_renew_restores_the_original_ttl_from_now(h: Harness) -> None:
    token = h.token({"policies": ["a"], "ttl": 600})
    h.clock.advance(500)
    resp = h.ok(U, "auth/token/renew", {"token": token})
    assert resp.auth is not None
    assert resp.auth.client_token == token
    assert resp.auth.lease_duration == 600
    data = h.lookup(token)
    assert data["ttl"] == 600
    assert data["creation_ttl"] == 600
    assert "last_renewal" in data
    assert data["last_renewal_time"] == int(h.clock.now())


def test_renew_with_increment(h: Harness) -> None:
    token = h.token({"policies": ["a"], "ttl": 600})
    auth = h.ok(U, "auth/token/renew-self", {"increment": "1h"}, token).auth
    assert auth is not None
    assert auth.lease_duration == 3600
    assert auth.client_token == token


def test_renew_is_capped_by_explicit_max(h: Harness) -> None:
    token = h.token({"policies": ["a"], "ttl": "10m", "explicit_max_ttl": "15m"})
    h.clock.advance(480)
    auth = h.ok(U, "auth/token/renew", {"token": token, "increment": "1h"}).auth
    assert auth is not None
    assert auth.lease_duration == 420
    h.clock.advance(421)
    assert h.core.tokens.lookup(token) is None


def test_renew_is_capped_by_the_server_max() -> None:
    h = harness(default_ttl=1800, max_ttl=3600)
    token = h.token({"policies": ["a"]})
    h.clock.advance(1500)
    auth = h.ok(U, "auth/token/renew-self", {"increment": "1h"}, token).auth
    assert auth is not None
    assert auth.lease_duration == 2100


def test_renew_by_url_and_by_accessor(h: Harness) -> None:
    created = h.create_token({"policies": ["a"], "ttl": 100})
    h.clock.advance(50)
    by_url = h.ok(U, f"auth/token/renew/{created.client_token}").auth
    assert by_url is not None
    assert by_url.client_token == created.client_token
    assert by_url.lease_duration == 100
    by_accessor = h.ok(U, "auth/token/renew-accessor", {"accessor": created.accessor}).auth
    assert by_accessor is not None
    assert by_accessor.client_token == ""
    assert by_accessor.accessor == created.accessor


def test_renew_of_non_renewable_token(h: Harness) -> None:
    token = h.token({"policies": ["a"], "renewable": False})
    assert "lease is not renewable" in invalid(h, {"token": token}, path="renew")


def test_renew_of_unknown_token(h: Harness) -> None:
    # Vault's 400 `token not found`: a 403 would tell the caller its own token is bad.
    assert invalid(h, {"token": "hvs.nope"}, path="renew") == "token not found"
    assert "missing token" in invalid(h, {}, path="renew")
    assert "invalid accessor" in invalid(h, {"accessor": "nope"}, path="renew-accessor")


# ---- num_uses ----------------------------------------------------------------------------------


def test_num_uses(h: Harness) -> None:
    auth = h.create_token({"policies": ["a"], "num_uses": 3})
    assert auth.num_uses == 3
    assert h.lookup(auth.client_token)["num_uses"] == 3
    assert invalid(h, {"num_uses": -1}) == "number of uses cannot be negative"


# ---- custom id ---------------------------------------------------------------------------------


def test_custom_id_for_root(h: Harness) -> None:
    auth = h.create_token({"id": "my-custom-token", "policies": ["a"]})
    assert auth.client_token == "my-custom-token"
    assert h.lookup("my-custom-token")["policies"] == ["a", "default"]
    assert "already exists" in invalid(h, {"id": "my-custom-token"})


def test_custom_id_rules(h: Harness) -> None:
    assert "can not contain periods" in invalid(h, {"id": "hvs.custom"})
    assert "can not contain periods" in invalid(h, {"id": "a.b"})
    token = creator(h)
    message = invalid(h, {"id": "mine", "policies": ["creator"]}, token)
    assert message == "root or sudo privileges required to specify token id"


# ---- parents and orphans -----------------------------------------------------------------------


def test_children_are_not_orphans_and_die_with_the_parent(h: Harness) -> None:
    parent = h.token({"policies": ["a"]})
    child = h.create_token(token=parent)
    assert child.orphan is False
    assert h.lookup(child.client_token)["orphan"] is False
    h.call(U, "auth/token/revoke", {"token": parent})
    assert h.core.tokens.lookup(child.client_token) is None


def test_child_ttl_is_not_clamped_but_dies_with_the_parent(h: Harness) -> None:
    parent = h.token({"policies": ["a"], "ttl": 60})
    child = h.create_token({"ttl": 3600}, token=parent)
    assert child.lease_duration == 3600
    h.clock.advance(61)
    assert h.core.tokens.lookup(child.client_token) is None


def test_no_parent_needs_sudo(h: Harness) -> None:
    token = creator(h)
    message = invalid(h, {"no_parent": True}, token)
    assert message == "root or sudo privileges required to create orphan token"
    orphan = h.create_token({"no_parent": True, "policies": ["a"]})
    assert orphan.orphan is True


def test_create_orphan_needs_no_sudo(h: Harness) -> None:
    token = creator(h, "a")
    resp = h.ok(U, "auth/token/create-orphan", {"policies": ["a"]}, token)
    assert resp.auth is not None
    assert resp.auth.orphan is True
    h.call(U, "auth/token/revoke", {"token": token})
    assert h.core.tokens.lookup(resp.auth.client_token) is not None


def test_creation_path_is_recorded(h: Harness) -> None:
    token = h.token({"policies": ["a"]})
    assert h.lookup(token)["path"] == "auth/token/create"
    orphan = h.ok(U, "auth/token/create-orphan", {"policies": ["a"]}).auth
    assert orphan is not None
    assert h.lookup(orphan.client_token)["path"] == "auth/token/create-orphan"
    assert h.lookup(h.root)["path"] == ROOT_PATH


# ---- lookup ------------------------------------------------------------------------------------


def test_lookup_fields(h: Harness) -> None:
    auth = h.create_token({"policies": ["a"], "ttl": 600, "display_name": "ci"})
    data = h.lookup(auth.client_token)
    assert data == {
        "accessor": auth.accessor,
        "creation_time": int(h.clock.now()),
        "creation_ttl": 600,
        "display_name": "token-ci",
        "entity_id": "",
        "expire_time": data["expire_time"],
        "explicit_max_ttl": 0,
        "id": auth.client_token,
        "issue_time": data["issue_time"],
        "meta": None,
        "num_uses": 0,
        "orphan": False,
        "path": "auth/token/create",
        "policies": ["a", "default"],
        "renewable": True,
        "ttl": 600,
        "type": "service",
    }
    assert data["issue_time"] == "2023-11-14T22:13:20.000000Z"
    assert data["expire_time"] == "2023-11-14T22:23:20.000000Z"


def test_lookup_self_and_by_url(h: Harness) -> None:
    token = h.token({"policies": ["a"]})
    self_data = h.ok(R, "auth/token/lookup-self", token=token).data
    assert self_data is not None
    assert self_data["id"] == token
    by_url = h.ok(R, f"auth/token/lookup/{token}").data
    assert by_url is not None
    assert by_url["id"] == token
    no_field = h.ok(U, "auth/token/lookup", {}, token=h.root).data
    assert no_field is not None
    assert no_field["id"] == h.root


def test_lookup_accessor_hides_the_id(h: Harness) -> None:
    auth = h.create_token({"policies": ["a"]})
    data = h.ok(U, "auth/token/lookup-accessor", {"accessor": auth.accessor}).data
    assert data is not None
    assert data["accessor"] == auth.accessor
    assert data["id"] == ""
    assert "missing accessor" in invalid(h, {}, path="lookup-accessor")


def test_lookup_of_unknown_token_is_bad_token(h: Harness) -> None:
    with pytest.raises(PermissionDenied, match="bad token"):
        h.call(U, "auth/token/lookup", {"token": "hvs.nothing"})


def test_lookup_data_of_a_periodic_renewed_token() -> None:
    entry = TokenEntry(
        "h", "acc", ["a"], "auth/token/create", "token", 100.0, period=60, last_renewal=130.0
    )
    entry.expire_time = 190.0
    data = lookup_data(entry, "tok", 150.0)
    assert data["period"] == 60
    assert data["ttl"] == 40
    assert data["last_renewal_time"] == 130
    assert data["last_renewal"] == "1970-01-01T00:02:10.000000Z"


# ---- revoke ------------------------------------------------------------------------------------


def test_revoke_takes_the_subtree_but_not_orphans(h: Harness) -> None:
    parent = h.token({"policies": ["a"]})
    child = h.token(parent=parent)
    grandchild = h.token(parent=child)
    orphan = h.ok(U, "auth/token/create-orphan", {}, parent).auth
    assert orphan is not None
    assert h.call(U, "auth/token/revoke", {"token": parent}) is None
    for token in (parent, child, grandchild):
        assert h.core.tokens.lookup(token) is None
    assert h.core.tokens.lookup(orphan.client_token) is not None


def test_revoke_of_unknown_token_is_quiet(h: Harness) -> None:
    assert h.call(U, "auth/token/revoke", {"token": "hvs.nope"}) is None
    assert "missing token" in invalid(h, {}, path="revoke")


def test_revoke_self(h: Harness) -> None:
    token = h.token({"policies": ["a"]})
    child = h.token(parent=token)
    assert h.call(U, "auth/token/revoke-self", token=token) is None
    assert h.core.tokens.lookup(token) is None
    assert h.core.tokens.lookup(child) is None


def test_revoke_accessor_then_lookup_accessor_is_invalid(h: Harness) -> None:
    auth = h.create_token({"policies": ["a"]})
    assert h.call(U, "auth/token/revoke-accessor", {"accessor": auth.accessor}) is None
    assert h.core.tokens.lookup(auth.client_token) is None
    message = invalid(h, {"accessor": auth.accessor}, path="lookup-accessor")
    assert message == "invalid accessor"
    with pytest.raises(PermissionDenied, match="bad token"):
        h.call(U, "auth/token/lookup", {"token": auth.client_token})
    with pytest.raises(PermissionDenied, match="permission denied"):
        h.call(R, "auth/token/lookup-self", token=auth.client_token)


def test_revoke_orphan_needs_sudo_and_keeps_children(h: Harness) -> None:
    parent = h.token({"policies": ["a"]})
    child = h.token(parent=parent)
    h.policy("rev", rule("auth/token/revoke-orphan", "update"))
    plain = h.token({"policies": ["rev"]})
    with pytest.raises(PermissionDenied):
        h.call(U, "auth/token/revoke-orphan", {"token": parent}, plain)
    assert h.call(U, "auth/token/revoke-orphan", {"token": parent}) is None
    assert h.core.tokens.lookup(parent) is None
    assert h.lookup(child)["orphan"] is True
    assert h.call(U, "auth/token/revoke-orphan", {"token": "hvs.gone"}) is None


def test_default_policy_allows_self_service_only(h: Harness) -> None:
    token = h.token({"policies": ["default"]})
    h.ok(R, "auth/token/lookup-self", token=token)
    h.ok(U, "auth/token/renew-self", token=token)
    with pytest.raises(PermissionDenied):
        h.call(U, "auth/token/create", {}, token)
    with pytest.raises(PermissionDenied):
        h.call(U, "auth/token/lookup", {"token": h.root}, token)
    assert h.call(U, "auth/token/revoke-self", token=token) is None


# ---- listing, tidy, storage --------------------------------------------------------------------


def test_accessors_list_is_sudo_and_complete(h: Harness) -> None:
    auth = h.create_token({"policies": ["a"]})
    data = h.ok(L, "auth/token/accessors/").data
    assert data is not None
    keys = data["keys"]
    assert isinstance(keys, list)
    assert auth.accessor in keys
    assert len(keys) == 2


def test_no_roles_list_and_read_as_not_found(h: Harness) -> None:
    with pytest.raises(NotFound):
        h.call(L, "auth/token/roles/")
    assert h.call(R, "auth/token/roles/ops") is None  # a 404 over HTTP


def test_tidy_answers_202_with_a_count(h: Harness) -> None:
    resp = h.ok(U, "auth/token/tidy")
    assert resp.status == 202
    assert resp.warnings == ["Tidy removed 0 dangling token index entries."]


def test_tokens_are_stored_only_as_hmacs(h: Harness) -> None:
    tokens = [h.root, h.token({"policies": ["a"]}), h.token({"id": "customtokenvalue"})]
    tokens.append(h.token(parent=tokens[1]))
    physical = {k: h.physical.get(k) or b"" for k in list_recursive(h.physical)}
    plaintext = {
        k: h.core.barrier.get(k) or b""
        for k in list_recursive(h.core.barrier)
        if k not in RESERVED_PATHS and k not in PLAIN_PATHS and k != FORMAT_PATH
    }
    assert any(k.startswith("sys/token/id/") for k in plaintext)
    for token in tokens:
        for store in (physical, plaintext):
            assert all(token not in key for key in store)
            assert all(token.encode() not in value for value in store.values())


def test_token_handlers_refuse_a_request_the_core_did_not_authenticate(h: Harness) -> None:
    request = Request(U, "lookup-self", client_token=h.root)
    with pytest.raises(PermissionDenied):
        h.core.token_backend.caller(request)
    with pytest.raises(PermissionDenied):
        h.core.token_backend.caller(Request(U, "lookup-self", token_hash="0" * 64))


@pytest.mark.parametrize("field", ["ttl", "period", "explicit_max_ttl"])
def test_a_duration_past_gos_range_is_a_400(h: Harness, field: str) -> None:
    # Found by the OpenAPI fuzzer: a periodic token of 10^12 s was created, and every lookup
    # of it then failed with 500 (its expiry, year 33658, does not fit a datetime).
    with pytest.raises(InvalidRequest, match="at most 9223372036 seconds"):
        h.call(U, "auth/token/create", {field: 10**12})
    token = h.token({"period": "2562047h"})
    assert h.lookup(token)["period"] == 2562047 * 3600
