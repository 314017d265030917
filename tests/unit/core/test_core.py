"""The request pipeline: seal check, routing, authentication, ACL, sudo, num_uses, dispatch."""

from __future__ import annotations

import pytest
from tests.support.core_harness import (
    ENGINE_MOUNT,
    ENGINE_TYPE,
    Harness,
    make_harness,
    recording_factory,
    rule,
)

from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.mounts import MountEntry, new_entry
from awsbroker.core.system.backend import SystemBackend
from awsbroker.core.system_view import MountSystemView
from awsbroker.core.tokens import ROOT_PATH
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InvalidRequest, NotFound, PermissionDenied, Sealed
from awsbroker.sdk.logical import Operation, Request
from awsbroker.sdk.storage import list_recursive

R, U, C, D, L = (
    Operation.READ,
    Operation.UPDATE,
    Operation.CREATE,
    Operation.DELETE,
    Operation.LIST,
)


@pytest.fixture
def h() -> Harness:
    return make_harness()


# ---- seal --------------------------------------------------------------------------------------


def test_uninitialised_core_is_sealed_except_for_the_seal_endpoints() -> None:
    core = Core(InmemStorage(), {}, CoreConfig(clock=ManualClock()), system_backend=SystemBackend)
    assert core.sealed
    with pytest.raises(Sealed, match="Vault is sealed"):
        core.handle(Request(R, "auth/token/lookup-self", client_token="x"))
    with pytest.raises(Sealed):
        core.handle(Request(R, "nowhere/at/all"))
    init = core.handle(Request(R, "sys/init"))
    assert init is not None
    assert init.raw == {"initialized": False}


def test_initialize_leaves_the_core_sealed_and_one_key_unseals(h: Harness) -> None:
    core = Core(InmemStorage(), {}, CoreConfig(clock=ManualClock()), system_backend=SystemBackend)
    keys, root = core.initialize(1, 1)
    assert core.sealed
    assert root.startswith("hvs.")
    status = core.submit_unseal_key(keys[0])
    assert not status.sealed
    assert not core.sealed
    looked = core.handle(Request(R, "auth/token/lookup-self", client_token=root))
    assert looked is not None
    assert looked.data is not None
    assert looked.data["policies"] == ["root"]


def test_initialize_with_a_chosen_root_token() -> None:
    core = Core(InmemStorage(), {}, CoreConfig(clock=ManualClock()), system_backend=SystemBackend)
    keys, root = core.initialize(1, 1, root_token_id="my-root")
    assert root == "my-root"
    core.submit_unseal_key(keys[0])
    entry = core.tokens.lookup("my-root")
    assert entry is not None
    assert entry.is_root
    assert entry.path == ROOT_PATH
    assert not entry.renewable
    assert entry.expire_time == 0


def test_sealed_core_refuses_logical_requests_and_keeps_state(h: Harness) -> None:
    child = h.token({"policies": ["p"]})
    h.call(U, "test/items/a", {"value": "1"})
    h.core.seal_vault()
    assert h.core.sealed
    for path in ("auth/token/lookup-self", "test/items/a", "sys/mounts", "sys/seal"):
        with pytest.raises(Sealed):
            h.call(R, path)
    status = h.ok(R, "sys/seal-status")
    assert status.raw is not None
    assert status.raw["sealed"] is True
    h.core.submit_unseal_key(h.key)
    assert h.lookup(child)["policies"] == ["default", "p"]
    assert h.ok(R, "test/items/a").data == {"value": "1"}


def test_sealing_with_a_tokens_last_use_seals_and_revokes_the_token(h: Harness) -> None:
    # (A limited-use token makes no children, so revoking it revokes only itself.)
    h.policy("sealer", rule("sys/seal", "update", "sudo") + rule("auth/token/lookup-self", "read"))
    token = h.token({"policies": ["sealer"], "num_uses": 2})
    h.call(R, "auth/token/lookup-self", token=token)  # the first use
    assert h.call(U, "sys/seal", token=token) is None  # the last: 204, not 503
    assert h.core.sealed
    h.core.submit_unseal_key(h.key)
    with pytest.raises(PermissionDenied):
        h.call(R, "auth/token/lookup-self", token=token)


def test_seal_endpoint_needs_sudo(h: Harness) -> None:
    h.policy("sealer", rule("sys/seal", "update"))
    token = h.token({"policies": ["sealer"]})
    with pytest.raises(PermissionDenied):
        h.call(U, "sys/seal", token=token)
    assert not h.core.sealed
    assert h.call(U, "sys/seal") is None
    assert h.core.sealed


def test_unseal_remounts_engines_with_fresh_backends(h: Harness) -> None:
    before = h.engine
    h.reseal()
    assert h.engine is not before
    assert len(h.engines) == 2
    h.ok(R, "test/echo")
    assert h.engine.requests
    assert not before.requests


# ---- routing -----------------------------------------------------------------------------------


def test_unknown_route_is_not_found_for_root(h: Harness) -> None:
    with pytest.raises(NotFound) as err:
        h.call(R, "nowhere/thing")
    assert err.value.messages == ['no handler for route "nowhere/thing". route entry not found.']


def test_unknown_route_is_permission_denied_without_a_token_or_access(h: Harness) -> None:
    """The ACL answers before routing: a caller learns nothing about which mounts exist."""
    with pytest.raises(PermissionDenied):
        h.call(R, "nowhere/thing", token="")
    with pytest.raises(PermissionDenied):
        h.call(R, "nowhere/thing", token="hvs.unknown")
    plain = h.token({"policies": ["default"]})
    with pytest.raises(PermissionDenied):
        h.call(R, "nowhere/thing", token=plain)
    h.policy("wide", rule("nowhere/*", "read"))
    wide = h.token({"policies": ["wide"]})
    with pytest.raises(NotFound):
        h.call(R, "nowhere/thing", token=wide)


def test_engine_sees_the_path_below_its_mount_and_its_mount_details(h: Harness) -> None:
    h.ok(R, "test/echo", {"msg": "hi"})
    (seen,) = h.engine.requests
    assert seen.path == "echo"
    assert seen.mount_point == ENGINE_MOUNT
    assert seen.mount_type == ENGINE_TYPE
    assert seen.mount_accessor == h.core.mounts.entries[ENGINE_MOUNT].accessor
    assert seen.data == {"msg": "hi"}


def test_unsupported_path_inside_a_mount_is_not_found(h: Harness) -> None:
    with pytest.raises(NotFound, match="unsupported path"):
        h.call(R, "test/nope")


def test_response_carries_the_mount_type(h: Harness) -> None:
    assert h.ok(R, "test/echo").mount_type == ENGINE_TYPE
    assert h.ok(R, "auth/token/lookup-self").mount_type == "token"
    assert h.ok(R, "sys/mounts").mount_type == "system"


# ---- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "hvs.doesnotexist", "s.legacy"])
def test_missing_or_unknown_token_is_denied(h: Harness, token: str) -> None:
    with pytest.raises(PermissionDenied, match="permission denied"):
        h.call(R, "test/echo", token=token)
    assert h.engine.requests == []


def test_unauthenticated_paths_need_no_token(h: Harness) -> None:
    resp = h.ok(R, "test/public", token="")
    assert resp.data is not None
    assert resp.data["sudo"] is False
    status = h.ok(R, "sys/seal-status", token="")
    assert status.raw is not None


def test_unauthenticated_path_ignores_caller_supplied_privileges(h: Harness) -> None:
    """Only the core fills `sudo` and `token_hash`; a request cannot bring its own."""
    request = Request(R, "test/public", client_token="", token_hash="forged", sudo=True)
    resp = h.core.handle(request)
    assert resp is not None
    assert resp.data is not None
    assert resp.data["sudo"] is False
    assert h.engine.requests[-1].token_hash == ""


def test_expired_token_is_denied_and_removed(h: Harness) -> None:
    token = h.token({"ttl": 60})
    h.ok(R, "test/echo", token=token)
    h.clock.advance(61)
    with pytest.raises(PermissionDenied):
        h.call(R, "test/echo", token=token)
    assert h.core.tokens.lookup(token) is None


def test_revoked_token_is_denied(h: Harness) -> None:
    token = h.token()
    assert h.call(U, "auth/token/revoke-self", token=token) is None
    with pytest.raises(PermissionDenied):
        h.call(R, "auth/token/lookup-self", token=token)


# ---- engines never see the token ---------------------------------------------------------------


def test_engines_never_see_the_client_token(h: Harness) -> None:
    h.ok(R, "test/echo")
    h.call(U, "test/items/a", {"value": "1"})
    h.call(U, "test/items/a", {"value": "2"})
    h.ok(R, "test/public")
    assert len(h.engine.requests) == 4
    assert len(h.engine.exists_requests) == 2
    for seen in [*h.engine.requests, *h.engine.exists_requests]:
        assert seen.client_token == ""
        assert seen.token_hash == ""


def test_internal_backends_get_the_token_hash(h: Harness) -> None:
    data = h.ok(R, "auth/token/lookup-self").data
    assert data is not None
    assert data["id"] == h.root


# ---- a bare Authorization header ---------------------------------------------------------------


def bare(h: Harness, operation: Operation, path: str, value: str, token: str = "") -> None:
    """A request as the HTTP layer makes it from a bare `Authorization: <value>` header."""
    h.core.handle(Request(operation, path, client_token=token, bare_authorization=value))


def test_a_bare_authorization_is_the_token_where_the_path_accepts_it(h: Harness) -> None:
    h.policy("bare", rule("test/bare-echo", "read"))
    token = h.token({"policies": ["bare"]})
    bare(h, R, "test/bare-echo", token)
    seen = h.engine.requests[-1]
    assert (seen.path, seen.client_token, seen.bare_authorization) == ("bare-echo", "", "")
    with pytest.raises(PermissionDenied):
        bare(h, R, "test/bare-echo", "hvs.bogus")


@pytest.mark.parametrize(
    ("operation", "path"),
    [
        (R, "test/echo"),  # the same mount, a path that does not accept it
        (U, "test/bare-echo"),  # the accepting path, but a write
        (R, "sys/mounts"),
        (R, "auth/token/lookup-self"),
        (R, "nomount/bare-echo"),
    ],
)
def test_a_bare_authorization_is_no_token_anywhere_else(
    h: Harness, operation: Operation, path: str
) -> None:
    with pytest.raises(PermissionDenied):
        bare(h, operation, path, h.root)


def test_a_real_token_wins_over_a_bare_authorization(h: Harness) -> None:
    h.policy("bare", rule("test/bare-echo", "read"))
    token = h.token({"policies": ["bare"]})
    bare(h, R, "test/bare-echo", "hvs.bogus", token=token)
    with pytest.raises(PermissionDenied):
        bare(h, R, "test/bare-echo", token, token="hvs.bogus")


# ---- ACL ---------------------------------------------------------------------------------------


def test_acl_allows_only_the_granted_operations(h: Harness) -> None:
    h.policy("reader", rule("test/echo", "read"))
    token = h.token({"policies": ["reader"]})
    assert h.ok(R, "test/echo", token=token).data is not None
    with pytest.raises(PermissionDenied):
        h.call(U, "test/echo", {"msg": "x"}, token=token)
    with pytest.raises(PermissionDenied):
        h.call(R, "test/items/a", token=token)


def test_acl_is_checked_on_the_full_path(h: Harness) -> None:
    h.policy("wrong", rule("echo", "read"))
    token = h.token({"policies": ["wrong"]})
    with pytest.raises(PermissionDenied):
        h.call(R, "test/echo", token=token)


def test_list_needs_list_capability(h: Harness) -> None:
    h.call(U, "test/items/a", {"value": "1"})
    h.policy("lister", rule("test/items/", "list"))
    h.policy("reader", rule("test/items/*", "read"))
    lister = h.token({"policies": ["lister"]})
    reader = h.token({"policies": ["reader"]})
    assert h.ok(L, "test/items/", token=lister).data == {"keys": ["a"]}
    with pytest.raises(PermissionDenied):
        h.call(L, "test/items/", token=reader)


def test_policy_change_applies_to_existing_tokens(h: Harness) -> None:
    h.policy("p", rule("test/echo", "read"))
    token = h.token({"policies": ["p"]})
    h.ok(R, "test/echo", token=token)
    h.policy("p", rule("test/other", "read"))
    with pytest.raises(PermissionDenied):
        h.call(R, "test/echo", token=token)


# ---- create versus update (existence check) ----------------------------------------------------


def test_write_to_a_new_object_needs_create(h: Harness) -> None:
    h.policy("creator", rule("test/items/*", "create"))
    token = h.token({"policies": ["creator"]})
    assert h.call(U, "test/items/new", {"value": "1"}, token=token) is None
    assert h.engine.requests[-1].operation is C
    with pytest.raises(PermissionDenied):
        h.call(U, "test/items/new", {"value": "2"}, token=token)
    assert h.ok(R, "test/items/new").data == {"value": "1"}


def test_write_to_an_existing_object_needs_update(h: Harness) -> None:
    h.call(U, "test/items/old", {"value": "1"})
    h.policy("updater", rule("test/items/*", "update"))
    token = h.token({"policies": ["updater"]})
    with pytest.raises(PermissionDenied):
        h.call(U, "test/items/new", {"value": "1"}, token=token)
    assert h.call(U, "test/items/old", {"value": "2"}, token=token) is None
    assert h.engine.requests[-1].operation is U
    assert h.ok(R, "test/items/old").data == {"value": "2"}


def test_root_writes_are_create_or_update_by_existence(h: Harness) -> None:
    h.call(U, "test/items/a", {"value": "1"})
    h.call(U, "test/items/a", {"value": "2"})
    assert [r.operation for r in h.engine.requests] == [C, U]


def test_paths_without_an_existence_check_need_update(h: Harness) -> None:
    h.policy("creator", rule("test/echo", "create"))
    token = h.token({"policies": ["creator"]})
    with pytest.raises(PermissionDenied):
        h.call(U, "test/echo", {"msg": "x"}, token=token)
    h.policy("updater", rule("test/echo", "update"))
    updater = h.token({"policies": ["updater"]})
    assert h.ok(U, "test/echo", {"msg": "x"}, token=updater).data is not None


def test_existence_check_is_not_run_for_reads_or_unauthenticated(h: Harness) -> None:
    h.call(R, "test/items/a")
    h.call(D, "test/items/a")
    assert h.engine.exists_requests == []


# ---- sudo (root paths) -------------------------------------------------------------------------


def test_root_paths_need_sudo(h: Harness) -> None:
    h.policy("plain", rule("test/admin", "update"))
    h.policy("sudo", rule("test/admin", "update", "sudo"))
    plain = h.token({"policies": ["plain"]})
    with_sudo = h.token({"policies": ["sudo"]})
    with pytest.raises(PermissionDenied):
        h.call(U, "test/admin", token=plain)
    data = h.ok(U, "test/admin", token=with_sudo).data
    assert data is not None
    assert data["sudo"] is True
    root_data = h.ok(U, "test/admin").data
    assert root_data is not None
    assert root_data["sudo"] is True


def test_sudo_alone_does_not_grant_the_operation(h: Harness) -> None:
    h.policy("sudo-only", rule("test/admin", "sudo"))
    token = h.token({"policies": ["sudo-only"]})
    with pytest.raises(PermissionDenied):
        h.call(U, "test/admin", token=token)


def test_requests_without_sudo_say_so(h: Harness) -> None:
    h.policy("p", rule("test/echo", "read"))
    token = h.token({"policies": ["p"]})
    data = h.ok(R, "test/echo", token=token).data
    assert data is not None
    assert data["sudo"] is False


def test_token_store_root_paths_need_sudo(h: Harness) -> None:
    h.policy("acc", rule("auth/token/accessors/", "list"))
    h.policy("acc-sudo", rule("auth/token/accessors/", "list", "sudo"))
    plain = h.token({"policies": ["acc"]})
    sudo = h.token({"policies": ["acc-sudo"]})
    with pytest.raises(PermissionDenied):
        h.call(L, "auth/token/accessors/", token=plain)
    assert h.ok(L, "auth/token/accessors/", token=sudo).data is not None


# ---- num_uses ----------------------------------------------------------------------------------


def test_num_uses_limits_requests_then_revokes(h: Harness) -> None:
    h.policy("p", rule("test/echo", "read"))
    token = h.token({"policies": ["p"], "num_uses": 2})
    h.ok(R, "test/echo", token=token)
    h.ok(R, "test/echo", token=token)
    with pytest.raises(PermissionDenied):
        h.call(R, "test/echo", token=token)
    assert h.core.tokens.lookup(token) is None


def test_denied_requests_do_not_spend_a_use(h: Harness) -> None:
    h.policy("p", rule("test/echo", "read"))
    token = h.token({"policies": ["p"], "num_uses": 1})
    with pytest.raises(PermissionDenied):
        h.call(U, "test/echo", token=token)
    assert h.lookup(token)["num_uses"] == 1


def test_last_use_is_served_then_the_token_goes(h: Harness) -> None:
    token = h.token({"num_uses": 2})
    h.ok(R, "auth/token/lookup-self", token=token)
    data = h.ok(R, "auth/token/lookup-self", token=token).data
    assert data is not None
    assert data["num_uses"] == 0
    assert h.core.tokens.lookup(token) is None


def test_last_use_revokes_even_when_the_handler_fails(h: Harness) -> None:
    token = h.token({"num_uses": 1})
    with pytest.raises(NotFound):
        h.call(R, "test/nope", token=token)
    assert h.core.tokens.lookup(token) is None


def test_unlimited_tokens_are_not_rewritten_on_use(h: Harness) -> None:
    token = h.token()
    entry = h.core.tokens.lookup(token)
    assert entry is not None
    key = f"sys/token/id/{entry.hash}"
    before = h.core.barrier.get(key)
    h.ok(R, "test/echo", token=token)
    assert h.core.barrier.get(key) == before


# ---- mounts ------------------------------------------------------------------------------------


def test_enable_mount_refuses_unknown_types_and_overlaps(h: Harness) -> None:
    with pytest.raises(InvalidRequest, match="plugin not found in the catalog: kv"):
        h.core.enable_mount(new_entry("kv/", "kv"))
    for path in ("test/", "test/deeper/", "sys/", "auth/", "auth/other/", "cubbyhole/"):
        with pytest.raises(InvalidRequest, match="path is already in use at"):
            h.core.enable_mount(new_entry(path, ENGINE_TYPE))
    with pytest.raises(InvalidRequest, match="path is already in use at test/"):
        h.core.enable_mount(new_entry("test/x/", ENGINE_TYPE))


def test_enable_mount_routes_and_persists(h: Harness) -> None:
    h.core.enable_mount(new_entry("second/", ENGINE_TYPE))
    h.ok(R, "second/echo")
    assert h.engine.requests[-1].mount_point == "second/"
    h.reseal()
    assert set(h.core.mounts.entries) == {"test/", "second/"}
    h.ok(R, "second/echo")


def test_mount_system_view_uses_tuned_values_else_the_servers() -> None:
    h = make_harness(default_ttl=100, max_ttl=1000)
    data = h.ok(R, "test/echo").data
    assert data is not None
    assert (data["default_lease_ttl"], data["max_lease_ttl"]) == (100, 1000)
    entry = h.core.mounts.entries["test/"]
    entry.config.default_lease_ttl, entry.config.max_lease_ttl = 10, 50
    view = MountSystemView(h.core, entry)
    assert (view.default_lease_ttl(), view.max_lease_ttl()) == (10, 50)
    assert view.clock is h.clock
    data = h.ok(R, "test/echo").data
    assert data is not None
    assert (data["default_lease_ttl"], data["max_lease_ttl"]) == (10, 50)


def test_disable_mount_unroutes_deletes_storage_and_runs_hooks(h: Harness) -> None:
    h.call(U, "test/items/a", {"value": "1"})
    entry = h.core.mounts.entries["test/"]
    assert list_recursive(h.core.barrier, entry.storage_prefix)
    unmounted: list[MountEntry] = []
    h.core.unmount_hooks.append(unmounted.append)
    h.core.disable_mount("test/")
    assert unmounted == [entry]
    assert list_recursive(h.core.barrier, entry.storage_prefix) == []
    with pytest.raises(NotFound):
        h.call(R, "test/echo")
    h.reseal()
    assert "test/" not in h.core.mounts.entries


def test_disable_unknown_mount_is_a_no_op(h: Harness) -> None:
    h.core.disable_mount("nothing/")
    assert set(h.core.mounts.entries) == {"test/"}


def test_remount_same_path_starts_with_empty_storage(h: Harness) -> None:
    h.call(U, "test/items/a", {"value": "1"})
    h.core.disable_mount("test/")
    h.core.enable_mount(new_entry("test/", ENGINE_TYPE))
    assert h.call(R, "test/items/a") is None


# ---- isolation ---------------------------------------------------------------------------------


def test_two_cores_in_one_process_are_independent() -> None:
    a, b = make_harness(), make_harness()
    a.policy("only-a", rule("test/*", "read"))
    assert a.core.policies.exists("only-a")
    assert not b.core.policies.exists("only-a")
    with pytest.raises(PermissionDenied):
        b.call(R, "test/echo", token=a.root)


def test_engine_storage_is_its_own_slice(h: Harness) -> None:
    h.core.engines["other"] = recording_factory([])
    h.core.enable_mount(new_entry("other/", "other"))
    h.call(U, "test/items/a", {"value": "mine"})
    assert h.call(R, "other/items/a") is None


def test_core_without_a_system_backend_serves_no_sys_paths() -> None:
    core = Core(InmemStorage(), {}, CoreConfig(clock=ManualClock()))
    keys, root = core.initialize(1, 1)
    core.submit_unseal_key(keys[0])
    with pytest.raises(NotFound):
        core.handle(Request(R, "sys/mounts", client_token=root))
    assert core.handle(Request(R, "auth/token/lookup-self", client_token=root)) is not None


def test_extra_unseal_key_when_unsealed_is_harmless(h: Harness) -> None:
    engines_before = len(h.engines)
    status = h.core.submit_unseal_key(h.key)
    assert not status.sealed
    assert not h.core.sealed
    assert len(h.engines) == engines_before


def test_tuning_a_mount_persists(h: Harness) -> None:
    h.core.tune_mount("test/", lambda entry: setattr(entry.config, "max_lease_ttl", 123))
    assert h.core.mounts.entries["test/"].config.max_lease_ttl == 123
    h.reseal()
    assert h.core.mounts.entries["test/"].config.max_lease_ttl == 123
