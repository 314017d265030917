"""A login's token (`core/login.py`): policies, display name, and TTLs capped as Vault does."""

from __future__ import annotations

import pytest

from awsbroker.core.login import Limits, token_from_login
from awsbroker.core.mounts import new_entry
from awsbroker.core.tokens import TokenStore
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import Auth

LIMITS = Limits(default_ttl=3600, max_ttl=7200)


@pytest.fixture
def store() -> TokenStore:
    store = TokenStore(InmemStorage(), ManualClock())
    store.setup()
    return store


def login(store: TokenStore, auth: Auth, mount: str = "auth/approle/") -> tuple[int, list[str]]:
    entry, token, warnings = token_from_login(
        store, new_entry(mount, "approle"), mount + "login", auth, LIMITS
    )
    assert store.lookup(token) == entry
    return entry.ttl, warnings


@pytest.mark.parametrize(
    ("auth", "ttl"),
    [
        (Auth(), 3600),  # the mount's default
        (Auth(ttl=60), 60),
        (Auth(ttl=9000), 7200),  # capped by the mount's max
        (Auth(ttl=3000, max_ttl=1000), 1000),  # and by the role's
        (Auth(period=9000), 9000),  # a period is not capped by the max
        (Auth(period=9000, explicit_max_ttl=100), 100),  # but by an explicit max
    ],
)
def test_ttls(store: TokenStore, auth: Auth, ttl: int) -> None:
    assert login(store, auth)[0] == ttl


def test_a_capped_ttl_says_so(store: TokenStore) -> None:
    assert "capped" in login(store, Auth(ttl=9000))[1][0]


def test_token_record(store: TokenStore) -> None:
    mount = new_entry("auth/team/approle/", "approle")
    auth = Auth(policies=["B"], metadata={"role_name": "r"}, bound_cidrs=["10.0.0.0/8"], num_uses=2)
    entry, _, _ = token_from_login(store, mount, "auth/team/approle/login", auth, LIMITS)
    assert entry.policies == ["b", "default"]
    assert entry.display_name == "team-approle"
    assert entry.path == "auth/team/approle/login"
    assert (entry.meta, entry.bound_cidrs, entry.num_uses) == (
        {"role_name": "r"},
        ["10.0.0.0/8"],
        2,
    )
    assert entry.orphan
    assert entry.mount_uuid == mount.uuid
    assert store.revoke_mount(mount.uuid) == 1
    assert store.get_by_hash(entry.hash) is None


def test_no_default_policy_and_root_refused(store: TokenStore) -> None:
    mount = new_entry("auth/approle/", "approle")
    entry, _, _ = token_from_login(
        store, mount, "auth/approle/login", Auth(policies=["a"], no_default_policy=True), LIMITS
    )
    assert entry.policies == ["a"]
    with pytest.raises(InvalidRequest, match="cannot create root tokens"):
        token_from_login(store, mount, "auth/approle/login", Auth(policies=["root"]), LIMITS)


def test_tidy_drops_mount_index_entries_of_tokens_gone(store: TokenStore) -> None:
    mount = new_entry("auth/approle/", "approle")
    entry, _, _ = token_from_login(store, mount, "auth/approle/login", Auth(), LIMITS)
    store._storage.delete(f"id/{entry.hash}")  # as a crash between the two deletes leaves it
    assert store.tidy() >= 1
    assert store._storage.list(f"mount/{mount.uuid}/") == []
