"""The token store: hashed records, accessors, expiry, uses, and the parent/child tree."""

from __future__ import annotations

import dataclasses
import string
from collections import Counter

import pytest
from tests.support.threads import run_together

from awsbroker.core.tokens import (
    ROOT_PATH,
    USES_EXHAUSTED,
    TokenEntry,
    TokenStore,
    path_key,
    random_id,
)
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import PermissionDenied
from awsbroker.sdk.storage import list_recursive


class Fixture:
    def __init__(self) -> None:
        self.storage = InmemStorage()
        self.clock = ManualClock()
        self.store = TokenStore(self.storage, self.clock)
        self.store.setup()

    def make(
        self, parent: str = "", ttl: int = 0, num_uses: int = 0, policies: list[str] | None = None
    ) -> tuple[str, TokenEntry]:
        """A new token (optionally the child of the token `parent`), stored."""
        token = self.store.new_token()
        now = self.clock.now()
        entry = TokenEntry(
            hash=self.store.hash(token),
            accessor=random_id(),
            policies=policies or ["default"],
            path="auth/token/create",
            display_name="token",
            creation_time=now,
            ttl=ttl,
            creation_ttl=ttl,
            num_uses=num_uses,
            parent=self.store.hash(parent) if parent else "",
            expire_time=now + ttl if ttl else 0.0,
        )
        self.store.create(entry)
        return token, entry

    def everything(self) -> dict[str, bytes]:
        return {k: self.storage.get(k) or b"" for k in list_recursive(self.storage)}


@pytest.fixture
def f() -> Fixture:
    return Fixture()


def test_random_ids_are_base62_of_the_asked_length() -> None:
    alphabet = set(string.ascii_letters + string.digits)
    ids = {random_id(24) for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 24 and set(i) <= alphabet for i in ids)
    assert len(random_id(8)) == 8


def test_random_ids_use_every_character_about_evenly() -> None:
    # One read of the CSPRNG per ID, bytes of 248 and over dropped: every character equally
    # likely (62,000 draws: about 1,000 each; the bounds are many standard deviations wide).
    counts = Counter("".join(random_id(1000) for _ in range(62)))
    assert set(counts) == set(string.ascii_letters + string.digits)
    assert all(800 < n < 1200 for n in counts.values())
    assert random_id(0) == ""


def test_a_record_is_the_fields_as_asdict_gives_them() -> None:
    entry = TokenEntry(
        hash="h", accessor="a", policies=["p"], path="auth/token/create", display_name="d",
        creation_time=1.0, meta={"k": "v"},
    )  # fmt: skip
    assert entry.to_record() == dataclasses.asdict(entry)


def test_new_tokens_are_service_tokens(f: Fixture) -> None:
    token = f.store.new_token()
    assert token.startswith("hvs.")
    assert len(token) == 4 + 24
    assert f.store.new_token() != token


def test_salt_is_made_once_and_kept(f: Fixture) -> None:
    token, _ = f.make()
    salt = f.storage.get("salt")
    assert salt is not None
    assert len(salt) == 32
    again = TokenStore(f.storage, f.clock)
    again.setup()
    assert f.storage.get("salt") == salt
    assert again.hash(token) == f.store.hash(token)
    assert again.lookup(token) is not None


def test_different_stores_hash_differently() -> None:
    a, b = Fixture(), Fixture()
    assert a.store.hash("hvs.same") != b.store.hash("hvs.same")


def test_nothing_is_found_before_setup() -> None:
    store = TokenStore(InmemStorage(), ManualClock())
    assert store.lookup("hvs.anything") is None


def test_lookup_finds_only_the_exact_token(f: Fixture) -> None:
    token, entry = f.make()
    found = f.store.lookup(token)
    assert found == entry
    assert f.store.lookup("") is None
    assert f.store.lookup(token + "x") is None
    assert f.store.lookup(token.upper()) is None


def test_the_token_itself_is_never_stored(f: Fixture) -> None:
    token, entry = f.make()
    child, _ = f.make(parent=token)
    stored = f.everything()
    for secret in (token, child, token.removeprefix("hvs."), child.removeprefix("hvs.")):
        assert all(secret not in key for key in stored)
        assert all(secret.encode() not in value for value in stored.values())
    assert f"id/{entry.hash}" in stored
    assert f"accessor/{f.store.hash(entry.accessor)}" in stored
    assert all(entry.accessor not in key for key in stored)


def test_create_refuses_a_duplicate(f: Fixture) -> None:
    _, entry = f.make()
    with pytest.raises(ValueError, match="already exists"):
        f.store.create(entry)


def test_record_round_trip(f: Fixture) -> None:
    _, entry = f.make(ttl=30, num_uses=3)
    entry.meta = {"k": "v"}
    assert TokenEntry.from_record(entry.to_record()) == entry


def test_entry_properties(f: Fixture) -> None:
    _, entry = f.make(ttl=100)
    assert entry.orphan
    assert not entry.is_root
    assert entry.remaining(f.clock.now()) == 100
    assert entry.remaining(f.clock.now() + 40.5) == 59
    assert entry.remaining(f.clock.now() + 1000) == 0
    root = TokenEntry("h", "a", ["root"], ROOT_PATH, "root", 0.0)
    assert root.is_root
    assert root.remaining(1e12) == 0
    assert not TokenEntry("h", "a", ["root", "x"], "p", "d", 0.0).is_root


def test_lookup_by_accessor(f: Fixture) -> None:
    _, entry = f.make()
    assert f.store.lookup_accessor(entry.accessor) == entry
    assert f.store.lookup_accessor("") is None
    assert f.store.lookup_accessor("nope") is None


def test_accessors_lists_every_live_accessor_sorted(f: Fixture) -> None:
    entries = [f.make()[1] for _ in range(3)]
    assert f.store.accessors() == sorted(e.accessor for e in entries)


# ---- expiry ------------------------------------------------------------------------------------


def test_token_expires_exactly_at_its_ttl_and_is_removed(f: Fixture) -> None:
    token, entry = f.make(ttl=60)
    f.clock.advance(59.9)
    assert f.store.lookup(token) is not None
    f.clock.advance(0.1)
    assert f.store.lookup(token) is None
    assert f.storage.get(f"id/{entry.hash}") is None
    assert f.store.lookup_accessor(entry.accessor) is None
    assert f.store.accessors() == []


def test_token_without_ttl_never_expires(f: Fixture) -> None:
    token, _ = f.make()
    f.clock.advance(10 * 365 * 86400)
    assert f.store.lookup(token) is not None


def test_expiry_takes_the_subtree(f: Fixture) -> None:
    parent, _ = f.make(ttl=60)
    child, _ = f.make(parent=parent)
    f.clock.advance(61)
    assert f.store.lookup(parent) is None
    assert f.store.lookup(child) is None


def test_child_dies_with_an_expired_parent_even_if_the_parent_is_never_looked_up(
    f: Fixture,
) -> None:
    parent, parent_entry = f.make(ttl=60)
    child, child_entry = f.make(parent=parent, ttl=3600)
    grandchild, _ = f.make(parent=child, ttl=3600)
    f.clock.advance(61)
    assert f.store.lookup(grandchild) is None
    assert f.storage.get(f"id/{parent_entry.hash}") is None
    assert f.storage.get(f"id/{child_entry.hash}") is None
    assert f.store.lookup(child) is None


def test_child_whose_parent_record_vanished_is_revoked(f: Fixture) -> None:
    parent, parent_entry = f.make()
    child, child_entry = f.make(parent=parent)
    f.storage.delete(f"id/{parent_entry.hash}")
    assert f.store.lookup(child) is None
    assert f.storage.get(f"id/{child_entry.hash}") is None


def test_live_parent_keeps_child_alive(f: Fixture) -> None:
    parent, _ = f.make(ttl=60)
    child, _ = f.make(parent=parent, ttl=3600)
    f.clock.advance(30)
    assert f.store.lookup(child) is not None


# ---- uses --------------------------------------------------------------------------------------


def test_unlimited_token_use_changes_nothing(f: Fixture) -> None:
    _, entry = f.make()
    before = f.everything()
    assert f.store.use(entry) is False
    assert f.everything() == before


def test_uses_count_down_and_the_last_is_reported(f: Fixture) -> None:
    token, entry = f.make(num_uses=2)
    assert f.store.use(entry) is False
    stored = f.store.lookup(token)
    assert stored is not None
    assert stored.num_uses == 1
    assert f.store.use(stored) is True
    exhausted = f.store.lookup(token)
    assert exhausted is not None
    assert exhausted.num_uses == USES_EXHAUSTED
    with pytest.raises(PermissionDenied):
        f.store.use(exhausted)


def test_racing_requests_cannot_both_spend_the_last_use(f: Fixture) -> None:
    token, _ = f.make(num_uses=1)
    first, second = f.store.lookup(token), f.store.lookup(token)
    assert first is not None
    assert second is not None
    assert f.store.use(first) is True
    with pytest.raises(PermissionDenied):
        f.store.use(second)


def test_racing_requests_share_the_count(f: Fixture) -> None:
    token, _ = f.make(num_uses=3)
    a, b = f.store.lookup(token), f.store.lookup(token)
    assert a is not None
    assert b is not None
    assert f.store.use(a) is False
    assert f.store.use(b) is False
    stored = f.store.lookup(token)
    assert stored is not None
    assert stored.num_uses == 1


def test_uses_spent_from_several_stores_and_threads_add_up_to_num_uses(f: Fixture) -> None:
    """Several nodes (stores on one storage), many threads: exactly `num_uses` are served."""
    token, _ = f.make(num_uses=30)
    stores = [f.store, *(TokenStore(f.storage, f.clock) for _ in range(2))]
    for store in stores[1:]:
        store.setup()
    served: list[bool] = []

    def spend(n: int) -> None:
        store = stores[n % len(stores)]
        while (entry := store.lookup(token)) is not None:
            try:
                store.use(entry)
            except PermissionDenied:
                return
            served.append(True)

    run_together(9, spend)
    assert len(served) == 30


def test_a_change_never_brings_back_a_token_revoked_while_it_ran(f: Fixture) -> None:
    token, entry = f.make(ttl=60)

    def revoked_meanwhile(current: TokenEntry) -> None:
        if f.storage.get(f"id/{entry.hash}") is not None:
            f.store.revoke_tree(entry)  # another node revokes it between read and write
        current.ttl = 600

    assert f.store.update(entry.hash, revoked_meanwhile) is None
    assert f.storage.get(f"id/{entry.hash}") is None
    assert f.store.lookup(token) is None


def test_salt_made_by_nodes_unsealed_together_is_one_salt() -> None:
    storage, clock = InmemStorage(), ManualClock()
    stores = [TokenStore(storage, clock) for _ in range(4)]
    run_together(len(stores), lambda n: stores[n].setup())
    assert len({store.hash("hvs.same") for store in stores}) == 1


def test_use_of_a_revoked_token_is_refused(f: Fixture) -> None:
    _, entry = f.make(num_uses=5)
    f.store.revoke_tree(entry)
    with pytest.raises(PermissionDenied):
        f.store.use(entry)


# ---- revocation --------------------------------------------------------------------------------


def test_revoke_tree_takes_every_descendant_leaves_first(f: Fixture) -> None:
    root, root_entry = f.make()
    a, a_entry = f.make(parent=root)
    a1, a1_entry = f.make(parent=a)
    b, b_entry = f.make(parent=root)
    other, _ = f.make()
    revoked: list[str] = []
    f.store.revoke_hooks.append(lambda e: revoked.append(e.hash))
    f.store.revoke_tree(root_entry)
    for token in (root, a, a1, b):
        assert f.store.lookup(token) is None
    assert f.store.lookup(other) is not None
    assert sorted(revoked) == sorted(e.hash for e in (root_entry, a_entry, a1_entry, b_entry))
    assert revoked.index(a1_entry.hash) < revoked.index(a_entry.hash)
    assert revoked[-1] == root_entry.hash
    assert f.storage.list("parent/") == []
    assert len(f.store.accessors()) == 1


def test_revoking_a_child_leaves_the_parent(f: Fixture) -> None:
    parent, parent_entry = f.make()
    _, child_entry = f.make(parent=parent)
    f.store.revoke_tree(child_entry)
    assert f.store.lookup(parent) == parent_entry
    assert f.storage.list(f"parent/{parent_entry.hash}/") == []


def test_revoke_orphan_keeps_the_children_as_orphans(f: Fixture) -> None:
    parent, parent_entry = f.make()
    child, _ = f.make(parent=parent)
    grandchild, _ = f.make(parent=child)
    f.store.revoke_orphan(parent_entry)
    assert f.store.lookup(parent) is None
    kept = f.store.lookup(child)
    assert kept is not None
    assert kept.orphan
    grand = f.store.lookup(grandchild)
    assert grand is not None
    assert not grand.orphan
    assert f.storage.list(f"parent/{parent_entry.hash}/") == []


def test_revoke_hooks_run_before_the_record_goes(f: Fixture) -> None:
    _, entry = f.make()
    seen: list[bool] = []
    f.store.revoke_hooks.append(lambda e: seen.append(f.storage.get(f"id/{e.hash}") is not None))
    f.store.revoke_tree(entry)
    assert seen == [True]


def test_tidy_drops_dangling_index_entries(f: Fixture) -> None:
    parent, parent_entry = f.make(ttl=600)
    _, child_entry = f.make(parent=parent, ttl=600)
    live, live_entry = f.make(ttl=600)
    f.storage.delete(f"id/{child_entry.hash}")
    f.storage.put("accessor/dangling", b'{"hash":"gone","accessor":"x"}')
    # The child's parent, accessor and path index entries, and the dangling accessor.
    assert f.store.tidy() == 4
    kept = sorted(path_key(e) for e in (parent_entry, live_entry))
    assert list_recursive(f.storage, "path/") == kept
    assert f.storage.list(f"parent/{parent_entry.hash}/") == []
    assert f.store.accessors() == sorted([parent_entry.accessor, live_entry.accessor])
    assert f.store.tidy() == 0
    assert f.store.lookup(live) is not None
