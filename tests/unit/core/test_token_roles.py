"""Token roles (`auth/token/roles/:name`, `auth/token/create/:role`): Vault's rules for what a
token created against a role gets, through the real request pipeline of one core."""

from __future__ import annotations

import pytest
from tests.support.core_harness import Harness, another_node, make_harness, rule

from awsbroker.core.token_roles import TokenRole, glob_any, role_policies
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied
from awsbroker.sdk.logical import Auth, JSONObject, Operation, Request

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
DAY = 24 * 3600


@pytest.fixture
def h() -> Harness:
    return make_harness(DAY, 2 * DAY)


def write(h: Harness, name: str, **fields: object) -> None:
    h.call(U, f"auth/token/roles/{name}", dict(fields))  # type: ignore[arg-type]


def read(h: Harness, name: str) -> JSONObject:
    data = h.ok(R, f"auth/token/roles/{name}").data
    assert data is not None
    return data


def create(h: Harness, role: str, data: JSONObject | None = None, token: str | None = None) -> Auth:
    auth = h.ok(U, f"auth/token/create/{role}", data, token).auth
    assert auth is not None
    return auth


def refused(h: Harness, role: str, data: JSONObject, token: str | None = None) -> str:
    with pytest.raises(InvalidRequest) as err:
        h.call(U, f"auth/token/create/{role}", data, token)
    return "; ".join(err.value.messages)


def lookup(h: Harness, token: str) -> JSONObject:
    data = h.ok(U, "auth/token/lookup", {"token": token}).data
    assert data is not None
    return data


def user(h: Harness, *paths: str) -> str:
    """A token without sudo whose only power is to create tokens at `paths` (and look up)."""
    h.policy("user", "".join(rule(p, "update") for p in paths) + rule("auth/token/*", "read"))
    return h.token({"policies": ["user"]})


# ---- the role's record -------------------------------------------------------------------------


def test_write_read_list_delete(h: Harness) -> None:
    write(
        h,
        "ops",
        allowed_policies="Dev, ops",
        disallowed_policies=["admin"],
        allowed_policies_glob=["team-*"],
        disallowed_policies_glob="*-prod",
        allowed_entity_aliases=["ci"],
        orphan=True,
        renewable=False,
        path_suffix="/v1/",
        token_period="1h",
        token_explicit_max_ttl=7200,
        token_num_uses=3,
        token_bound_cidrs=["10.0.0.0/8"],
        token_no_default_policy=True,
        token_type="service",
    )
    data = read(h, "ops")
    assert data == {
        "name": "ops",
        "allowed_policies": ["dev", "ops"],
        "disallowed_policies": ["admin"],
        "allowed_policies_glob": ["team-*"],
        "disallowed_policies_glob": ["*-prod"],
        "allowed_entity_aliases": ["ci"],
        "orphan": True,
        "renewable": False,
        "path_suffix": "v1",
        "token_type": "service",
        "token_period": 3600,
        "period": 3600,
        "token_explicit_max_ttl": 7200,
        "explicit_max_ttl": 7200,
        "token_num_uses": 3,
        "token_no_default_policy": True,
        "token_bound_cidrs": ["10.0.0.0/8"],
        "bound_cidrs": ["10.0.0.0/8"],
    }
    write(h, "ops", orphan=False)  # an update keeps what it does not name
    assert read(h, "ops")["orphan"] is False
    assert read(h, "ops")["allowed_policies"] == ["dev", "ops"]
    write(h, "b")
    assert h.ok(L, "auth/token/roles/").data == {"keys": ["b", "ops"]}
    h.call(D, "auth/token/roles/ops")
    assert h.call(R, "auth/token/roles/ops") is None  # a 404 over HTTP
    assert h.ok(L, "auth/token/roles").data == {"keys": ["b"]}


def test_names_are_case_sensitive(h: Harness) -> None:
    """As in Vault: `create/Deploy` is not the role `deploy` an ACL may have been written for."""
    write(h, "deploy", allowed_policies=["a"])
    assert h.call(R, "auth/token/roles/Deploy") is None
    assert "unknown role Deploy" in refused(h, "Deploy", {})
    write(h, "Deploy", allowed_policies=["b"])
    assert h.ok(L, "auth/token/roles").data == {"keys": ["Deploy", "deploy"]}
    assert create(h, "Deploy").policies == ["b", "default"]


def test_defaults_and_deprecated_names(h: Harness) -> None:
    write(h, "d", token_type="default")
    assert read(h, "d")["token_type"] == "default-service"
    write(h, "r", period="30m", explicit_max_ttl="2h", bound_cidrs="127.0.0.1/32")
    data = read(h, "r")
    assert (data["token_period"], data["token_explicit_max_ttl"]) == (1800, 7200)
    assert data["token_bound_cidrs"] == ["127.0.0.1/32"]
    assert (data["renewable"], data["orphan"], data["token_type"]) == (
        True,
        False,
        "default-service",
    )
    assert data["allowed_policies"] == []


def test_fields_of_auth_roles_that_token_roles_lack_are_a_warning(h: Harness) -> None:
    resp = h.ok(U, "auth/token/roles/r", {"token_ttl": "1h", "token_policies": ["a"]})
    assert resp.warnings == [
        "Endpoint ignored these unrecognized parameters: [token_policies token_ttl]"
    ]
    assert create(h, "r", {"ttl": "5m"}).lease_duration == 300


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"token_type": "batch"}, "batch tokens are not supported"),
        ({"token_type": "default-batch"}, "batch tokens are not supported"),
        ({"token_type": "weird"}, "invalid token_type 'weird'"),
        ({"path_suffix": "a/../b"}, "path_suffix cannot contain '..'"),
        ({"path_suffix": "a b"}, "invalid path_suffix"),
        ({"token_bound_cidrs": ["nope"]}, "invalid CIDR block in token_bound_cidrs"),
        ({"token_num_uses": -1}, "token_num_uses cannot be negative"),
        ({"token_period": "soon"}, "token_period"),
    ],
)
def test_bad_fields_are_a_400_naming_them(
    h: Harness, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        write(h, "r", **fields)
    assert h.call(R, "auth/token/roles/r") is None


# ---- policies ----------------------------------------------------------------------------------


def test_no_policies_requested_gives_the_roles_allowed_plus_default(h: Harness) -> None:
    write(h, "r", allowed_policies=["a", "b"], allowed_policies_glob=["g-*"])
    assert create(h, "r").policies == ["a", "b", "default"]
    assert create(h, "r", {"policies": ["a"]}).policies == ["a", "default"]
    assert create(h, "r", {"policies": ["g-one", "default"]}).policies == ["default", "g-one"]


def test_requested_policies_must_be_allowed(h: Harness) -> None:
    write(h, "r", allowed_policies=["a"], allowed_policies_glob=["g-*"])
    assert "must be subset of the role's allowed policies" in refused(h, "r", {"policies": ["c"]})
    assert "must be subset" in refused(h, "r", {"policies": ["a", "gx"]})


def test_disallowed_wins_even_over_allowed_and_globs(h: Harness) -> None:
    write(
        h,
        "r",
        allowed_policies=["a", "b"],
        allowed_policies_glob=["*"],
        disallowed_policies=["b"],
        disallowed_policies_glob=["*-prod"],
    )
    assert 'token policy "b" is disallowed by this role' in refused(h, "r", {"policies": ["b"]})
    assert '"db-prod" is disallowed' in refused(h, "r", {"policies": ["db-prod"]})
    assert create(h, "r", {"policies": ["db-dev"]}).policies == ["db-dev", "default"]
    assert '"b" is disallowed' in refused(h, "r", {})  # the allowed list itself holds it


def test_default_is_dropped_when_disallowed_or_not_wanted(h: Harness) -> None:
    write(h, "nodef", allowed_policies=["a"], disallowed_policies=["default"])
    assert create(h, "nodef").policies == ["a"]
    # As Vault: the allowed list is checked first, and `default` is not in it here.
    assert "must be subset" in refused(h, "nodef", {"policies": ["a", "default"]})
    write(h, "nodefglob", allowed_policies=["a"], disallowed_policies_glob=["def*"])
    assert create(h, "nodefglob").policies == ["a"]
    write(h, "quiet", allowed_policies=["a"], token_no_default_policy=True)
    assert create(h, "quiet").policies == ["a"]
    write(h, "plain", allowed_policies=["a"])
    assert create(h, "plain", {"no_default_policy": True}).policies == ["a"]
    assert "must be subset" in refused(
        h, "plain", {"policies": ["default"], "no_default_policy": True}
    )


def test_a_role_grants_policies_its_caller_does_not_hold(h: Harness) -> None:
    """The point of a role: the ACL on `create/<role>` decides, not the caller's policies."""
    write(h, "deploy", allowed_policies=["deployer"])
    caller = user(h, "auth/token/create/deploy")
    assert create(h, "deploy", token=caller).policies == ["default", "deployer"]
    with pytest.raises(Exception, match="permission denied"):
        h.call(U, "auth/token/create", {"policies": ["deployer"]}, caller)


def test_a_role_that_only_disallows_inherits_the_parents(h: Harness) -> None:
    write(h, "r", disallowed_policies=["secret"])
    h.policy("a", rule("auth/token/create/r", "update"))
    parent = h.token({"policies": ["a", "b"]})
    assert create(h, "r", token=parent).policies == ["a", "b", "default"]
    parent = h.token({"policies": ["a", "secret"]})
    assert '"secret" is disallowed' in refused(h, "r", {}, parent)


def test_a_role_without_lists_keeps_the_parent_subset_rule(h: Harness) -> None:
    write(h, "r")
    h.policy("a", rule("auth/token/create/r", "update"))
    parent = h.token({"policies": ["a"]})
    assert create(h, "r", token=parent).policies == ["a", "default"]
    assert "child policies must be subset of parent" in refused(h, "r", {"policies": ["z"]}, parent)


def test_root_cannot_come_from_a_role_for_a_non_root_caller(h: Harness) -> None:
    write(h, "r", allowed_policies=["root"])
    caller = user(h, "auth/token/create/r")
    assert "root tokens may not be created by non-root tokens" in refused(h, "r", {}, caller)


def test_entity_alias_is_refused_with_or_without_a_role(h: Harness) -> None:
    write(h, "r", allowed_entity_aliases=["ci"])
    assert read(h, "r")["allowed_entity_aliases"] == ["ci"]
    assert "entity_alias is not supported" in refused(h, "r", {"entity_alias": "ci"})
    with pytest.raises(InvalidRequest, match="entity_alias is not supported"):
        h.call(U, "auth/token/create", {"entity_alias": "ci"})


def test_glob_is_vaults_star_only() -> None:
    assert glob_any(["team-*"], "team-a")
    assert glob_any(["*-prod"], "db-prod")
    assert glob_any(["a*b*c"], "axxbyyc")
    assert not glob_any(["team-?"], "team-a")
    assert not glob_any(["[ab]"], "a")
    assert not glob_any(["team.*"], "teamx")
    role = TokenRole("r", allowed_policies_glob=["x*"])
    assert role_policies(role, ["xy"], False, []) == ["default", "xy"]


# ---- the token ---------------------------------------------------------------------------------


def test_orphan_role_needs_no_sudo(h: Harness) -> None:
    write(h, "orphans", allowed_policies=["a"], orphan=True)
    write(h, "kids", allowed_policies=["a"])
    caller = user(h, "auth/token/create/orphans", "auth/token/create/kids")
    orphan = create(h, "orphans", token=caller)
    assert orphan.orphan is True
    kid = create(h, "kids", token=caller)
    assert kid.orphan is False
    # With a role, the role alone decides (Vault reads no `no_parent` then).
    assert create(h, "kids", {"no_parent": True}, caller).orphan is False
    h.call(U, "auth/token/revoke", {"token": caller})
    assert lookup(h, orphan.client_token)["orphan"] is True
    with pytest.raises(Exception, match="bad token"):
        lookup(h, kid.client_token)


def test_path_suffix_role_name_and_path(h: Harness) -> None:
    write(h, "r", path_suffix="team/a")
    auth = create(h, "r")
    data = lookup(h, auth.client_token)
    assert data["path"] == "auth/token/create/r/team/a"
    assert data["role"] == "r"
    write(h, "plain")
    assert lookup(h, create(h, "plain").client_token)["path"] == "auth/token/create/plain"
    assert "role" not in lookup(h, h.token())


def test_period_needs_no_sudo_and_renews_by_the_period(h: Harness) -> None:
    write(h, "p", allowed_policies=["a"], token_period="1h")
    caller = user(h, "auth/token/create/p", "auth/token/create")
    auth = create(h, "p", {"ttl": "5m"}, caller)
    assert auth.lease_duration == 3600
    data = lookup(h, auth.client_token)
    assert data["period"] == 3600
    h.clock.advance(3000)
    renewed = h.ok(U, "auth/token/renew", {"token": auth.client_token, "increment": 60}).auth
    assert renewed is not None
    assert renewed.lease_duration == 3600
    with pytest.raises(InvalidRequest, match="root or sudo privileges required to create periodic"):
        h.call(U, "auth/token/create", {"period": "1h"}, caller)


def test_explicit_max_ttl_caps_ttl_and_renewals(h: Harness) -> None:
    write(h, "x", token_explicit_max_ttl="10m")
    auth = create(h, "x", {"ttl": "1h"})
    assert auth.lease_duration == 600
    assert lookup(h, auth.client_token)["explicit_max_ttl"] == 600
    lesser = h.ok(U, "auth/token/create/x", {"explicit_max_ttl": "5m"})
    assert lesser.auth is not None
    assert lesser.auth.lease_duration == 300
    assert lesser.warnings == [
        "Explicit max TTL specified both during creation call and in role; "
        "using the lesser value of 300 seconds"
    ]
    h.clock.advance(300)
    renewed = h.ok(U, "auth/token/renew", {"token": auth.client_token, "increment": 3600}).auth
    assert renewed is not None
    assert renewed.lease_duration == 300
    write(h, "y", token_period="1h", token_explicit_max_ttl="30m")
    assert create(h, "y").lease_duration == 1800


def test_renewable_uses_and_cidrs_come_from_the_role(h: Harness) -> None:
    write(
        h,
        "r",
        allowed_policies=["a"],
        renewable=False,
        token_num_uses=2,
        token_bound_cidrs=["10.1.0.0/16"],
    )
    auth = create(h, "r")
    assert (auth.renewable, auth.num_uses) == (False, 2)
    assert create(h, "r", {"num_uses": 5}).num_uses == 2
    assert create(h, "r", {"num_uses": 1}).num_uses == 1
    assert lookup(h, auth.client_token)["bound_cidrs"] == ["10.1.0.0/16"]
    with pytest.raises(InvalidRequest, match="not renewable"):
        h.call(U, "auth/token/renew", {"token": auth.client_token})


def test_deleted_role_refuses_and_the_acl_decides_who_may_use_a_role(h: Harness) -> None:
    write(h, "a", allowed_policies=["x"])
    write(h, "b", allowed_policies=["x"])
    caller = user(h, "auth/token/create/a")
    create(h, "a", token=caller)
    with pytest.raises(Exception, match="permission denied"):
        h.call(U, "auth/token/create/b", {}, caller)
    h.call(D, "auth/token/roles/a")
    assert "unknown role a" in refused(h, "a", {}, caller)


def test_a_role_written_on_one_node_is_used_on_another_at_once(h: Harness) -> None:
    other = another_node(h)
    write(h, "r", allowed_policies=["a"])
    assert create(other, "r").policies == ["a", "default"]
    write(other, "r", allowed_policies=["b"])
    assert create(h, "r").policies == ["b", "default"]
    other.call(D, "auth/token/roles/r")
    assert "unknown role r" in refused(h, "r", {})


def alive(h: Harness, token: str) -> bool:
    try:
        lookup(h, token)
    except PermissionDenied:
        return False
    return True


@pytest.mark.parametrize("sync", [True, False])
def test_revoke_prefix_revokes_a_roles_tokens_by_path(h: Harness, sync: bool) -> None:
    h.policy("creds", rule("test/creds/*", "read") + rule("auth/token/create", "update"))
    write(h, "r", path_suffix="team/a", allowed_policies=["creds"])
    write(h, "r2", allowed_policies=["a"])
    in_role = [create(h, "r").client_token, create(h, "r").client_token]
    h.creds("a", token=in_role[1])  # a lease the token holds goes with it
    child = h.token(parent=in_role[0])
    others = [create(h, "r2").client_token, h.token()]
    h.call(U, "sys/leases/revoke-prefix/auth/token/create/r", {"sync": sync})
    # The expiry worker revokes what the tokens held (with sync=false, the tokens themselves).
    assert h.engine.revoked_serials() == []
    while h.core.tick():
        pass
    assert h.engine.revoked_serials() == [1]
    assert [alive(h, t) for t in [*in_role, child]] == [False, False, False]
    assert [alive(h, t) for t in others] == [True, True]  # `r` is no prefix of `r2`
    narrower = create(h, "r").client_token
    h.call(U, "sys/leases/revoke-prefix/auth/token/create/r/team/b", {"sync": sync})
    assert alive(h, narrower)
    h.call(U, "sys/leases/revoke-prefix/auth/token/create/r/team/a", {"sync": sync})
    assert not alive(h, narrower)
    h.call(U, "sys/leases/revoke-force/auth/token/create/r2")
    assert not alive(h, others[0])
    assert h.ok(U, "auth/token/tidy").warnings == ["Tidy removed 0 dangling token index entries."]


def test_period_given_both_ways_takes_the_lesser(h: Harness) -> None:
    write(h, "p", token_period="1h")
    resp = h.ok(U, "auth/token/create/p", {"period": "30m"})
    assert resp.auth is not None
    assert resp.auth.lease_duration == 1800
    assert resp.warnings == [
        "Period specified both during creation call and in role; "
        "using the lesser value of 1800 seconds"
    ]
    assert h.ok(U, "auth/token/create/p", {"period": "2h"}).auth.lease_duration == 3600  # type: ignore[union-attr]


def test_renewal_follows_the_role_as_it_is_now(h: Harness) -> None:
    write(h, "p", allowed_policies=["a"], token_period="1h")
    token = create(h, "p").client_token
    write(h, "p", token_period="10m")
    renewed = h.ok(U, "auth/token/renew", {"token": token}).auth
    assert renewed is not None
    assert renewed.lease_duration == 600
    h.call(D, "auth/token/roles/p")
    with pytest.raises(InvalidRequest, match='original token role "p" could not be found'):
        h.call(U, "auth/token/renew", {"token": token})
    assert alive(h, token)  # not renewed, not revoked


def test_no_default_policy_of_a_role_without_lists_is_not_read(h: Harness) -> None:
    """Vault reads a token role's token_no_default_policy only when the role lists policies."""
    write(h, "plain", token_no_default_policy=True)
    parent = h.token({"policies": ["a"]})
    h.policy("a", rule("auth/token/create/plain", "update"))
    assert create(h, "plain", token=parent).policies == ["a", "default"]
    assert create(h, "plain", {"no_default_policy": True}, parent).policies == ["a"]


def test_a_child_keeps_its_parents_bound_cidrs_unless_a_role_says(h: Harness) -> None:
    write(h, "wide", allowed_policies=["a"])
    write(h, "narrow", allowed_policies=["a"], token_bound_cidrs=["10.9.0.0/16"])
    h.policy("a", rule("auth/token/create", "update") + rule("auth/token/create/*", "update"))
    bound = create(h, "narrow").client_token

    def from_inside(path: str) -> str:
        request = Request(U, path, {}, client_token=bound, remote_address="10.9.0.1")
        response = h.core.handle(request)
        assert response is not None
        assert response.auth is not None
        return response.auth.client_token

    assert lookup(h, from_inside("auth/token/create"))["bound_cidrs"] == ["10.9.0.0/16"]
    assert "bound_cidrs" not in lookup(h, from_inside("auth/token/create/wide"))


def test_a_non_expiring_root_token_is_never_cidr_bound(h: Harness) -> None:
    """Vault's rule: bound CIDRs need a TTL; a role without lists gives root its own policy."""
    write(h, "r", token_bound_cidrs=["10.0.0.0/8"])
    auth = create(h, "r")
    assert (auth.policies, auth.lease_duration) == (["root"], 0)
    assert "bound_cidrs" not in lookup(h, auth.client_token)


def test_revoke_prefix_leaves_non_expiring_tokens_as_vault_does(h: Harness) -> None:
    """In Vault only a token with a TTL has a lease under its path; a root token has none."""
    write(h, "forever")  # no lists: a root caller's token is root, with no TTL
    forever = create(h, "forever")
    assert forever.lease_duration == 0
    expiring = h.token({"policies": ["a"]})
    h.call(U, "sys/leases/revoke-prefix/auth/token", {"sync": True})
    assert alive(h, forever.client_token)
    assert alive(h, h.root)
    assert not alive(h, expiring)


def test_role_name_in_the_body_of_create_is_not_a_role(h: Harness) -> None:
    """A caller allowed `create` but not `create/<role>` cannot reach the role through the
    body: only the path names a role, and the ACL guards the path."""
    h.policy("admin", rule("*", "create", "read", "update", "delete", "list", "sudo"))
    h.call(U, "auth/token/roles/admin-role", {"allowed_policies": ["admin"]})
    h.policy("user", rule("auth/token/create", "update"))
    user = h.token({"policies": ["user"]})
    with pytest.raises(PermissionDenied):
        h.call(U, "auth/token/create/admin-role", {}, user)
    auth = h.ok(U, "auth/token/create", {"role_name": "admin-role"}, user).auth
    assert auth is not None
    assert auth.policies == ["default", "user"]


def test_a_limited_use_token_makes_no_children(h: Harness) -> None:
    """As Vault: a child would outlive its parent's use count (an orphan role's child even
    its last use), so a token with uses left, or spending its last, creates none."""
    h.policy("user", rule("auth/token/create", "update") + rule("auth/token/create/*", "update"))
    h.call(U, "auth/token/roles/o", {"orphan": True})
    for uses in (1, 2):
        for path in ("auth/token/create", "auth/token/create/o"):
            limited = h.token({"policies": ["user"], "num_uses": uses})
            with pytest.raises(InvalidRequest, match="restricted use token cannot generate"):
                h.call(U, path, {"policies": ["user"]}, limited)
